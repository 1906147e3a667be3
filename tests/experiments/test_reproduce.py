"""`statmech reproduce`: every file written, the table's numbers come from the computation, resume, bad input.

The quick run (N = 60, alpha = 150, 2 students x 2 masks) takes about 30 s on a shared 2-core machine; it is
run once per module. The seed check uses an even smaller run of one configuration.
"""

from dataclasses import replace

import numpy as np
import pytest

from statmech.cli import main
from statmech.core.io import read_table
from statmech.experiments import paper as ex
from statmech.experiments.published import teacher_student_losses

FILES = ("F1.png", "F1.csv", "F1.json", "F1_summary.md", "F2.png", "F2_budgets.png", "F3.png", "F4.png", "F4.csv")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    code = main(["reproduce", "--quick", "--out", str(out)])
    assert code == 0
    return out


def _table(path):
    cols, params = read_table(path)
    return {c: np.asarray(v) for c, v in cols.items()}, params


def test_every_file_written_and_non_empty(quick):
    for name in FILES:
        p = quick / name
        assert p.exists(), name
        assert p.stat().st_size > 0, name
    # PNGs are real images, not placeholders
    for name in FILES:
        if name.endswith(".png"):
            assert (quick / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert (quick / name).stat().st_size > 20_000


def test_f1_table_complete_and_published_from_data_file(quick):
    t, params = _table(quick / "F1.csv")
    for c in (
        "config",
        "sigma",
        "scheme",
        "k",
        "budget",
        "params_fraction",
        "published",
        "theory",
        "sim_mean",
        "sim_stderr",
        "n_sim",
    ):
        assert c in t
    for name, schemes in ex.F1_SCHEMES.items():
        for sigma in ex.SIGMAS:
            pub = teacher_student_losses(name, sigma)
            for s in schemes:
                sel = (t["config"] == name) & (t["sigma"] == sigma) & (t["scheme"] == s)
                assert sorted(t["k"][sel].astype(int)) == [1, 2, 3, 4, 5]
                o = np.argsort(t["k"][sel].astype(int))
                np.testing.assert_array_equal(t["published"][sel][o].astype(float), pub[s])
                assert np.all(np.isfinite(t["sim_mean"][sel].astype(float)))
                assert np.all(np.isfinite(t["theory"][sel].astype(float)))
    assert params["sizes"]["name"] == "quick"


def test_sim_column_is_the_mean_of_the_pruned_networks(quick):
    """Recompute sim_mean from the cached per-mask records (mean over masks, then over students, + sigma^2/2)
    and the unpruned theory from the cached ODE state; both independent of f1_table's code path."""
    from statmech import eps_g
    from statmech import pruning as P

    t, _ = _table(quick / "F1.csv")
    pipe = ex.Pipeline(ex.QUICK, quick / ".reproduce_cache", log=lambda m: None)
    for name, sigma in (("6:2", 0.25), ("5:20", 0.0)):
        runs = [pipe.cached("prune", name, sigma, r) for r in range(ex.QUICK.seeds)]
        assert all(r is not None for r in runs) and pipe.cached("prune", name, sigma, ex.QUICK.seeds) is None
        sch, k = ("random-edge", 2)
        per_student = []
        for r in runs:
            rec = r["records"]
            sel = (rec["scheme"] == sch) & (rec["k"] == k) & (rec["reweight"] == "none")
            assert sel.sum() == ex.QUICK.masks
            per_student.append(np.mean(rec["eps_g"][sel]))
        row = (t["config"] == name) & (t["sigma"] == sigma) & (t["scheme"] == sch) & (t["k"] == k)
        # float64 sums of a handful of numbers: agreement to rounding
        assert float(t["sim_mean"][row][0]) == pytest.approx(np.mean(per_student) + sigma**2 / 2, rel=1e-12)
        assert float(t["sim_stderr"][row][0]) == pytest.approx(
            np.std(per_student, ddof=1) / np.sqrt(len(runs)), rel=1e-10
        )
        tr = pipe.cached("train", name, sigma)
        row = (t["config"] == name) & (t["sigma"] == sigma) & (t["scheme"] == "unpruned")
        expect = eps_g(P.rescale_rows(tr["ode_final"])) + sigma**2 / 2
        assert float(t["theory"][row][0]) == pytest.approx(expect, rel=1e-12)


def test_summary_orderings_follow_the_table(quick):
    """The theory verdicts in F1_summary.md agree with a direct comparison of the CSV columns."""
    t, _ = _table(quick / "F1.csv")
    text = (quick / "F1_summary.md").read_text()

    def col(s, sigma, c):
        sel = (t["config"] == "6:2") & (t["sigma"] == sigma) & (t["scheme"] == s)
        o = np.argsort(t["k"][sel].astype(int))
        return t[c][sel][o].astype(float)

    for sigma in ex.SIGMAS:
        a, b = col("dpp-edge", sigma, "theory"), col("dpp-node", sigma, "theory")
        verdict = "".join("Y" if x < y else "n" for x, y in zip(a, b))
        line = [
            ln
            for ln in text.splitlines()
            if ln.startswith("| F1c DPP edge < DPP node (6:2)") and f"| {sigma:g} |" in ln
        ]
        assert len(line) == 1
        assert line[0].split("|")[4].strip() == verdict


def test_f4_table_ode_starts_at_initial_error(quick):
    """ODE and SGD share the initial weights: both curves start at the same eps_g (alpha = 0)."""
    t, _ = _table(quick / "F4.csv")
    for name in ex.F1_SCHEMES:
        for sigma in ex.SIGMAS:
            base = (t["config"] == name) & (t["sigma"] == sigma)
            ode = base & (t["source"] == "ode") & (t["alpha"].astype(float) == 0)
            sgd = base & (t["source"] == "sgd") & (t["alpha"].astype(float) == 0)
            assert float(t["eps_g"][ode][0]) == pytest.approx(float(t["eps_g"][sgd][0]), rel=1e-10)


def test_cache_is_keyed_by_version_and_sources(quick, monkeypatch):
    """A change of the package version or of the digest of the computing sources misses the cache."""
    pipe = ex.Pipeline(ex.QUICK, quick / ".reproduce_cache", log=lambda m: None)
    path = pipe.cache_path("train", "6:2", 0.0)
    assert pipe.cached("train", "6:2", 0.0) is not None and path.exists()
    real = ex.source_digest(packages=ex.CACHE_SOURCES)
    monkeypatch.setattr(ex, "source_digest", lambda **kw: "0" * 16)
    assert pipe.cache_path("train", "6:2", 0.0) != path and pipe.cached("train", "6:2", 0.0) is None
    monkeypatch.setattr(ex, "source_digest", lambda **kw: real)
    assert pipe.cache_path("train", "6:2", 0.0) == path
    monkeypatch.setattr(ex, "__version__", "0.0.0")
    assert pipe.cached("train", "6:2", 0.0) is None


def test_source_digest_follows_the_files(tmp_path, monkeypatch):
    """The digest changes with a file's bytes and name, and only for the selected files."""
    from statmech.core import digest

    pkg = tmp_path / "pkg"
    (pkg / "ode").mkdir(parents=True)
    (pkg / "plots").mkdir()
    (pkg / "ode" / "a.py").write_text("x = 1\n")
    (pkg / "plots" / "b.py").write_text("y = 2\n")
    monkeypatch.setattr(digest, "PACKAGE_ROOT", pkg)
    d0 = digest.source_digest(packages=("ode",))
    (pkg / "plots" / "b.py").write_text("y = 3\n")
    assert digest.source_digest(packages=("ode",)) == d0
    all0 = digest.source_digest()
    (pkg / "ode" / "a.py").write_text("x = 2\n")
    assert digest.source_digest(packages=("ode",)) != d0 and digest.source_digest() != all0
    assert digest.source_digest(containing=b"nothing here") == digest.source_digest(containing=b"absent")


def test_cache_path_bad_input(tmp_path):
    pipe = ex.Pipeline(TINY, tmp_path, log=lambda m: None)
    with pytest.raises(ValueError, match="stage must be one of"):
        pipe.cache_path("fit", "6:2", 0.0)
    with pytest.raises(ValueError, match="run must be given for stage 'prune' only"):
        pipe.cache_path("prune", "6:2", 0.0)


def test_resume_from_cache_gives_the_same_table(quick, tmp_path):
    """A second run over the same cache recomputes nothing and rewrites identical numbers."""
    before = (quick / "F1.csv").read_text()
    res = ex.reproduce(tmp_path, figures=("F1",), quick=True, cache_dir=quick / ".reproduce_cache", log=lambda m: None)
    assert res["timings"] == {}  # nothing trained or pruned again
    assert (tmp_path / "F1.csv").read_text() == before


TINY = replace(
    ex.QUICK, name="tiny", N=30, alpha={"6:2": 40.0, "5:20": 40.0}, seeds=2, masks=2, n_kernel=500, n_test=200, points=4
)


def _tiny_sim(tmp_path, seed):
    pipe = ex.Pipeline(TINY, tmp_path / f"cache{seed}", seed=seed, workers=1, log=lambda m: None)
    cfg = pipe.config("6:2")
    group = {
        ("6:2", 0.0): {
            "cfg": cfg,
            "theory": pipe.theory("6:2", 0.0),
            "pruned": [pipe.prune("6:2", 0.0, r) for r in range(TINY.seeds)],
        }
    }
    return ex.f1_table(group)


def test_changed_seed_changes_the_simulation_column(tmp_path):
    a = _tiny_sim(tmp_path, 0)
    b = _tiny_sim(tmp_path, 1)
    again = _tiny_sim(tmp_path / "again", 0)  # a fresh cache: the numbers come from the seed, not the cache
    rand = a["scheme"] != "unpruned"
    assert np.all(a["sim_mean"][rand] != b["sim_mean"][rand])
    np.testing.assert_array_equal(a["sim_mean"], again["sim_mean"])
    np.testing.assert_array_equal(a["theory"], again["theory"])


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="figures must be names from"):
        ex.reproduce(tmp_path, figures=("F9",), quick=True)
    with pytest.raises(ValueError, match="config must be one of"):
        ex.paper_config("7:3")
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        ex.Pipeline(ex.QUICK, tmp_path, seed=-1)
    with pytest.raises(SystemExit) as bad_seed:  # refused by the argument parser: usage error, exit 2
        main(["reproduce", "--quick", "--seed", "-2", "--out", str(tmp_path)])
    assert bad_seed.value.code == 2
    assert main(["reproduce", "--quick", "--workers", "0", "--out", str(tmp_path)]) == 2
    with pytest.raises(SystemExit):
        main(["reproduce", "--figure", "F7", "--out", str(tmp_path)])


