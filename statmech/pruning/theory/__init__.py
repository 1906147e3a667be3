"""Pruning in the N -> infinity limit: the pruned network's order parameters and eps_g for every scheme."""
