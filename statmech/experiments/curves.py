"""Learning-curve tables: what ``statmech curve`` and ``statmech simulate`` compute, as library calls.

Each function runs the computation and returns the table (columns, their
descriptions, parameters) and the lines to plot, so a command only parses its
arguments, calls one function and writes files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from statmech.core.model import Model, resolve_model
from statmech.core.state import State
from statmech.ode.integrator import IntegrateResult, default_save_at, integrate
from statmech.ode.steppers import Stepper
from statmech.pruning.retraining import parse_schemes, pruned_along
from statmech.sim import SeedsResult, ode_reference

__all__ = ["CurveTable", "ode_curve_table", "simulation_table", "stderr_floor"]

EPS_G_DOC = "noise-free generalisation error (test loss on noisy labels adds sigma^2/2)"
ALPHA_DOC = "training time: updates / N (each update averages batch_size fresh samples)"


@dataclass
class CurveTable:
    """A table to write (``columns``, ``descriptions``, ``params``), the ``lines`` to plot
    (label, alpha, values[, stderr]), the run's ``status`` (0 done, 1 interrupted, -1 failed)
    and a one-line ``summary``. ``result`` is the underlying ODE or simulation result."""

    columns: dict
    descriptions: dict
    params: dict
    lines: list
    status: int
    summary: str
    result: object = None
    extra: dict = field(default_factory=dict)


def ode_curve_table(
    state: State,
    model: Model | None = None,
    *,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    alpha_max: float,
    points: int = 200,
    activation: str | None = None,
    teacher_activation: str | None = None,
    weight_decay: float | None = None,
    batch_size: int | None = None,
    output_scale: str | None = None,
    method: str | Stepper = "dopri5",
    schemes: str | Sequence[Any] | None = None,
    keep: int | None = None,
    keep_fraction: float | None = None,
    N: int | None = None,
    init: dict | None = None,
) -> CurveTable:
    """eps_g(alpha) of the ODEs from ``state`` at 0 and ``points`` log-spaced times, and with
    ``schemes`` the N -> infinity eps_g of the network pruned at each saved time
    (:func:`statmech.pruning.retraining.pruned_along`; budget ``keep`` units or
    ``keep_fraction`` of the edges, ``N`` for node/edge parameter matching).
    ``init`` describes the initial state in the parameters. The learning problem is
    ``model`` or its fields as keywords (:func:`statmech.integrate`); the parameters
    record it as ``params["model"]`` (``Model.to_dict()``)."""
    model = resolve_model(
        model,
        eta=eta,
        eta_v=eta_v,
        sigma=sigma,
        activation=activation,
        teacher_activation=teacher_activation,
        weight_decay=weight_decay,
        batch_size=batch_size,
        output_scale=output_scale,
    )
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 2:
        raise ValueError(f"points must be an integer >= 2, got {points!r}")
    if schemes is not None:
        schemes = parse_schemes("all" if not isinstance(schemes, str) and "all" in schemes else schemes)
        if keep is None and keep_fraction is None:
            raise ValueError("pruning needs a budget: keep (units kept, k) or keep_fraction (edges kept, c)")
    elif keep is not None or keep_fraction is not None:
        raise ValueError("keep and keep_fraction are budgets for pruning; give schemes too")
    res: IntegrateResult = integrate(
        state,
        model,
        alpha_max=alpha_max,
        save_at=default_save_at(alpha_max, points),
        method=method,
    )
    params = dict(
        res.params, **(init or {}), model=res.model.to_dict(), status=res.status, message=res.message, nfev=res.nfev
    )
    columns = {"alpha": res.alpha, "eps_g": res.eps_g}
    descriptions = {"alpha": ALPHA_DOC, "eps_g": EPS_G_DOC}
    lines = [(f"ODE ({res.params['method']})", res.alpha, res.eps_g)]
    summary = res.message
    if len(res.alpha):
        summary += f"; eps_g({res.alpha[-1]:.6g}) = {res.eps_g[-1]:.6g}"
    status = res.status
    if schemes and len(res.alpha):
        pc = pruned_along(res, schemes, keep=keep, keep_fraction=keep_fraction, N=N, model=model)
        columns = pc.columns()
        for s in pc.eps_g:
            descriptions[f"pruned_{s}"] = (
                f"noise-free eps_g of the network pruned by {s} at this alpha "
                f"(statmech.pruning.pruned_error, N -> infinity)"
            )
            lines.append((f"pruned at alpha: {s}", res.alpha, pc.eps_g[s]))
        params.update(
            prune=list(pc.eps_g),
            keep=keep,
            fraction=keep_fraction,
            prune_budgets=pc.budget,
            prune_message=pc.message,
        )
        summary += f"; pruned curves for {len(pc.eps_g)} schemes ({sum(pc.seconds.values()):.2f} s)"
        if status == 0 and pc.status != 0:
            status = pc.status
    return CurveTable(columns, descriptions, params, lines, status, summary, result=res)


STDERR_FLOOR_DOC = (
    "save points with standard error below eps_g_ode / N are skipped: there the finite-N mean differs from "
    "the N -> infinity ODE by its O(1/N) finite-size correction more than by sampling noise"
)


def stderr_floor(ode_eps_g: np.ndarray, N: int) -> np.ndarray:
    """The smallest standard error at which |mean - ODE| / s.e. is judged: eps_g_ode / N.

    The ODE is the N -> infinity limit; a finite-N mean over runs differs from it by
    an O(1/N) finite-size correction whatever the number of runs (Saad & Solla, Phys.
    Rev. E 52, 4225 (1995); N |mean - ODE| / eps_g measured up to about 10). Where the
    s.e. is below eps_g / N (alpha = 0, where every run starts from the same weights and
    the s.e. is rounding, ~1e-17; the first save points, where the runs have barely left
    that start) the ratio measures the correction or rounding over a vanishing s.e.,
    not a disagreement.
    """
    return np.asarray(ode_eps_g, dtype=np.float64) / float(N)


def simulation_table(res: SeedsResult, *, n_test: int = 0, extra_params: dict | None = None) -> CurveTable:
    """The table of finite-N SGD runs beside the ODE from the same initial state.

    Columns: mean and standard error of eps_g over runs, the ODE at the same
    times (:func:`statmech.sim.ode_reference`), each run's eps_g, and with
    ``n_test`` > 0 the empirical test loss on noisy labels (eps_g + sigma^2/2
    in expectation). ``params["max_abs_z_vs_ode"]`` is max |mean - ODE| / s.e.
    over the saved times whose standard error is at least the floor
    :func:`stderr_floor` (None from one run: no standard error, or when no
    time passes the floor); ``z_points`` and ``z_points_skipped`` count the
    times used and skipped. ``lines`` holds the ODE densely saved and the
    simulation points."""
    p = res.params
    sigma = p["sigma"]
    ode = ode_reference(res)
    ode_eps = np.full(len(res.alpha), np.nan)
    ode_eps[: len(ode.eps_g)] = ode.eps_g
    floor = stderr_floor(ode_eps, int(p["N"]))
    judged = np.isfinite(ode_eps) & (res.stderr >= floor)  # NaN s.e. (one run) fails the comparison
    z = np.full(len(res.alpha), np.nan)
    z[judged] = (res.mean[judged] - ode_eps[judged]) / res.stderr[judged]
    skipped = int(np.sum(np.isfinite(ode_eps) & np.isfinite(res.stderr) & ~judged))
    cols = {"alpha": res.alpha, "eps_g_mean": res.mean, "eps_g_stderr": res.stderr, "eps_g_ode": ode_eps}
    desc = {
        "eps_g_mean": "noise-free generalisation error eps_g(Q, R, T, v, vstar) of the measured order "
        "parameters, mean over runs",
        "eps_g_stderr": "standard error of the mean over runs (std ddof=1 / sqrt(runs))",
        "eps_g_ode": "ODE solution (dopri5) started from the same initial state",
    }
    for r, run_ in zip(res.run_ids, res.runs):
        cols[f"eps_g_seed{r}"] = run_.eps_g[: len(res.alpha)]
    if res.test_loss is not None:
        assert res.test_mean is not None and res.test_stderr is not None  # set with test_loss
        cols["test_loss_mean"] = res.test_mean
        cols["test_loss_stderr"] = res.test_stderr
        for r, row in zip(res.run_ids, res.test_loss):
            cols[f"test_loss_seed{r}"] = row
        desc["test_loss_mean"] = (
            f"empirical test loss (phi - y)^2/2 on {n_test} held-out samples with "
            f"noisy labels: eps_g + sigma^2/2 in expectation (sigma={sigma})"
        )
    sgd_time = sum(r.sgd_seconds for r in res.runs)
    sgd_rate = sum(r.step for r in res.runs) / sgd_time if sgd_time > 0 else None  # None: nothing left to run
    finite = np.isfinite(z)
    params = dict(
        res.params,
        **(extra_params or {}),
        status=res.status,
        message=res.message,
        max_abs_z_vs_ode=float(np.max(np.abs(z[finite]))) if np.any(finite) else None,
        z_points=int(np.sum(finite)),
        z_points_skipped=skipped,
        z_stderr_floor=STDERR_FLOOR_DOC,
        wall_seconds=res.wall_seconds,
        sgd_steps_per_second_per_run=sgd_rate,
    )
    alpha_end = float(res.alpha[-1]) if res.alpha[-1] > 0 else p["alpha_max"]
    dense = ode_reference(res, save_at=None, alpha_max=alpha_end)
    sim = [(f"SGD, N={p.get('N')}, {res.n_runs} runs (mean ± s.e.)", res.alpha, res.mean, np.nan_to_num(res.stderr))]
    if res.test_loss is not None and res.test_mean is not None and res.test_stderr is not None:
        sim.append(
            (
                f"empirical test loss − σ²/2 ({n_test} samples)",
                res.alpha,
                res.test_mean - 0.5 * sigma**2,
                np.nan_to_num(res.test_stderr),
            )
        )
    i = len(res.alpha) - 1
    zmax = params["max_abs_z_vs_ode"]
    if res.n_runs < 2:
        zline = "n/a (one run)"
    elif zmax is None:
        zline = f"n/a (every save point has s.e. < eps_g/N, N={p['N']})"
    else:
        zline = f"{zmax:.3g} over {params['z_points']} of {len(res.alpha)} save points"
        if skipped:
            zline += f" ({skipped} with s.e. < eps_g/N skipped)"
    summary = (
        f"{res.message}; eps_g({res.alpha[i]:.6g}) = {res.mean[i]:.6g} ± {res.stderr[i]:.2g} "
        f"(ODE {ode_eps[i]:.6g}); max |mean - ODE| / s.e. = {zline}"
        + (f"; {sgd_rate:,.0f} SGD steps/s per run" if sgd_rate else "")
    )
    return CurveTable(
        cols,
        desc,
        params,
        [("ODE, same initial state", dense.alpha, dense.eps_g)],
        res.status,
        summary,
        result=res,
        extra={"simulation": sim},
    )
