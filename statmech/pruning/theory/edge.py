"""Edge pruning in the N -> infinity limit (docs/theory/pruning.md).

A mask m_i in {0,1}^N per student unit gives the pruned overlaps
Q'_ik = sum_j m_ij m_kj w_ij w_kj / N and R'_in = sum_j m_ij w_ij w*_nj / N;
the pruned network is again a two-layer network, so eps_g(Q', R', T, v, vstar)
is exact once Q', R' are known.

WORKING HYPOTHESIS (docs/theory/pruning.md; tested on real weights by the finite-N
code, not assumed to be true): for the magnitude-dependent masks (importance,
DPP) a coordinate (w_1j, ..., w_Kj, w*_1j, ..., w*_Mj) is treated as Gaussian
with covariance [[Q, R], [R^T, T]]. Random edge pruning needs no hypothesis.

With x = w_i / sqrt(Q_ii) standardised and m(x) the (conditional) inclusion
probability of an edge of weight x, every scheme reduces to two numbers:

- the diagonal factor  d(c)      = E[m(x) x^2]          (1-D, closed form),
- the pair function    F(c, rho) = E[m(x) m(y) x y]     (2-D, corr(x, y) = rho),

and then Q'_ii = d Q_ii, R'_in = d R_in (E[w*_n | w_i] is linear in w_i),
Q'_ik = sqrt(Q_ii Q_kk) F(rho_ik) for i != k (masks of different units are
independent given the weights). Per scheme:

- random:     m = c;  d = c, F = c^2 rho (exact, docs/theory/pruning.md);
- importance: m = 1{|x| > z}, P(|Z| > z) = c;  d = c + 2 z phi(z);
- dpp:        m = mu x^2 / (1 + mu x^2) with E[m] = c (mu = lam Q_ii, the same
              for every unit after standardising);  d = 1 - c / mu.

F is computed by conditioning on x: y | x ~ N(rho x, 1 - rho^2), the inner
expectation E[m(y) y | x] is closed form (normal cdf / pdf for importance, the
Faddeeva function for DPP), and the outer 1-D integral is done by adaptive
quadrature (scipy.integrate.quad_vec, vectorised over all pairs) with
requested absolute error 1e-12; the estimated error is returned.
"""

from __future__ import annotations

from typing import Literal, overload

import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate, optimize, special

from statmech.core import vocabulary as V
from statmech.core.budgets import check_keep_fraction
from statmech.core.vocabulary import EDGE_SCHEMES

__all__ = [
    "EDGE_SCHEMES",
    "magnitude_threshold",
    "dpp_edge_mu",
    "diagonal_factor",
    "pair_factor",
    "edge_overlaps",
]

_SQRT2 = np.sqrt(2.0)
_SQRTPI = np.sqrt(np.pi)
# Requested absolute error of the outer quadrature (the integrands are O(1)).
QUAD_EPSABS = 1e-12
# Integrands carry a factor phi(x): beyond |x| = 40 they are below 1e-340 (zero in float64).
_X_MAX = 40.0


def _scheme_name(scheme) -> str:
    return V.check_choice("edge scheme", getattr(scheme, "name", scheme), EDGE_SCHEMES)


def magnitude_threshold(keep_fraction: float) -> float:
    """Standardised threshold z with P(|Z| > z) = c for Z ~ N(0, 1): z = Phi^{-1}(1 - c/2)."""
    c = check_keep_fraction(keep_fraction)
    return float(special.ndtri(1.0 - 0.5 * c)) if c < 1.0 else 0.0


def _mean_one_over(mu):
    """E[1 / (1 + mu X^2)] for X ~ N(0,1): sqrt(pi / (2 mu)) erfcx(1 / sqrt(2 mu))."""
    return np.sqrt(np.pi / (2.0 * mu)) * special.erfcx(1.0 / np.sqrt(2.0 * mu))


# Below this mu, E[pi] and E[pi x^2] come from their series in mu: the closed forms
# 1 - E[1/(1 + mu x^2)] and 1 - c/mu cancel to relative error ~1e-16/mu (d(c = 1e-9) came out negative).
_MU_SERIES = 1e-2
# E[1/(1 + mu x^2)] = sum_n (-mu)^n (2n-1)!!; terms shrink while (2n+1) mu < 1; at mu = 1e-2 the
# 25th term is 49!! 1e-50 ~ 6e-20 of the first.
_N_SERIES = 25


