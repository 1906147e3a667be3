"""Goldt et al. 2019's small-noise asymptotic error against the numerical fixed points.

Two routes: the closed form (a rational function of eta, L, M from the
authors' symbolic derivation, statmech.analysis.asymptotics.goldt_small_noise_error)
and the root of the full right-hand side in the specialised ansatz at
sigma = 1e-3 (fixed_points.asymptotic_fixed_point). The closed form is the
O(sigma^2) term; the root includes O(sigma^4): relative difference of order
sigma^2 times an O(1) coefficient, measured at most 1.0e-6 at eta <= 0.5, so
1e-5 is the tolerance.
"""

import math

import pytest

from statmech.analysis import asymptotics


@pytest.mark.parametrize("M", [1, 2, 3])
@pytest.mark.parametrize("L", [0, 1, 2])
@pytest.mark.parametrize("eta", [0.1, 0.3, 0.5])
def test_small_noise_formula_matches_fixed_points(M, L, eta):
    sigma = 1e-3
    p = asymptotics.asymptotic_fixed_point(M + L, M, eta=eta, sigma=sigma)
    assert p.residual < 1e-10
    assert p.eps_g == pytest.approx(asymptotics.goldt_small_noise_error(M + L, M, eta, sigma), rel=1e-5)


def test_small_noise_formula_first_order_in_eta():
    # eta -> 0: eta sigma^2 (L + M / sqrt 3) / (2 pi) (Goldt et al. 2019)
    for K, M in ((2, 1), (3, 2), (5, 3)):
        lead = 1e-6 * ((K - M) + M / math.sqrt(3)) / (2 * math.pi)
        assert asymptotics.goldt_small_noise_error(K, M, 1e-6, 1.0) == pytest.approx(lead, rel=1e-5)


def test_small_noise_formula_bad_input():
    with pytest.raises(ValueError, match="needs K >= M"):
        asymptotics.goldt_small_noise_error(1, 2, 0.1, 0.1)
    with pytest.raises(ValueError, match="eta must be a finite number >= 0"):
        asymptotics.goldt_small_noise_error(2, 2, -0.1, 0.1)
