"""Compiled inner loops of the simulator: online SGD steps and the test loss.

One SGD step (docs/theory/model.md), with a fresh x ~ N(0, I_N) and
zeta ~ N(0, 1) drawn in the loop:

    lambda_k = w_k . x / sqrt(N),  nu_m = w*_m . x / sqrt(N)
    Delta    = sum_m v*_m g(nu_m) + sigma zeta - sum_k v_k g(lambda_k)
    w_k     += (eta / sqrt(N)) v_k g'(lambda_k) Delta x
    v_k     += (eta_v / N) g(lambda_k) Delta

Both increments are computed from the pre-step (W, v) before either is
applied. Masked SGD (edge pruning then retraining; docs/theory/masked.md) adds
to w_kj only where mask[k, j] is True, so pruned weights stay exactly zero.
Dot products use a fixed number of partial sums combined in a fixed
tree (no fastmath): the order of every floating-point operation is fixed by
the source, so a run is bit for bit reproducible whatever the vector width or
array alignment.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from statmech.integrals.kernels import ERF, LINEAR
from statmech.sim._rng import fill_normals, next_u64

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_NO_MASK = np.zeros((0, 0), dtype=np.bool_)  # "no mask": plain SGD (a global array is a compile-time constant)


@njit(cache=True, inline="always")
def _g(act, u):
    """g(u): erf(u / sqrt 2), u, or max(u, 0)."""
    if act == ERF:
        return math.erf(u * _INV_SQRT2)
    elif act == LINEAR:
        return u
    return u if u > 0.0 else 0.0


@njit(cache=True, inline="always")
def _gprime(act, u):
    """g'(u): sqrt(2/pi) exp(-u^2/2), 1, or the step 1{u > 0}."""
    if act == ERF:
        return _SQRT_2_OVER_PI * math.exp(-0.5 * u * u)
    elif act == LINEAR:
        return 1.0
    return 1.0 if u > 0.0 else 0.0


@njit(cache=True, inline="always")
def _dot(a, b, n):
    """sum_i a[i] b[i] with eight partial sums combined in a fixed tree."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    a4 = 0.0
    a5 = 0.0
    a6 = 0.0
    a7 = 0.0
    n8 = n - n % 8
    for i in range(0, n8, 8):
        a0 += a[i] * b[i]
        a1 += a[i + 1] * b[i + 1]
        a2 += a[i + 2] * b[i + 2]
        a3 += a[i + 3] * b[i + 3]
        a4 += a[i + 4] * b[i + 4]
        a5 += a[i + 5] * b[i + 5]
        a6 += a[i + 6] * b[i + 6]
        a7 += a[i + 7] * b[i + 7]
    for i in range(n8, n):
        a0 += a[i] * b[i]
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))


@njit(cache=True, inline="always")
def _dot4(a, b, n):
    """sum_i a[i] b[i] in exactly the order of the fused update loop of :func:`sgd_steps`."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    n4 = n - n % 4
    for i in range(0, n4, 4):
        a0 += a[i] * b[i]
        a1 += a[i + 1] * b[i + 1]
        a2 += a[i + 2] * b[i + 2]
        a3 += a[i + 3] * b[i + 3]
    for i in range(n4, n):
        a0 += a[i] * b[i]
    return (a0 + a1) + (a2 + a3)


@njit(cache=True)
def _masked_update(Wk, mk, c, x, xn, last, inv_sqrt_n, N):
    """w_kj += c x_j where mk[j]; returns the next field w_k . x' / sqrt(N) (0 on the last step).

    The field uses :func:`_dot4`, the summation order of the fused unmasked loop, so an
    all-True mask reproduces the unmasked run bit for bit.
    """
    for i in range(N):
        if mk[i]:
            Wk[i] += c * x[i]
    if last:
        return 0.0
    return _dot4(Wk, xn, N) * inv_sqrt_n


