"""Shared test fixtures. Every random generator in the tests is seeded."""
import numpy as np
import pytest


@pytest.fixture
def rng():
    """A fresh, seeded numpy Generator per test (a failure reproduces)."""
    return np.random.default_rng(20061661)


def random_covariance(rng, n, scale=1.0):
    """A random positive-definite n x n covariance with entries of order ``scale``."""
    A = rng.standard_normal((n, n + 2))
    C = A @ A.T / (n + 2)
    return scale * C
