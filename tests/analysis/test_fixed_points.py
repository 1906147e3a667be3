"""Fixed points, stability, critical learning rate and plateaus (statmech.analysis.fixed_points, statmech.analysis.plateaus).

Independent routes: closed forms typed here (Saad & Solla's plateau, the
linear K = M = 1 Jacobian), the exact polynomial structure of the Jacobian in
eta (generalised eigenvalues instead of bisection), and long ODE integrations
(a different code path from root finding) for stability claims.
"""

import json
import math

import numpy as np
import pytest

import statmech as sm
from statmech.analysis import asymptotics, critical, search
from statmech.analysis import fixed_points as fp
from statmech.analysis import plateaus as pl
from statmech.cli import main
from statmech.ode import pack


def _state_from_full(A, x, template):
    K, M = template.K, template.M
    y = A.expand(x, pack(template))
    return sm.State(
        Q=y[: K * K].reshape(K, K),
        R=y[K * K : K * K + K * M].reshape(K, M),
        T=template.T,
        v=y[K * K + K * M :],
        vstar=template.vstar,
    )


# ------------------------------------------------------------ Saad & Solla
@pytest.mark.parametrize("K", [2, 3, 4])
def test_symmetric_plateau_matches_saad_solla(K):
    """Soft committee, erf, K = M, T = I, v = v* = 1, eta -> 0 (Saad & Solla 1995).

    Closed form typed here: Q_ii = Q_ik = 1/(2K-1), R_in = 1/sqrt(K(2K-1)),
    eps_g = (K/pi)(pi/6 - K asin(1/(2K))). The code starts from a different
    guess and must find it as a root of the O(eta) flow.
    """
    q_ss = 1.0 / (2 * K - 1)
    r_ss = 1.0 / math.sqrt(K * (2 * K - 1))
    eps_ss = (K / math.pi) * (math.pi / 6 - K * math.asin(1.0 / (2 * K)))
    guess = sm.State(
        Q=np.full((K, K), 1.0 / K), R=np.full((K, K), 0.4 / math.sqrt(K)), T=np.eye(K), v=np.ones(K), vstar=np.ones(K)
    )
    p = fp.find_fixed_point(guess, eta=0.0, ansatz="plateau")
    assert p.residual < 1e-10
    # at eta -> 0 the two plateaus of finite eta merge into a double root (a zero eigenvalue along
    # q - c), so the residual is quadratic there and the root is only determined to about
    # sqrt(1e-16) ~ 1e-8 along that direction (measured: up to 3e-8 for K = 4)
    assert p.unknowns["r"] == pytest.approx(r_ss, abs=1e-7)
    assert p.unknowns["q"] == pytest.approx(q_ss, abs=1e-7)
    assert p.unknowns["c"] == pytest.approx(q_ss, abs=1e-7)
    assert p.eps_g == pytest.approx(eps_ss, abs=1e-9)
    # the closed form is a zero of the O(eta) right-hand side itself
    s = sm.State(Q=np.full((K, K), q_ss), R=np.full((K, K), r_ss), T=np.eye(K), v=np.ones(K), vstar=np.ones(K))
    flow = fp.Flow(K, K, s.T, s.vstar, eta=0.0)
    assert np.max(np.abs(flow(pack(s)))) < 1e-14
    # and the plateau is unstable: students specialise
    assert p.stability == "unstable" and p.escape_rate > 0
    assert pl.saad_solla_plateau(K)["eps_g"] == pytest.approx(eps_ss, rel=1e-14)


def test_small_eta_limit_is_the_limit_of_finite_eta():
    # the eta = 0 flow is lim F/eta; the finite-eta plateau moves by O(eta)
    p0 = fp.find_fixed_point(pl.plateau_guess(2, 2), eta=0.0, ansatz="plateau")
    shifts = [pl.plateau_fixed_points(2, 2, eta=eta)[0].eps_g - p0.eps_g for eta in (1e-3, 2e-3)]
    assert abs(shifts[0]) < 1e-4
    assert shifts[1] / shifts[0] == pytest.approx(2.0, rel=0.02)  # linear in eta to O(eta^2)


