"""Finite-N Monte Carlo: train real students by online SGD (docs/theory/model.md).

- :func:`simulate`: one run from given initial :class:`~statmech.Weights`;
  order parameters, eps_g and (optionally) the empirical noisy test loss at
  log-spaced times; checkpoints and bit-for-bit resume.
- :func:`simulate_seeds`: several independent input streams from the same
  initial weights, spread over processes; mean and standard error per time.
- :func:`ode_reference`: the ODE started from the same initial state.

The SGD loop, the uniform generator (xoshiro256++) and the Gaussian sampler
(256-layer ziggurat) are compiled with numba; memory is O(K N).
"""

from statmech.sim.run import DEFAULT_POINTS, SimulationResult, read_checkpoint, save_steps, simulate
from statmech.sim.seeds import SeedsResult, checkpoint_path, ode_reference, simulate_seeds

__all__ = [
    "simulate",
    "simulate_seeds",
    "ode_reference",
    "SimulationResult",
    "SeedsResult",
    "save_steps",
    "read_checkpoint",
    "checkpoint_path",
    "DEFAULT_POINTS",
]
