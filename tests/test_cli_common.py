"""Argument helpers of the CLI and their one-line errors (exit code 2)."""
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