@njit(cache=True)
def sgd_steps(act, W, v, Wstar, vstar, s, nsteps, eta, eta_v, sigma, x, xn, lam, g, cw, cv):
    """Plain SGD: :func:`masked_sgd_steps` without a mask (see there)."""
    return masked_sgd_steps(act, W, v, Wstar, vstar, s, nsteps, eta, eta_v, sigma, _NO_MASK, x, xn, lam, g, cw, cv)


@njit(cache=True)
def masked_sgd_steps(act, W, v, Wstar, vstar, s, nsteps, eta, eta_v, sigma, mask, x, xn, lam, g, cw, cv):
    """Run ``nsteps`` online SGD steps in place on (W, v) and the RNG state s.

    ``mask``: K x N booleans for masked SGD, or an empty (0, 0) array for plain SGD.

    ``x``, ``xn`` (N + 1) and ``lam``, ``g``, ``cw``, ``cv`` (K) are work
    buffers; x[N] is the label noise zeta of the step. The update of w_k is
    fused with the field w_k . x' of the next input x' (drawn first), so W
    is read once per step; the inputs are still drawn in step order, so the
    stream, and the result, do not depend on how steps are split into calls.
    Returns the number of steps done: fewer than ``nsteps`` only when Delta
    stopped being finite (the step that saw it is not applied).
    """
    K, N = W.shape
    M = Wstar.shape[0]
    if nsteps <= 0:
        return 0
    inv_sqrt_n = 1.0 / math.sqrt(N)
    lr_w = eta * inv_sqrt_n
    lr_v = eta_v / N
    n4 = N - N % 4
    masked = mask.shape[0] > 0
    fill_normals(s, x, N + 1)
    for k in range(K):
        # the same summation order as the fused loop below: a run does not depend on where calls split it
        lam[k] = _dot4(W[k], x, N) * inv_sqrt_n
    for t in range(nsteps):
        y = sigma * x[N]
        for m in range(M):
            y += vstar[m] * _g(act, _dot(Wstar[m], x, N) * inv_sqrt_n)
        phi = 0.0
        for k in range(K):
            g[k] = _g(act, lam[k])
            phi += v[k] * g[k]
        delta = y - phi
        if not (abs(delta) < 1e300):  # inf or NaN: stop before it reaches the weights
            return t
        # both increments from the pre-step snapshot (W, v)
        for k in range(K):
            cw[k] = lr_w * v[k] * _gprime(act, lam[k]) * delta
            cv[k] = lr_v * g[k] * delta
        last = t == nsteps - 1
        if not last:
            fill_normals(s, xn, N + 1)
        for k in range(K):
            c = cw[k]
            Wk = W[k]
            if masked:
                lk = _masked_update(Wk, mask[k], c, x, xn, last, inv_sqrt_n, N)
                if not last:
                    lam[k] = lk
            elif last:
                for i in range(N):
                    Wk[i] += c * x[i]
            else:
                # w_k += c x and lambda_k' = w_k . x' / sqrt(N) in one pass, four fixed partial sums
                a0 = 0.0
                a1 = 0.0
                a2 = 0.0
                a3 = 0.0
                for i in range(0, n4, 4):
                    w0 = Wk[i] + c * x[i]
                    w1 = Wk[i + 1] + c * x[i + 1]
                    w2 = Wk[i + 2] + c * x[i + 2]
                    w3 = Wk[i + 3] + c * x[i + 3]
                    Wk[i] = w0
                    Wk[i + 1] = w1
                    Wk[i + 2] = w2
                    Wk[i + 3] = w3
                    a0 += w0 * xn[i]
                    a1 += w1 * xn[i + 1]
                    a2 += w2 * xn[i + 2]
                    a3 += w3 * xn[i + 3]
                for i in range(n4, N):
                    w0 = Wk[i] + c * x[i]
                    Wk[i] = w0
                    a0 += w0 * xn[i]
                lam[k] = ((a0 + a1) + (a2 + a3)) * inv_sqrt_n
            v[k] += cv[k]
        x, xn = xn, x
    return nsteps


