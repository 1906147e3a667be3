"""Right-hand sides of the order-parameter equations of motion, compiled with numba.

Three "terms" share the solvers of :mod:`statmech.ode.steppers` through an integer
``kind`` (numba cannot cache solvers that take functions as arguments):

- ``STANDARD`` (0): docs/theory/equations.md for y = [Q.ravel(), R.ravel(), v], one
  activation, B = 1, no weight decay, no output scaling (the fast path);
- ``MASKED`` (1): students whose first-layer weights are confined to fixed
  masks, with order parameters restricted to the regions of the mask pattern
  (docs/theory/masked.md; :mod:`statmech.ode.masked`), for the general model;
- ``GENERAL`` (2): the general model of docs/theory/general_model.md (student
  activation g, teacher activation g*, weight decay kappa, batch size B, output
  scales s_K, s_M).

With w = (-v/s_K, +vstar/s_M) over student and teacher fields (so that
sum_a w_a g_a(u_a) = y_noiseless - phi) and the effective student weights
v~_i = v_i / s_K:

- dR_in/dalpha = eta v~_i sum_a w_a I3(i, n, a) - kappa R_in
- dQ_ik/dalpha = eta v~_i sum_a w_a I3(i, k, a) + eta v~_k sum_a w_a I3(k, i, a)
  + (eta^2 / B) v~_i v~_k [sum_{a,b} w_a w_b I4(i, k, a, b) + sigma^2 J2(i, k)] - 2 kappa Q_ik
- dv_i/dalpha = (eta_v / s_K) sum_a w_a I2(i, a) - kappa v_i (0 when eta_v = 0: v fixed)

(Goldt et al. 2019; Saad & Solla 1995 for fixed v; Saad & Solla 1996 for weight
decay). I2, I3, I4 take g' and g of the student for fields < K and g* for
teacher fields (``statmech.integrals.sums.*_mixed``). alpha counts updates / N.
Every derivative is computed from one snapshot of y.

The model enters the compiled code as ``act_s``, ``act_t`` and a float64 vector
``par`` = [eta, eta_v, sigma^2, kappa, 1/B, 1/s_K, 1/s_M] (indices ``P_*``).
"""

import numpy as np
from numba import njit

from statmech.integrals import mixed
from statmech.integrals.kernels import i3, j2
from statmech.integrals.sums import (
    i2_matrix,
    i2_matrix_mixed,
    i3_weighted,
    i3_weighted_mixed,
    i4_weighted,
    i4_weighted_mixed,
    j2_matrix,
)

STANDARD, MASKED, GENERAL = 0, 1, 2

# positions in the parameter vector ``par`` of the compiled terms
P_ETA, P_ETA_V, P_SIGMA2, P_KAPPA, P_INV_B, P_INV_SK, P_INV_SM = 0, 1, 2, 3, 4, 5, 6
N_PAR = 7


@njit(cache=True)
def _fill_cov(y, K, M, T, C):
    n = K + M
    for i in range(K):
        for k in range(K):
            C[i, k] = y[i * K + k]
        for m in range(M):
            r = y[K * K + i * M + m]
            C[i, K + m] = r
            C[K + m, i] = r
    for m in range(M):
        for l in range(M):
            C[K + m, K + l] = T[m, l]
    return n


@njit(cache=True)
def _signed_weights(y, K, M, vstar, off_v):
    """w = (-v, +vstar): sum_a w_a g(u_a) = y_noiseless - phi (docs/theory/equations.md)."""
    w = np.empty(K + M)
    for i in range(K):
        w[i] = -y[off_v + i]
    for m in range(M):
        w[K + m] = vstar[m]
    return w


