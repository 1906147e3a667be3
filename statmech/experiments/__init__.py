"""The paper's configurations as data: training, pruning, tables and the figures of ``statmech reproduce``.

- ``paper``: the 6:2 and 5:20 configurations, the cached pipeline and the F1-F4 tables;
- ``published``: the paper's published numbers, read from one data file.
"""