def test_configs_come_from_published_json():
    from statmech.experiments.published import published

    for name in ("6:2", "5:20"):
        raw = published()["teacher_student"]["configs"][name]
        c = ex.paper_config(name)
        assert (c.K, c.M, c.N, c.alpha) == (raw["K"], raw["M"], raw["N"], raw["alpha"])
        from statmech.core.budgets import edges_per_unit

        assert [edges_per_unit(k, c.K, c.N) for k in range(1, 6)] == raw["edges_per_unit"]


def test_differences_use_the_reading_error_of_the_data_file(monkeypatch):
    """The +-0.05 reading error of the published points lives in published.json (was a constant in experiments)."""
    import numpy as np

    from statmech.experiments import published as pub

    assert pub.reading_error() == pub.published()["teacher_student"]["reading_error"]
    row = dict(
        config=["6:2"],
        sigma=[0.0],
        scheme=["dpp-node"],
        k=[1],
        published=[1.0],
        theory=[1.0],
        theory_sim_students=[1.0],
        sim_mean=[1.2],
        sim_stderr=[0.0],
    )
    table = {c: np.asarray(v) for c, v in row.items()}
    # |1.2 - 1.0| = 0.2 > 2 x 0.05, but < 2 x 0.15
    assert len(ex.differences(table)) == 1
    monkeypatch.setattr(ex, "reading_error", lambda: 0.15)
    assert ex.differences(table) == []
