"""Argument helpers of the CLI and their one-line errors (exit code 2)."""

import numpy as np
import pytest

from statmech.cli import main


def test_out_is_a_file_is_a_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "taken"
    blocker.write_text("not a directory")
    code = main(["prune", "--phase-diagram", "--z-max", "1", "--out", str(blocker)])
    err = capsys.readouterr().err
    assert code == 2
    assert "--out" in err and "not a directory" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_out_under_a_file_is_a_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "taken"
    blocker.write_text("")
    code = main(["prune", "--phase-diagram", "--z-max", "1", "--out", str(blocker / "sub")])
    err = capsys.readouterr().err
    assert code == 2 and "cannot create the output directory" in err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "four"])
def test_fixed_points_vstar_must_be_finite(value, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["fixed-points", f"--vstar={value}"])
    assert exc.value.code == 2
    assert "argument --vstar: expected a finite number" in capsys.readouterr().err


def test_prune_published_points_sit_at_their_budget(tmp_path, monkeypatch, capsys):
    """--published places each published loss at its own node budget k (was: the first len(x) values)."""
    import statmech as sm
    import statmech.plots.pruning as figs
    from statmech.experiments.published import teacher_student_losses

    seen = {}
    monkeypatch.setattr(figs, "pruned_errors", lambda x, by, path, **kw: seen.update(x=x, **kw))
    path = tmp_path / "s.npz"
    sm.State.random(6, 2, 500, vstar=4.0, seed=0).save(path)
    code = main(
        [
            "prune",
            str(path),
            "--scheme",
            "dpp-node",
            "--keep",
            "2",
            "4",
            "--published",
            "6:2",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    want = teacher_student_losses("6:2", 0.0)["dpp-node"]
    assert seen["published"] == {"dpp-node": [want[1], want[3]]}
    np.testing.assert_allclose(seen["x"], [2 / 6, 4 / 6])


def test_prune_published_needs_the_configuration_size(tmp_path, capsys):
    import statmech as sm

    path = tmp_path / "s.npz"
    sm.State.random(3, 1, 50, seed=0).save(path)
    code = main(["prune", str(path), "--keep", "1", "--published", "6:2", "--out", str(tmp_path / "out")])
    assert code == 2
    assert "published 6:2 is for K=6, M=2; the state has K=3, M=1" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--z-max", "3"], "--z-max is an option of --phase-diagram"),
        (["--M", "3"], "--M is an option of --phase-diagram"),
        (["--beta", "2"], "--beta sets the Gaussian DPP kernel; it needs --kernel gaussian"),
        (["--eps", "0.1", "--kernel", "linear-activation"], "--eps sets the Gaussian DPP kernel"),
        (["--published", "6:2"], "--published applies to the files written with --out DIR"),
        (["--tag", "x"], "--tag applies to the files written with --out DIR"),
    ],
)
def test_prune_options_that_would_be_ignored_are_errors(tmp_path, capsys, extra, match):
    import statmech as sm

    path = tmp_path / "s.npz"
    sm.State.random(6, 2, 500, vstar=4.0, seed=0).save(path)
    assert main(["prune", str(path), "--scheme", "dpp-node", "--keep", "2"] + extra) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1


def test_prune_phase_diagram_takes_no_state(tmp_path, capsys):
    assert main(["prune", "s.npz", "--phase-diagram", "--out", str(tmp_path)]) == 2
    assert "--phase-diagram computes its own students; it takes no STATE.npz" in capsys.readouterr().err


