"""statmech's Euler integrator against nn2pp's C++ ODE integrator scmpp_ode (Goldt et al.).

Skipped unless the environment variable NN2PP_SCMPP_ODE names a built scmpp_ode executable
whose status lines carry 17 significant digits (docs/theory/general_model.md says how to build
it). From identical initial states, both take forward-Euler steps of dt = 0.01 (the same number
of steps to every printed time), so they agree to rounding: 1e-9 relative is far above the
accumulated float64 rounding of ~10^3 steps and far below any difference in the equations
(a term off by one part in 10^3 of a single integral moves the result by > 1e-6).
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from compare_nn2pp import CASES, compare  # noqa: E402

EXE = os.environ.get("NN2PP_SCMPP_ODE")

pytestmark = pytest.mark.skipif(
    not EXE or not Path(EXE).is_file(), reason="nn2pp not built (set NN2PP_SCMPP_ODE to scmpp_ode.exe)"
)


@pytest.mark.parametrize("case", CASES, ids=[c["activation"] for c in CASES])
def test_euler_equals_nn2pp(case):
    """Weight decay, output noise, both layers, lr2 != lr: the whole state and eps_g to 1e-9 relative."""
    r = compare(EXE, case, steps=20.0)
    assert r["points"] > 100 and r["steps"] >= 2000
    assert r["vector"] < 1e-9, r
    assert r["component"] < 1e-9, r
    assert r["eps_g"] < 1e-9, r
