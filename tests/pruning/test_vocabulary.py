"""One vocabulary, one budget type, scheme objects that refuse foreign options, one CLI syntax for pruning."""

import argparse
import re
from pathlib import Path

import numpy as np
import pytest

import statmech as sm
from statmech import pruning as P
from statmech.cli import build_parser, main
from statmech.core import vocabulary as V
from statmech.core.budgets import Budget, units_for_edges
from statmech.pruning import retraining
from statmech.pruning.finite import mlp as rd
from statmech.pruning.finite import students as ps

PACKAGE = Path(sm.__file__).parent


# ---------------------------------------------------------------- vocabulary
@pytest.mark.parametrize("name", V.SCHEMES + V.NODE_KERNELS + V.IMPORTANCE_SCORES + V.REWEIGHTS[1:])
def test_each_name_is_a_string_literal_in_one_module(name):
    """Scheme, kernel, score and reweighting names are spelled once, in statmech/core/vocabulary.py."""
    pattern = re.compile(r"""["']""" + re.escape(name) + r"""["']""")
    holders = sorted(
        str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))
    )
    assert holders == ["core/vocabulary.py"], holders


def test_vocabulary_groups():
    assert V.SCHEMES == V.NODE_SCHEMES + V.EDGE_SCHEMES and len(set(V.SCHEMES)) == 6
    assert set(V.NODE_REWEIGHTS) | set(V.EDGE_REWEIGHTS) == set(V.REWEIGHTS)
    assert V.parse_schemes("all") == V.SCHEMES
    assert V.parse_schemes("dpp-node, random-edge") == (V.DPP_NODE, V.RANDOM_EDGE)
    assert V.parse_schemes(["dpp-node", "all"]) == (V.DPP_NODE,) + tuple(s for s in V.SCHEMES if s != V.DPP_NODE)
    with pytest.raises(ValueError, match=r"scheme must be one of .*; got 'magic'"):
        V.parse_schemes("random-node,magic")
    with pytest.raises(ValueError, match="reweight 'optimal-readout' is not available here; choose from none"):
        V.parse_reweights("optimal-readout", ps.REWEIGHTS)


def test_activation_codes_follow_the_vocabulary():
    from statmech.integrals import kernels

    assert list(kernels.ACTIVATIONS) == list(V.ACTIVATIONS)
    assert kernels.ACTIVATIONS[V.RELU] == kernels.RELU


# ---------------------------------------------------------------- budgets
def test_node_edge_matching_gives_the_papers_edges():
    """K = 6, N = 500: the paper's e = 83, 166, 250, 333, 417 edges per unit for k = 1..5 (published)."""
    assert [Budget(keep=k, N=500).edges_per_unit(6, 500) for k in range(1, 6)] == [83, 166, 250, 333, 417]
    assert Budget(keep=2, N=500).edge_fraction(6) == 166 / 500
    assert Budget(keep=2).edge_fraction(6) == 2 / 6  # N -> infinity: c = k/K
    assert Budget(fraction=0.5).units(6) == 3 and Budget(fraction=0.5).edges_per_unit(6, 500) == 250
    assert Budget(edges=250, N=500).edge_fraction(6) == 0.5
    # the inverse matching of the real-data MLPs, K (e + H2) = n (N + H2): H = 100, D = 64, H2 = 100
    assert units_for_edges(13, 100, 64, outputs=100) == round(100 * 113 / 164)
    # with one output the two rules are inverse where they are exact: k = 3, K = 6, N = 501 -> e = 250.5 - ...
    assert units_for_edges(Budget(keep=3, N=599).edges_per_unit(6, 599), 6, 599) == 3


def test_budget_as_pruned_error_argument(trained_state):
    a = P.pruned_error(trained_state, "random-edge", Budget(keep=2, N=500))
    b = P.pruned_error(trained_state, "random-edge", keep=2, N=500)
    c = P.pruned_error(trained_state, "random-edge", 166 / 500)
    assert a.eps_g == b.eps_g == c.eps_g and a.keep_fraction == 166 / 500
    assert (
        P.pruned_error(trained_state, "dpp-node", Budget(keep=2)).eps_g
        == P.pruned_error(trained_state, "dpp-node", 2).eps_g
    )