# ----------------------------------------------------- residual, stability
def test_fixed_points_are_zeros_and_classified():
    found = search.find_fixed_points(2, 2, eta=0.5, eta_v=0.0)
    kinds = {p.kind: p for p in found}
    assert set(kinds) == {"plateau", "plateau (identical students)", "perfect student"}
    for p in found:
        assert p.residual < 1e-10
        assert p.residual == pytest.approx(np.max(np.abs(sm.ode.rhs(p.state, eta=0.5, eta_v=0.0))), abs=1e-16)
    assert kinds["perfect student"].stable and kinds["perfect student"].eps_g < 1e-15
    # the plateau visited from random weights has exactly one unstable direction (the escape)
    assert np.sum(kinds["plateau"].eigenvalues.real > 0) == 1
    assert np.sum(kinds["plateau (identical students)"].eigenvalues.real > 0) == 3
    # both layers trained: same structure, v is an unknown
    both = search.find_fixed_points(2, 2, eta=0.5, eta_v=0.5)
    assert all(p.residual < 1e-10 for p in both) and "v" in both.points[0].unknowns


def test_multi_start_finds_partially_specialised_points_once():
    found = search.find_fixed_points(3, 3, eta=0.5, starts=8, seed=1)
    extra = [p for p in found if p.kind.startswith("multi-start")]
    plateau = next(p for p in found if p.kind == "plateau")
    assert extra and all(p.residual < 1e-10 for p in extra)
    # partially specialised saddles lie between the plateau and the perfect student
    assert all(0 < p.eps_g < plateau.eps_g and p.stability == "unstable" for p in extra)
    for i, a in enumerate(found.points):  # no duplicates, also up to a permutation of the units
        for b in found.points[i + 1 :]:
            assert not fp.same_point(a, b)
    # a permuted copy of a point is recognised as the same point
    s = extra[0].state
    perm = [2, 0, 1]
    twin = fp.analyse(s.replace(Q=s.Q[np.ix_(perm, perm)], R=s.R[perm], v=s.v[perm]), eta=0.5)
    assert fp.same_point(extra[0], twin)


def test_linear_jacobian_matches_closed_form():
    # g(u) = u, K = M = 1, v = v* = 1: dR = eta (T - R), dQ = 2 eta (R - Q) + eta^2 (T - 2R + Q),
    # so d(dQ)/dQ = eta^2 - 2 eta, d(dQ)/dR = 2 eta - 2 eta^2, d(dR)/dR = -eta (docs/theory/equations.md with I3 = C_bc)
    eta = 0.7
    s = fp.perfect_student(1, 1)
    J, names = fp.jacobian(s, eta=eta, activation="linear")
    assert names == ("Q[0,0]", "R[0,0]")
    expected = np.array([[eta**2 - 2 * eta, 2 * eta - 2 * eta**2], [0.0, -eta]])
    assert np.allclose(J, expected, atol=1e-10)  # Richardson FD on a quadratic: exact up to rounding


def test_stable_point_stays():
    p = asymptotics.asymptotic_fixed_point(2, 2, eta=0.5, sigma=0.3)
    assert p.stable and p.residual < 1e-10
    A = fp.make_ansatz("full", 2, 2, False)
    x0 = A.project(pack(p.state))
    rng = np.random.default_rng(11)
    start = _state_from_full(A, x0 + 1e-3 * rng.standard_normal(x0.size), p.state)
    res = sm.integrate(start, eta=0.5, eta_v=0.0, sigma=0.3, alpha_max=3000, save_at=[0, 1000, 2000, 3000])
    d = [np.linalg.norm(A.project(pack(s)) - x0) for s in res.states]
    # slowest decay rate 0.021 per alpha: after 1000 the offset is down by e^-21, to the integrator's
    # accuracy (rtol 1e-8); it stays there
    assert max(d[1:]) < 1e-7 < d[0]