def test_prune_gaussian_kernel_options_are_used(tmp_path, capsys):
    """--beta reaches the kernel: a different beta gives a different DPP-node error."""
    import json

    import statmech as sm

    path = tmp_path / "s.npz"
    sm.State.random(6, 2, 500, vstar=4.0, seed=0).save(path)
    out = []
    for beta in ("0.5", "5"):
        assert (
            main(
                [
                    "prune",
                    str(path),
                    "--scheme",
                    "dpp-node",
                    "--keep",
                    "2",
                    "--kernel",
                    "gaussian",
                    "--beta",
                    beta,
                    "--json",
                ]
            )
            == 0
        )
        out.append(json.loads(capsys.readouterr().out)["results"][0])
    assert out[0]["params"]["beta"] == 0.5 and out[1]["params"]["beta"] == 5.0
    assert out[0]["eps_g"] != out[1]["eps_g"]


def test_sweep_out_is_a_file_is_a_one_line_error(tmp_path, capsys):
    cfg = tmp_path / "ok.toml"
    cfg.write_text('engine = "ode"\n[fixed]\nK = 2\nM = 1\nalpha_max = 1.0\n')
    blocker = tmp_path / "taken"
    blocker.write_text("")
    assert main(["sweep", str(cfg), "--no-dask", "--out", str(blocker)]) == 2
    assert "--out" in capsys.readouterr().err


# ---------------------------------------------------- help, exit codes, pipes (every command)
OWN_COMMANDS = ("curve", "simulate", "fixed-points", "max-lr", "derive", "reproduce", "sweep")


def _subparsers_of(parser):
    import argparse

    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices


def _subparsers():
    from statmech.cli import build_parser

    return _subparsers_of(build_parser())


@pytest.mark.parametrize("command", OWN_COMMANDS)
def test_help_shows_every_default(command):
    """Every option that takes a value says its default in --help, and a numeric default is the one shown."""
    import argparse
    import re

    parser = _subparsers()[command]
    flags = (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._HelpAction)
    for action in parser._actions:
        if not action.option_strings or isinstance(action, flags) or action.required:
            continue
        text = action.help or ""
        assert "default" in text, f"{command} {action.option_strings[0]}: no default in {text!r}"
        default = parser.get_default(action.dest)
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            shown = re.search(r"default:? ([-+0-9.e]+)", text)
            assert shown and float(shown.group(1).rstrip(".")) == default, (action.option_strings, text)


def test_broken_pipe_is_quiet(tmp_path):
    """`statmech ... | head`: the reader leaves early; the command ends without a traceback, exit 141."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "statmech.cli", "fixed-points", "--K", "2", "--M", "2", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # before the command writes anything: its first flush meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(120) == 141
    assert err == "", err


def test_exit_code_of_a_result_status(monkeypatch):
    """A command may return its result: status 0 -> 0, 1 (interrupted) -> 130, -1 (failed) -> 1."""
    from types import SimpleNamespace

    from statmech import cli

    assert cli.STATUS_EXIT == {0: 0, 1: 130, -1: 1}
    for status, code in cli.STATUS_EXIT.items():
        parser = cli.build_parser()
        monkeypatch.setattr(cli, "build_parser", lambda p=parser: p)
        _subparsers_of(parser)["derive"].set_defaults(func=lambda args, s=status: SimpleNamespace(status=s))
        assert cli.main(["derive"]) == code
        monkeypatch.undo()


def test_an_interrupt_before_any_result_claims_only_complete_files(monkeypatch, capsys):
    """A KeyboardInterrupt that reaches the CLI (e.g. while numba loads, before anything is written): exit
    130 and one line that does not claim results were written."""
    from statmech import cli

    def interrupted(args):
        raise KeyboardInterrupt

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    _subparsers_of(parser)["derive"].set_defaults(func=interrupted)
    assert cli.main(["derive"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted" in err[0] and "results were written" not in err[0], err


def test_phase_diagram_refuses_the_options_of_a_state(tmp_path, capsys):
    """`prune --phase-diagram` computes its own students: budgets, schemes and reweighting are refused by name."""
    from statmech.cli import main

    code = main(["prune", "--phase-diagram", "--keep", "2", "--reweight", "optimal-readout", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--keep, --reweight: option(s) of pruning a STATE.npz, not of --phase-diagram" in err
