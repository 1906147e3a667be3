"""The symmetric plateau that learning curves visit (statmech.analysis.plateaus.plateau_fixed_points).

Independent route: the learning curve itself. Each test integrates the ODE
from its own small-overlap start (R_in ~ 1e-6 U(0, 1), Q_ii ~ U(0.1, 0.5),
T = I, soft committee), takes the curve's flattest point (smallest maximum
of |d ln eps_g / d ln alpha| over a window of +-0.25 in ln alpha, with
alpha >= 1 and eps_g > 1e-8; the window keeps a turning point of the initial
transient at large eta from counting as flat) as the plateau level, and compares it with the eps_g of the fixed point labelled visited,
which is a root of the flow found by the search (continuation in eta and
starts over the ansatz, then matched to a different curve). On the plateau
the curve's rate of change is below 5e-3 in ln eps_g per ln alpha
(measured), so its flattest point lies within a fraction of a per cent of the
saddle; 1% is the tolerance.
"""

import math

import numpy as np
import pytest

import statmech as sm
from statmech.analysis import critical
from statmech.analysis import plateaus as pl
from statmech.cli import main


def curve_plateau_level(K, eta, seed=11):
    rng = np.random.default_rng(seed)
    R = 1e-6 * rng.uniform(0, 1, (K, K))
    Q = R @ R.T + np.diag(rng.uniform(0.1, 0.5, K))
    start = sm.State(Q=Q, R=R, T=np.eye(K), v=np.ones(K), vstar=np.ones(K))
    a_max = 6000 / eta
    res = sm.integrate(start, eta=eta, eta_v=0.0, alpha_max=a_max, save_at=np.geomspace(1e-2, a_max, 3000))
    a, e = res.alpha, res.eps_g
    ok = (a >= 1) & (e > 1e-8)
    la = np.log(a)
    slope = np.abs(np.gradient(np.log(np.maximum(e, 1e-300)), la))
    # flatness over a window of +-0.25 in ln alpha: a plateau is flat over a stretch, a turning point of the
    # initial transient (large eta) only at one point
    idx = np.where(ok)[0]
    flat = [np.max(slope[idx[np.abs(la[idx] - la[i]) <= 0.25]]) for i in idx]
    i = idx[int(np.argmin(flat))]
    return e[i], a, e


def check(K, eta):
    pts = pl.plateau_fixed_points(K, K, eta=eta)
    visited = [p for p in pts if p.visited]
    assert len(visited) == 1 and pts[0] is visited[0]
    level, _, _ = curve_plateau_level(K, eta)
    assert pl.visited_plateau(K, K, eta=eta).eps_g == pytest.approx(level, rel=0.01)
    assert pl.plateau_height(K, K, eta=eta) == pytest.approx(level, rel=0.01)
    assert visited[0].residual < 1e-10 and visited[0].stability == "unstable"
    return pts


def test_k3_eta1_visits_the_distinct_students_plateau():
    """K = M = 3, eta = 1.0: the curve sits at eps_g = 0.0660, not at the identical-students point 0.0942."""
    pts = check(3, 1.0)
    v = pts[0]
    assert v.eps_g == pytest.approx(0.0660769, abs=1e-6) and v.kind == "plateau"
    assert v.unknowns["q"] == pytest.approx(0.630, abs=1e-3) and v.unknowns["c"] == pytest.approx(0.131, abs=1e-3)
    assert v.unknowns["r"] == pytest.approx(0.303, abs=1e-3)
    other = [p for p in pts if p.kind == "plateau (identical students)"]
    assert other and other[0].eps_g == pytest.approx(0.0942, abs=1e-4) and not other[0].visited


def test_detect_plateau_with_the_visited_height_k3_eta1():
    # from small overlaps the curve lingers near 0.0660 for hundreds of alpha (the identical-students
    # height 0.0942 is crossed in passing only)
    h = pl.visited_plateau(3, 3, eta=1.0)
    _, a, e = curve_plateau_level(3, 1.0)
    p = pl.detect_plateau(a, e, height=h)
    assert p.height_source == "fixed point" and p.left
    assert p.length > 200
    wrong = pl.detect_plateau(a, e, height=0.0942)
    assert wrong.length < 0.05 * p.length


@pytest.mark.parametrize("K,eta", [(2, 0.5), (2, 1.8)])
def test_visited_plateau_small_grid(K, eta):
    check(K, eta)


def test_cli_labels_the_visited_plateau(capsys):
    assert main(["fixed-points", "--K", "3", "--M", "3", "--eta", "1.0", "--vstar", "1", "--soft-committee"]) == 0
    out = capsys.readouterr().out
    line = next(s for s in out.splitlines() if "eps_g=0.0660769" in s)
    assert "VISITED" in line
    ident = next(s for s in out.splitlines() if s.startswith("plateau (identical students)"))
    assert "VISITED" not in ident
    assert (
        main(["fixed-points", "--K", "3", "--M", "3", "--eta", "1.0", "--vstar", "1", "--soft-committee", "--json"])
        == 0
    )
    import json

    data = json.loads(capsys.readouterr().out)
    vis = [p for p in data["points"] if p["visited"]]
    assert len(vis) == 1 and vis[0]["eps_g"] == pytest.approx(0.0660769, abs=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("K", [2, 3, 4, 5, 6])
def test_visited_plateau_grid_up_to_the_critical_learning_rate(K):
    """eta = (0.05, 0.3, 0.6, 0.8, 0.95) eta_c, eta_c the critical learning rate of the perfect student."""
    eta_c = critical.critical_learning_rate(K, K, rtol=1e-4).eta_c
    for frac in (0.05, 0.3, 0.6, 0.8, 0.95):
        check(K, round(frac * eta_c, 3))


def test_small_overlap_state_is_valid():
    s = pl.small_overlap_state(3, 2, seed=1, scale=1e-3)
    assert np.all(np.abs(s.R) <= 1e-3 + 1e-15) and np.all(np.diag(s.Q) > 0.19)
    assert math.isclose(float(np.mean(s.v)), 1.0)