def test_unstable_plateau_is_left_along_the_eigenvector():
    p = pl.plateau_fixed_points(2, 2, eta=0.5)[0]
    assert p.kind == "plateau" and p.stability == "unstable"
    A = fp.make_ansatz("full", 2, 2, False)
    x0 = A.project(pack(p.state))
    e = np.real(p.eigenvectors[:, 0])
    e /= np.linalg.norm(e)
    rng = np.random.default_rng(5)
    d0 = 1e-7 * rng.standard_normal(x0.size)
    start = _state_from_full(A, x0 + d0, p.state)
    res = sm.integrate(start, eta=0.5, eta_v=0.0, alpha_max=280, save_at=[0, 280])
    d = A.project(pack(res.final)) - x0
    # escape rate 0.0316 vs slowest stable -0.0019: the other modes are down by e^-9.4 relative
    cos = abs(d @ e) / np.linalg.norm(d)
    assert abs(d0 @ e) / np.linalg.norm(d0) < 0.9 and cos > 0.9999
    growth = np.linalg.norm(d) / abs(d0 @ e)
    # linear growth e^{lambda alpha} while the offset stays small (reached 7e-4: nonlinear by < 1%)
    assert math.log(growth) / 280 == pytest.approx(p.escape_rate, rel=0.02)


# -------------------------------------------------- critical learning rate
@pytest.mark.parametrize("K,ratio", [(2, 0.0), (3, 0.0), (3, 1.0)])
def test_critical_learning_rate_bisection_vs_generalised_eigenvalues(K, ratio):
    crit = critical.critical_learning_rate(K, K, eta_v_ratio=ratio)
    # J(eta) = eta A + eta^2 B exactly (F is a polynomial in eta): A x = -eta B x
    J1, _ = fp.jacobian(crit.state, eta=1.0, eta_v=ratio)
    J2, _ = fp.jacobian(crit.state, eta=2.0, eta_v=2 * ratio)
    A, B = 0.5 * (4 * J1 - J2), 0.5 * (J2 - 2 * J1)
    import scipy.linalg

    w = scipy.linalg.eigvals(A, -B)
    w = w[np.isfinite(w) & (np.abs(w.imag) < 1e-9) & (w.real > 0)].real
    assert crit.eta_c == pytest.approx(np.min(w), rel=1e-6)  # bisection bracket rtol 1e-7
    assert crit.max_real_lower < 0 < crit.max_real_upper


def test_critical_learning_rate_linear_closed_form():
    # linear K = M = 1: eigenvalues eta^2 - 2 eta and -eta, so eta_c = 2
    assert critical.critical_learning_rate(1, 1, activation="linear").eta_c == pytest.approx(2.0, rel=1e-6)


@pytest.mark.parametrize("K,ratio", [(2, 0.0), (3, 1.0)])
def test_critical_learning_rate_confirmed_by_integration(K, ratio):
    crit = critical.critical_learning_rate(K, K, eta_v_ratio=ratio)
    out = critical.confirm_critical_learning_rate(crit, factor=0.1, eps=0.005)
    below, above = out["below"], out["above"]
    assert below["status"] == 0 and above["status"] == 0
    # the leading mode of the perturbation of real weights (PSD) decays by e^-3 below and grows by e^3
    # above (alpha_end = 3 / |rate|); allow 10% for second-order effects (offsets up to 5e-3: measured
    # within 3%; 10% at eps = 0.01)
    for side in (below, above):
        ratio = side["mode_end"] / side["mode_start"]
        assert ratio == pytest.approx(math.exp(math.copysign(3.0, side["predicted_rate"])), rel=0.1)
    assert below["distance_end"] < below["distance_start"] < above["distance_end"]
    # and follows the linearised flow (offset about 1e-3: second-order effects of a few per cent)
    for side in (below, above):
        assert side["distance_end"] == pytest.approx(side["distance_linear"], rel=0.06)


