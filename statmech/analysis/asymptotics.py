"""The asymptotic fixed point near the perfect student, and Goldt et al.'s small-noise error.

At sigma = 0 the perfect student (R = T, Q = T, v = v*) is a zero of the flow
of docs/theory/equations.md; output noise, weight decay, a teacher activation
other than the student's or output scaling with K != M move the fixed point off
it (:func:`asymptotic_fixed_point`). :func:`goldt_small_noise_error` is the
closed-form eps_g of that point to leading order in sigma^2 for the erf soft
committee machine (Goldt et al., NeurIPS 2019); the tests check the numerical
fixed points against it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from statmech.analysis.fixed_points import (
    TOL,
    FixedPoint,
    Flow,
    check_sizes,
    find_fixed_point,
    fixed_point_model,
    perfect_student,
    teacher_arrays,
    teacher_is_symmetric,
)
from statmech.core.model import Model
from statmech.ode.integrator import pack

__all__ = [
    "asymptotic_fixed_point",
    "goldt_small_noise_error",
]


def asymptotic_fixed_point(
    K: int,
    M: int,
    model: Model | None = None,
    *,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    activation: str | None = None,
    T: ArrayLike | None = None,
    vstar: ArrayLike | None = None,
    tol: float = TOL,
) -> FixedPoint:
    """The fixed point near the perfect student: exactly it at sigma = 0, shifted by the noise at sigma > 0.

    ``model`` or its fields (:func:`fixed_point_model`). Weight decay, a teacher
    activation other than the student's, or output scaling with K != M move the
    fixed point off the perfect student too (kind "asymptotic"); the kind is
    "perfect student" when the perfect student itself is a zero of F.

    Searched in the 'specialised' ansatz (full ansatz if the teacher is not
    symmetric) from the perfect student; surplus units (K > M) start at
    Q_ll = eta sigma^2 / 2 (the balance of the O(eta) decay -2 eta (2/pi) Q_ll
    and the noise injection eta^2 sigma^2 (2/pi) of a near-zero erf unit).
    """
    K, M = check_sizes(K, M)
    T, vstar = teacher_arrays(M, T, vstar)
    m = fixed_point_model(model, eta=eta, eta_v=eta_v, sigma=sigma, activation=activation)
    eta, sigma = m.eta, m.sigma
    train_v = m.trains_v
    g = perfect_student(K, M, T=T, vstar=vstar, train_v=train_v)
    perfect = float(np.max(np.abs(Flow(K, M, T, vstar, m)(pack(g))))) < tol
    if K > M:
        Q = g.Q.copy()
        Q[M:, M:] += np.eye(K - M) * max(eta * sigma**2 / 2, 1e-3)
        g = g.replace(Q=Q)
    ans = "specialised" if teacher_is_symmetric(T, vstar) else "full"
    return find_fixed_point(
        g, m, ansatz=ans, tol=tol, kind="perfect student" if perfect and sigma == 0 else "asymptotic"
    )


# eps_g* / sigma^2 = P(eta, L, M) / D(eta, L, M) with L = K - M (P has the factor eta), as (power of eta, of L, of M, coefficient);
# the exact coefficients (integers, sqrt 2, 3, 5, 6, 10, 15, 30 and powers of pi) evaluated to float64 and
# divided by D's coefficient of eta^7 L^3.
_GOLDT_NUM = (
    (7, 3, 0, -0.5),
    (6, 3, 0, -2.4206196590016114),
    (6, 2, 1, -16.908214073035555),
    (6, 2, 0, 5.356881588217933),
    (5, 3, 0, 4186.663984396302),
    (5, 2, 1, 4176.852976410029),
    (5, 2, 0, 370.23542045442247),
    (5, 1, 2, 888.9073939330624),
    (5, 1, 1, 219.3470679328561),
    (5, 1, 0, -11.894337643151204),
    (4, 3, 0, -177648.35541479185),
    (4, 2, 1, -208757.61294468565),
    (4, 2, 0, -19905.253560078),
    (4, 1, 2, -72734.57306546337),
    (4, 1, 1, -3855.7168226087115),
    (4, 1, 0, -1139.238318558496),
    (4, 0, 3, -6759.125179722883),
    (4, 0, 2, 1824.258969299895),
    (4, 0, 1, -72.74467301399129),
    (3, 3, 0, 2541772.3175900294),
    (3, 2, 1, 3577505.101828938),
    (3, 2, 0, 556931.5518210604),
    (3, 1, 2, 1616297.8804607089),
    (3, 1, 1, 262293.7106767441),
    (3, 1, 0, 21213.481065903066),
    (3, 0, 3, 229832.62635808007),
    (3, 0, 2, 9550.66615374286),
    (3, 0, 1, -7356.807839845061),
    (2, 3, 0, -11279377.902378764),
    (2, 2, 1, -18663992.68764917),
    (2, 2, 0, -8857676.157079253),
    (2, 1, 2, -10271944.502356151),
    (2, 1, 1, -7453343.604075073),
    (2, 1, 0, 3666.918694709673),
    (2, 0, 3, -1879896.3170631274),
    (2, 0, 2, -1449987.522872333),
    (2, 0, 1, 101473.40221871887),
    (1, 2, 0, 35435210.75517618),
    (1, 1, 1, 38176133.84588017),
    (1, 1, 0, 2740923.090703999),
    (1, 0, 2, 10229264.234146044),
    (1, 0, 1, 1582472.684246015),
)
_GOLDT_DEN = (
    (7, 3, 0, 1.0),
    (6, 3, 0, 4.841239318003223),
    (6, 2, 1, 33.81642814607111),
    (6, 2, 0, -13.85535583002566),
    (5, 3, 0, -8373.327968792604),
    (5, 2, 1, -8353.705952820059),
    (5, 2, 0, -755.6800427845538),
    (5, 1, 2, -1777.8147878661248),
    (5, 1, 1, -609.6927957819611),
    (5, 1, 0, 57.44695497369417),
    (4, 3, 0, 355296.7108295837),
    (4, 2, 1, 417515.2258893713),
    (4, 2, 0, 66116.0927530128),
    (4, 1, 2, 145469.14613092673),
    (4, 1, 1, 30228.205330203167),
    (4, 1, 0, 4604.734391113676),
    (4, 0, 3, 13518.250359445767),
    (4, 0, 2, -1588.3376637638967),
    (4, 0, 1, 1581.6516401156457),
    (4, 0, 0, -74.7343275180807),
    (3, 3, 0, -5083544.635180059),
    (3, 2, 1, -7155010.203657876),
    (3, 2, 0, -2230060.640228958),
    (3, 1, 2, -3232595.7609214177),
    (3, 1, 1, -1505531.034086338),
    (3, 1, 0, -167495.35883617238),
    (3, 0, 3, -459665.25271616015),
    (3, 0, 2, -197748.96644857497),
    (3, 0, 1, -12516.934759210873),
    (3, 0, 0, -7158.04546454272),
    (2, 3, 0, 22558755.804757528),
    (2, 2, 1, 37327985.37529834),
    (2, 2, 0, 33685778.79423598),
    (2, 1, 2, 20543889.004712302),
    (2, 1, 1, 30733281.69817453),
    (2, 1, 0, 3491970.306117394),
    (2, 0, 3, 3759792.634126255),
    (2, 0, 2, 6685695.187755389),
    (2, 0, 1, 609055.1254775274),
    (2, 0, 0, 133288.23254741452),
    (1, 2, 0, -141740843.02070472),
    (1, 1, 1, -152704535.3835207),
    (1, 1, 0, -61136266.8673233),
    (1, 0, 2, -40917056.936584175),
    (1, 0, 1, -25934331.807829715),
    (1, 0, 0, 23039.929665221967),
    (0, 1, 0, 222645995.573735),
    (0, 0, 1, 111322997.7868675),
    (0, 0, 0, 17221727.69162063),
)


def goldt_small_noise_error(K: int, M: int, eta: float, sigma: float) -> float:
    """Asymptotic eps_g of the erf soft committee machine to leading order in sigma^2, exact in eta.

    Goldt, Advani, Saxe, Krzakala, Zdeborova, NeurIPS 2019 ("Dynamics of
    stochastic gradient descent for two-layer neural networks in the
    teacher-student setup"), companion notebook "Overparameterised ODES
    Erf.nb" (github sgoldt/pyscm): eps_g* = sigma^2 P(eta, L, M) /
    D(eta, L, M), L = K - M >= 0 surplus units, T = I, v = vstar = 1. To first
    order in eta it is eta sigma^2 (L + M / sqrt 3) / (2 pi).
    """
    K, M = check_sizes(K, M)
    if K < M:
        raise ValueError(f"the formula needs K >= M (L = K - M >= 0 surplus units), got K={K}, M={M}")
    for name, x in (("eta", eta), ("sigma", sigma)):
        if not (np.isfinite(x) and x >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {x!r}")
    L = K - M
    num = sum(c * eta**a * L**b * M**m for a, b, m, c in _GOLDT_NUM)
    den = sum(c * eta**a * L**b * M**m for a, b, m, c in _GOLDT_DEN)
    return float(sigma**2 * num / den)
