"""statmech.verify: claims as margins, families of states, the counterexample search and its command."""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pytest

from statmech import State, eps_g
from statmech.analysis.asymptotics import asymptotic_fixed_point, goldt_small_noise_error
from statmech.cli import main
from statmech.pruning import pruned_error
from statmech.verify import (
    PAPER_CONFIGS,
    ClaimContext,
    OrderParameterFamily,
    SpecialisedFamily,
    TrainedFamily,
    get_claim,
    load_counterexample,
    pruned_eps_g,
    search,
)
from statmech.verify.claims import errors_of

NODE = ("random-node", "importance-node", "dpp-node")


# ------------------------------------------------------------ pruned errors
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_node_errors_match_pruned_error(seed):
    """Closed-form random node and the vectorised DPP / importance sums against pruned_error's enumeration."""
    st = State.random(6, 2, 50, vstar=4.0, seed=seed)
    e = errors_of(st, ClaimContext())
    for scheme in NODE:
        for k in range(1, 7):
            ref = pruned_error(st, scheme, k).eps_g
            assert abs(e.get(scheme, k, "none") - ref) <= 1e-12 * max(1.0, abs(ref)), (scheme, k)


def test_importance_ties_and_linear_activation_kernel():
    st = State.random(5, 2, 40, vstar=1.0, seed=3).replace(v=np.array([1.0, -1.0, 1.0, 0.5, 1.0]))
    e = errors_of(st, ClaimContext())
    for k in (1, 2, 3):  # |v| ties among four units: the average over the tie-breaking sets
        assert abs(e.get("importance-node", k, "none") - pruned_error(st, "importance-node", k).eps_g) < 1e-12
    e2 = errors_of(st, ClaimContext(), kernel="linear-activation")
    ref = pruned_eps_g(st, "dpp-node", 2, kernel="linear-activation")
    assert abs(e2.get("dpp-node", 2, "none") - ref) < 1e-12


def test_edge_budget_matching_uses_model_N():
    st = State.random(6, 2, 500, vstar=4.0, seed=0)
    c = 166 / 500  # the paper's e = 166 edges per unit for k = 2, N = 500
    ref = pruned_error(st, "random-edge", keep_fraction=c).eps_g
    assert abs(pruned_eps_g(st, "random-edge", 2, ClaimContext(N=500)) - ref) < 1e-14
    assert abs(pruned_eps_g(st, "random-edge", 2) - pruned_error(st, "random-edge", keep_fraction=2 / 6).eps_g) < 1e-14


# -------------------------------------------------------------- families
def test_order_parameter_family_points_are_valid_and_in_bounds():
    fam = OrderParameterFamily(6, 2, q_range=(0.1, 3.0), v_max=2.0, vstar=4.0)
    rng = np.random.default_rng(0)
    lo, hi = np.array(fam.bounds).T
    for _ in range(200):
        x = lo + (hi - lo) * rng.random(fam.dim)
        st = fam.state(x)  # State validates the PSD covariance
        assert np.allclose(np.diag(st.Q), x[:6], rtol=1e-12)
        assert np.all(np.abs(st.v) <= 2.0) and np.array_equal(st.T, np.eye(2))
        assert np.min(np.linalg.eigvalsh(st.covariance())) > -1e-12


def test_order_parameter_family_reaches_a_given_state():
    """A state of real weights with T = I is a point of the family: Gram-Schmidt gives its coordinates."""
    rng = np.random.default_rng(1)
    K, M, N = 4, 2, 30
    Ws = np.linalg.qr(rng.standard_normal((N, M)))[0].T * np.sqrt(N)
    W = rng.standard_normal((K, N))
    target = State.from_weights(W, Ws, rng.uniform(-1, 1, K), np.ones(M)).replace(T=np.eye(M))
    # coordinates: teacher directions, then Gram-Schmidt of the students' orthogonal parts
    P = W - (W @ Ws.T / N) @ Ws
    basis = []
    x = np.zeros(OrderParameterFamily(K, M).dim)
    x[:K], x[K : 2 * K] = np.diag(target.Q), target.v
    fam = OrderParameterFamily(K, M, q_range=(0.01, 10.0))
    for i in range(K):
        r = P[i].copy()
        for b in basis:
            r -= (r @ b) * b
        basis.append(r / np.linalg.norm(r))
        coords = np.concatenate([target.R[i], [P[i] @ b / np.sqrt(N) for b in basis]])
        x[fam._dir_slices[i]] = coords / np.abs(coords).max()
    assert fam.state(x).allclose(target, rtol=1e-9, atol=1e-9)


