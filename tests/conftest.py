"""Shared test fixtures. Every random generator in the tests is seeded."""

import os

# pytest -n 2 already fills both cores; a multi-threaded BLAS in each worker
# oversubscribes them (an eigendecomposition was measured 60x slower so).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    """A fresh, seeded numpy Generator per test (a failure reproduces)."""
    return np.random.default_rng(20061661)


def random_covariance(rng, n, scale=1.0):
    """A random positive-definite n x n covariance with entries of order ``scale``."""
    A = rng.standard_normal((n, n + 2))
    C = A @ A.T / (n + 2)
    return scale * C
