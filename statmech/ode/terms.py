"""Right-hand sides of the order-parameter equations of motion, compiled with numba.

Two "terms" share the solvers of :mod:`statmech.ode.steppers` through an integer
``kind`` (numba cannot cache solvers that take functions as arguments):

- ``STANDARD`` (0): docs/theory/equations.md for y = [Q.ravel(), R.ravel(), v];
- ``MASKED`` (1): students whose first-layer weights are confined to fixed
  masks, with order parameters restricted to the regions of the mask pattern
  (docs/theory/masked.md; :mod:`statmech.ode.masked`).

With w = (-v, +vstar) over student and teacher fields (so that
sum_a w_a g(u_a) = y_noiseless - phi):

- dR_in/dalpha = eta v_i sum_a w_a I3(i, n, a)
- dQ_ik/dalpha = eta v_i sum_a w_a I3(i, k, a) + eta v_k sum_a w_a I3(k, i, a)
  + eta^2 v_i v_k [sum_{a,b} w_a w_b I4(i, k, a, b) + sigma^2 J2(i, k)]
- dv_i/dalpha = eta_v sum_a w_a I2(i, a)

(Goldt et al. 2019; Saad & Solla 1995 for fixed v). Every derivative is
computed from one snapshot of y.
"""

import numpy as np
from numba import njit

from statmech.integrals.kernels import i3
from statmech.integrals.sums import i2_matrix, i3_weighted, i4_weighted, j2_matrix

STANDARD, MASKED = 0, 1


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
def rhs_into(act, y, K, M, T, vstar, eta, eta_v, sigma2, dy):
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
def stein_coefficients(act, C, K, w, G):
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
def masked_rhs_into(act, y, K, M, T, vstar, eta, eta_v, sigma2, member, frac, TA, dy):
    """Equations of motion of masked students (docs/theory/masked.md).

    y = [QA (R x K x K), RA (R x K x M), v]: overlaps restricted to the R
    regions of coordinates j that share one membership pattern ``member[r]``
    (which units keep input j); ``frac[r]`` is the fraction of coordinates
    in region r and TA[r] the teacher overlap restricted to it. For k, l in A::

        dQA_kl = eta v_k <g'(l_k) Delta l^A_l> + eta v_l <g'(l_l) Delta l^A_k>
                 + eta^2 frac_A v_k v_l [sum w_a w_b I4(k,l,a,b) + sigma^2 J2(k,l)],
        dRA_kn = eta v_k <g'(l_k) Delta nu^A_n>,

    and v moves as in the standard term.
    """
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
    w = _signed_weights(y, K, M, vstar, off_v)
    G = np.empty((K, n))
    stein_coefficients(act, C, K, w, G)
    S4 = np.empty((K, K))
    i4_weighted(act, C, K, w, S4)
    J = np.zeros((n, n))
    if sigma2 != 0.0:
        j2_matrix(act, C, J)
    eta2 = eta * eta
    for j in range(off_v):
        dy[j] = 0.0
    for r in range(nreg):
        q0 = r * K * K
        r0 = offR + r * K * M
        for k in range(K):
            if member[r, k] == 0:
                continue
            vk = y[off_v + k]
            for l in range(k, K):
                if member[r, l] == 0:
                    continue
                vl = y[off_v + l]
                t1 = 0.0  # <g'(lambda_k) Delta lambda^A_l>
                t2 = 0.0  # <g'(lambda_l) Delta lambda^A_k>
                for a in range(K):
                    t1 += y[q0 + l * K + a] * G[k, a]
                    t2 += y[q0 + k * K + a] * G[l, a]
                for m in range(M):
                    t1 += y[r0 + l * M + m] * G[k, K + m]
                    t2 += y[r0 + k * M + m] * G[l, K + m]
                d = eta * (vk * t1 + vl * t2) + eta2 * frac[r] * vk * vl * (S4[k, l] + sigma2 * J[k, l])
                dy[q0 + k * K + l] = d
                dy[q0 + l * K + k] = d
            for m in range(M):
                t = 0.0  # <g'(lambda_k) Delta nu^A_m>
                for a in range(K):
                    t += y[r0 + a * M + m] * G[k, a]
                for p in range(M):
                    t += TA[r, m, p] * G[k, K + p]
                dy[r0 + k * M + m] = eta * vk * t
    _dv_into(act, C, K, w, eta_v, dy, off_v)


@njit(cache=True)
def term(kind, act, y, K, M, T, vstar, eta, eta_v, sigma2, member, frac, TA, dy):
    """dy = F(y) for the term ``kind`` (STANDARD ignores member, frac, TA)."""
    if kind == STANDARD:
        rhs_into(act, y, K, M, T, vstar, eta, eta_v, sigma2, dy)
    else:
        masked_rhs_into(act, y, K, M, T, vstar, eta, eta_v, sigma2, member, frac, TA, dy)