def test_specialised_family_overlaps():
    fam = SpecialisedFamily(6, 2)
    x = np.array([1, 0.9, 0.3, 0.5, 2.0, 1.5, -0.5])
    p = fam.parameters(x)
    st = fam.state(x)
    sizes = p["group_sizes"]
    assert sizes == list(fam.groups[1]) and sum(sizes) == 6
    q = p["q"]
    g = np.repeat(np.arange(2), sizes)
    assert np.allclose(np.diag(st.Q), q)
    assert np.allclose(st.R[np.arange(6), g] / q**0.5, p["teacher_overlap"])
    same = (g[:, None] == g[None, :]) & ~np.eye(6, dtype=bool)
    assert np.allclose(st.Q[same] / q, p["within_group_overlap"])
    assert np.allclose(st.Q[g[:, None] != g[None, :]] / q, p["across_group_overlap"])
    assert np.allclose(st.v, np.array(p["v_per_group"])[g])


def test_paper_configs_match_the_experiments():
    from statmech.experiments.paper import paper_config

    for name, c in PAPER_CONFIGS.items():
        ref = paper_config(name)
        assert (c["K"], c["M"], c["N"], c["vstar"], c["eta"], c["eta_v"], c["alpha_max"]) == (
            ref.K,
            ref.M,
            ref.N,
            ref.vstar,
            ref.eta,
            ref.eta_v,
            ref.alpha,
        )


# ------------------------------------------------------------- the search
def test_true_by_construction_claim_has_zero_margin_everywhere():
    """Random node at k = K is the unpruned network: no counterexample, every margin within 1e-12 of 0."""
    for fam in (OrderParameterFamily(6, 2, vstar=4.0), SpecialisedFamily(6, 2)):
        r = search("random-node-all-kept", fam, evaluations=600, seed=1)
        assert r.n_evaluations == 600 and r.n_invalid == 0
        assert -1e-12 <= r.margin <= 0.0
        assert not r.counterexample
        assert r.verdict() == f"no counterexample in 600 evaluations over {fam.name}"
    fam = TrainedFamily.paper(("6:2",), sigmas=(0.0,), points=6)
    r = search("random-node-all-kept", fam)
    assert r.n_evaluations == 7 and -1e-12 <= r.margin <= 0.0 and not r.counterexample


def _prune_json(capsys, path, *args):
    capsys.readouterr()
    assert main(["prune", str(path), *args, "--json"]) == 0
    return {r["scheme"]: r["eps_g"] for r in json.loads(capsys.readouterr().out)["results"]}


@pytest.fixture(scope="module")
def trained_6_2():
    return TrainedFamily.paper(("6:2",), sigmas=(0.0,), points=10)


def test_c3_counterexample_in_trained_6_2_rechecks_with_prune(trained_6_2, tmp_path, capsys):
    r = search("C3", trained_6_2)
    assert r.counterexample and r.n_evaluations == 11 * 5
    path = r.save(tmp_path / "c3.npz")
    assert r.verdict().startswith("counterexample found") and str(path) in r.verdict()
    st, meta = load_counterexample(path)
    assert st == r.state and meta["claim"]["name"] == "C3" and meta["keep"] == r.keep
    assert meta["model"]["N"] == 500 and meta["statmech_version"]
    e = _prune_json(capsys, path, "--keep", str(r.keep), "--N", "500")
    margin = min(e[s] for s in e if s != "dpp-edge") - e["dpp-edge"]
    assert abs(margin - meta["margin"]) < 1e-12


