"""statmech reproduce --classic --quick: every file written, every table's columns, one physics check per figure.

The checks compare the tables with routes computed here independently: a fresh
learning curve's flattest point, ODE integrations around the perfect student,
Goldt et al.'s closed formula, and a root of the ODE's right-hand side; and the
tables' two routes with each other: SGD of real networks against the ODE from the
same weights, long integrations against the fixed points polished from their ends.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import fsolve

from statmech import integrate
from statmech.analysis.asymptotics import goldt_small_noise_error
from statmech.analysis.fixed_points import perfect_student, perturbed_perfect_student
from statmech.analysis.plateaus import small_overlap_state
from statmech.cli import main
from statmech.core.io import read_table
from statmech.ode.generalisation import eps_g_arrays
from statmech.ode.integrator import pack, rhs, unpack

COLUMNS = {
    "saad_solla_curves": ["K", "eta", "alpha", "eps_g", "visited_height"],
    "saad_solla_curves_sgd": ["K", "eta", "N", "alpha", "mean", "stderr"],
    "saad_solla_levels_sgd": ["K", "eta", "N", "level_mean", "level_stderr", "visited_height"],
    "saad_solla_heights": ["K", "eta", "eta_c", "visited", "identical", "eta0_closed_form"],
    "saad_solla_lengths": ["N", "seed", "length", "source"],
    "learning_rates": ["K", "eta_c", "eta_opt", "rate_opt"],
    "learning_rates_scan": ["K", "eta", "slowest_rate"],
    "learning_rates_decay": ["K", "eta", "eta_over_eta_c", "alpha", "eps_g0", "ode"],
    "learning_rates_sgd": ["K", "eta", "eta_over_eta_c", "alpha", "N", "eps_g0", "ode", "mean", "stderr", "runs"],
    "goldt_final_error": [
        "activation", "layers", "K", "eta", "alpha_max", "eps_g", "drift", "fp_eps_g", "fp_residual", "fp_max_re",
        "fp_stability", "fp_converging", "fixed_point", "goldt_formula",
    ],
    "goldt_sgd": [
        "activation", "layers", "K", "eta", "N", "start", "alpha_from", "alpha_to", "ode", "mean", "stderr", "runs",
    ],
    "weight_decay_asymptotic": ["kappa", "sigma", "eps_g"],
    "weight_decay_plateau": ["kappa", "height", "start", "end", "length", "final_eps_g"],
    "weight_decay_sgd": ["kappa", "sigma", "N", "alpha_from", "alpha_to", "ode", "mean", "stderr", "runs"],
}  # fmt: skip
SGD_TABLES = {"learning_rates_sgd": "K", "goldt_sgd": "K", "weight_decay_sgd": None}
FIGURES = ["saad_solla_1995.png", "learning_rates.png", "goldt_2019.png", "saad_solla_1996.png"]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("classic")
    assert main(["reproduce", "--classic", "--quick", "--out", str(out)]) == 0
    return out


def table(out, name):
    return read_table(out / f"{name}.csv")


def test_every_file_written_with_its_columns(quick):
    for f in FIGURES:
        assert (quick / f).stat().st_size > 10_000, f
    for name, cols in COLUMNS.items():
        c, params = table(quick, name)
        assert list(c) == cols, name
        assert len(c[cols[0]]) > 0, name
        assert (quick / f"{name}.json").exists()


def test_plateau_height_is_the_level_a_fresh_curve_lingers_at(quick):
    """The visited height equals the flattest unspecialised eps_g of a curve from another small-overlap start.

    Flattest: smallest |d ln eps_g / d ln alpha| over alpha >= 1 while every R_in is within 10% of the mean
    (the plateau is flat to about 1e-3 there, so 1% is a safe bound).
    """
    h, _ = table(quick, "saad_solla_heights")
    for K, eta, visited in zip(h["K"], h["eta"], h["visited"]):
        K = int(K)
        s0 = small_overlap_state(K, K, scale=3e-5, seed=7)
        a_max = 4000.0 / eta
        res = integrate(s0, eta=eta, eta_v=0.0, alpha_max=a_max, save_at=np.geomspace(1.0, a_max, 800))
        e, a = np.asarray(res.eps_g), np.asarray(res.alpha)
        R = np.asarray(res.R).reshape(len(a), -1)
        sym = np.ptp(R, axis=1) <= 0.1 * np.abs(R.mean(axis=1))
        with np.errstate(divide="ignore", invalid="ignore"):  # eps_g reaches 0 after specialisation
            slope = np.abs(np.gradient(np.log(e), np.log(a)))
        ok = np.flatnonzero(sym & np.isfinite(slope))
        i = ok[np.argmin(slope[ok])]
        assert e[i] == pytest.approx(visited, rel=0.01), (K, eta)
        closed = (K / np.pi) * (np.pi / 6 - K * np.arcsin(1 / (2 * K)))
        assert h["eta0_closed_form"][h["K"] == K][0] == pytest.approx(closed, rel=1e-12)
    lv, _ = table(quick, "saad_solla_levels_sgd")
    # SGD at N = 100 lingers near the N -> infinity height: within 5 standard errors plus a 1/sqrt(N) finite-size margin
    for m, s, v in zip(lv["level_mean"], lv["level_stderr"], lv["visited_height"]):
        assert abs(m - v) <= 5 * s + v / np.sqrt(lv["N"][0])
    L, _ = table(quick, "saad_solla_lengths")
    N, length = L["N"], L["length"].astype(float)
    assert np.nanmean(length[N == N.max()]) > np.nanmean(length[N == N.min()])


def test_eta_c_separates_decay_from_growth_and_eta_opt_is_faster(quick):
    """A perturbed perfect student relaxes at 0.9 eta_c and runs away at 1.1 eta_c (ODE integration)."""
    r, _ = table(quick, "learning_rates")
    for K, eta_c, eta_opt, rate_opt in zip(r["K"].astype(int), r["eta_c"], r["eta_opt"], r["rate_opt"]):
        star = perfect_student(K, K)
        s0 = perturbed_perfect_student(K, K, eps=0.02, N=200, seed=1)
        d0 = np.linalg.norm(pack(s0) - pack(star))

        def distances(eta, alphas):
            res = integrate(
                s0, eta=eta, eta_v=0.0, alpha_max=alphas[-1], save_at=np.asarray(alphas), max_abs=1e3,
                rtol=1e-11, atol=1e-14,
            )  # fmt: skip
            return [np.linalg.norm(pack(res.state_at(i)) - pack(star)) for i in range(len(alphas))]

        assert distances(0.9 * eta_c, [400.0])[0] < 0.5 * d0, K
        assert distances(1.1 * eta_c, [400.0])[0] > 2.0 * d0, K
        assert 0 < eta_opt < eta_c

        # the late-time decay rate of the distance, measured between 5 and 15 slowest-rate times
        def measured_rate(eta):
            a1, a2 = 5 / rate_opt, 15 / rate_opt
            d1, d2 = distances(eta, [a1, a2])
            return -np.log(d2 / d1) / (a2 - a1)

        # sub-leading modes still contribute at 5-15 decay times (about 10%): 20% tolerance
        at_opt = measured_rate(eta_opt)
        assert at_opt == pytest.approx(rate_opt, rel=0.2), K
        assert at_opt > measured_rate(0.5 * eta_opt), K


def test_goldt_first_layer_error_grows_with_K_and_matches_their_formula(quick):
    g, params = table(quick, "goldt_final_error")
    sigma = params["sigma"]
    for act in set(g["activation"]):
        first = (g["activation"] == act) & (g["layers"] == "first")
        both = (g["activation"] == act) & (g["layers"] == "both")
        e1 = g["eps_g"][first].astype(float)
        assert np.all(np.diff(e1) > 0), act
        # both layers: no larger than the first layer only at every K
        assert np.all(g["eps_g"][both].astype(float) <= e1 * (1 + 1e-6)), act
    erf = (g["activation"] == "erf") & (g["layers"] == "first") & (g["K"] <= 3) & (g["drift"].astype(float) < 1e-5)
    assert erf.sum() >= 2
    for K, eta, e in zip(g["K"][erf].astype(int), g["eta"][erf].astype(float), g["eps_g"][erf].astype(float)):
        # leading order in sigma^2: relative corrections O(sigma^2) = 1e-4
        assert e == pytest.approx(goldt_small_noise_error(K, 2, eta, sigma), rel=1e-3), K


def test_sgd_points_agree_with_the_ode_from_the_same_weights(quick):
    """|SGD mean - ODE| <= 3 s.e. + ((K + M) / N) |ODE| for every SGD point of the learning-rate, Goldt and 1996 figures.

    The ODE is the N -> infinity limit of the expected update; at finite N the
    K + M fields' share of |x|^2 / N and the fluctuations of the order
    parameters change the expected step by a relative O((K + M) / N).
    """
    for name, kcol in SGD_TABLES.items():
        t, params = table(quick, name)
        assert len(t["mean"]) > 0, name
        assert np.all(t["runs"] >= 3) and np.all(t["stderr"] > 0), name
        K = t[kcol].astype(float) if kcol else np.full(len(t["mean"]), 2.0)
        M = K if name == "learning_rates_sgd" else 2.0
        allowance = (K + M) / t["N"] * np.abs(t["ode"])
        z = np.abs(t["mean"] - t["ode"]) / t["stderr"]
        assert np.all(np.abs(t["mean"] - t["ode"]) <= 3 * t["stderr"] + allowance), (name, z)


def test_long_integrations_end_at_the_polished_fixed_points(quick):
    """Where an integration has converged (drift < 1e-3) and approaches its polished root, the two eps_g agree.

    The integration's eps_g still moves by about drift x eps_g per half decade, plus 1e-8 absolute: the
    integrator's tolerance (rtol 1e-8 on overlaps of order one) bounds eps_g's accuracy in absolute terms.
    The erf first-layer roots at K <= 3 are stable.
    """
    g, _ = table(quick, "goldt_final_error")
    drift, conv = g["drift"].astype(float), np.asarray([str(c) == "True" for c in g["fp_converging"]])
    sel = conv & (drift < 1e-3)
    assert sel.sum() >= 4
    for e, fe, d in zip(g["eps_g"][sel].astype(float), g["fp_eps_g"][sel].astype(float), drift[sel]):
        assert abs(e - fe) <= 2 * d * e + 1e-8
    first_small = (g["activation"] == "erf") & (g["layers"] == "first") & (g["K"] <= 3)
    assert np.all(g["fp_stability"][first_small] == "stable")
    assert np.all(g["fp_residual"][first_small].astype(float) < 1e-10)


def test_weight_decay_asymptote_is_the_root_of_the_flow(quick):
    """The integrated asymptotic eps_g at kappa > 0 equals eps_g at a root of the ODE right-hand side (fsolve)."""
    a, params = table(quick, "weight_decay_asymptotic")
    K, eta = params["K"], params["eta"]
    star = perfect_student(K, K)
    for kappa, sigma, e in zip(a["kappa"], a["sigma"], a["eps_g"]):
        if kappa == 0 and sigma == 0:
            assert e == pytest.approx(0.0, abs=1e-12)
            continue

        iu = np.triu_indices(K)

        def state_of(x):
            Q = np.zeros((K, K))
            Q[iu] = x[: len(iu[0])]
            Q = Q + np.triu(Q, 1).T
            return star.replace(Q=Q, R=x[len(iu[0]) :].reshape(K, K))

        def F(x):
            try:
                s = state_of(x)
            except ValueError:  # a trial step outside the PSD cone
                return np.full(x.size, 1e3)
            dQ, dR, _ = unpack(rhs(s, eta=eta, eta_v=0.0, sigma=sigma, weight_decay=kappa), K, K)
            return np.concatenate([dQ[iu], dR.ravel()])

        # started inside the PSD cone (Q = R = 0.9 I), not at the integration's end point
        x = fsolve(F, np.concatenate([0.9 * star.Q[iu], 0.9 * star.R.ravel()]), xtol=1e-13)
        assert np.max(np.abs(F(x))) < 1e-10
        Q, R = state_of(x).Q, state_of(x).R
        assert e == pytest.approx(eps_g_arrays(Q, R, star.T, star.v, star.vstar, "erf"), rel=1e-6), (kappa, sigma)
    p, _ = table(quick, "weight_decay_plateau")
    assert np.all(np.isfinite(p["height"]))


def test_classic_refuses_paper_options(tmp_path, capsys):
    assert main(["reproduce", "--classic", "--workers", "2", "--out", str(tmp_path)]) == 2
    assert "--workers" in capsys.readouterr().err