@njit(cache=True)
def rhs_into(
    act: int,
    y: np.ndarray,
    K: int,
    M: int,
    T: np.ndarray,
    vstar: np.ndarray,
    eta: float,
    eta_v: float,
    sigma2: float,
    dy: np.ndarray,
) -> None:
    """dy = F(y): the equations of motion above, evaluated from the one snapshot y."""
    n = K + M
    C = np.empty((n, n))
    _fill_cov(y, K, M, T, C)
    off_v = K * K + K * M
    w = _signed_weights(y, K, M, vstar, off_v)
    S3 = np.empty((K, n))
    i3_weighted(act, C, K, w, S3)
    S4 = np.empty((K, K))
    i4_weighted(act, C, K, w, S4)
    if sigma2 != 0.0:
        J = np.empty((n, n))
        j2_matrix(act, C, J)
    eta2 = eta * eta
    for i in range(K):
        vi = y[off_v + i]
        for k in range(K):
            vk = y[off_v + k]
            d = eta * (vi * S3[i, k] + vk * S3[k, i])
            noise = sigma2 * J[i, k] if sigma2 != 0.0 else 0.0
            d += eta2 * vi * vk * (S4[i, k] + noise)
            dy[i * K + k] = d
        for m in range(M):
            dy[K * K + i * M + m] = eta * vi * S3[i, K + m]
    _dv_into(act, C, K, w, eta_v, dy, off_v)


@njit(cache=True)
def _dv_into(act, C, K, w, eta_v, dy, off_v):
    n = C.shape[0]
    if eta_v != 0.0:
        I2 = np.empty((n, n))
        i2_matrix(act, C, I2)
        for i in range(K):
            acc = 0.0
            for a in range(n):
                acc += w[a] * I2[i, a]
            dy[off_v + i] = eta_v * acc
    else:
        for i in range(K):
            dy[off_v + i] = 0.0


@njit(cache=True)
def _scaled_weights(y, K, M, vstar, off_v, inv_sK, inv_sM):
    """w = (-v/s_K, +vstar/s_M): sum_a w_a g_a(u_a) = y_noiseless - phi (docs/theory/general_model.md)."""
    w = np.empty(K + M)
    for i in range(K):
        w[i] = -y[off_v + i] * inv_sK
    for m in range(M):
        w[K + m] = vstar[m] * inv_sM
    return w


@njit(cache=True)
def general_rhs_into(
    act_s: int,
    act_t: int,
    y: np.ndarray,
    K: int,
    M: int,
    T: np.ndarray,
    vstar: np.ndarray,
    par: np.ndarray,
    dy: np.ndarray,
) -> None:
    """dy = F(y) of the general model (module docstring), evaluated from the one snapshot y."""
    eta, eta_v, sigma2 = par[P_ETA], par[P_ETA_V], par[P_SIGMA2]
    kappa, inv_b, inv_sk = par[P_KAPPA], par[P_INV_B], par[P_INV_SK]
    n = K + M
    C = np.empty((n, n))
    _fill_cov(y, K, M, T, C)
    off_v = K * K + K * M
    w = _scaled_weights(y, K, M, vstar, off_v, inv_sk, par[P_INV_SM])
    S3 = np.empty((K, n))
    i3_weighted_mixed(act_s, act_t, C, K, w, S3)
    S4 = np.empty((K, K))
    i4_weighted_mixed(act_s, act_t, C, K, w, S4)
    # mini-batches average B independent gradients: the O(eta^2) second moment is divided by B
    eta2 = eta * eta * inv_b
    for i in range(K):
        vi = y[off_v + i] * inv_sk
        for k in range(K):
            vk = y[off_v + k] * inv_sk
            d = eta * (vi * S3[i, k] + vk * S3[k, i])
            second = S4[i, k]
            if sigma2 != 0.0:  # J2 of two student fields: the student's g' on both
                second += sigma2 * j2(act_s, C[i, i], C[k, k], C[i, k])
            d += eta2 * vi * vk * second
            dy[i * K + k] = d - 2.0 * kappa * y[i * K + k]
        for m in range(M):
            j = K * K + i * M + m
            dy[j] = eta * vi * S3[i, K + m] - kappa * y[j]
    _dv_general_into(act_s, act_t, C, K, w, y, eta_v, inv_sk, kappa, dy, off_v)