def _dpp_moments(mu):
    """(E[pi], E[pi x^2]) for pi(x) = mu x^2 / (1 + mu x^2), x ~ N(0, 1) (docs/theory/pruning.md), accurate for every mu.

    E[pi] = 1 - E[1/(1 + mu x^2)]; E[pi x^2] = 1 - E[pi] / mu (since pi x^2 = x^2 - x^2/(1 + mu x^2)).
    For mu < 1e-2: E[pi] = sum_{n>=1} (-1)^(n+1) (2n-1)!! mu^n, E[pi x^2] = sum_{n>=2} (-1)^n (2n-1)!! mu^(n-1).
    """
    mu = float(mu)
    if mu >= _MU_SERIES:
        c = 1.0 - float(_mean_one_over(mu))
        return c, 1.0 - c / mu
    c = d = 0.0
    term = 1.0  # (2n-1)!! mu^(n-1), n = 1
    for n in range(1, _N_SERIES + 1):
        sign = 1.0 if n % 2 else -1.0
        c += sign * term * mu
        if n >= 2:
            d -= sign * term
        term *= (2 * n + 1) * mu
    return c, d


def dpp_edge_mu(keep_fraction: float) -> float:
    """mu = lam Q_ii such that E[pi(x)] = c, pi(x) = mu x^2 / (1 + mu x^2) (docs/theory/pruning.md).

    E[pi] = 1 - E[1/(1 + mu x^2)] is increasing in mu; solved by Brent's method
    on log(mu) to relative accuracy 1e-14. c = 1 returns inf (every edge kept).
    """
    c = check_keep_fraction(keep_fraction)
    if c == 1.0:
        return float("inf")
    f = lambda t: _dpp_moments(np.exp(t))[0] - c  # noqa: E731
    lo, hi = np.log(1e-14), np.log(1e18)
    if f(lo) > 0:  # c below ~1e-14: mu ~ c
        return c
    if f(hi) < 0:
        raise ValueError(f"keep_fraction {c} is too close to 1 for the DPP-edge inclusion probability")
    t = optimize.brentq(f, lo, hi, xtol=1e-15, rtol=1e-14, maxiter=500)
    return float(np.exp(t))


def diagonal_factor(scheme: str, keep_fraction: float) -> float:
    """d(c) = E[m(x) x^2] for x ~ N(0,1): Q'_ii = d Q_ii and R'_in = d R_in (docs/theory/pruning.md)."""
    name = _scheme_name(scheme)
    c = check_keep_fraction(keep_fraction)
    if c == 1.0:
        return 1.0
    if name == V.RANDOM_EDGE:
        return c
    if name == V.IMPORTANCE_EDGE:
        z = magnitude_threshold(c)
        return c + 2.0 * z * float(_phi(z))
    # E[pi x^2] = 1 - E[x^2 / (1 + mu x^2)] = 1 - (1 - E[1/(1 + mu x^2)]) / mu = 1 - c / mu
    return _dpp_moments(dpp_edge_mu(c))[1]


def _phi(x):
    return np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)


def _inner_importance(x, rho, s, z):
    """E[y 1{|y| > z} | x] for y ~ N(rho x, s^2) (closed form; s = 0: rho x 1{|rho x| > z})."""
    m = rho * x
    out = np.where(np.abs(m) > z, m, 0.0)
    pos = s > 0
    if np.any(pos):
        mp, sp = m[pos], s[pos]
        a = (m[pos] - z) / sp
        b = (-z - mp) / sp
        # E[y 1{y>z}] + E[y 1{y<-z}] = m [Phi(a) + Phi(b)] + s [phi(a) - phi(b)]
        out[pos] = mp * (special.ndtr(a) + special.ndtr(b)) + sp * (_phi(a) - _phi(b))
    return out


def _inner_dpp(x, rho, s, mu):
    """E[pi(y) y | x] for y ~ N(rho x, s^2), pi(y) = mu y^2 / (1 + mu y^2).

    pi(y) y = y - y / (1 + mu y^2) and y / (1 + mu y^2) = Re[1 / (y - i a)] / mu with
    a = mu^{-1/2}; E[1 / (Y - zeta)] = i sqrt(pi) w(t) / (s sqrt 2), t = (zeta - m) / (s sqrt 2),
    Im t > 0 (w: Faddeeva function, the plasma dispersion function Z = i sqrt(pi) w).
    """
    m = rho * x
    out = m * mu * m * m / (1.0 + mu * m * m)  # s = 0
    pos = s > 0
    if np.any(pos):
        mp, sp = m[pos], s[pos]
        a = 1.0 / np.sqrt(mu)
        t = (1j * a - mp) / (sp * _SQRT2)
        e = (1j * _SQRTPI * special.wofz(t) / (sp * _SQRT2)).real
        out[pos] = mp - e / mu
    return out


