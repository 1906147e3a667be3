"""`statmech prune` and `statmech prune-sim` take the general model (a ReLU teacher, an erf student, output
scaling), pass it to their engines, record it in their files and refuse what does not apply."""

import json

import numpy as np
import pytest

import statmech
from statmech import State, Weights
from statmech.cli import main
from statmech.core.io import read_table
from statmech.core.model import Model
from statmech.pruning import pruned_error

MODEL = Model(activation="erf", teacher_activation="relu", output_scale="sqrt")


def _exit_and_error(argv, capsys):
    """(exit code, stderr) whether argparse (SystemExit) or the command (ValueError -> 2) refuses."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err.strip()


@pytest.fixture(scope="module")
def state_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("prune") / "s.npz"
    State.random(4, 2, 200, vstar=1.5, seed=2).save(path)
    return path


def test_prune_passes_the_model_to_the_theory_and_records_it(state_path, tmp_path, capsys):
    out = tmp_path / "p"
    argv = ["prune", str(state_path), "--schemes", "random-node,importance-edge", "--keep", "2", "--N", "200"]
    model_opts = ["--activation", "erf", "--teacher-activation", "relu", "--output-scale", "sqrt"]
    assert main(argv + model_opts + ["--out", str(out)]) == 0
    assert "teacher relu" in capsys.readouterr().out
    cols, params = read_table(out / "pruning_errors.csv")
    assert params["model"] == {"activation": "erf", "teacher_activation": "relu", "output_scale": "sqrt"}
    st = State.load(state_path)
    assert params["eps_g_unpruned"] == pytest.approx(statmech.eps_g(st, MODEL), rel=1e-12)
    for scheme, k, e, eps in zip(cols["scheme"], cols["k"], cols["e"], cols["eps_g"]):
        budget = statmech.pruning.Budget(keep=int(k), N=200 if e != "" else None)
        assert eps == pytest.approx(pruned_error(st, scheme, budget, model=MODEL).eps_g, rel=1e-12), (scheme, e)
    # the model changes the numbers: an erf teacher's table differs
    assert main(argv + ["--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert abs(plain["eps_g_unpruned"] - params["eps_g_unpruned"]) > 1e-3
    assert main(argv + model_opts + ["--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["teacher_activation"] == "relu"


def test_prune_bad_model_values_are_one_line_errors(state_path, tmp_path, capsys):
    base = ["prune", str(state_path), "--keep", "1"]
    for argv, msg in (
        (base + ["--teacher-activation", "tanh"], "argument --teacher-activation: invalid choice: 'tanh'"),
        (base + ["--output-scale", "2"], "argument --output-scale: invalid choice: '2'"),
        (base + ["--weight-decay", "0.1"], "unrecognized arguments: --weight-decay 0.1"),
        (
            ["prune", "--phase-diagram", "--out", str(tmp_path / "ph"), "--teacher-activation", "relu"],
            "--teacher-activation relu is not supported by --phase-diagram",
        ),
        (
            ["prune", "--phase-diagram", "--out", str(tmp_path / "ph"), "--output-scale", "K"],
            "--output-scale K is not supported by --phase-diagram",
        ),
    ):
        code, err = _exit_and_error(argv, capsys)
        assert code == 2 and msg in err.splitlines()[-1], (argv, err)
        assert "Traceback" not in err


def test_prune_sim_relu_teacher_erf_student_runs_and_records_the_model(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["prune-sim", "--K", "3", "--M", "2", "--N", "60", "--alpha", "10", "--runs", "1", "--masks", "2"]
    argv += ["--teacher-activation", "relu", "--activation", "erf", "--output-scale", "sqrt", "--sigma", "0.2"]
    argv += ["--inclusion-masks", "0", "--pipeline", "clean", "--out", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    cols, params = read_table(out / "prune_sim.csv")
    model = Model(activation="erf", teacher_activation="relu", eta=0.5, output_scale="sqrt", sigma=0.2)
    assert params["model"] == model.to_dict()
    _, summ_params = read_table(out / "prune_sim_summary.csv")
    assert summ_params["model"] == model.to_dict()
    th, _ = read_table(out / "prune_sim_theory.csv")
    # the student the run trained and saved, scored with the model: the unpruned network's eps_g and theory
    w = Weights.load(out / "student_sigma0.2_seed0.npz")
    exact = statmech.eps_g(w.state(), model)
    unpruned = cols["scheme"] == "unpruned"
    assert cols["eps_g"][unpruned][0] == pytest.approx(exact, rel=1e-10)
    assert th["eps_g_theory"][th["scheme"] == "unpruned"][0] == pytest.approx(exact, rel=1e-10)
    assert abs(exact - statmech.eps_g(w.state(), "erf")) > 1e-3  # an erf teacher would differ
    # the student was trained on the model: the simulator with the same seed gives the same weights
    from statmech.pruning.finite.students import train_student

    again = train_student(3, 2, 60, 10.0, 0.2, 0, model=model, progress=False)
    np.testing.assert_array_equal(again.W, w.W)
    assert np.all(np.isfinite(cols["test_loss"]))
    # the saved student loaded: scored with the network options, the model recorded without training fields
    argv = ["prune-sim", "--weights", str(out / "student_sigma0.2_seed0.npz"), "--alpha", "10", "--masks", "1"]
    argv += ["--schemes", "random-node", "--keep", "1", "--teacher-activation", "relu", "--output-scale", "sqrt"]
    argv += ["--pipeline", "clean"]
    assert main(argv + ["--inclusion-masks", "0", "--out", str(tmp_path / "loaded")]) == 0
    capsys.readouterr()
    cols, params = read_table(tmp_path / "loaded" / "prune_sim.csv")
    assert params["model"] == {"activation": "erf", "teacher_activation": "relu", "output_scale": "sqrt", "sigma": 0.0}
    assert cols["eps_g"][cols["scheme"] == "unpruned"][0] == pytest.approx(exact, rel=1e-10)


def test_prune_sim_refuses_what_does_not_apply(tmp_path, capsys):
    w = tmp_path / "w.npz"
    Weights.random(3, 2, 40, vstar=1.0, seed=0).save(w)
    base = ["prune-sim", "--weights", str(w), "--out", str(tmp_path / "o")]
    for extra, msg in (
        (["--weight-decay", "0.1"], "--weight-decay 0.1 is a training option; the --weights students are not trained"),
        (["--batch-size", "2"], "--batch-size 2 is a training option"),
        (["--eta", "0.1"], "--eta 0.1 is a training option"),
        (["--eta-v", "0.1"], "--eta-v 0.1 is a training option"),
        (["--vstar", "2"], "--vstar 2.0 is a training option"),
        (["--runs", "2"], "--runs 2 is a training option"),
        (["--teacher-activation", "tanh"], "argument --teacher-activation: invalid choice: 'tanh'"),
        (["--output-scale", "2"], "argument --output-scale: invalid choice: '2'"),
        (["--batch-size", "0"], "argument --batch-size"),
    ):
        code, err = _exit_and_error(base + extra, capsys)
        assert code == 2 and msg in err.splitlines()[-1], (extra, err)
        assert "Traceback" not in err
    assert not (tmp_path / "o" / "prune_sim.csv").exists()
