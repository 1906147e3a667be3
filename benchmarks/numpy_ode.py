"""Baseline: a straightforward vectorised numpy implementation of the erf ODE (docs/theory/equations.md).

Written directly from the Theory pages (docs/theory/) with broadcasting over full index grids (no
hoisting, no symmetry), as a user would write it without numba. Used only by
the benchmarks as the reference speed.
"""

import numpy as np


def rhs_numpy(Q, R, T, v, vstar, eta, eta_v, sigma):
    K = Q.shape[0]
    C = np.block([[Q, R], [R.T, T]])
    w = np.concatenate([-v, vstar])
    d = 1.0 + np.diag(C)
    # I2(a,b)
    I2 = 2 / np.pi * np.arcsin(C / np.sqrt(np.outer(d, d)))
    # I3(i,b,c) for students i
    Ci = C[:K]  # C_ib
    L3 = d[:K, None] * d[None, :] - Ci**2  # (i, c)
    num = C[None, :, :] * d[:K, None, None] - Ci[:, :, None] * Ci[:, None, :]  # (i, b, c)
    I3 = 2 / np.pi / np.sqrt(L3)[:, None, :] * num / d[:K, None, None]
    # I4(i,k,c,d) for students i, k
    a = np.arange(K)
    caa = d[:K][:, None, None, None]
    cbb = d[:K][None, :, None, None]
    cab = C[:K, :K][:, :, None, None]
    cac = C[:K][:, None, :, None]
    cad = C[:K][:, None, None, :]
    cbc = C[:K][None, :, :, None]
    cbd = C[:K][None, :, None, :]
    ccd = C[None, None, :, :]
    ccc = d[None, None, :, None]
    cdd = d[None, None, None, :]
    L4 = caa * cbb - cab**2
    L0 = L4 * ccd - cbc * cbd * caa - cac * cad * cbb + cab * cac * cbd + cab * cad * cbc
    L1 = L4 * ccc - cbc**2 * caa - cac**2 * cbb + 2 * cab * cac * cbc
    L2 = L4 * cdd - cbd**2 * caa - cad**2 * cbb + 2 * cab * cad * cbd
    I4 = 4 / np.pi**2 / np.sqrt(L4) * np.arcsin(np.clip(L0 / np.sqrt(L1 * L2), -1, 1))
    J2 = 2 / np.pi / np.sqrt(np.outer(d, d) - C**2)
    S3 = np.einsum("ibc,c->ib", I3, w)
    dR = eta * v[:, None] * S3[:, K:]
    A = v[:, None] * S3[:, :K]
    dQ = eta * (A + A.T) + eta**2 * np.outer(v, v) * (np.einsum("ikcd,c,d->ik", I4, w, w) + sigma**2 * J2[:K, :K])
    dv = eta_v * I2[:K] @ w
    del a
    return dQ, dR, dv


def euler_numpy(Q, R, T, v, vstar, eta, eta_v, sigma, alpha_max, dt=0.01):
    """Fixed-step Euler with the numpy right-hand side; returns the final (Q, R, v)."""
    Q, R, v = Q.copy(), R.copy(), v.copy()
    for _ in range(int(round(alpha_max / dt))):
        dQ, dR, dv = rhs_numpy(Q, R, T, v, vstar, eta, eta_v, sigma)
        Q, R, v = Q + dt * dQ, R + dt * dR, v + dt * dv
    return Q, R, v
