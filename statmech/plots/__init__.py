"""Plotting: one function per figure, each taking computed results, never computing them.

Modules by topic (``curves``, ...). matplotlib is imported with the Agg backend
inside each function so that importing statmech stays light and headless runs work.
"""
