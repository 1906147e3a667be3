"""Matrices and weighted sums of the Gaussian integrals over all fields.

These are what the equations of motion (docs/theory/equations.md) and eps_g need:
with ``C`` the (K+M) x (K+M) covariance of the fields (students first) and
``w`` a weight per field,

- ``i2_matrix``: I2(a, b) for all a, b;
- ``j2_matrix``: J2(a, b) for all a, b;
- ``i3_weighted``: S3[i, b] = sum_c w_c I3(i, b, c) for students i;
- ``i4_weighted``: S4[i, k] = sum_{c,d} w_c w_d I4(i, k, c, d), symmetric;
- ``eps_g_cov``: (1/2) sum_{a,b} s_a s_b I2(a, b).

The ``*_mixed`` versions take two activation codes, ``act_s`` for the student
fields (indices < K) and ``act_t`` for the teacher fields (indices >= K), and use
the kernels of ``mixed``; with ``act_s == act_t`` they call the functions above
(the same numbers, the same speed).

For erf the vectorised versions in ``erf.py`` are used (``_i2_matrix``,
``_i3_weighted``, ``_i4_weighted``: a branch-free polynomial asin, inner loops
that LLVM turns into SIMD); otherwise the scalar kernels are looped over with
the symmetries I4(i,k,c,d) = I4(i,k,d,c) = I4(k,i,c,d) exploited.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from statmech.integrals import erf, mixed
from statmech.integrals.kernels import ERF, i2, i3, i4, j2


@njit(cache=True)
def i2_matrix(act: int, C: np.ndarray, out: np.ndarray) -> None:
    if act == ERF:
        erf._i2_matrix(C, out)
        return
    n = C.shape[0]
    for a in range(n):
        for b in range(a, n):
            val = i2(act, C[a, a], C[b, b], C[a, b])
            out[a, b] = val
            out[b, a] = val


@njit(cache=True)
def j2_matrix(act: int, C: np.ndarray, out: np.ndarray) -> None:
    n = C.shape[0]
    for a in range(n):
        for b in range(a, n):
            val = j2(act, C[a, a], C[b, b], C[a, b])
            out[a, b] = val
            out[b, a] = val


@njit(cache=True)
def i3_weighted(act: int, C: np.ndarray, K: int, w: np.ndarray, out: np.ndarray) -> None:
    """out[i, b] = sum_c w_c I3(i, b, c), i < K, b over all fields."""
    n = C.shape[0]
    if act == ERF:
        erf._i3_weighted(C, K, w, out)
        return
    for i in range(K):
        for b in range(n):
            acc = 0.0
            for c in range(n):
                if w[c] != 0.0:
                    acc += w[c] * i3(act, C[i, i], C[b, b], C[c, c], C[i, b], C[i, c], C[b, c])
            out[i, b] = acc


@njit(cache=True)
def _i4_pair_generic(act, C, i, k, w):
    n = C.shape[0]
    total = 0.0
    for c in range(n):
        if w[c] == 0.0:
            continue
        acc = (
            0.5
            * w[c]
            * i4(act, C[i, i], C[k, k], C[c, c], C[c, c], C[i, k], C[i, c], C[i, c], C[k, c], C[k, c], C[c, c])
        )
        for d in range(c + 1, n):
            if w[d] == 0.0:
                continue
            acc += w[d] * i4(
                act, C[i, i], C[k, k], C[c, c], C[d, d], C[i, k], C[i, c], C[i, d], C[k, c], C[k, d], C[c, d]
            )
        total += 2.0 * w[c] * acc
    return total


@njit(cache=True)
def i4_weighted(act: int, C: np.ndarray, K: int, w: np.ndarray, out: np.ndarray) -> None:
    """out[i, k] = sum_{c,d} w_c w_d I4(i, k, c, d) for students i, k (symmetric)."""
    if act == ERF:
        erf._i4_weighted(C, K, w, out)
        return
    for i in range(K):
        for k in range(i, K):
            val = _i4_pair_generic(act, C, i, k, w)
            out[i, k] = val
            out[k, i] = val


@njit(cache=True)
def eps_g_cov(act: int, C: np.ndarray, s: np.ndarray) -> float:
    """(1/2) sum_{a,b} s_a s_b I2(a, b); s = (v, -vstar) gives eps_g (docs/theory/equations.md)."""
    n = C.shape[0]
    total = 0.0
    for a in range(n):
        if s[a] == 0.0:
            continue
        acc = 0.5 * s[a] * i2(act, C[a, a], C[a, a], C[a, a])
        for b in range(a + 1, n):
            if s[b] != 0.0:
                acc += s[b] * i2(act, C[a, a], C[b, b], C[a, b])
        total += 2.0 * s[a] * acc
    return 0.5 * total


# ------------------------------------------- student and teacher activations
@njit(cache=True, inline="always")
def _act(act_s, act_t, K, a):
    return act_s if a < K else act_t


@njit(cache=True)
def i2_matrix_mixed(act_s: int, act_t: int, C: np.ndarray, K: int, out: np.ndarray) -> None:
    """out[a, b] = E[g_a(u_a) g_b(u_b)], g_a the student's activation for a < K, the teacher's otherwise."""
    if act_s == act_t:
        i2_matrix(act_s, C, out)
        return
    n = C.shape[0]
    for a in range(n):
        ga = _act(act_s, act_t, K, a)
        for b in range(a, n):
            val = mixed.i2(ga, _act(act_s, act_t, K, b), C[a, a], C[b, b], C[a, b])
            out[a, b] = val
            out[b, a] = val


@njit(cache=True)
def j2_matrix_mixed(act_s: int, act_t: int, C: np.ndarray, K: int, out: np.ndarray) -> None:
    """out[a, b] = E[g_a'(u_a) g_b'(u_b)] with an activation per field (as ``i2_matrix_mixed``)."""
    if act_s == act_t:
        j2_matrix(act_s, C, out)
        return
    n = C.shape[0]
    for a in range(n):
        ga = _act(act_s, act_t, K, a)
        for b in range(a, n):
            val = mixed.j2(ga, _act(act_s, act_t, K, b), C[a, a], C[b, b], C[a, b])
            out[a, b] = val
            out[b, a] = val


@njit(cache=True)
def i3_weighted_mixed(act_s: int, act_t: int, C: np.ndarray, K: int, w: np.ndarray, out: np.ndarray) -> None:
    """out[i, b] = sum_c w_c E[g'(u_i) u_b g_c(u_c)], students i < K with the student's g."""
    if act_s == act_t:
        i3_weighted(act_s, C, K, w, out)
        return
    n = C.shape[0]
    for i in range(K):
        for b in range(n):
            acc = 0.0
            for c in range(n):
                if w[c] != 0.0:
                    gc = _act(act_s, act_t, K, c)
                    acc += w[c] * mixed.i3(act_s, gc, C[i, i], C[b, b], C[c, c], C[i, b], C[i, c], C[b, c])
            out[i, b] = acc


@njit(cache=True)
def i4_weighted_mixed(act_s: int, act_t: int, C: np.ndarray, K: int, w: np.ndarray, out: np.ndarray) -> None:
    """out[i, k] = sum_{c,d} w_c w_d E[g'(u_i) g'(u_k) g_c(u_c) g_d(u_d)] for students i, k (symmetric)."""
    if act_s == act_t:
        i4_weighted(act_s, C, K, w, out)
        return
    n = C.shape[0]
    for i in range(K):
        for k in range(i, K):
            total = 0.0
            for c in range(n):
                if w[c] == 0.0:
                    continue
                gc = _act(act_s, act_t, K, c)
                ci = (C[i, i], C[k, k], C[c, c])
                acc = (
                    0.5
                    * w[c]
                    * mixed.i4(
                        act_s,
                        act_s,
                        gc,
                        gc,
                        ci[0],
                        ci[1],
                        ci[2],
                        ci[2],
                        C[i, k],
                        C[i, c],
                        C[i, c],
                        C[k, c],
                        C[k, c],
                        ci[2],
                    )
                )
                for d in range(c + 1, n):
                    if w[d] == 0.0:
                        continue
                    acc += w[d] * mixed.i4(
                        act_s,
                        act_s,
                        gc,
                        _act(act_s, act_t, K, d),
                        ci[0],
                        ci[1],
                        ci[2],
                        C[d, d],
                        C[i, k],
                        C[i, c],
                        C[i, d],
                        C[k, c],
                        C[k, d],
                        C[c, d],
                    )
                total += 2.0 * w[c] * acc
            out[i, k] = total
            out[k, i] = total


@njit(cache=True)
def eps_g_cov_mixed(act_s: int, act_t: int, C: np.ndarray, K: int, s: np.ndarray) -> float:
    """(1/2) sum_{a,b} s_a s_b I2(a, b) with the student's g for a < K and the teacher's for a >= K.

    s = (v, -vstar) gives eps_g = (1/2)[v I2_ss v - 2 v I2_st vstar + vstar I2_tt vstar].
    """
    if act_s == act_t:
        return eps_g_cov(act_s, C, s)
    n = C.shape[0]
    total = 0.0
    for a in range(n):
        if s[a] == 0.0:
            continue
        ga = _act(act_s, act_t, K, a)
        acc = 0.5 * s[a] * mixed.i2(ga, ga, C[a, a], C[a, a], C[a, a])
        for b in range(a + 1, n):
            if s[b] != 0.0:
                acc += s[b] * mixed.i2(ga, _act(act_s, act_t, K, b), C[a, a], C[b, b], C[a, b])
        total += 2.0 * s[a] * acc
    return 0.5 * total
