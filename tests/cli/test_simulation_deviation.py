"""The simulation-vs-ODE statistic max |mean - ODE| / s.e. skips save points whose s.e. is below eps_g / N."""

from __future__ import annotations

import numpy as np

import statmech as sm
from statmech.cli import main
from statmech.core.initial import initial_weights
from statmech.core.io import read_table
from statmech.experiments.curves import simulation_table
from statmech.sim import simulate_seeds

N = 1000
SAVE_AT = [0.0, 0.001, 0.002, 0.005, 0.25, 0.5, 1.0, 2.0, 3.0]


def test_points_with_a_vanishing_stderr_are_skipped():
    """alpha = 0 (every run starts from the same weights: an s.e. of rounding) and the first SGD steps
    (s.e. below the O(1/N) finite-size correction) are left out; the rest is judged against an ODE
    integrated here from the same initial state."""
    w = initial_weights(3, 2, N, vstar=1.0, seed=0)
    model = sm.Model(eta=0.5)
    res = simulate_seeds(w, model, seeds=8, seed=0, alpha_max=3.0, save_at=SAVE_AT, workers=1, progress=False)
    table = simulation_table(res)
    ode = sm.integrate(w.state(), model, alpha_max=3.0, save_at=res.alpha)
    assert ode.status == 0
    mean, se = res.mean, res.stderr
    assert se[0] < 1e-12 * ode.eps_g[0]  # a vanishing s.e.: the ratio there is rounding over rounding
    kept = se >= ode.eps_g / N
    assert not kept[0] and kept[-1] and 0 < kept.sum() < len(SAVE_AT)
    z = np.abs(mean - ode.eps_g)[kept] / se[kept]
    p = table.params
    assert p["max_abs_z_vs_ode"] == np.max(z) and p["z_points"] == kept.sum()
    assert p["z_points_skipped"] == len(SAVE_AT) - kept.sum()
    # 8 seeded runs at 5 or so independent-ish times: |z| ~ |N(0, 1)| plus a finite-size bias below 1 s.e.
    assert np.max(z) < 5
    assert (
        f"max |mean - ODE| / s.e. = {np.max(z):.3g} over {kept.sum()} of {len(SAVE_AT)} save points "
        f"({len(SAVE_AT) - kept.sum()} with s.e. < eps_g/N skipped)" in table.summary
    )


def test_simulate_prints_the_points_used(tmp_path, capsys):
    out = tmp_path / "s"
    argv = ["simulate", "--K", "3", "--M", "2", "--N", "200", "--alpha-max", "2", "--runs", "3", "--points", "6"]
    assert main([*argv, "--out", str(out)]) == 0
    line = capsys.readouterr().out
    cols, params = read_table(out / "simulation.csv")
    kept = cols["eps_g_stderr"] >= cols["eps_g_ode"] / 200
    assert not kept[0]  # alpha = 0: one start for every run
    assert f"over {kept.sum()} of {len(kept)} save points ({len(kept) - kept.sum()} with s.e. < eps_g/N" in line
    z = np.abs(cols["eps_g_mean"] - cols["eps_g_ode"])[kept] / cols["eps_g_stderr"][kept]
    assert np.isclose(params["max_abs_z_vs_ode"], np.max(z), rtol=1e-12)
