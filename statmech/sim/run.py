"""One finite-N online-SGD run: :func:`simulate` and :class:`SimulationResult`.

The run trains real weights W (K x N), v (K) on a fixed teacher Wstar, vstar
by online SGD with a fresh Gaussian input every step (docs/theory/model.md
and 7; the compiled step is in ``statmech.sim._kernel``). At the saved
times alpha = steps / N it records the order parameters Q, R, v (T is
constant), eps_g(Q, R, T, v, vstar) from them (noise free, no sampling error),
and optionally the empirical test loss on a held-out noisy test set.

Memory is O(K N) whatever the number of steps: inputs are generated on the fly
and never stored. A checkpoint file (``.npz``) holds the weights, the exact
random-number state, the step counter and the results so far, so ``resume``
continues a run bit for bit; Ctrl-C stops at the next chunk boundary (about
30 ms) and returns what was saved, with the checkpoint written.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from statmech.core.interrupt import sigint_flag
from statmech.core.io import read_npz, write_npz
from statmech.core.model import MODEL_FIELDS, Model, resolve_model
from statmech.core.resources import check_memory, sim_memory
from statmech.core.state import State
from statmech.core.weights import Weights
from statmech.integrals import activation_code
from statmech.integrals.kernels import RELU
from statmech.ode.generalisation import eps_g_arrays
from statmech.ode.integrator import SavedStates, default_save_at
from statmech.sim._kernel import (
    NO_DATA,
    draw_train_set,
    fresh_buffers,
    masked_sgd_steps,
    model_buffers,
    model_sgd_steps,
    model_test_loss_kernel,
    sgd_steps,
    test_loss_kernel,
    train_loss_kernel,
)
from statmech.sim._rng import seed_state

__all__ = ["simulate", "SimulationResult", "save_steps", "DEFAULT_POINTS"]

DEFAULT_POINTS = 50  # log-spaced save points by default (plus alpha = 0)
CHECKPOINT_FORMAT = "statmech-simulate-checkpoint-1"
TRAIN_STREAM, TEST_STREAM, TRAIN_SET_STREAM = 0, 1, 2
_NO_MASK = np.zeros((0, 0), dtype=np.bool_)

# One compiled call does about this many multiply-adds (~30 ms at N = 500):
# short enough for a responsive Ctrl-C, long enough that the Python-side
# checks between chunks cost < 1%.
_CHUNK_WORK = 10**8


# ---------------------------------------------------------------------- result
@dataclass
class SimulationResult(SavedStates):
    """Outcome of one :func:`simulate` run.

    ``alpha`` (= ``steps`` / N) are the saved times; ``Q``, ``R``, ``v`` stack
    the measured order parameters there (first axis = time), ``T`` and
    ``vstar`` are the teacher's. ``eps_g`` is eps_g(Q, R, T, v, vstar) of the
    measured order parameters (noise free, docs/theory/model.md).
    ``test_loss`` (or None) is the empirical mean of (phi - y)^2 / 2 on a
    held-out test set with noisy labels: eps_g + sigma^2 / 2 in expectation,
    the paper's measure. ``weights`` are the final weights (for a failed run:
    the last ones that passed the checks), ``initial_weights`` the start.
    ``status``: 0 done, 1 interrupted (saved points kept), -1 failed
    (diverged), with ``message`` saying which. ``model`` is the learning
    problem (:class:`~statmech.Model`); ``train_loss`` (or None without a
    finite training set) the mean of (phi - y)^2 / 2 over the training set,
    labels as drawn (noise included).
    """

    alpha: np.ndarray
    steps: np.ndarray
    eps_g: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    v: np.ndarray
    T: np.ndarray
    vstar: np.ndarray
    test_loss: np.ndarray | None
    weights: Weights
    initial_weights: Weights
    step: int
    status: int
    message: str
    params: dict = field(default_factory=dict)
    sgd_seconds: float = 0.0
    model: Model = field(default_factory=Model)
    train_loss: np.ndarray | None = None

    @property
    def N(self) -> int:
        return self.weights.N

    @property
    def final(self) -> State:
        """Order parameters of the final weights."""
        return self.weights.state()

    @property
    def initial_state(self) -> State:
        """Order parameters of the initial weights, where the matching ODE starts."""
        return self.initial_weights.state()

    def __repr__(self) -> str:
        end = self.alpha[-1] if len(self.alpha) else None
        return (
            f"SimulationResult(status={self.status}, message={self.message!r}, saved={len(self.alpha)}, "
            f"alpha_end={end}, N={self.N})"
        )


# -------------------------------------------------------------------- helpers
def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_seed(name, seed):
    """An int >= 0 or a tuple of them (SeedSequence entropy); returned as int or tuple."""
    if isinstance(seed, (list, tuple)):
        items = tuple(seed)
    else:
        items = (seed,)
    for s in items:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"{name} must be an integer >= 0 or a tuple of them, got {seed!r}")
    items = tuple(int(s) for s in items)
    return items if isinstance(seed, (list, tuple)) else items[0]


def save_steps(save_at: ArrayLike | None, alpha_max: float, N: int) -> np.ndarray:
    """SGD step counts of the save points: round(alpha N), unique and sorted.

    ``save_at=None`` gives alpha = 0 plus :data:`DEFAULT_POINTS` log-spaced
    times up to alpha_max (:func:`statmech.ode.default_save_at`).
    """

    try:
        alpha_max = float(alpha_max)
    except (TypeError, ValueError):
        raise ValueError(f"alpha_max must be a finite number > 0, got {alpha_max!r}") from None
    if not (math.isfinite(alpha_max) and alpha_max > 0):
        raise ValueError(f"alpha_max must be a finite number > 0, got {alpha_max!r}")
    if save_at is None:
        save_at = default_save_at(alpha_max, DEFAULT_POINTS)
    save_at = np.asarray(save_at, dtype=np.float64)
    if save_at.ndim != 1 or save_at.size == 0 or not np.all(np.isfinite(save_at)) or np.any(np.diff(save_at) <= 0):
        raise ValueError("save_at must be a non-empty, strictly increasing 1-D sequence of finite times")
    if save_at[0] < 0 or save_at[-1] > alpha_max * (1 + 1e-12):
        raise ValueError(f"save_at must lie in [0, alpha_max={alpha_max}], got [{save_at[0]}, {save_at[-1]}]")
    return np.unique(np.rint(save_at * N).astype(np.int64))


def _trajectory_params(
    weights, model, alpha_max, steps, seed, test_seed, test_size, max_abs, mask=None, train_set=None
):
    """The parameters that fix a run's trajectory (compared on resume): the model's fields among them."""
    params = dict(
        K=weights.K,
        M=weights.M,
        N=weights.N,
        **model.to_dict(),
        alpha_max=alpha_max,
        save_steps=[int(s) for s in steps],
        seed=list(seed) if isinstance(seed, tuple) else seed,
        test_seed=list(test_seed) if isinstance(test_seed, tuple) else test_seed,
        test_size=test_size,
        max_abs=max_abs,
        rng="xoshiro256++/ziggurat256",
    )
    if mask is not None:  # only masked runs carry it: unmasked parameters (and old checkpoints) are unchanged
        params["mask"] = "sha256:" + hashlib.sha256(np.packbits(mask).tobytes()).hexdigest()
        params["mask_fraction"] = float(mask.mean())
    if train_set is not None:  # likewise only runs on a finite training set
        params["train_set"] = train_set
        params["train_samples"] = train_samples(train_set, weights.N)
    return params


def train_samples(train_set: float, N: int) -> int:
    """P = round(ts N) samples of a finite training set of ts samples per input dimension."""
    return max(1, int(round(train_set * N)))


def check_train_set(train_set: float | None) -> float | None:
    """The training-set size ts (samples per input dimension, P = ts N), or None for online SGD."""
    if train_set is None:
        return None
    try:
        ts = float(train_set)
    except (TypeError, ValueError):
        raise ValueError(
            f"train_set must be a finite number > 0 (samples per input dimension), got {train_set!r}"
        ) from None
    if isinstance(train_set, bool) or not (math.isfinite(ts) and ts > 0):
        raise ValueError(f"train_set must be a finite number > 0 (samples per input dimension), got {train_set!r}")
    return ts


def is_default_model(model: Model) -> bool:
    """Whether the fused kernels of the paper's model run (one activation, no decay, B = 1, no scaling)."""
    return (
        model.teacher_activation == model.activation
        and model.weight_decay == 0
        and model.batch_size == 1
        and model.output_scale == "1"
    )