@njit(cache=True)
def test_loss_kernel(act, W, v, Wstar, vstar, sigma, s, P, x):
    """Mean of (phi - y)^2 / 2 over P samples drawn from the stream s (a copy: advanced in place).

    Labels carry the output noise sigma zeta, so the expectation is
    eps_g + sigma^2 / 2 (docs/theory/model.md).
    """
    K, N = W.shape
    M = Wstar.shape[0]
    inv_sqrt_n = 1.0 / math.sqrt(N)
    total = 0.0
    for p in range(P):
        fill_normals(s, x, N + 1)
        y = sigma * x[N]
        for m in range(M):
            y += vstar[m] * _g(act, _dot(Wstar[m], x, N) * inv_sqrt_n)
        phi = 0.0
        for k in range(K):
            phi += v[k] * _g(act, _dot(W[k], x, N) * inv_sqrt_n)
        d = phi - y
        total += 0.5 * d * d
    return total / P


def fresh_buffers(K: int, N: int):
    """Work buffers for :func:`sgd_steps`: two of length N + 1, four of length K."""
    return np.empty(N + 1), np.empty(N + 1), np.empty(K), np.empty(K), np.empty(K), np.empty(K)


# ------------------------------------------------------------- the general model
# Activations of student and teacher chosen separately, weight decay kappa, mini-batches of B samples,
# output scaling phi = (1/s_K) sum_k v_k g(lambda_k) (teacher likewise with 1/s_M) and a finite training
# set. The default model runs the fused kernels above instead, so its numbers and speed do not change.
NO_DATA = np.zeros((0, 0))  # "no training set": online SGD, a fresh sample every time


@njit(cache=True)
def model_sgd_steps(
    act,
    act_t,
    W,
    v,
    Wstar,
    vstar,
    s,
    nsteps,
    eta,
    eta_v,
    sigma,
    kappa,
    batch,
    inv_sk,
    inv_sm,
    mask,
    X,
    Y,
    x,
    lam,
    g,
    gW,
    gv,
):
    """Run ``nsteps`` SGD updates of the general model in place on (W, v) and the RNG state s.

    One update (Goldt et al.'s nn2pp conventions), every gradient from the pre-update (W, v):

        Delta_b = y_b - (1/s_K) sum_k v_k g(lambda_k^b),   y_b = (1/s_M) sum_m v*_m g*(nu_m^b) + sigma zeta_b
        w_k <- (1 - kappa/N) w_k + (eta / sqrt N) (1/B) sum_b (1/s_K) v_k g'(lambda_k^b) Delta_b x_b
        v_k <- (1 - kappa/N) v_k + (eta_v / N)   (1/B) sum_b (1/s_K) g(lambda_k^b) Delta_b   (v fixed if eta_v = 0)

    over a mini-batch of ``batch`` = B samples; alpha counts updates / N. Online
    (``X`` empty, shape (0, 0)): every sample is fresh, N + 1 normals (x, then zeta)
    from the stream s. With a training set (``X`` P x N, ``Y`` its P labels, noise
    included): each sample is row p of X, p drawn uniformly from the stream (with
    replacement). ``mask`` (K x N booleans, or (0, 0)): weights outside it are
    neither updated nor decayed, so they stay exactly zero. ``x`` (N + 1),
    ``lam``, ``g``, ``gv`` (K) and ``gW`` (K x N) are work buffers. Returns the
    updates done: fewer than ``nsteps`` only when a Delta stopped being finite
    (that update is not applied).
    """
    K, N = W.shape
    M = Wstar.shape[0]
    P = X.shape[0]
    masked = mask.shape[0] > 0
    inv_sqrt_n = 1.0 / math.sqrt(N)
    lr_w = eta * inv_sqrt_n / batch
    lr_v = eta_v / N / batch
    decay = 1.0 - kappa / N
    for t in range(nsteps):
        gW[...] = 0.0
        gv[...] = 0.0
        for b in range(batch):
            if P > 0:
                p = np.int64(next_u64(s) % np.uint64(P))
                xs = X[p]
                y = Y[p]
            else:
                fill_normals(s, x, N + 1)
                xs = x
                y = 0.0
                for m in range(M):
                    y += vstar[m] * _g(act_t, _dot(Wstar[m], xs, N) * inv_sqrt_n)
                y = y * inv_sm + sigma * x[N]
            phi = 0.0
            for k in range(K):
                lam[k] = _dot(W[k], xs, N) * inv_sqrt_n
                g[k] = _g(act, lam[k])
                phi += v[k] * g[k]
            delta = y - phi * inv_sk
            if not (abs(delta) < 1e300):  # inf or NaN: stop before it reaches the weights
                return t
            for k in range(K):
                c = v[k] * _gprime(act, lam[k]) * delta * inv_sk
                gWk = gW[k]
                for i in range(N):
                    gWk[i] += c * xs[i]
                gv[k] += g[k] * delta * inv_sk
        for k in range(K):
            Wk = W[k]
            gWk = gW[k]
            if masked:
                mk = mask[k]
                for i in range(N):
                    if mk[i]:
                        Wk[i] = decay * Wk[i] + lr_w * gWk[i]
            else:
                for i in range(N):
                    Wk[i] = decay * Wk[i] + lr_w * gWk[i]
            if eta_v != 0.0:  # eta_v = 0: v is not trained, so not decayed either (dv = 0, as in the ODE)
                v[k] = decay * v[k] + lr_v * gv[k]
    return nsteps