@overload
def pair_factor(
    scheme: str, keep_fraction: float, rho: ArrayLike, return_error: Literal[False] = False
) -> np.ndarray: ...
@overload
def pair_factor(
    scheme: str, keep_fraction: float, rho: ArrayLike, return_error: Literal[True]
) -> tuple[np.ndarray, float]: ...
def pair_factor(
    scheme: str, keep_fraction: float, rho: ArrayLike, return_error: bool = False
) -> np.ndarray | tuple[np.ndarray, float]:
    """F(c, rho) = E[m(x) m(y) x y] for standard (x, y) with correlation rho (docs/theory/pruning.md).

    Q'_ik = sqrt(Q_ii Q_kk) F(c, rho_ik), i != k. ``rho`` may be an array
    (vectorised: one adaptive quadrature for all entries). Random: c^2 rho.
    Importance / DPP: outer quadrature of E[m(x) x E[m(y) y | x]] over x,
    absolute error requested 1e-12 (``return_error=True`` also returns the
    estimate). Uses the Gaussian working hypothesis of this module.
    """
    name = _scheme_name(scheme)
    c = check_keep_fraction(keep_fraction)
    rho = np.clip(np.asarray(rho, dtype=np.float64), -1.0, 1.0)
    shape = rho.shape
    flat = rho.ravel()
    if c == 1.0 or name == V.RANDOM_EDGE:
        out = (c * c) * flat if c < 1.0 else flat.copy()
        return (out.reshape(shape), 0.0) if return_error else out.reshape(shape)
    # Distinct |rho| only (F is odd in rho): the same correlation is integrated once.
    absr, inv = np.unique(np.abs(flat), return_inverse=True)
    s = np.sqrt(np.maximum(0.0, 1.0 - absr * absr))
    if name == V.IMPORTANCE_EDGE:
        z = magnitude_threshold(c)

        def f(x):
            # integrand of F = 2 int_z^inf x phi(x) E[y 1{|y|>z} | x] dx (even in x)
            xs = np.full(absr.shape, x)
            return 2.0 * x * _phi(x) * _inner_importance(xs, absr, s, z)

        # The inner expectation jumps (s = 0) or is steep (s small) at |rho| x = z.
        pts = sorted({float(z / r) for r in absr if r > 0 and z < z / r < _X_MAX})
        vals, err = integrate.quad_vec(f, z, _X_MAX, epsabs=QUAD_EPSABS, epsrel=1e-12, points=pts or None, limit=2000)
    else:
        mu = dpp_edge_mu(c)

        def f(x):
            xs = np.full(absr.shape, x)
            pix = mu * x * x / (1.0 + mu * x * x)
            return 2.0 * _phi(x) * pix * x * _inner_dpp(xs, absr, s, mu)

        vals, err = integrate.quad_vec(f, 0.0, _X_MAX, epsabs=QUAD_EPSABS, epsrel=1e-12, limit=2000)
    vals = np.asarray(vals)
    out = (np.sign(flat) * vals[inv]).reshape(shape)
    return (out, float(err)) if return_error else out


@overload
def edge_overlaps(
    Q: ArrayLike, R: ArrayLike, keep_fraction: float, scheme: str, return_error: Literal[False] = False
) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def edge_overlaps(
    Q: ArrayLike, R: ArrayLike, keep_fraction: float, scheme: str, return_error: Literal[True]
) -> tuple[np.ndarray, np.ndarray, float]: ...
def edge_overlaps(
    Q: ArrayLike, R: ArrayLike, keep_fraction: float, scheme: str, return_error: bool = False
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, float]:
    """Pruned overlaps (Q', R') of edge pruning with keep fraction c (docs/theory/pruning.md).

    Q'_ii = d Q_ii, R' = d R (d = ``diagonal_factor``), Q'_ik = sqrt(Q_ii Q_kk)
    F(rho_ik) for i != k. Array-based (no State validation) so that loops over
    many states stay cheap. Units with Q_ii = 0 stay zero.
    """
    Q = np.asarray(Q, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    c = check_keep_fraction(keep_fraction)
    d = diagonal_factor(scheme, c)
    q = np.sqrt(np.maximum(np.diag(Q), 0.0))
    qq = np.outer(q, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(qq > 0, Q / np.where(qq > 0, qq, 1.0), 0.0)
    iu = np.triu_indices(Q.shape[0], 1)
    F, err = pair_factor(scheme, c, rho[iu], return_error=True)
    Qp = np.diag(d * np.diag(Q))
    Qp[iu] = qq[iu] * F
    Qp[(iu[1], iu[0])] = qq[iu] * F
    Rp = d * R
    return (Qp, Rp, err) if return_error else (Qp, Rp)
