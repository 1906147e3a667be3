"""Pruning real weights: masks and reweighting, trained teacher-student students, MLPs on data."""