@njit(cache=True)
def _dv_general_into(act_s, act_t, C, K, w, y, eta_v, inv_sk, kappa, dy, off_v):
    """dv_i = (eta_v / s_K) sum_a w_a I2(i, a) - kappa v_i; v fixed (0) when eta_v = 0."""
    n = C.shape[0]
    if eta_v != 0.0:
        I2 = np.empty((n, n))
        i2_matrix_mixed(act_s, act_t, C, K, I2)
        for i in range(K):
            acc = 0.0
            for a in range(n):
                acc += w[a] * I2[i, a]
            dy[off_v + i] = eta_v * inv_sk * acc - kappa * y[off_v + i]
    else:
        for i in range(K):
            dy[off_v + i] = 0.0


@njit(cache=True)
def stein_coefficients(act: int, C: np.ndarray, K: int, w: np.ndarray, G: np.ndarray) -> None:
    """G[k, f] with sum_a w_a I3(k, b, a) = sum_f C[b, f] G[k, f] for ANY field b.

    I3(k, b, a) = E[g'(u_k) u_b g(u_a)] is linear in the covariances of u_b
    (Stein's lemma: C_bk E[g''(u_k) g(u_a)] + C_ba E[g'(u_k) g'(u_a)]), so the
    kernel is probed with unit covariances; this lets the masked equations use
    fields restricted to a mask region without new integrals.
    """
    n = C.shape[0]
    for k in range(K):
        for f in range(n):
            G[k, f] = 0.0
        for a in range(n):
            if w[a] == 0.0:
                continue
            coef_k = i3(act, C[k, k], 1.0, C[a, a], 1.0, C[k, a], 0.0)
            coef_a = i3(act, C[k, k], 1.0, C[a, a], 0.0, C[k, a], 1.0)
            G[k, k] += w[a] * coef_k
            G[k, a] += w[a] * coef_a


@njit(cache=True)
def stein_coefficients_mixed(act_s: int, act_t: int, C: np.ndarray, K: int, w: np.ndarray, G: np.ndarray) -> None:
    """:func:`stein_coefficients` with the student's g' on field k and g_a on field a (g* for a >= K)."""
    if act_s == act_t:
        stein_coefficients(act_s, C, K, w, G)
        return
    n = C.shape[0]
    for k in range(K):
        for f in range(n):
            G[k, f] = 0.0
        for a in range(n):
            if w[a] == 0.0:
                continue
            ga = act_s if a < K else act_t
            coef_k = mixed.i3(act_s, ga, C[k, k], 1.0, C[a, a], 1.0, C[k, a], 0.0)
            coef_a = mixed.i3(act_s, ga, C[k, k], 1.0, C[a, a], 0.0, C[k, a], 1.0)
            G[k, k] += w[a] * coef_k
            G[k, a] += w[a] * coef_a


