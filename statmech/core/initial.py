"""Initial conditions of a teacher-student pair, as real weights and as their order parameters.

The starts are named as in Goldt et al.'s nn2pp (``--init``); nn2pp builds them
in order-parameter space, here they are real weights whose overlaps have the
same structure, so the simulator trains the weights and the ODE starts from
their order parameters (:func:`initial_state` is ``initial_weights(...).state()``
of the same draw: one seed, one start for both):

- ``random``: w, w*, v with i.i.d. N(0, 1) entries (the paper's start,
  :func:`statmech.core.state.random_weights` bit for bit when the teacher is
  unstructured);
- ``small``: student entries of W and v i.i.d. N(0, 1/2000), so Q ~ I/2000
  and R, v ~ 0 (nn2pp's small start: the saddle at the origin);
- ``informed``: student unit k < M is teacher unit k plus noise
  (w_k = w*_k + noise z_k, v_k = v*_k + noise z'_k; R and Q start near T), the
  other units are small noise (noise z_k, noise z'_k); needs K >= M;
- ``denoise``: every unit k copies teacher unit k mod M plus noise, and the
  copies share its second-layer weight, v_k = v*_{k mod M} / (number of copies
  of teacher unit k mod M); needs K >= M.

The teacher: T = W* W*^T / N given (:func:`teacher_overlaps` builds the common
overlap T = (1 - rho) I + rho 11^T, valid for rho in (-1/(M-1), 1)) is met
exactly at finite N, from orthonormalised Gaussian rows; or given weights W*;
or, by default, i.i.d. N(0, 1) rows (T = I + O(1/sqrt N)). ``vstar``: one
value for every teacher unit or one per unit. Draws come from
``numpy.random.default_rng(seed)`` in the order W*, student W, student v.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from statmech.core.resources import check_memory, weights_memory
from statmech.core.state import State, random_weights
from statmech.core.validation import as_float_array, check_int, check_nonneg
from statmech.core.vocabulary import INITIALISATIONS, check_choice
from statmech.core.weights import Weights

__all__ = [
    "INITIALISATIONS",
    "SMALL_VARIANCE",
    "DEFAULT_NOISE",
    "teacher_overlaps",
    "check_vstar",
    "teacher_weights",
    "initial_weights",
    "initial_state",
    "weights_from_state",
]

SMALL_VARIANCE = 1.0 / 2000.0  # variance of the student's entries in the "small" start (nn2pp: Q = I / 2000)
DEFAULT_NOISE = 0.1  # standard deviation of the noise added to the copies of "informed" and "denoise"


def teacher_overlaps(M: int, rho: float) -> np.ndarray:
    """T = (1 - rho) I + rho 11^T: unit self-overlaps, common overlap rho between teacher units.

    Its eigenvalues are 1 - rho (M - 1 times) and 1 + (M - 1) rho, so T is
    positive definite exactly for rho in (-1/(M-1), 1) (rho < 1 for M = 1).
    """
    M = check_int("M", M)
    try:
        rho = float(rho)
    except (TypeError, ValueError):
        raise ValueError(f"teacher_overlap must be a number, got {rho!r}") from None
    low = -1.0 / (M - 1) if M > 1 else -math.inf
    if not (math.isfinite(rho) and low < rho < 1.0):
        shown = f"(-1/(M-1), 1) = ({low:.6g}, 1)" if M > 1 else "(-inf, 1)"
        raise ValueError(f"teacher_overlap must lie in {shown} for M={M} teacher units, got {rho!r}")
    return (1.0 - rho) * np.eye(M) + rho * np.ones((M, M))


def check_vstar(vstar: ArrayLike, M: int) -> np.ndarray:
    """The M second-layer teacher weights from one value (every unit) or M values."""
    a = as_float_array("vstar", np.atleast_1d(vstar), 1)
    if a.size == 1:
        return np.full(M, float(a[0]))
    if a.size != M:
        raise ValueError(f"vstar must have 1 value (every teacher unit) or M={M} values, got {a.size}")
    return a


def _orthonormal_rows(Z: np.ndarray) -> np.ndarray:
    """Rows spanning the same space as Z's, orthonormal (signs fixed so the map is deterministic)."""
    q, r = np.linalg.qr(Z.T)
    return (q * np.where(np.diag(r) < 0, -1.0, 1.0)).T


def _square_root(C: np.ndarray) -> np.ndarray:
    """L with L L^T = C for a positive semi-definite C (Cholesky, or the eigen-decomposition if singular)."""
    try:
        return np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        lam, U = np.linalg.eigh(C)
        return U * np.sqrt(np.clip(lam, 0.0, None))


