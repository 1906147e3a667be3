"""Property-based checks (hypothesis): any input gives a valid object or a one-line ValueError / exit 2.

Bounded in the default suite; ``-m slow`` runs the same properties with many more examples.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statmech.cli import main
from statmech.core.budgets import Budget
from statmech.core.model import Model
from statmech.core.state import State
from statmech.core.weights import Weights

FEW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MANY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(max_magnitude=1e3),
    st.text(max_size=5),
    st.binary(max_size=3),
    st.lists(st.floats(-3, 3), max_size=3),
)


def arrays(max_side: int = 3):
    """Nested lists of numbers (sometimes NaN, complex or text), of ragged or regular shapes."""
    elem = st.one_of(
        st.floats(-1e3, 1e3),
        st.floats(allow_nan=True, allow_infinity=True),
        st.complex_numbers(max_magnitude=10),
        st.text(max_size=2),
    )
    row = st.lists(st.floats(-10, 10), min_size=0, max_size=max_side)
    return st.one_of(elem, row, st.lists(row, max_size=max_side), st.lists(st.lists(elem, max_size=2), max_size=2))


def one_line_value_error(fn):
    """Call fn: a result, or a ValueError/TypeError whose message is one non-empty line."""
    try:
        return fn()
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        assert msg and "\n" not in msg, repr(msg)
        return None


def _state_property(Q, R, T, v, vstar):
    s = one_line_value_error(lambda: State(Q=Q, R=R, T=T, v=v, vstar=vstar))
    if s is not None:
        assert s.Q.dtype == np.float64 and np.all(np.isfinite(s.Q)) and s.Q.shape == (s.K, s.K)


def _weights_property(W, Wstar, v, vstar):
    w = one_line_value_error(lambda: Weights(W=W, Wstar=Wstar, v=v, vstar=vstar))
    if w is not None:
        assert w.W.shape == (w.K, w.N) and np.all(np.isfinite(w.W))


def _budget_property(keep, fraction, edges, N):
    b = one_line_value_error(lambda: Budget(keep=keep, fraction=fraction, edges=edges, N=N))
    if b is not None:
        assert sum(x is not None for x in (b.keep, b.fraction, b.edges)) == 1


def _model_property(eta, sigma, batch_size, activation):
    m = one_line_value_error(lambda: Model(eta=eta, sigma=sigma, batch_size=batch_size, activation=activation))
    if m is not None:
        assert isinstance(m.eta, float) and m.eta >= 0 and np.isfinite(m.eta) and m.batch_size >= 1


state_args = dict(Q=arrays(), R=arrays(), T=arrays(), v=arrays(), vstar=arrays())
weights_args = dict(W=arrays(), Wstar=arrays(), v=arrays(), vstar=arrays())
budget_args = dict(keep=scalars, fraction=scalars, edges=scalars, N=scalars)
model_args = dict(eta=scalars, sigma=scalars, batch_size=scalars, activation=st.sampled_from(["erf", "relu", "x", ""]))


@FEW
@given(**state_args)
def test_state_construction(Q, R, T, v, vstar):
    _state_property(Q, R, T, v, vstar)


@FEW
@given(**weights_args)
def test_weights_construction(W, Wstar, v, vstar):
    _weights_property(W, Wstar, v, vstar)


@FEW
@given(**budget_args)
def test_budget_construction(keep, fraction, edges, N):
    _budget_property(keep, fraction, edges, N)


@FEW
@given(**model_args)
def test_model_construction(eta, sigma, batch_size, activation):
    _model_property(eta, sigma, batch_size, activation)


# ------------------------------------------------------------------ CLI parsing
words = st.one_of(
    st.sampled_from(["-1", "0", "1", "2", "1e308", "nan", "inf", "-inf", "0.5", "abc", "", "1,2", "1j", "3"]),
    st.text(alphabet="0123456789.-e", max_size=6),
)
options = {
    "curve": ["--K", "--M", "--N", "--eta", "--sigma", "--alpha-max", "--points", "--seed", "--keep", "--dt"],
    "fixed-points": ["--K", "--M", "--eta", "--sigma", "--seed", "--starts"],
    "simulate": ["--K", "--M", "--N", "--eta", "--alpha-max", "--runs", "--seed", "--workers"],
}


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(sorted(options)))
    argv = [command]
    for opt in draw(st.lists(st.sampled_from(options[command]), min_size=1, max_size=3)):
        argv += [opt, draw(words)]
    return argv


def _cli_property(argv, tmp_path, capsys):
    # an --alpha-max of 1e-9 would still start a run: parsing errors are the property
    argv = argv + ["--out", str(tmp_path / "o")] if argv[0] != "fixed-points" else argv
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code == 2:
        lines = [ln for ln in err.strip().splitlines() if not ln.startswith("usage:") and not ln.startswith(" ")]
        assert len(lines) == 1 and "error:" in lines[0], err


def _fast(argv) -> bool:
    """Only argument lists that fail in parsing or validation (a valid one would start a real run)."""
    bad = {"-1", "nan", "inf", "-inf", "abc", "", "1j"}  # refused by every option listed
    return any(w in bad for w in argv[2::2])


@FEW
@given(argv=command_lines())
def test_cli_argument_parsing(argv, tmp_path, capsys):
    if _fast(argv):
        _cli_property(argv, tmp_path, capsys)


@pytest.mark.slow
@MANY
@given(**state_args)
def test_state_construction_many(Q, R, T, v, vstar):
    _state_property(Q, R, T, v, vstar)


@pytest.mark.slow
@MANY
@given(**weights_args)
def test_weights_construction_many(W, Wstar, v, vstar):
    _weights_property(W, Wstar, v, vstar)


@pytest.mark.slow
@MANY
@given(**budget_args)
def test_budget_construction_many(keep, fraction, edges, N):
    _budget_property(keep, fraction, edges, N)


@pytest.mark.slow
@MANY
@given(**model_args)
def test_model_construction_many(eta, sigma, batch_size, activation):
    _model_property(eta, sigma, batch_size, activation)