@njit(cache=True)
def masked_rhs_into(
    act_s: int,
    act_t: int,
    y: np.ndarray,
    K: int,
    M: int,
    T: np.ndarray,
    vstar: np.ndarray,
    par: np.ndarray,
    member: np.ndarray,
    frac: np.ndarray,
    TA: np.ndarray,
    dy: np.ndarray,
) -> None:
    """Equations of motion of masked students (docs/theory/masked.md), for the general model.

    y = [QA (R x K x K), RA (R x K x M), v]: overlaps restricted to the R
    regions of coordinates j that share one membership pattern ``member[r]``
    (which units keep input j); ``frac[r]`` is the fraction of coordinates
    in region r and TA[r] the teacher overlap restricted to it. For k, l in A,
    with w and v~ = v / s_K as in the module docstring::

        dQA_kl = eta v~_k <g'(l_k) Delta l^A_l> + eta v~_l <g'(l_l) Delta l^A_k>
                 + (eta^2 / B) frac_A v~_k v~_l [sum w_a w_b I4(k,l,a,b) + sigma^2 J2(k,l)]
                 - 2 kappa QA_kl,
        dRA_kn = eta v~_k <g'(l_k) Delta nu^A_n> - kappa RA_kn,

    and v moves as in the general term (masked weights stay 0 under the decay).
    """
    eta, eta_v, sigma2 = par[P_ETA], par[P_ETA_V], par[P_SIGMA2]
    kappa, inv_b, inv_sk = par[P_KAPPA], par[P_INV_B], par[P_INV_SK]
    nreg = member.shape[0]
    n = K + M
    offR = nreg * K * K
    off_v = offR + nreg * K * M
    C = np.zeros((n, n))
    for r in range(nreg):
        for i in range(K):
            for k in range(K):
                C[i, k] += y[r * K * K + i * K + k]
            for m in range(M):
                val = y[offR + r * K * M + i * M + m]
                C[i, K + m] += val
                C[K + m, i] += val
    for m in range(M):
        for l in range(M):
            C[K + m, K + l] = T[m, l]
    w = _scaled_weights(y, K, M, vstar, off_v, inv_sk, par[P_INV_SM])
    G = np.empty((K, n))
    stein_coefficients_mixed(act_s, act_t, C, K, w, G)
    S4 = np.empty((K, K))
    i4_weighted_mixed(act_s, act_t, C, K, w, S4)
    J = np.zeros((K, K))
    if sigma2 != 0.0:
        for k in range(K):
            for l in range(K):
                J[k, l] = j2(act_s, C[k, k], C[l, l], C[k, l])
    eta2 = eta * eta * inv_b
    for j in range(off_v):
        dy[j] = 0.0
    for r in range(nreg):
        q0 = r * K * K
        r0 = offR + r * K * M
        for k in range(K):
            if member[r, k] == 0:
                continue
            vk = y[off_v + k] * inv_sk
            for l in range(k, K):
                if member[r, l] == 0:
                    continue
                vl = y[off_v + l] * inv_sk
                t1 = 0.0  # <g'(lambda_k) Delta lambda^A_l>
                t2 = 0.0  # <g'(lambda_l) Delta lambda^A_k>
                for a in range(K):
                    t1 += y[q0 + l * K + a] * G[k, a]
                    t2 += y[q0 + k * K + a] * G[l, a]
                for m in range(M):
                    t1 += y[r0 + l * M + m] * G[k, K + m]
                    t2 += y[r0 + k * M + m] * G[l, K + m]
                d = eta * (vk * t1 + vl * t2) + eta2 * frac[r] * vk * vl * (S4[k, l] + sigma2 * J[k, l])
                d -= 2.0 * kappa * y[q0 + k * K + l]
                dy[q0 + k * K + l] = d
                dy[q0 + l * K + k] = d
            for m in range(M):
                t = 0.0  # <g'(lambda_k) Delta nu^A_m>
                for a in range(K):
                    t += y[r0 + a * M + m] * G[k, a]
                for p in range(M):
                    t += TA[r, m, p] * G[k, K + p]
                dy[r0 + k * M + m] = eta * vk * t - kappa * y[r0 + k * M + m]
    _dv_general_into(act_s, act_t, C, K, w, y, eta_v, inv_sk, kappa, dy, off_v)


@njit(cache=True)
def term(
    kind: int,
    act_s: int,
    act_t: int,
    y: np.ndarray,
    K: int,
    M: int,
    T: np.ndarray,
    vstar: np.ndarray,
    par: np.ndarray,
    member: np.ndarray,
    frac: np.ndarray,
    TA: np.ndarray,
    dy: np.ndarray,
) -> None:
    """dy = F(y) for the term ``kind`` (STANDARD uses act_s and par[:3]; only MASKED reads member, frac, TA)."""
    if kind == STANDARD:
        rhs_into(act_s, y, K, M, T, vstar, par[P_ETA], par[P_ETA_V], par[P_SIGMA2], dy)
    elif kind == GENERAL:
        general_rhs_into(act_s, act_t, y, K, M, T, vstar, par, dy)
    else:
        masked_rhs_into(act_s, act_t, y, K, M, T, vstar, par, member, frac, TA, dy)