def check_mask(mask: ArrayLike, weights: Weights) -> np.ndarray:
    """The K x N boolean mask of masked SGD, checked against the weights it confines."""
    arr = np.asarray(mask)
    if arr.shape != weights.W.shape:
        raise ValueError(f"mask must be a K x N boolean array with the shape of W {weights.W.shape}, got {arr.shape}")
    if arr.dtype != np.bool_ and not np.all((arr == 0) | (arr == 1)):
        raise ValueError("mask must hold booleans (or 0/1)")
    arr = np.ascontiguousarray(arr, dtype=np.bool_)
    if np.any(weights.W[~arr] != 0):
        raise ValueError(
            "mask does not match the weights: some masked-out weights are non-zero "
            "(masked SGD keeps them at zero; prune first, e.g. weights.replace(W=W * mask))"
        )
    return arr


# ---------------------------------------------------------------- checkpoints
CHECKPOINT_KEYS = (
    "format",
    "params",
    "W",
    "v",
    "Wstar",
    "vstar",
    "W0",
    "v0",
    "rng",
    "step",
    "saved_steps",
    "Q",
    "R",
    "v_saved",
    "eps_g",
    "test_loss",
    "status",
    "message",
)
_CHECKPOINT_NUMBERS = ("W", "v", "Wstar", "vstar", "W0", "v0", "Q", "R", "v_saved", "eps_g", "test_loss")
CHECKPOINT_REMEDY = "delete it, or rerun without --resume (resume=False) to start the run again"