@njit(cache=True)
def draw_train_set(act_t, Wstar, vstar, inv_sm, sigma, s, X, Y, x):
    """Fill X (P x N) with inputs and Y (P) with their noisy labels (1/s_M) sum_m v*_m g*(nu_m) + sigma zeta.

    Each sample takes N + 1 normals from the stream s (x, then zeta), as an
    online step does; the noise is drawn once here and kept with the sample.
    """
    P, N = X.shape
    M = Wstar.shape[0]
    inv_sqrt_n = 1.0 / math.sqrt(N)
    for p in range(P):
        fill_normals(s, x, N + 1)
        y = 0.0
        for m in range(M):
            y += vstar[m] * _g(act_t, _dot(Wstar[m], x, N) * inv_sqrt_n)
        Xp = X[p]
        for i in range(N):
            Xp[i] = x[i]
        Y[p] = y * inv_sm + sigma * x[N]


@njit(cache=True)
def train_loss_kernel(act, W, v, inv_sk, X, Y):
    """Mean of (phi - y)^2 / 2 over the training set (X, Y), labels as drawn (noise included)."""
    K, N = W.shape
    P = X.shape[0]
    inv_sqrt_n = 1.0 / math.sqrt(N)
    total = 0.0
    for p in range(P):
        phi = 0.0
        for k in range(K):
            phi += v[k] * _g(act, _dot(W[k], X[p], N) * inv_sqrt_n)
        d = phi * inv_sk - Y[p]
        total += 0.5 * d * d
    return total / P


@njit(cache=True)
def model_test_loss_kernel(act, act_t, W, v, Wstar, vstar, inv_sk, inv_sm, sigma, s, P, x):
    """:func:`test_loss_kernel` for the general model: expectation eps_g + sigma^2 / 2."""
    K, N = W.shape
    M = Wstar.shape[0]
    inv_sqrt_n = 1.0 / math.sqrt(N)
    total = 0.0
    for p in range(P):
        fill_normals(s, x, N + 1)
        y = 0.0
        for m in range(M):
            y += vstar[m] * _g(act_t, _dot(Wstar[m], x, N) * inv_sqrt_n)
        y = y * inv_sm + sigma * x[N]
        phi = 0.0
        for k in range(K):
            phi += v[k] * _g(act, _dot(W[k], x, N) * inv_sqrt_n)
        d = phi * inv_sk - y
        total += 0.5 * d * d
    return total / P


def model_buffers(K: int, N: int):
    """Work buffers for :func:`model_sgd_steps`: x (N + 1), lam, g (K), gW (K x N), gv (K)."""
    return np.empty(N + 1), np.empty(K), np.empty(K), np.empty((K, N)), np.empty(K)
