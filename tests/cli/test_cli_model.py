"""The model, teacher and start options of the CLI: one Model helper, output files record it, bad input."""

import argparse
import json

import numpy as np
import pytest

from statmech import State, Weights
from statmech.cli import main
from statmech.commands._common import add_teacher_student_args, model_from_args
from statmech.core.initial import initial_weights
from statmech.core.io import read_provenance, read_table
from statmech.core.model import Model
from statmech.core.vocabulary import ACTIVATIONS

SMALL = ["--K", "3", "--M", "2", "--N", "40", "--alpha-max", "1", "--runs", "2", "--points", "3"]


def _exit_and_error(argv, capsys):
    """(exit code, stderr) whether argparse (SystemExit) or the command (ValueError -> 2) refuses."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err.strip()


def test_model_from_args_is_the_one_model():
    p = argparse.ArgumentParser()
    add_teacher_student_args(p)
    args = p.parse_args(
        "--activation relu --teacher-activation erf --weight-decay 0.2 --batch-size 5 --output-scale sqrt "
        "--eta 0.3 --eta-v 0.1 --sigma 0.4".split()
    )
    assert model_from_args(args) == Model(
        activation="relu",
        teacher_activation="erf",
        eta=0.3,
        eta_v=0.1,
        sigma=0.4,
        weight_decay=0.2,
        batch_size=5,
        output_scale="sqrt",
    )
    default = model_from_args(p.parse_args([]))
    assert default == Model(eta=0.5, eta_v=0.5) and default.teacher_activation == "erf"
    with pytest.raises(ValueError, match=r"--batch-size 5 is not supported by fixed-points"):
        model_from_args(args, supported=("teacher_activation", "weight_decay", "output_scale"), command="fixed-points")
    # the activation choices are the vocabulary's
    act = next(a for a in p._actions if a.dest == "activation")
    assert tuple(act.choices) == ACTIVATIONS


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--vstar", "1", "2", "3"], "--vstar takes 1 value (every teacher unit) or M=2 values, got 3"),
        (["--teacher-overlap", "1"], "--teacher-overlap must lie in (-1/(M-1), 1) = (-1, 1) for M=2 teacher units"),
        (["--teacher-overlap", "-1"], "--teacher-overlap must lie in (-1/(M-1), 1) = (-1, 1) for M=2 teacher units"),
        (["--weight-decay", "-0.1"], "argument --weight-decay: expected a finite number >= 0, got -0.1"),
        (["--batch-size", "0"], "argument --batch-size: expected an integer >= 1, got 0"),
        (["--output-scale", "N"], "argument --output-scale: invalid choice: 'N' (choose from '1', 'sqrt', 'K')"),
        (["--init", "large"], "argument --init: invalid choice: 'large' (choose from 'random', 'small', 'informed'"),
        (["--teacher-activation", "tanh"], "argument --teacher-activation: invalid choice: 'tanh'"),
        (["--train-set", "0"], "argument --train-set: expected a number > 0, got 0"),
        (["--K", "1", "--init", "denoise"], "--init denoise copies teacher units into student units and needs K >= M"),
    ],
)
def test_simulate_bad_model_input_is_one_line_exit_2(extra, message, tmp_path, capsys):
    code, err = _exit_and_error(["simulate", *SMALL, "--out", str(tmp_path / "o"), *extra], capsys)
    # one line: the command's error, or argparse's after its usage lines
    assert code == 2 and message in err.splitlines()[-1] and "Traceback" not in err, err


def test_teacher_overlap_range_depends_on_M(tmp_path, capsys):
    argv = ["curve", "--K", "3", "--M", "3", "--alpha-max", "1", "--out", str(tmp_path), "--teacher-overlap", "-0.5"]
    code, err = _exit_and_error(argv, capsys)
    assert code == 2 and "--teacher-overlap must lie in (-1/(M-1), 1) = (-0.5, 1) for M=3 teacher units" in err


def test_simulate_records_the_model_and_the_start(tmp_path, capsys):
    out = tmp_path / "o"
    argv = ["simulate", *SMALL, "--out", str(out), "--vstar", "2", "1", "--teacher-overlap", "0.3"]
    argv += ["--init", "informed", "--teacher-activation", "relu", "--weight-decay", "0.1", "--batch-size", "2"]
    assert main(argv) == 0
    capsys.readouterr()
    cols, params = read_table(out / "simulation.csv")
    model = Model(teacher_activation="relu", weight_decay=0.1, batch_size=2, eta_v=0.5)
    assert params["model"] == model.to_dict() and params["weight_decay"] == 0.1 and params["batch_size"] == 2
    assert params["start"]["init"] == "informed" and params["start"]["vstar"] == [2.0, 1.0]
    # the start is initial_weights of the same options, and every weights file records the model
    w = Weights.load(out / "initial_weights.npz")
    ref = initial_weights(3, 2, 40, init="informed", vstar=[2.0, 1.0], teacher_overlap=0.3, seed=0)
    assert np.array_equal(w.W, ref.W) and np.allclose(w.state().T, [[1, 0.3], [0.3, 1]], atol=1e-12)
    for name in ("initial_weights.npz", "final_weights_seed0.npz"):
        assert read_provenance(out / name)["parameters"]["model"] == model.to_dict()
    # the ODE column is the general model's ODE from the same start
    assert np.all(np.isfinite(cols["eps_g_ode"]))


def test_simulate_train_set_writes_training_and_test_error(tmp_path, capsys):
    out = tmp_path / "t"
    argv = ["simulate", "--K", "2", "--M", "1", "--N", "30", "--alpha-max", "3", "--runs", "2"]
    argv += ["--train-set", "0.5", "--out", str(out)]
    assert main(argv) == 0
    assert "epochs: training error" in capsys.readouterr().out
    cols, params = read_table(out / "simulation.csv")
    # one save point per epoch: P = 15 samples, an epoch is alpha = 0.5
    assert np.allclose(cols["epoch"], np.arange(7)) and np.allclose(cols["alpha"], 0.5 * np.arange(7))
    assert "eps_g_ode" not in cols and "no online ODE" in params["ode"]
    assert params["train_samples"] == 15 and params["alpha_counts"] == "SGD updates / N"


def test_init_state_brings_T_and_vstar_and_refuses_start_options(tmp_path, capsys):
    st = State.random(3, 2, 200, vstar=[1.5, -0.5], seed=1)
    st.save(tmp_path / "s.npz")
    out = tmp_path / "o"
    assert main(["simulate", "--N", "60", "--alpha-max", "1", "--runs", "2", "--points", "2", "--out", str(out),
                 "--init-state", str(tmp_path / "s.npz"), "--weight-decay", "0.2"]) == 0  # fmt: skip
    capsys.readouterr()
    w = Weights.load(out / "initial_weights.npz")
    assert w.N == 60 and w.state().allclose(st, rtol=1e-10, atol=1e-12)
    _, params = read_table(out / "simulation.csv")
    assert params["model"]["weight_decay"] == 0.2
    for extra in (["--vstar", "2"], ["--init", "small"], ["--teacher-overlap", "0.1"], ["--K", "4"]):
        code, err = _exit_and_error(
            ["simulate", "--alpha-max", "1", "--out", str(tmp_path / "x"), "--init-state", str(tmp_path / "s.npz"),
             *extra],
            capsys,
        )  # fmt: skip
        assert code == 2 and f"{extra[0]} describe generated initial weights; with --init-state" in err, err


def test_curve_takes_the_model_and_records_it(tmp_path, capsys):
    out = tmp_path / "c"
    argv = ["curve", "--K", "2", "--M", "2", "--alpha-max", "2", "--points", "3", "--out", str(out)]
    argv += ["--weight-decay", "0.3", "--output-scale", "K", "--vstar", "1", "2", "--init", "denoise"]
    assert main(argv) == 0
    capsys.readouterr()
    _, params = read_table(out / "curve.csv")
    assert params["model"]["weight_decay"] == 0.3 and params["model"]["output_scale"] == "K"
    assert params["init"] == "denoise" and params["vstar"] == [1.0, 2.0]


def test_fixed_points_and_max_lr_take_the_model(capsys):
    # weight decay lowers the critical learning rate of the erf 2:2 soft committee machine (2.3068 without)
    assert main(["max-lr", "--soft-committee", "--weight-decay", "0.05", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0.5 < out["eta_c"] < 2.3 and out["model"]["weight_decay"] == 0.05
    # one --vstar per teacher unit and a correlated teacher reach the engine
    assert main(["max-lr", "--vstar", "1", "1.5", "--teacher-overlap", "0.2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["eta_c"] > 0


def test_prune_and_prune_sim_refuse_what_their_engine_does_not_take(tmp_path, capsys):
    path = tmp_path / "s.npz"
    Weights.random(3, 2, 100, vstar=1.0, seed=0).save(path)
    for option, value in (("--teacher-activation", "relu"), ("--output-scale", "sqrt")):
        code, err = _exit_and_error(["prune", "--phase-diagram", "--out", str(tmp_path / "p"), option, value], capsys)
        assert code == 2 and f"{option} {value} is not supported by --phase-diagram" in err, err
    for option, value in (("--weight-decay", "0.1"), ("--batch-size", "2")):
        code, err = _exit_and_error(
            ["prune-sim", "--weights", str(path), "--out", str(tmp_path / "q"), option, value], capsys
        )
        assert code == 2 and f"{option} {value} is a training option" in err, err


def test_sweep_model_keys_reach_the_engines_and_are_refused_where_not_taken():
    from statmech.core.initial import initial_state
    from statmech.ode.integrator import integrate
    from statmech.sweep.config import parse_config
    from statmech.sweep.runner import execute_run

    text = (
        'engine = "ode"\n[fixed]\nK = 3\nM = 2\nN = 100\nalpha_max = 1.0\nteacher_activation = "relu"\n'
        'weight_decay = 0.2\nbatch_size = 3\noutput_scale = "sqrt"\ninit = "denoise"\nteacher_overlap = 0.3\n'
    )
    cfg = parse_config(text)
    (run,) = cfg.runs
    row = execute_run("ode", run.params, ["eps_g"])
    model = Model(teacher_activation="relu", weight_decay=0.2, batch_size=3, output_scale="sqrt")
    ref = integrate(
        initial_state(3, 2, 100, init="denoise", vstar=4.0, teacher_overlap=0.3, seed=0), model, alpha_max=1.0,
        save_at=[1.0],
    )  # fmt: skip
    assert np.isclose(row["rows"][0]["eps_g"], ref.eps_g[-1], rtol=1e-12), row
    with pytest.raises(ValueError, match=r"parameter 'teacher_overlap' must lie in"):
        parse_config(text.replace("teacher_overlap = 0.3", "teacher_overlap = 2.0"))
    with pytest.raises(ValueError, match=r"parameter 'init' = 'denoise' is not supported by this engine"):
        parse_config(text.replace('"ode"', '"prune-sim"') + "keep = 1\n")  # prune-sim starts from Weights.random
    with pytest.raises(ValueError, match=r"parameter 'batch_size' must be >= 1"):
        parse_config(text.replace("batch_size = 3", "batch_size = 0"))