# ---------------------------------------------------------- output noise
def test_noise_fixed_point_matches_long_integration_and_grows_with_L():
    eta, sigma = 0.5, 0.3
    eps = {}
    for L in (0, 1):
        p = asymptotics.asymptotic_fixed_point(2 + L, 2, eta=eta, sigma=sigma)
        assert p.residual < 1e-10 and p.stable
        start = fp.perfect_student(2 + L, 2)
        if L:
            Q = start.Q.copy()
            Q[2, 2] = 0.01
            start = start.replace(Q=Q)
        res = sm.integrate(start, eta=eta, eta_v=0.0, sigma=sigma, alpha_max=4000, save_at=[0, 4000])
        # slowest rate 0.0094 (L = 1): after alpha = 4000 the transient is gone to the ODE accuracy
        assert res.eps_g[-1] == pytest.approx(p.eps_g, rel=1e-6)
        assert np.allclose(res.final.Q, p.state.Q, atol=1e-6)
        eps[L] = p.eps_g
    assert eps[1] > 1.5 * eps[0]  # a surplus unit raises the asymptotic error (soft committee)


def test_noise_error_scales_like_eta_sigma2():
    # small eta sigma^2: eps_g ~ c eta sigma^2; halving sigma divides eps_g by 4 up to O(eta sigma^2)
    e = [asymptotics.asymptotic_fixed_point(2, 2, eta=0.05, sigma=s).eps_g for s in (0.2, 0.1)]
    assert e[0] / e[1] == pytest.approx(4.0, rel=0.01)
    e_eta = [asymptotics.asymptotic_fixed_point(2, 2, eta=eta, sigma=0.1).eps_g for eta in (0.02, 0.01)]
    assert e_eta[0] / e_eta[1] == pytest.approx(2.0, rel=0.01)


# ------------------------------------------------------------ bad input
def test_bad_input_messages():
    with pytest.raises(ValueError, match="needs K >= M"):
        fp.make_ansatz("specialised", 2, 3, False)
    with pytest.raises(ValueError, match="ansatz must be one of"):
        fp.make_ansatz("diagonal", 2, 2, False)
    guess = sm.State(Q=np.eye(2) * 0.5, R=np.full((2, 2), 0.2), T=np.diag([1.0, 2.0]), v=np.ones(2), vstar=np.ones(2))
    with pytest.raises(ValueError, match="permutation-symmetric teacher"):
        fp.find_fixed_point(guess, eta=0.1, ansatz="plateau")
    with pytest.raises(ValueError, match="small-learning-rate limit"):
        fp.Flow(2, 2, np.eye(2), np.ones(2), eta=0.0, eta_v=0.5)
    with pytest.raises(ValueError, match="eta must be a finite number >= 0"):
        fp.Flow(2, 2, np.eye(2), np.ones(2), eta=-1.0)
    with pytest.raises(ValueError, match="not strictly stable"):
        critical.critical_learning_rate(2, 2, activation="linear")  # rotations of a linear student: a continuum
    with pytest.raises(ValueError, match="K >= M"):
        fp.perfect_student(1, 2)
    with pytest.raises(ValueError, match="K must be an integer >= 1"):
        fp.perfect_student(0, 2)


def test_solver_failure_says_what_was_tried():
    # linear activation, K = M = 1, sigma > 0: dR = eta (T - R) forces R = 1, then dQ = 2 eta (1 - Q) +
    # eta^2 (Q - 1 + sigma^2) = 0 gives Q = 1 + eta sigma^2 / (2 - eta); at eta = 2 no root exists
    g = sm.State(Q=[[1.0]], R=[[0.5]], T=[[1.0]], v=[1.0], vstar=[1.0])
    with pytest.raises(ValueError, match=r"no fixed point found .*tried: hybr .*; lm "):
        fp.find_fixed_point(g, eta=2.0, sigma=0.5, activation="linear")
    p = fp.find_fixed_point(g, eta=0.5, sigma=0.5, activation="linear")
    assert p.state.Q[0, 0] == pytest.approx(1 + 0.5 * 0.25 / 1.5, abs=1e-12)