def test_c2_at_k3_counterexample_in_trained_6_2_rechecks_with_prune(trained_6_2, tmp_path, capsys):
    r = search("C2", trained_6_2, budgets=[3])
    assert r.counterexample and r.keep == 3
    path = r.save(tmp_path / "c2.npz")
    st, meta = load_counterexample(path)
    e = _prune_json(capsys, path, "--keep", "3", "--N", "500")
    assert abs((e["dpp-node"] - e["random-edge"]) - meta["margin"]) < 1e-12
    # the state is the ODE's at the saved time (an independent integration gives it again)
    cfg = trained_6_2.configs[meta["where"]["config_index"]]
    res = cfg.integrate()
    i = list(res.alpha).index(meta["where"]["alpha"])
    assert res.state_at(i).allclose(st, rtol=1e-12, atol=1e-14)


def test_user_claim_through_the_api():
    """Q_11 <= 2 over Q_ii in [0.05, 4]: the worst margin is 2 - 4 = -2, reached only at the bound."""

    def q11_at_most_2(state, model, keep):
        return 2.0 - state.Q[0, 0]

    fam = OrderParameterFamily(3, 1, q_range=(0.05, 4.0))
    r = search(q11_at_most_2, fam, budgets=[1], evaluations=1500, seed=0)
    assert r.counterexample and -2.0 - 1e-12 <= r.margin < -1.9
    assert r.claim.name.endswith("q11_at_most_2")