def _write_checkpoint(path: Path, *, params, W, v, initial, rng, step, rec, status, message):
    """Write the checkpoint atomically (a kill never leaves a torn file), with its provenance record."""
    K, M = initial.K, initial.M
    n = len(rec["steps"])
    arrays = dict(
        format=np.array(CHECKPOINT_FORMAT),
        params=np.array(json.dumps(params, sort_keys=True)),
        W=W,
        v=v,
        Wstar=initial.Wstar,
        vstar=initial.vstar,
        W0=initial.W,
        v0=initial.v,
        rng=rng,
        step=np.array(step, dtype=np.int64),
        saved_steps=np.array(rec["steps"], dtype=np.int64),
        Q=np.array(rec["Q"]).reshape(n, K, K),
        R=np.array(rec["R"]).reshape(n, K, M),
        v_saved=np.array(rec["v"]).reshape(n, K),
        eps_g=np.array(rec["eps_g"], dtype=np.float64),
        test_loss=np.array(rec["test_loss"], dtype=np.float64),
        status=np.array(status, dtype=np.int64),
        message=np.array(message),
    )
    if "train_set" in params:  # only runs on a finite training set have a training error
        arrays["train_loss"] = np.array(rec["train_loss"], dtype=np.float64)
    write_npz(path, arrays, params)


def read_checkpoint(path: str | Path) -> dict:
    """The contents of a checkpoint file as a dict (params decoded).

    A file that is missing, a directory, empty, truncated, not a checkpoint,
    or holds NaN or arrays of the wrong type or shape is a one-line
    ``ValueError`` naming it and saying what to do.
    """
    path = Path(path)
    data = read_npz(
        path,
        CHECKPOINT_KEYS,
        "checkpoint",
        remedy=CHECKPOINT_REMEDY,
        finite=_CHECKPOINT_NUMBERS,
        expect_format=("format", CHECKPOINT_FORMAT),
    )

    def broken(problem):
        return ValueError(f"checkpoint file {path} is damaged ({problem}); {CHECKPOINT_REMEDY}")

    try:
        params = json.loads(str(data["params"]))
        K, M, N = (int(params[k]) for k in ("K", "M", "N"))
        data["step"] = int(data["step"])
        data["status"] = int(data["status"])
    except (ValueError, KeyError, TypeError) as exc:
        raise broken(f"its parameters or counters cannot be decoded: {exc}") from None
    if not isinstance(params, dict):
        raise broken("its parameters are not a table of names")
    data["params"] = params
    data["message"] = str(data["message"])
    n = data["saved_steps"].shape[0] if data["saved_steps"].ndim == 1 else -1
    shapes = {
        "W": (K, N),
        "W0": (K, N),
        "Wstar": (M, N),
        "v": (K,),
        "v0": (K,),
        "vstar": (M,),
        "rng": data["rng"].shape if data["rng"].ndim == 1 and data["rng"].dtype == np.uint64 else ("uint64 state",),
        "saved_steps": (n,),
        "Q": (n, K, K),
        "R": (n, K, M),
        "v_saved": (n, K),
        "eps_g": (n,),
    }
    for key, shape in shapes.items():
        if data[key].shape != shape:
            raise broken(f"{key} has shape {data[key].shape}, expected {shape} for K={K}, M={M}, N={N}")
    if data["test_loss"].shape not in ((0,), (n,)):
        raise broken(f"test_loss has shape {data['test_loss'].shape}, expected (0,) or ({n},)")
    if data["saved_steps"].dtype.kind not in "iu" or data["step"] < 0 or data["status"] not in (-1, 0, 1):
        raise broken(f"step {data['step']} or status {data['status']} out of range")
    if "train_set" in params:
        extra = read_npz(path, ["train_loss"], "checkpoint", remedy=CHECKPOINT_REMEDY, finite=["train_loss"])
        data["train_loss"] = extra["train_loss"]
        if data["train_loss"].shape != (n,):
            raise broken(f"train_loss has shape {data['train_loss'].shape}, expected ({n},)")
    return data