def _exact_rows(C: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Rows X (n x N) with X X^T / N = C to rounding, built from the Gaussian rows Z (n x N)."""
    n, N = Z.shape
    if N < n:
        raise ValueError(f"exact overlaps of {n} vectors need N >= {n}, got N={N}")
    return math.sqrt(N) * _square_root(C) @ _orthonormal_rows(Z)


def _check_T(T, M: int) -> np.ndarray:
    T = as_float_array("T", T, 2)
    if T.shape != (M, M):
        raise ValueError(f"T must be an M x M = {M} x {M} matrix, got shape {T.shape}")
    if np.max(np.abs(T - T.T)) > 1e-12 * max(1.0, np.max(np.abs(T))):
        raise ValueError("T must be symmetric")
    if np.linalg.eigvalsh(T)[0] < -1e-12 * max(1.0, np.max(np.abs(T))):
        raise ValueError("T must be positive semi-definite (teacher overlaps of real weight vectors)")
    return 0.5 * (T + T.T)


def teacher_weights(
    M: int, N: int, rng: np.random.Generator, *, T: ArrayLike | None = None, Wstar: ArrayLike | None = None
) -> np.ndarray:
    """The teacher's first layer W* (M x N): given, with overlaps T exactly, or i.i.d. N(0, 1)."""
    if Wstar is not None:
        if T is not None:
            raise ValueError("give the teacher as T (its overlaps) or as Wstar (its weights), not both")
        Wstar = as_float_array("Wstar", Wstar, 2)
        if Wstar.shape != (M, N):
            raise ValueError(f"Wstar must have shape (M, N) = ({M}, {N}), got {Wstar.shape}")
        return Wstar
    Z = rng.standard_normal((M, N))
    return Z if T is None else _exact_rows(_check_T(T, M), Z)


def initial_weights(
    K: int,
    M: int,
    N: int,
    *,
    init: str = "random",
    vstar: ArrayLike = 1.0,
    T: ArrayLike | None = None,
    teacher_overlap: float | None = None,
    Wstar: ArrayLike | None = None,
    seed: int | None = None,
    noise: float = DEFAULT_NOISE,
) -> Weights:
    """Initial :class:`~statmech.Weights` of one of the starts of :data:`INITIALISATIONS` (module docstring).

    The teacher: ``T`` (M x M overlaps, met exactly), ``teacher_overlap`` rho
    (T = (1 - rho) I + rho 11^T), ``Wstar`` (M x N weights) or none of them
    (i.i.d. N(0, 1)). ``vstar``: one value or M. ``noise``: the standard
    deviation of the perturbation in "informed" and "denoise".
    """
    K, M, N = check_int("K", K), check_int("M", M), check_int("N", N)
    check_memory("the initial weights", f"K={K}, M={M}, N={N}", weights_memory(K, M, N))
    init = check_choice("init (initial condition)", init, INITIALISATIONS)
    noise = check_nonneg("noise", noise)
    vs = check_vstar(vstar, M)
    if teacher_overlap is not None:
        if T is not None or Wstar is not None:
            raise ValueError("give one of teacher_overlap, T and Wstar for the teacher, not several")
        T = teacher_overlaps(M, teacher_overlap)
    if init in ("informed", "denoise") and K < M:
        raise ValueError(f"init {init!r} copies teacher units into student units and needs K >= M, got K={K}, M={M}")
    if init == "random" and T is None and Wstar is None:
        W, Ws, v, vs = random_weights(K, M, N, vstar=vs, seed=seed)
        return Weights(W=W, Wstar=Ws, v=v, vstar=vs)
    rng = np.random.default_rng(seed)
    Ws = teacher_weights(M, N, rng, T=T, Wstar=Wstar)
    Z = rng.standard_normal((K, N))
    z = rng.standard_normal(K)
    if init == "random":
        W, v = Z, z
    elif init == "small":
        s = math.sqrt(SMALL_VARIANCE)
        W, v = s * Z, s * z
    elif init == "informed":
        W, v = noise * Z, noise * z
        W[:M] += Ws
        v[:M] += vs
    else:  # denoise
        owner = np.arange(K) % M
        copies = np.bincount(owner, minlength=M)
        W = Ws[owner] + noise * Z
        v = vs[owner] / copies[owner]
    return Weights(W=W, Wstar=Ws, v=v, vstar=vs)


def initial_state(K: int, M: int, N: int, **kwargs: Any) -> State:
    """Order parameters of :func:`initial_weights` with the same arguments: where the matching ODE starts."""
    return initial_weights(K, M, N, **kwargs).state()


def weights_from_state(state: State | str | Path, N: int, seed: int | None = None) -> Weights:
    """Real weights (W, W*) of input dimension N whose order parameters are ``state``'s exactly (to rounding).

    ``state``: a :class:`~statmech.State` or the path of a saved one. The K + M
    rows are sqrt(N) L O, O orthonormalised Gaussian rows of ``default_rng(seed)``
    and L L^T the covariance [[Q, R], [R^T, T]]; v and v* are the state's.
    """
    if not isinstance(state, State):
        state = State.load(state)
    N = check_int("N", N)
    K, M = state.K, state.M
    rng = np.random.default_rng(seed)
    rows = _exact_rows(state.covariance(), rng.standard_normal((K + M, N)))
    return Weights(W=rows[:K], Wstar=rows[K:], v=state.v.copy(), vstar=state.vstar.copy())