# ------------------------------------------------------------ plateaus
def test_detect_plateau_on_a_synthetic_curve():
    # eps = h on [20, 200], joined linearly in ln alpha to 0.5 before and to 1e-4 after
    alpha = np.geomspace(0.1, 1000, 401)
    la = np.log(alpha)
    h = 0.01
    eps = np.where(alpha < 20, np.exp(np.interp(la, [np.log(0.1), np.log(20)], [np.log(0.5), np.log(h)])), h)
    eps = np.where(alpha > 200, np.exp(np.interp(la, [np.log(200), np.log(1000)], [np.log(h), np.log(1e-4)])), eps)
    p = pl.detect_plateau(alpha, eps, height=h, rel_tol=0.05)
    # band edges: ln eps moves by ln(1.05) and ln(0.95) from ln h on the two ramps
    s_in = (np.log(h) - np.log(0.5)) / (np.log(20) - np.log(0.1))
    s_out = (np.log(1e-4) - np.log(h)) / (np.log(1000) - np.log(200))
    assert p.start == pytest.approx(20 * math.exp(math.log(1.05) / s_in), rel=1e-3)
    assert p.end == pytest.approx(200 * math.exp(math.log(0.95) / s_out), rel=1e-3)
    assert p.left and p.height_source == "given"
    est = pl.detect_plateau(alpha, eps)
    assert est.height == pytest.approx(h, rel=1e-12) and est.height_source == "estimated"


def test_detect_plateau_on_the_ode_matches_the_fixed_point():
    fpp = pl.plateau_fixed_points(2, 2, eta=0.5)[0]
    s = sm.State.random(2, 2, 1_000_000, seed=0).replace(v=np.ones(2))
    alpha, eps = pl.ode_curve(s, eta=0.5, alpha_max=600)
    est = pl.detect_plateau(alpha, eps)
    assert est.height == pytest.approx(fpp.eps_g, rel=0.02)  # the curve lingers within 1% of it
    p = pl.detect_plateau(alpha, eps, height=fpp.eps_g)
    assert p.left and 30 < p.start < p.end < 400