# ------------------------------------------------------------------------ run
def simulate(
    weights: Weights | None,
    model: Model | None = None,
    *,
    alpha_max: float,
    save_at: ArrayLike | None = None,
    seed: int | tuple[int, ...] = 0,
    test_seed: int | tuple[int, ...] | None = None,
    test_size: int = 0,
    train_set: float | None = None,
    max_abs: float = 1e6,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    checkpoint_every: float = 60.0,
    progress: bool | None = None,
    mask: ArrayLike | None = None,
    _stop: Callable[[], bool] | None = None,
    _on_progress: Callable[[int], object] | None = None,
    **model_fields: Any,
) -> SimulationResult:
    """Train a K-unit student on an M-unit teacher by online SGD at finite N.

    Step rule (docs/theory/model.md): w_k += (eta/sqrt N) v_k g'(lambda_k) Delta x,
    v_k += (eta_v/N) g(lambda_k) Delta, Delta = y - phi, with a fresh
    x ~ N(0, I_N) and label noise sigma zeta every step; alpha = steps / N.

    ``model``: the learning problem (:class:`~statmech.Model`), or its fields
    as keywords (``eta=0.5, sigma=0.1, activation="erf"``, ...;
    :func:`~statmech.core.model.resolve_model`). The general model (Goldt et
    al.'s nn2pp conventions): phi = (1/s_K) sum_k v_k g(lambda_k) with the
    student's g, the teacher (1/s_M) sum_m v*_m g*(nu_m) with its own g*; an
    update averages the gradient of B = ``batch_size`` fresh samples and
    decays both layers, w <- (1 - kappa/N) w + (eta/sqrt N) grad,
    v <- (1 - kappa/N) v + (eta_v/N) grad with kappa = ``weight_decay`` (v fixed when eta_v = 0);
    alpha counts updates / N (B N samples per unit alpha). The paper's
    model (one activation, kappa = 0, B = 1, s = 1) runs a fused kernel.

    ``train_set``: ts > 0 trains on a finite training set of P = round(ts N)
    samples drawn once from the seed's stream (labels with their output noise
    fixed at the draw) instead of fresh samples: every sample of an update is
    drawn uniformly from the set (with replacement), an epoch being P samples
    (P / B updates); ``train_loss`` then records the training error at the
    save points beside eps_g (the test error). No online ODE describes this
    regime (samples are reused, so the weights become correlated with them).

    ``weights``: the initial :class:`~statmech.Weights` (student W, v and
    teacher Wstar, vstar); ``Weights.random(K, M, N, vstar, seed)`` is the
    paper's initialisation and its ``.state()`` is where the matching ODE
    starts. ``eta_v`` defaults to ``eta``; ``eta_v=0`` trains the first layer
    only. ``seed`` (int or tuple of ints) fixes the stream of inputs and label
    noise; ``test_seed`` (default ``seed``) the held-out test set of
    ``test_size`` samples, regenerated from its seed at every save point
    (cost: test_size x (N + (K+M) N) per point; memory O(N)). ``save_at``:
    times to record (default 0 plus 50 log-spaced points), rounded to whole
    steps. A run stops with status -1 and a message when Delta or a weight
    stops being finite or Q_ii or |v_i| exceeds ``max_abs``; the results keep
    only checked points, never NaN.

    ``mask``: K x N booleans for masked SGD (edge pruning then retraining):
    w_kj is updated only where mask[k, j], so weights outside the mask,
    which must be zero at the start, stay exactly zero. None (default) is
    plain SGD, bit for bit as without the option.

    ``checkpoint``: path of an ``.npz`` written at every save point, every
    ``checkpoint_every`` seconds, and at the end; with ``resume=True`` an
    existing checkpoint of the same run is continued bit for bit (a finished
    one is returned as is; ``weights`` may then be None). ``progress``: None
    shows a bar only on a terminal.
    """
    model = resolve_model(model, **model_fields)
    eta, eta_v, sigma, activation = model.eta, model.eta_v, model.sigma, model.activation
    train_set = check_train_set(train_set)
    fast = is_default_model(model) and train_set is None
    max_abs = float(max_abs)
    if not max_abs > 0:
        raise ValueError(f"max_abs must be > 0, got {max_abs!r}")
    test_size = _check_int("test_size", test_size, 0)
    seed = _check_seed("seed", seed)
    test_seed = seed if test_seed is None else _check_seed("test_seed", test_seed)
    act = activation_code(activation)
    act_t = activation_code(model.teacher_activation)
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    if checkpoint is not None and checkpoint.is_dir():
        raise ValueError(
            f"checkpoint {checkpoint} is a directory; give the path of a file, e.g. {checkpoint / 'run.npz'}"
        )

    ck = None
    if resume:
        if checkpoint is None:
            raise ValueError("resume=True needs a checkpoint path")
        if checkpoint.exists():
            ck = read_checkpoint(checkpoint)
            if weights is None:
                weights = Weights(W=ck["W0"], Wstar=ck["Wstar"], v=ck["v0"], vstar=ck["vstar"])
    if weights is None:
        raise ValueError("weights (the initial Weights) are required unless resuming from an existing checkpoint")
    if not isinstance(weights, Weights):
        raise TypeError(f"weights must be a statmech.Weights, got {type(weights).__name__}")
    if act == RELU and np.any(np.all(weights.W == 0, axis=1)):
        raise ValueError("activation 'relu' needs every student row w_k to be non-zero")
    K, M, N = weights.K, weights.M, weights.N
    mask = None if mask is None else check_mask(mask, weights)
    steps_plan = save_steps(save_at, alpha_max, N)
    check_memory(
        "the simulation", f"K={K}, M={M}, N={N}, {steps_plan.size} save points", sim_memory(K, M, N, steps_plan.size)
    )
    params = _trajectory_params(
        weights, model, float(alpha_max), steps_plan, seed, test_seed, test_size, max_abs, mask, train_set
    )
    inv_sk, inv_sm = 1.0 / model.student_scale(K), 1.0 / model.teacher_scale(M)

    T = weights.Wstar @ weights.Wstar.T / N
    T = 0.5 * (T + T.T)
    Wstar = np.ascontiguousarray(weights.Wstar)
    vstar = np.ascontiguousarray(weights.vstar)
    test_state = seed_state(test_seed, TEST_STREAM)
    rec: dict[str, list] = {"steps": [], "Q": [], "R": [], "v": [], "eps_g": [], "test_loss": [], "train_loss": []}
    X, Y = NO_DATA, np.zeros(0)
    if train_set is not None:  # drawn once from its own stream of the seed; labels keep their noise
        P = params["train_samples"]
        X, Y = np.empty((P, N)), np.empty(P)
        draw_train_set(act_t, Wstar, vstar, inv_sm, sigma, seed_state(seed, TRAIN_SET_STREAM), X, Y, np.empty(N + 1))

    if ck is not None:
        _check_resume(checkpoint, ck, params, weights)
        W = np.ascontiguousarray(ck["W"], dtype=np.float64).copy()
        v = np.ascontiguousarray(ck["v"], dtype=np.float64).copy()
        rng = np.ascontiguousarray(ck["rng"], dtype=np.uint64).copy()
        step = ck["step"]
        for i, s in enumerate(ck["saved_steps"]):
            rec["steps"].append(int(s))
            rec["Q"].append(ck["Q"][i])
            rec["R"].append(ck["R"][i])
            rec["v"].append(ck["v_saved"][i])
            rec["eps_g"].append(float(ck["eps_g"][i]))
        rec["test_loss"] = [float(x) for x in ck["test_loss"]]
        rec["train_loss"] = [float(x) for x in ck.get("train_loss", ())]
        status, message = ck["status"], ck["message"]
        if status in (0, -1):  # finished or failed: nothing to continue
            return _make_result(rec, W, v, weights, T, step, status, message, params, test_size, 0.0, model)
    else:
        W = weights.W.copy()
        v = weights.v.copy()
        rng = seed_state(seed, TRAIN_STREAM)
        step = 0

    buffers = fresh_buffers(K, N) if fast else model_buffers(K, N)
    x = buffers[0]
    work = N * (2 * K + M + 1) if fast else N * model.batch_size * (3 * K + (0 if train_set else M + 1)) + 2 * K * N
    chunk = max(1, _CHUNK_WORK // work)
    total = int(steps_plan[-1])
    good_W, good_v = W.copy(), v.copy()
    status, message = 0, "reached alpha_max"
    sgd_seconds = 0.0
    last_ck = time.monotonic()

    def record(s):
        Q = W @ W.T / N
        R = W @ Wstar.T / N
        Q = 0.5 * (Q + Q.T)
        rec["steps"].append(int(s))
        rec["Q"].append(Q)
        rec["R"].append(R)
        rec["v"].append(v.copy())
        rec["eps_g"].append(eps_g_arrays(Q, R, T, v, vstar, model))
        if test_size and fast:
            rec["test_loss"].append(
                float(test_loss_kernel(act, W, v, Wstar, vstar, sigma, test_state.copy(), test_size, x))
            )
        elif test_size:
            loss = model_test_loss_kernel(
                act, act_t, W, v, Wstar, vstar, inv_sk, inv_sm, sigma, test_state.copy(), test_size, x
            )
            rec["test_loss"].append(float(loss))
        if train_set is not None:
            rec["train_loss"].append(float(train_loss_kernel(act, W, v, inv_sk, X, Y)))

    def write(st, msg):
        if checkpoint is not None:
            _write_checkpoint(
                checkpoint,
                params=params,
                W=W,
                v=v,
                initial=weights,
                rng=rng,
                step=step,
                rec=rec,
                status=st,
                message=msg,
            )

    from tqdm.auto import tqdm

    bar = tqdm(
        total=total,
        initial=step,
        disable=(None if progress is None else not progress),
        unit="step",
        unit_scale=True,
        desc=f"simulate seed {seed}",
        leave=False,
    )
    with sigint_flag() as flag:
        stop = (lambda: flag["stop"] or _stop()) if _stop is not None else (lambda: flag["stop"])
        try:
            for target in steps_plan:
                target = int(target)
                if rec["steps"] and target <= rec["steps"][-1]:
                    continue  # recorded before the checkpoint this run resumed from
                while step < target:
                    if stop():
                        raise _Stop
                    n = min(chunk, target - step)
                    t0 = time.perf_counter()
                    if not fast:
                        done = int(
                            model_sgd_steps(
                                act,
                                act_t,
                                W,
                                v,
                                Wstar,
                                vstar,
                                rng,
                                n,
                                eta,
                                eta_v,
                                sigma,
                                model.weight_decay,
                                model.batch_size,
                                inv_sk,
                                inv_sm,
                                _NO_MASK if mask is None else mask,
                                X,
                                Y,
                                *buffers,
                            )
                        )
                    elif mask is None:
                        done = int(sgd_steps(act, W, v, Wstar, vstar, rng, n, eta, eta_v, sigma, *buffers))
                    else:
                        done = int(masked_sgd_steps(act, W, v, Wstar, vstar, rng, n, eta, eta_v, sigma, mask, *buffers))
                    sgd_seconds += time.perf_counter() - t0
                    bad = _check_weights(W, v, N, max_abs)
                    if done < n or bad:
                        reason = bad or "the error signal Delta became non-finite"
                        W[...] = good_W  # back to the last checked weights
                        v[...] = good_v
                        status = -1
                        message = (
                            f"diverged between alpha={step / N:.6g} and {(step + n) / N:.6g}: {reason}; "
                            f"eta={eta}, eta_v={eta_v} are probably too large for a stable run "
                            f"(saved points before it are kept; the weights returned are the last finite "
                            f"ones, at alpha={step / N:.6g})"
                        )
                        break
                    step += done
                    good_W[...] = W
                    good_v[...] = v
                    bar.update(done)
                    if _on_progress is not None:
                        _on_progress(step)
                    if checkpoint is not None and time.monotonic() - last_ck > checkpoint_every:
                        write(1, "in progress")
                        last_ck = time.monotonic()
                if status == -1:
                    break
                record(target)
                if checkpoint is not None:
                    write(1, "in progress")
                    last_ck = time.monotonic()
        except _Stop:
            status = 1
            message = f"interrupted at alpha={step / N:.6g}; the saved points so far are kept"
        finally:
            bar.close()
    # A second Ctrl-C raises KeyboardInterrupt straight through: the last checkpoint on disk stays valid.
    write(status, message)
    return _make_result(rec, W, v, weights, T, step, status, message, params, test_size, sgd_seconds, model)


class _Stop(Exception):
    """Internal: a requested stop (Ctrl-C flag or the parent's stop event) seen between chunks."""


def _check_weights(W, v, N, max_abs):
    """'' when W, v are finite and Q_ii, |v_i| <= max_abs; otherwise the reason."""
    q = np.einsum("ij,ij->i", W, W) / N
    if not (np.all(np.isfinite(q)) and np.all(np.isfinite(v))):
        return "a weight became non-finite"
    if q.max() > max_abs or np.abs(v).max() > max_abs:
        return f"an order parameter Q_ii or |v_i| exceeded max_abs={max_abs:g}"
    return ""


def _check_resume(path, ck, params, weights):
    # a checkpoint of the paper's model may predate the general model's fields: they had their defaults
    old = {**Model(activation=ck["params"].get("activation", "erf")).to_dict(), **ck["params"]}
    old = {k: v for k, v in old.items() if k in ck["params"] or k in MODEL_FIELDS}
    diff = sorted(k for k in set(old) | set(params) if old.get(k) != params.get(k))
    if diff:
        shown = ", ".join(f"{k}: checkpoint {old.get(k)!r} vs now {params.get(k)!r}" for k in diff if k != "save_steps")
        if "save_steps" in diff:
            shown = (shown + ", " if shown else "") + "the save points differ"
        raise ValueError(
            f"checkpoint {path} belongs to a different run ({shown}); "
            "use the same parameters or another checkpoint path"
        )
    for name, a, b in (
        ("W", ck["W0"], weights.W),
        ("Wstar", ck["Wstar"], weights.Wstar),
        ("v", ck["v0"], weights.v),
        ("vstar", ck["vstar"], weights.vstar),
    ):
        if a.shape != b.shape or not np.array_equal(a, b):
            raise ValueError(f"checkpoint {path} was started from different initial weights ({name} differs)")


def _make_result(rec, W, v, initial, T, step, status, message, params, test_size, sgd_seconds, model):
    K, M = initial.K, initial.M
    n = len(rec["steps"])
    steps = np.array(rec["steps"], dtype=np.int64)
    return SimulationResult(
        alpha=steps / initial.N,
        steps=steps,
        eps_g=np.array(rec["eps_g"], dtype=np.float64),
        Q=np.array(rec["Q"]).reshape(n, K, K),
        R=np.array(rec["R"]).reshape(n, K, M),
        v=np.array(rec["v"]).reshape(n, K),
        T=T,
        vstar=initial.vstar.copy(),
        test_loss=np.array(rec["test_loss"], dtype=np.float64) if test_size else None,
        weights=Weights(W=W.copy(), Wstar=initial.Wstar, v=v.copy(), vstar=initial.vstar),
        initial_weights=initial,
        step=int(step),
        status=int(status),
        message=message,
        params=dict(params),
        sgd_seconds=float(sgd_seconds),
        model=model,
        train_loss=np.array(rec["train_loss"], dtype=np.float64) if "train_set" in params else None,
    )
