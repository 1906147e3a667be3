"""Size and time budgets checked before work starts.

Every engine estimates what a run needs from its sizes alone (float64 arrays:
8 bytes an entry) and refuses, with a one-line ``ValueError`` naming the
parameters, the estimate and the machine's available memory, a run that cannot
fit; a long run prints its estimated duration on stderr first. The cost
constants were measured on the compiled kernels (x86-64, one core):

- one evaluation of the ODE right-hand side costs about
  ``ODE_EVAL_SECONDS * K^2 (K+M)^2`` s (the I4 integrals over unit pairs);
  a DOPRI5 step makes 6 evaluations, an Euler step 1;
- one SGD step of the simulator costs about ``SGD_SECONDS`` per multiply-add,
  N (2K + M + 1) multiply-adds per step.
"""

from __future__ import annotations

import math
import os
import sys

__all__ = [
    "available_memory",
    "check_memory",
    "check_steps",
    "check_step_cost",
    "note_duration",
    "ode_memory",
    "ode_step_seconds",
    "weights_memory",
    "sim_memory",
    "sim_seconds",
    "format_bytes",
    "ODE_EVAL_SECONDS",
    "SGD_SECONDS",
    "MAX_EULER_STEPS",
    "MAX_STEP_SECONDS",
    "LONG_RUN_SECONDS",
    "MEMORY_FRACTION",
]

ODE_EVAL_SECONDS = 3e-9  # measured: 2.7e-9 (K=80) to 3.7e-9 (K=40) s per K^2 (K+M)^2
ODE_EVAL_OVERHEAD = 1e-6  # per evaluation at small K (loop setup, eps_g checks)
SGD_SECONDS = 1e-9  # per multiply-add of the SGD kernels
MAX_EULER_STEPS = 10**10  # ~10^4 s at K = 6: beyond that the fixed step is the thing to change
MAX_STEP_SECONDS = 600.0  # one ODE step longer than this is refused: Ctrl-C waits for the step to end
LONG_RUN_SECONDS = 30.0  # runs estimated longer print their estimate on stderr
MEMORY_FRACTION = 0.8  # of the available memory a run may plan to use (the rest: Python, numba, the OS)
_BYTES = 8


def format_bytes(n: float) -> str:
    """``n`` bytes as a short text (1.2 GB)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def _format_seconds(s: float) -> str:
    if s >= 86400 * 365:
        return f"{s / (86400 * 365):.3g} years"
    if s >= 86400:
        return f"{s / 86400:.3g} days"
    if s >= 3600:
        return f"{s / 3600:.3g} h"
    if s >= 60:
        return f"{s / 60:.3g} min"
    return f"{s:.3g} s"


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation: MemAvailable of /proc/meminfo, else sysconf; None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(what: str, params: str, nbytes: float) -> None:
    """ValueError when ``nbytes`` exceed MEMORY_FRACTION of the available memory (message names ``params``)."""
    avail = available_memory()
    if avail is None or not math.isfinite(nbytes):
        if math.isfinite(nbytes):
            return
        raise ValueError(f"{what} with {params} needs more memory than can be counted")
    if nbytes > MEMORY_FRACTION * avail:
        raise ValueError(
            f"{what} with {params} needs about {format_bytes(nbytes)} of memory, more than "
            f"{MEMORY_FRACTION:.0%} of the {format_bytes(avail)} available; reduce the sizes"
        )


def weights_memory(K: int, M: int, N: int) -> float:
    """Bytes of a weight set: W (K x N), W* (M x N) drawn, then copied once into a Weights."""
    return 2.0 * _BYTES * (K + M) * N


def ode_memory(K: int, M: int, points: int) -> float:
    """Bytes of an ODE run: the vector y of K^2 + KM + K entries, 12 work arrays of its size, the saved points."""
    n = float(K) * K + float(K) * M + K
    return _BYTES * n * (12 + points) + _BYTES * (K + M) ** 2 * 4.0


def ode_step_seconds(K: int, M: int, method: str) -> float:
    """Estimated seconds of one ODE step: evaluations x (overhead + ODE_EVAL_SECONDS K^2 (K+M)^2)."""
    evals = 6 if method == "dopri5" else 1
    return evals * (ODE_EVAL_OVERHEAD + ODE_EVAL_SECONDS * float(K) ** 2 * float(K + M) ** 2)


def sim_memory(K: int, M: int, N: int, points: int, runs: int = 1) -> float:
    """Bytes of ``runs`` simulations held at once: W, its last good copy and start (3 K N), W* (M N),
    the buffers (4 N), and (Q, R, v) at every save point."""
    per_run = _BYTES * (3.0 * K * N + float(M) * N + 4.0 * N)
    per_run += _BYTES * float(points) * (float(K) * K + float(K) * M + K)
    return runs * per_run


def sim_seconds(K: int, M: int, N: int, steps: float, batch_size: int = 1) -> float:
    """Estimated seconds of one simulation of ``steps`` SGD steps."""
    return SGD_SECONDS * float(steps) * N * batch_size * (2.0 * K + M + 1)


def check_step_cost(K: int, M: int, method: str) -> float:
    """The estimated seconds of one ODE step (cost ~ K^2 (K+M)^2), or a ValueError when beyond MAX_STEP_SECONDS.

    Cheap (from K and M alone): callers run it before building a K x K state.
    """
    step = ode_step_seconds(K, M, method)
    if step > MAX_STEP_SECONDS:
        raise ValueError(
            f"one ODE step at K={K}, M={M} would take about {_format_seconds(step)} "
            f"(cost ~ K^2 (K+M)^2), more than the {MAX_STEP_SECONDS:g} s allowed; reduce K"
        )
    return step


def check_steps(alpha_max: float, method: str, dt: float | None, max_steps: int | None, K: int, M: int) -> None:
    """Refuse an ODE run whose step count or single step is beyond the budgets; note a long one on stderr.

    Euler takes ceil(alpha_max / dt) steps (at most MAX_EULER_STEPS); DOPRI5
    stops at ``max_steps``, so its duration is bounded by max_steps steps.
    """
    step = check_step_cost(K, M, method)
    if method == "euler":
        steps = alpha_max / dt if dt else math.inf
        if not steps <= MAX_EULER_STEPS:
            raise ValueError(
                f"Euler with alpha_max={alpha_max:g} and dt={dt:g} takes {steps:.3g} steps, more than the "
                f"{MAX_EULER_STEPS:.0e} allowed; raise dt or lower alpha_max"
            )
        note_duration(f"ODE (Euler, K={K}, M={M}, {steps:.3g} steps)", steps * step)
    elif max_steps is not None:
        bound = max_steps * step
        if bound > LONG_RUN_SECONDS and alpha_max > 1e6:
            note_duration(f"ODE (dopri5, K={K}, M={M}, alpha_max={alpha_max:g}, at most max_steps={max_steps})", bound)
        elif step > 1.0:
            note_duration(f"ODE (dopri5, K={K}, M={M})", step, per="step")


def note_duration(what: str, seconds: float, per: str = "") -> None:
    """Print the estimated duration of a long run on stderr (nothing for a short one)."""
    if per:
        print(
            f"statmech: {what}: about {_format_seconds(seconds)} a {per}; Ctrl-C takes effect between {per}s",
            file=sys.stderr,
        )
    elif seconds > LONG_RUN_SECONDS:
        print(
            f"statmech: {what}: estimated up to {_format_seconds(seconds)}; Ctrl-C stops it keeping what finished",
            file=sys.stderr,
        )
