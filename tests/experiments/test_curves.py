"""The ODE curve table (statmech.experiments.curves): pruning along the curve under the general model."""

import numpy as np

from statmech import Model, State
from statmech.experiments.curves import ode_curve_table
from statmech.ode.integrator import default_save_at, integrate
from statmech.pruning import pruned_error


def test_pruned_columns_of_a_mixed_model_are_the_theory_at_each_saved_state():
    """ReLU teacher, erf student, output scale sqrt: each pruned column equals pruned_error(model=) of the
    independently integrated state at that alpha (the network's activations and scales reach the theory)."""
    model = Model(eta=0.5, teacher_activation="relu", output_scale="sqrt")
    start = State.random(4, 2, 300, vstar=2.0, seed=1)
    table = ode_curve_table(start, model, alpha_max=20.0, points=4, schemes=["random-node", "importance-node"], keep=2)
    res = integrate(start, model, alpha_max=20.0, save_at=default_save_at(20.0, 4), progress=False)
    np.testing.assert_array_equal(table.columns["alpha"], res.alpha)
    for scheme in ("random-node", "importance-node"):
        want = [pruned_error(s, scheme, keep=2, model=model).eps_g for s in res.states]
        np.testing.assert_allclose(table.columns[f"pruned_{scheme}"], want, rtol=1e-12, atol=1e-15)
    # the erf-teacher theory differs, so the test sees whether the teacher's activation arrived
    erf = [
        pruned_error(s, "importance-node", keep=2, model=model.replace(teacher_activation="erf")).eps_g
        for s in res.states
    ]
    assert np.max(np.abs(np.asarray(erf) - table.columns["pruned_importance-node"])) > 1e-3
