"""`statmech curve`: files written, parameters inside them, bad input as one line and exit code 2."""

import json

import numpy as np
import pytest

import statmech as sm
from statmech.cli import main
from statmech.core.io import read_table


def test_curve_writes_csv_state_and_plot(tmp_path):
    out = tmp_path / "c"
    assert (
        main(
            [
                "curve",
                "--K",
                "3",
                "--M",
                "2",
                "--vstar",
                "2",
                "--alpha-max",
                "50",
                "--N",
                "100",
                "--seed",
                "4",
                "--points",
                "30",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    cols, params = read_table(out / "curve.csv")
    # the CSV is the ODE from State.random with the same seed, recomputed here
    ref = sm.integrate(
        sm.State.random(3, 2, 100, vstar=2.0, seed=4), eta=0.5, eta_v=0.5, alpha_max=50, save_at=cols["alpha"]
    )
    np.testing.assert_allclose(cols["eps_g"], ref.eps_g, rtol=1e-12)
    assert params["K"] == 3 and params["seed"] == 4 and params["status"] == 0
    assert "noise-free" in json.loads((out / "curve.json").read_text())["descriptions"]["eps_g"]
    assert sm.State.load(out / "final_state.npz").allclose(ref.final)
    assert (out / "curve.png").stat().st_size > 10_000


def test_curve_from_saved_state(tmp_path):
    s = sm.State.random(2, 1, 50, seed=1)
    s.save(tmp_path / "init.npz")
    assert (
        main(["curve", "--init-state", str(tmp_path / "init.npz"), "--alpha-max", "5", "--out", str(tmp_path / "o")])
        == 0
    )
    cols, params = read_table(tmp_path / "o" / "curve.csv")
    assert cols["eps_g"][0] == pytest.approx(sm.eps_g(s), rel=1e-14)
    assert params["init_state"].endswith("init.npz")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--K", "0"], "argument --K: expected an integer >= 1, got 0"),
        (["--M", "-1"], "argument --M: expected an integer >= 1"),
        (["--eta", "-0.5"], "argument --eta: expected a finite number >= 0, got -0.5"),
        (["--alpha-max", "0"], "argument --alpha-max: expected a number > 0"),
        (["--activation", "tanh"], "argument --activation: invalid choice"),
    ],
)
def test_bad_arguments_exit_2(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["curve", *args, "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_state_files_exit_2_with_one_line(tmp_path, capsys):
    np.savez(tmp_path / "missing.npz", Q=np.eye(2), R=np.zeros((2, 1)), T=np.eye(1), v=np.ones(2))
    np.savez(
        tmp_path / "nonpsd.npz",
        Q=[[1.0, 2.0], [2.0, 1.0]],
        R=np.zeros((2, 1)),
        T=np.eye(1),
        v=np.ones(2),
        vstar=np.ones(1),
    )
    for name, message in (("missing.npz", "missing key(s) ['vstar']"), ("nonpsd.npz", "positive semi-definite")):
        assert main(["curve", "--init-state", str(tmp_path / name), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1


def test_diverging_run_reports_and_exits_1(tmp_path, capsys):
    # linear K = M = 1 with fixed v diverges for eta > 2 (tests/ode/test_ode.py)
    s = sm.State(Q=[[0.5]], R=[[0.1]], T=[[1.0]], v=[1.0], vstar=[1.0])
    s.save(tmp_path / "s.npz")
    code = main(
        [
            "curve",
            "--init-state",
            str(tmp_path / "s.npz"),
            "--activation",
            "linear",
            "--eta",
            "3",
            "--eta-v",
            "0",
            "--alpha-max",
            "100",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 1
    assert "diverged" in capsys.readouterr().out
    cols, params = read_table(tmp_path / "o" / "curve.csv")
    assert params["status"] == -1 and np.all(np.isfinite(cols["eps_g"]))


def test_init_state_refuses_random_start_options(tmp_path, capsys):
    sm.State.random(2, 1, 50, seed=1).save(tmp_path / "init.npz")
    code = main(
        ["curve", "--init-state", str(tmp_path / "init.npz"), "--K", "6", "--seed", "3", "--out", str(tmp_path / "o")]
    )
    assert code == 2
    assert "--K, --seed describe the random initial weights" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--method", "dopri5", "--dt", "0.5"], "--dt 0.5 is an option of --method euler, not of --method dopri5"),
        (["--dt", "0.5"], "--dt 0.5 is an option of --method euler, not of --method dopri5"),
        (
            ["--method", "euler", "--rtol", "1e-3"],
            "--rtol 0.001 is an option of --method dopri5, not of --method euler",
        ),
        (
            ["--method", "euler", "--atol", "1e-6"],
            "--atol 1e-06 is an option of --method dopri5, not of --method euler",
        ),
    ],
)
def test_option_of_the_other_method_exits_2_with_one_line(args, message, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["curve", "--alpha-max", "1", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()  # refused before anything was computed or written


def test_method_options_reach_the_integrator(tmp_path):
    out = tmp_path / "e"
    argv = ["curve", "--K", "2", "--M", "1", "--alpha-max", "4", "--points", "5", "--out", str(out)]
    assert main(argv + ["--method", "euler", "--dt", "0.05"]) == 0
    cols, params = read_table(out / "curve.csv")
    assert params["method"] == "euler" and params["dt"] == 0.05 and params["rtol"] is None
    ref = sm.integrate(
        sm.State.random(2, 1, 500, vstar=4.0, seed=0),
        eta=0.5,
        alpha_max=4,
        save_at=cols["alpha"],
        method="euler",
        dt=0.05,
    )
    np.testing.assert_allclose(cols["eps_g"], ref.eps_g, rtol=1e-12)


def test_old_prune_spelling_is_the_schemes_option():
    from statmech.cli import build_parser

    old = build_parser().parse_args(["curve", "--prune", "dpp-node", "--prune", "random-edge", "--out", "x"])
    new = build_parser().parse_args(["curve", "--schemes", "dpp-node,random-edge", "--out", "x"])
    assert old.schemes == new.schemes == ["dpp-node", "random-edge"]


def test_wrote_message_lists_exactly_the_files_written(tmp_path, capsys):
    out = tmp_path / "w"
    assert main(["curve", "--K", "2", "--M", "1", "--alpha-max", "2", "--points", "3", "--out", str(out)]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    listed = {p.strip() for p in line.split("; wrote ")[1].split(",")}
    assert listed == {str(p) for p in out.iterdir()}
    assert {p.name for p in out.iterdir()} == {"curve.csv", "curve.json", "final_state.npz", "curve.png"}
