"""Real-data MLP pruning: forward pass, masks, reweighting, budgets, CLI, bad input."""

import warnings

import numpy as np
import pytest

from statmech.cli import main
from statmech.pruning.finite import mlp as rd


@pytest.fixture(scope="module")
def small():
    data = rd.load_dataset("digits", seed=0)
    mlp, classes = rd.train_mlp(data, (24, 16), seed=0, max_iter=150)
    return data, mlp, classes


def test_forward_pass_matches_scikit_learn():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    data = rd.load_dataset("digits", seed=1)
    clf = MLPClassifier((12,), activation="logistic", max_iter=60, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(data.X_train, data.y_train)
    mlp = rd.MLP(tuple(clf.coefs_), tuple(clf.intercepts_))
    np.testing.assert_array_equal(clf.classes_[mlp.predict(data.X_test)], clf.predict(data.X_test))


def test_unpruned_network_learns(small):
    data, mlp, classes = small
    assert mlp.error(data.X_test, data.y_test, classes) < 0.1


def test_node_pruning_equals_silencing_units(small):
    data, mlp, classes = small
    layer = rd._Layer(mlp, data.X_train)
    keep = np.zeros(24, bool)
    keep[::2] = True
    pruned = rd.prune_first_layer(mlp, layer, "random-node", keep, reweight="none")
    W2 = mlp.coefs[1].copy()
    W2[~keep] = 0.0  # an independent route: removed units contribute nothing downstream
    silenced = mlp.with_first_layer(mlp.coefs[0], mlp.intercepts[0], W2, mlp.intercepts[1])
    np.testing.assert_array_equal(pruned.predict(data.X_test), silenced.predict(data.X_test))
    assert pruned.coefs[0].shape == (64, 12) and pruned.coefs[1].shape == (12, 16)


def test_node_reweighting_absorbs_an_exact_copy(small):
    data, mlp, classes = small
    W1, b1, W2 = mlp.coefs[0].copy(), mlp.intercepts[0].copy(), mlp.coefs[1].copy()
    W1[:, 5], b1[5] = W1[:, 3], b1[3]  # unit 5 is an exact copy of unit 3
    dup = mlp.with_first_layer(W1, b1, W2, mlp.intercepts[1])
    layer = rd._Layer(dup, data.X_train)
    keep = np.ones(24, bool)
    keep[5] = False
    fused = rd.prune_first_layer(dup, layer, "dpp-node", keep, reweight="fuse-activation")
    plain = rd.prune_first_layer(dup, layer, "dpp-node", keep, reweight="none")
    # the copy's outgoing weights pass to unit 3: the second-layer input is unchanged
    h_full = dup.hidden(data.X_test) @ W2
    h_fused = fused.hidden(data.X_test) @ fused.coefs[1]
    np.testing.assert_allclose(h_fused + fused.intercepts[1], h_full + dup.intercepts[1], atol=1e-8)
    assert not np.allclose(plain.hidden(data.X_test) @ plain.coefs[1], h_full, atol=1e-3)


def test_edge_reweighting_reduces_preactivation_residual(small):
    data, mlp, classes = small
    layer = rd._Layer(mlp, data.X_train)
    rng = np.random.default_rng(0)
    mask = rng.random((24, 64)) < 0.3
    plain = rd.prune_first_layer(mlp, layer, "random-edge", mask, reweight="none")
    fused = rd.prune_first_layer(mlp, layer, "random-edge", mask, reweight="edge-lsq")
    pre = data.X_train @ mlp.coefs[0] + mlp.intercepts[0]
    r_plain = np.mean((data.X_train @ plain.coefs[0] + plain.intercepts[0] - pre) ** 2)
    r_fused = np.mean((data.X_train @ fused.coefs[0] + fused.intercepts[0] - pre) ** 2)
    # least squares on the training inputs: never worse, and here much better (pixels are correlated)
    assert r_fused < 0.5 * r_plain
    assert np.all(fused.coefs[0][~mask.T] == 0)


def test_budgets_match_parameter_counts():
    D, H, H2 = 784, 500, 500
    for f, e, n in rd.budgets(D, H, H2, [0.2, 0.5, 0.9]):
        assert e == round(f * D)
        assert abs(H * (e + H2) - n * (D + H2)) <= (D + H2) / 2


def test_small_experiment_rows_and_orderings(small):
    data, mlp, classes = small
    rows = rd.prune_mlp(data, mlp, classes, fractions=(0.3, 0.8), rounds=2, seed=0)
    assert len(rows) == 6 * 2 * 2
    for r in rows:
        assert 0 <= r["error_mean"] <= 1
        if r["scheme"].startswith("importance"):  # deterministic: one mask, not repeated
            assert r["rounds"] == 1 and r["distinct_masks"] == 1 and r["error_std"] == 0.0
        else:
            assert r["rounds"] == 2
    # more parameters never hurt much: every scheme's error at 80% is below its error at 30% + 2 std
    for s in rd.SCHEMES:
        lo = [r for r in rows if r["scheme"] == s and r["reweight"] == "none" and r["fraction"] == 0.3][0]
        hi = [r for r in rows if r["scheme"] == s and r["reweight"] == "none" and r["fraction"] == 0.8][0]
        assert hi["error_mean"] <= lo["error_mean"] + 2 * lo["error_std"] + 0.02


def test_cli_small_run(tmp_path):
    out = tmp_path / "rd"
    code = main(
        [
            "realdata",
            "--hidden",
            "16",
            "--schemes",
            "random-edge",
            "dpp-edge",
            "--fractions",
            "0.3",
            "0.7",
            "--rounds",
            "2",
            "--reweight",
            "none",
            "--max-iter",
            "60",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    from statmech.core.io import read_table

    cols, params = read_table(out / "realdata.csv")
    assert list(cols["scheme"]) == ["random-edge", "random-edge", "dpp-edge", "dpp-edge"]
    assert params["dataset"] == "digits" and 0 < params["unpruned_error"] < 0.5
    assert (out / "realdata.png").stat().st_size > 10_000


def test_bad_input(tmp_path, capsys, monkeypatch):
    np.savez(tmp_path / "missing.npz", X_train=np.ones((5, 3)), y_train=np.ones(5), X_test=np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"missing key\(s\) \['y_test'\]"):
        rd.load_dataset(str(tmp_path / "missing.npz"))
    np.savez(
        tmp_path / "shape.npz", X_train=np.ones((5, 3)), y_train=np.ones(5), X_test=np.ones((2, 4)), y_test=np.ones(2)
    )
    with pytest.raises(ValueError, match="same number of features"):
        rd.load_dataset(str(tmp_path / "shape.npz"))
    with pytest.raises(ValueError, match=r"fractions must lie in \(0, 1\]"):
        rd.budgets(64, 10, 10, [0.5, 1.5])
    with pytest.raises(ValueError, match="hidden must list at least one layer"):
        rd.train_mlp(rd.load_dataset("digits"), ())
    with pytest.raises(ValueError, match="must be 'digits', 'mnist' or a path"):
        rd.load_dataset("cifar")
    import sklearn.datasets

    def offline(*a, **k):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(ValueError, match="probably offline"):
        rd.load_dataset("mnist")
    assert main(["realdata", "--fractions", "0", "--out", str(tmp_path / "x")]) == 2
    assert "fractions must lie in (0, 1]" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # an unknown name is an argparse usage error (exit 2)
        main(["realdata", "--schemes", "magic", "--out", str(tmp_path / "x")])
    assert exc.value.code == 2 and "invalid choice 'magic'" in capsys.readouterr().err


def test_cli_draws_published_mnist_values_for_mnist_too(tmp_path, monkeypatch):
    """The paper's MNIST panel is drawn for every data set, MNIST included (it was left out exactly for MNIST)."""
    import statmech.plots.realdata as figs
    from statmech.experiments.published import mnist_errors

    digits = rd.load_dataset("digits", seed=0)
    monkeypatch.setattr(
        rd,
        "load_dataset",
        lambda name, seed=0: rd.Dataset("mnist", digits.X_train, digits.y_train, digits.X_test, digits.y_test),
    )
    seen = {}
    monkeypatch.setattr(figs, "realdata_errors", lambda rows, unpruned, path, **kw: seen.update(kw))
    code = main(
        [
            "realdata",
            "--dataset",
            "mnist",
            "--hidden",
            "8",
            "--schemes",
            "random-edge",
            "--fractions",
            "0.5",
            "--rounds",
            "1",
            "--reweight",
            "none",
            "--max-iter",
            "20",
            "--out",
            str(tmp_path / "rd"),
        ]
    )
    assert code == 0
    assert seen["dataset"] == "mnist" and seen["published"] == mnist_errors()


def test_cli_bad_out_fails_before_training(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "taken"
    blocker.write_text("")
    monkeypatch.setattr(rd, "train_mlp", lambda *a, **k: pytest.fail("trained before checking --out"))
    assert main(["realdata", "--out", str(blocker)]) == 2
    assert "--out" in capsys.readouterr().err