def test_user_claim_module_function_on_the_command_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_claims.py").write_text(
        textwrap.dedent(
            """
            def v_bounded(state, model, keep):
                '''every |v_i| <= 2.5'''
                return 2.5 - abs(state.v).max()
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "out"
    code = main(
        [
            "verify",
            "my_claims:v_bounded",
            "--K",
            "3",
            "--M",
            "1",
            "--keep",
            "1",
            "--evaluations",
            "800",
            "--out",
            str(out),
        ]
    )
    assert code == 1  # |v_i| reaches 3 in the default box
    text = capsys.readouterr().out
    assert "counterexample found" in text and str(out / "argmin.npz") in text
    summary = json.loads((out / "verify.json").read_text())
    assert summary["claim"]["name"] == "my_claims:v_bounded" and summary["n_evaluations"] == 800
    st, meta = load_counterexample(out / "argmin.npz")
    assert abs(meta["margin"] - (2.5 - np.abs(st.v).max())) < 1e-15 and -0.5 - 1e-12 <= meta["margin"] < -0.4


def test_optimiser_is_seeded_and_stops_at_the_budget():
    fam = SpecialisedFamily(6, 2)
    a = search("C1", fam, budgets=[2], evaluations=300, seed=4)
    b = search("C1", fam, budgets=[2], evaluations=300, seed=4)
    assert a.margin == b.margin and a.n_evaluations == 300 and a.state == b.state
    c = search("C1", fam, budgets=[2, 3], method="random", evaluations=301, seed=4)
    assert c.n_evaluations == 301 and set(c.per_budget) == {2, 3} and c.margin == min(c.per_budget.values())


# ------------------------------------------------------------------- Goldt
@pytest.mark.parametrize("K", [2, 3])
def test_goldt_formula_against_the_fixed_point_solver(K):
    """The claim's formula (exact in eta, leading order in sigma^2) against the ODE's fixed point at sigma = 0.01:
    the neglected O(sigma^4) terms are ~sigma^2 relative, so 1e-3 is a generous bound."""
    fp = asymptotic_fixed_point(K, 2, eta=0.1, sigma=0.01)
    f = goldt_small_noise_error(K, 2, 0.1, 0.01)
    assert abs(fp.eps_g / f - 1) < 1e-3


def test_goldt_claim_on_trained_soft_committee_machines():
    ok = TrainedFamily.grid(3, 2, eta=[0.1], eta_v=[0.0], sigma=[0.1], vstar=1.0, alpha_max=2e5, points=0, init="scm")
    r = search("goldt", ok)
    assert not r.counterexample and r.n_evaluations == 1
    f = goldt_small_noise_error(3, 2, 0.1, 0.1)
    assert abs(eps_g(r.state) - f) <= 0.1 * f
    # a state far from convergence (alpha = 20, still on the plateau) violates the asymptotic claim
    early = TrainedFamily.grid(3, 2, eta=[0.5], eta_v=[0.0], sigma=[0.1], vstar=1.0, alpha_max=20, points=0, init="scm")
    assert search("goldt", early).counterexample
    with pytest.raises(ValueError, match="trained states"):
        search("goldt", OrderParameterFamily(3, 2))


# ------------------------------------------------------------------ errors
def test_bad_input_is_one_line(capsys, tmp_path):
    with pytest.raises(ValueError, match="unknown claim"):
        get_claim("C9")
    with pytest.raises(ValueError, match="budget k must be in 1..6"):
        search("C1", OrderParameterFamily(6, 2), budgets=[7], evaluations=5)
    with pytest.raises(ValueError, match="q_range"):
        OrderParameterFamily(3, 1, q_range=(2.0, 1.0))
    assert main(["verify", "C1", "--family", "paper", "--K", "4", "--out", str(tmp_path)]) == 2
    assert main(["verify", "C1", "--eta", "0.1", "--out", str(tmp_path)]) == 2
    assert main(["verify", "nosuchmodule:f", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("statmech verify: error:") for line in err)


def test_margins_are_never_nan():
    def nan_claim(state, model, keep):
        return math.nan

    r = search(nan_claim, OrderParameterFamily(2, 1), budgets=[1], evaluations=20)
    assert r.n_invalid == 20 and r.state is None and "not a finite number" in r.invalid_message


@pytest.mark.slow
def test_sweep_engine_gives_the_inline_result(tmp_path):
    fam = TrainedFamily.grid(4, 2, eta=[0.5, 1.0], eta_v=[0.5], sigma=[0.0], alpha_max=300.0, points=5)
    a = search("C1", fam)
    b = search("C1", fam, executor="dask", workers=2, sweep_dir=tmp_path / "sweep")
    assert b.n_evaluations == a.n_evaluations and b.per_budget.keys() == a.per_budget.keys()
    assert abs(a.margin - b.margin) < 1e-12 and a.state.allclose(b.state, rtol=1e-12)


def test_trained_config_runs_the_general_model():
    """A verify trajectory with a ReLU teacher, weight decay, output scaling and correlated teacher units is the
    ODE of that Model from the weights initial_weights gives (the same route as curve and the sweeps)."""
    from statmech import Model, integrate
    from statmech.core.initial import initial_weights
    from statmech.verify.families import TrainedConfig

    general = dict(teacher_activation="relu", weight_decay=0.05, output_scale="sqrt", teacher_overlap=0.3)
    cfg = TrainedConfig(K=3, M=2, eta=0.5, eta_v=0.5, N=200, alpha_max=5.0, points=3, **general)
    model = Model(eta=0.5, eta_v=0.5, teacher_activation="relu", weight_decay=0.05, output_scale="sqrt")
    start = initial_weights(3, 2, 200, vstar=4.0, teacher_overlap=0.3, seed=0).state()
    direct = integrate(start, model, alpha_max=5.0, save_at=cfg.save_at(), progress=False)
    res = cfg.integrate()
    np.testing.assert_array_equal(res.eps_g, direct.eps_g)
    assert cfg.model().model == model
    assert np.allclose(res.state_at(0).T, [[1.0, 0.3], [0.3, 1.0]], atol=1e-12)
    with pytest.raises(ValueError, match="weight_decay"):
        TrainedConfig(K=3, M=2, eta=0.5, eta_v=0.5, weight_decay=-1.0)
    with pytest.raises(ValueError, match="teacher_overlap"):
        TrainedConfig(K=3, M=2, eta=0.5, eta_v=0.0, vstar=1.0, init="scm", teacher_overlap=0.2)


@pytest.mark.slow
def test_sweep_engine_runs_a_general_model_family(tmp_path):
    """The verify sweep engine evaluates a family of general-model trajectories as the inline search does."""
    from statmech.verify.families import TrainedConfig

    cfgs = [
        TrainedConfig(K=3, M=2, eta=0.5, eta_v=0.5, N=200, alpha_max=50.0, points=3, teacher_activation="linear"),
        TrainedConfig(K=3, M=2, eta=0.5, eta_v=0.5, N=200, alpha_max=50.0, points=3, weight_decay=0.01),
    ]
    fam = TrainedFamily(cfgs)
    a = search("C1", fam)
    b = search("C1", fam, executor="dask", workers=2, sweep_dir=tmp_path / "sweep")
    assert b.n_evaluations == a.n_evaluations and abs(a.margin - b.margin) < 1e-12