@pytest.mark.parametrize(
    "make, msg",
    [
        (lambda: Budget(), r"a budget is exactly one of keep .* got none"),
        (lambda: Budget(keep=2, fraction=0.5), r"a budget is exactly one of .* got keep, fraction"),
        (lambda: Budget(fraction=0.0), r"keep_fraction must be in \(0, 1\], got 0.0"),
        (lambda: Budget(keep=2.5), r"keep \(number of kept units k\) must be an integer in 1..K, got 2.5"),
        (lambda: Budget(edges=600, N=500), r"edges \(edges kept per unit e\) must be in 1..N=500, got 600"),
        (lambda: Budget(keep=7).units(6), r"keep \(number of kept units k\) must be in 1..K=6, got 7"),
        (lambda: Budget(edges=3).units(6), r"edges=3 \(edges per unit\) is an edge budget; node schemes take keep"),
        (lambda: Budget(fraction=0.3).units(6), r"keeps c\*K = 1.8 of the K=6 units"),
        (lambda: Budget(edges=30).edge_fraction(6), r"edges=30 \(edges per unit\) needs N"),
        (lambda: Budget(fraction=0.5, N=500).edge_fraction(6), "with keep_fraction it has no role"),
        (lambda: Budget(keep=2, N=500).edge_fraction(6, 400), "the budget was given for N=500, the network has N=400"),
        (lambda: Budget.of(keep=2, keep_fraction=0.5), r"give either keep .* or keep_fraction .*, not both"),
        (lambda: Budget.of(2, keep=2), "give the budget once"),
        (lambda: Budget.of("2"), r"budget must be a Budget, an integer k .* got '2'"),
        (lambda: Budget.of(1.5), r"a float budget a fraction c in \(0, 1\]; got 1.5"),
    ],
)
def test_budget_bad_input_messages(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


# ---------------------------------------------------------------- scheme objects
@pytest.fixture(scope="module")
def trained_state():
    return sm.integrate(sm.State.random(6, 2, 500, vstar=4.0, seed=0), eta=0.5, alpha_max=200.0).final


def test_scheme_objects_carry_only_their_options():
    assert P.scheme_from_name("dpp-node", kernel="gaussian", beta=2.0) == P.DPPNode(kernel="gaussian", beta=2.0)
    assert P.scheme_from_name("importance-node", score="signed-v").score == "signed-v"
    assert P.scheme_from_name("random-edge") == P.RandomEdge()
    assert P.as_scheme("dpp-edge").node is False and P.ImportanceEdge().deterministic
    assert P.DPPNode().width == 1.0 and P.DPPNode().ridge == 0.0
    assert {s.name for s in P.schemes_with("all", kernel="gaussian")} == set(V.SCHEMES)
    assert [s.kernel for s in P.schemes_with("all", kernel="gaussian") if s.name == "dpp-node"] == ["gaussian"]


@pytest.mark.parametrize(
    "make, msg",
    [
        (lambda: P.scheme_from_name("random-node", kernel="gaussian"), "random-node does not take the option 'kernel'"),
        (lambda: P.scheme_from_name("random-edge", score="abs-v"), "random-edge does not take the option 'score'"),
        (
            lambda: P.scheme_from_name("importance-node", jitter=1.0),
            r"importance-node does not take the option 'jitter' \(its options are score, ties\)",
        ),
        (lambda: P.scheme_from_name("dpp-edge", kernel="gaussian"), "dpp-edge does not take the option 'kernel'"),
        (lambda: P.DPPNode(beta=2.0), "beta sets the Gaussian DPP node kernel; it needs kernel='gaussian'"),
        (lambda: P.DPPNode(kernel="linear-activation", eps=0.1), "eps sets the Gaussian DPP node kernel"),
        (lambda: P.DPPNode(kernel="cosine"), r"kernel \(DPP node kernel\) must be one of"),
        (lambda: P.DPPNode(jitter=-1.0), r"jitter .* must be a finite number >= 0, got -1.0"),
        (lambda: P.DPPNode(kernel="gaussian", beta=0.0), r"beta .* must be a finite number > 0"),
        (lambda: P.ImportanceNode(score="loud"), r"score \(importance-node score\) must be one of"),
        (lambda: P.ImportanceNode(ties="random"), r"ties .* must be one of average, lowest-index"),
        (lambda: P.DPPEdge(edge_kernel="cosine"), r"edge_kernel \(DPP edge kernel\) must be one of data, diagonal"),
        (lambda: P.as_scheme(P.RandomNode(), kernel="gaussian"), "set them on the object"),
        (lambda: P.schemes_with("random-node,random-edge", kernel="gaussian"), "option 'kernel' is taken by none"),
    ],
)
def test_scheme_objects_refuse_foreign_options(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


@pytest.mark.parametrize(
    "scheme, kw, msg",
    [
        ("importance-node", {"n_samples": 100}, "n_samples sets how the expectation .* importance-node has none"),
        ("random-edge", {"exact": True}, "exact sets how the expectation .* random-edge has none"),
        ("dpp-edge", {"reweight": "fuse-activation"}, "reweight 'fuse-activation' does not apply to edge schemes"),
        ("random-node", {"reweight": "edge-lsq"}, "reweight 'edge-lsq' does not apply to node schemes"),
        ("random-node", {"n_samples": 1}, "n_samples must be an integer >= 2, got 1"),
        ("dpp-node", {"exact": "yes"}, "exact must be None, True or False"),
    ],
)
def test_pruned_error_refuses_options_the_scheme_does_not_use(trained_state, scheme, kw, msg):
    with pytest.raises(ValueError, match=msg):
        P.pruned_error(trained_state, scheme, 2, **kw)


def test_theory_and_finite_code_take_the_same_scheme_objects(trained_state):
    """One DPPNode object: the theory's expectation and the finite masks (kernel from the same Grams)."""
    w = sm.Weights.random(6, 2, 300, vstar=4.0, seed=2)
    sch = P.DPPNode(kernel="gaussian", beta=0.5, eps=0.01)
    th = P.pruned_error(w.state(), sch, 3)
    assert th.params["kernel"] == "gaussian" and th.params["beta"] == 0.5
    pruned, mask = retraining.prune_real(w, sch, 3, rng=0)
    assert mask.sum() == 3 and pruned.K == 3
    with pytest.raises(ValueError, match="prune_real has no data set"):
        retraining.prune_real(w, P.DPPEdge(), 3)


def test_finite_code_refuses_what_it_cannot_do():
    w = sm.Weights.random(3, 1, 20, vstar=1.0, seed=0)
    with pytest.raises(
        ValueError, match="reweight 'optimal-readout' is not available here; choose from none, fuse-preactivation, fuse"
    ):
        ps.prune_student(w, n_train=100, reweight="optimal-readout")
    with pytest.raises(ValueError, match="reweight 'edge-lsq' applies to edge schemes only; the chosen schemes are"):
        ps.prune_student(w, n_train=100, schemes="random-node", reweight=["none", "edge-lsq"])
    with pytest.raises(ValueError, match="reweight 'fuse-activation' applies to node schemes only"):
        ps.check_reweights("fuse-activation", P.schemes_with("random-edge"))
    with pytest.raises(ValueError, match="importance-node on an MLP ranks units by the norm of their outgoing"):
        rd.mlp_schemes([P.ImportanceNode(score="signed-v")])
    with pytest.raises(ValueError, match="reweight 'fuse-preactivation' is not available here"):
        rd.check_reweights("fuse-preactivation", rd.mlp_schemes("all"))
    assert [s.kernel for s in rd.mlp_schemes("dpp-node")] == ["gaussian"]  # the real-data default kernel
    assert ps.pipeline_schemes("paper", "importance-node")[0].score == "signed-v"
    assert ps.pipeline_schemes("paper", "importance-node", score="abs-v")[0].score == "abs-v"


# ---------------------------------------------------------------- CLI: one syntax
def _actions(command):
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {s: a for a in sub.choices[command]._actions for s in a.option_strings}


def test_prune_commands_share_reweight_and_scheme_syntax():
    cmds = ("prune", "prune-sim", "realdata")
    acts = {c: _actions(c) for c in cmds}
    for c in cmds:
        rw, sc = acts[c]["--reweight"], acts[c]["--schemes"]
        assert tuple(rw.item_choices) == V.REWEIGHTS, c
        assert tuple(sc.item_choices) == V.SCHEMES + (V.ALL,), c
        assert acts[c]["--scheme"] is sc and type(sc).__name__ == "ListAction", c
        assert sc.default == [V.ALL] and "(default all)" in sc.help, c
    assert acts["prune-sim"]["--kernel"] is acts["prune-sim"]["--node-kernel"]
    assert acts["prune-sim"]["--alpha-max"] is acts["prune-sim"]["--alpha"]
    assert acts["prune-sim"]["--runs"] is acts["prune-sim"]["--seeds"]
    assert acts["realdata"]["--masks"] is acts["realdata"]["--rounds"]
    for c in cmds:
        for a in set(acts[c].values()):
            if a.help and a.default not in (None, False, argparse.SUPPRESS) and a.dest != "help":
                assert "default" in a.help, (c, a.option_strings)


@pytest.mark.parametrize(
    "argv, msg",
    [
        (["prune-sim", "--reweight", "optimal-readout"], "reweight 'optimal-readout' is not available here"),
        (["prune-sim", "--schemes", "random-edge", "--reweight", "fuse-activation"], "applies to node schemes only"),
        (["prune-sim", "--schemes", "random-node", "--kernel", "gaussian"], "option 'kernel' is taken by none"),
        (["realdata", "--reweight", "fuse-preactivation"], "reweight 'fuse-preactivation' is not available here"),
        (["realdata", "--schemes", "random-node", "--reweight", "edge-lsq"], "applies to edge schemes only"),
    ],
)
def test_prune_cli_bad_reweight_and_scheme_are_one_line_errors(tmp_path, capsys, argv, msg):
    assert main(argv + ["--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert msg in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


@pytest.mark.parametrize(
    "argv, msg",
    [
        (["prune-sim", "--reweight", "magic"], "argument --reweight: invalid choice 'magic'"),
        (["realdata", "--reweight", "yes"], "argument --reweight: invalid choice 'yes'"),
        (["realdata", "--schemes", "random-edge,magic"], "argument --schemes: invalid choice 'magic'"),
        (["prune", "s.npz", "--reweight", "fuse-act"], "argument --reweight: invalid choice 'fuse-act'"),
    ],
)
def test_prune_cli_unknown_names_are_usage_errors(tmp_path, capsys, argv, msg):
    with pytest.raises(SystemExit) as exc:
        main(argv + ["--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert msg in capsys.readouterr().err.strip().splitlines()[-1]


def test_prune_cli_reweight_lists_and_refusals(tmp_path, capsys, trained_state):
    path = trained_state.save(tmp_path / "s.npz")
    argv = ["prune", str(path), "--schemes", "random-node,random-edge", "--keep", "2", "--N", "500"]
    assert main(argv + ["--reweight", "none", "fuse-activation,edge-lsq"]) == 0
    out = capsys.readouterr().out
    assert out.count("random-node") == 2 and out.count("random-edge") == 2  # none + the method that applies
    assert main(argv[:3] + ["random-edge", "--keep", "2", "--reweight", "fuse-activation"]) == 2
    assert "reweight 'fuse-activation' applies to none of the chosen schemes" in capsys.readouterr().err
    assert main(argv[:3] + ["random-edge", "--keep", "2", "--score", "signed-v"]) == 2
    assert "option 'score' is taken by none of the chosen schemes (random-edge)" in capsys.readouterr().err
    assert main(argv[:3] + ["random-edge", "--keep", "2", "--samples", "100"]) == 2
    assert "n_samples sets the Monte Carlo samples" in capsys.readouterr().err
    assert main(argv[:3] + ["random-edge", "--fraction", "0.5", "--N", "500"]) == 2
    assert "with a fraction it has no role" in capsys.readouterr().err
    np.testing.assert_equal(
        V.REWEIGHTS, ("none", "fuse-preactivation", "fuse-activation", "optimal-readout", "edge-lsq")
    )