def test_detect_plateau_errors():
    with pytest.raises(ValueError, match="same length"):
        pl.detect_plateau([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="never comes within"):
        pl.detect_plateau([1, 2, 3], [1.0, 0.5, 0.2], height=10.0)
    with pytest.raises(ValueError, match="rel_tol must be in"):
        pl.detect_plateau([1, 2, 3], [1.0, 0.5, 0.2], height=1.0, rel_tol=2)
    with pytest.raises(ValueError, match="at least 3 finite lengths"):
        pl.fit_log_slope([10, 10, 10], [1.0, 2.0, 3.0])


def test_plateau_length_grows_like_log_N():
    """ODE from State.random(2, 2, N, seed): length = a + b ln N with b = 1 / (2 lambda).

    lambda = 0.0316 is the escape rate of the plateau fixed point at eta = 0.5.
    The runs reach that fixed point only slowly (its slowest stable rate is
    0.0019), and the growth rate along the visited plateau is about 10% lower
    (0.028 to 0.030, measured from the Jacobian along the curves), so the
    fitted slope sits up to about 15% above 1/(2 lambda): allowed, plus 3
    standard errors of the fit.
    """
    scan = pl.plateau_lengths(2, 2, [10**3, 10**4, 10**5, 10**6], range(3), eta=0.5, progress=False)
    assert not scan.notes and np.all(np.isfinite(scan.length))
    fit = pl.fit_log_slope(scan.N, scan.length)
    pred = scan.params["predicted_slope"]
    assert fit.slope > 5 * fit.slope_stderr
    assert pred - 3 * fit.slope_stderr < fit.slope < 1.15 * pred + 3 * fit.slope_stderr


@pytest.mark.slow
def test_plateau_length_log_N_many_seeds():
    scan = pl.plateau_lengths(2, 2, [10**k for k in range(3, 8)], range(10), eta=0.5, progress=False)
    fit = pl.fit_log_slope(scan.N, scan.length)
    pred = scan.params["predicted_slope"]
    assert pred - 3 * fit.slope_stderr < fit.slope < 1.15 * pred + 3 * fit.slope_stderr


# ----------------------------------------------------------------- CLI
def test_cli_fixed_points_and_max_lr(capsys):
    assert main(["fixed-points", "--K", "2", "--M", "2", "--eta", "0.1", "--vstar", "1", "--soft-committee"]) == 0
    out = capsys.readouterr().out
    assert "plateau [plateau]: eps_g=" in out and "unstable" in out and "perfect student" in out
    assert (
        main(["fixed-points", "--K", "2", "--M", "2", "--eta", "0.5", "--sigma", "0.2", "--vstar", "1", "--json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    kinds = [p["kind"] for p in data["points"]]
    assert "asymptotic" in kinds and all(p["residual"] < 1e-10 for p in data["points"])
    assert main(["max-lr", "--K", "3", "--M", "3", "--json"]) == 0
    eta_c = json.loads(capsys.readouterr().out)["eta_c"]
    assert main(["max-lr", "--K", "3", "--M", "3"]) == 0
    assert f"eta_c = {eta_c:.7g}" in capsys.readouterr().out
    assert main(["max-lr", "--K", "2", "--M", "2", "--activation", "linear"]) == 2
    assert "not strictly stable" in capsys.readouterr().err
    assert main(["fixed-points", "--eta", "0", "--eta-v", "0.5", "--K", "2", "--M", "2"]) == 2
    assert "needs --soft-committee" in capsys.readouterr().err
    assert main(["fixed-points", "--K", "2", "--M", "2", "--eta", "0.1", "--seed", "3"]) == 2
    assert "--seed seeds the random starts; it has no effect without --starts" in capsys.readouterr().err


def test_figures_write_pngs(tmp_path):
    from statmech.plots.fixed_points import errors_vs_eta, plateau_length_vs_log_n

    p1 = errors_vs_eta(
        [("plateau", [0.1, 0.2], [0.012, 0.013], None), ("asymptotic", [0.1, 0.2], [1e-3, 2e-3], [True, False])],
        tmp_path / "a.png",
        eta_c=2.3,
    )
    fit = pl.fit_log_slope([10, 100, 1000], [1.0, 2.1, 2.9])
    p2 = plateau_length_vs_log_n(
        [("ODE", [10, 100, 1000], [1.0, 2.1, 2.9], fit)], tmp_path / "b.png", predicted_slope=0.4
    )
    assert p1.stat().st_size > 1000 and p2.stat().st_size > 1000


@pytest.mark.slow
def test_plateau_length_log_N_from_simulation():
    """Finite-N SGD (statmech.sim), K = M = 2 soft committee, eta = 0.5, N = 100..1600, 8 seeds.

    The measured eps_g fluctuates at finite N, hence a +-10% band. Same
    tolerance as the ODE test (up to 15% above 1/(2 lambda), plus 3 standard
    errors); measured 19.2 +- 3.3 against 15.8.
    """
    try:
        curve = pl.simulation_curve(2, 2, eta=0.5)
    except ImportError:
        pytest.skip("statmech.sim is not available")
    scan = pl.plateau_lengths(
        2, 2, [100, 200, 400, 800, 1600], range(8), eta=0.5, curve=curve, alpha_max=300, rel_tol=0.1, progress=False
    )
    fit = pl.fit_log_slope(scan.N, scan.length)
    pred = scan.params["predicted_slope"]
    assert fit.slope > 3 * fit.slope_stderr
    assert pred - 3 * fit.slope_stderr < fit.slope < 1.15 * pred + 3 * fit.slope_stderr
