"""What the learning dynamics does: fixed points and their stability, plateaus, the critical learning rate.

- :mod:`~statmech.analysis.fixed_points`: root finding in an ansatz, linear stability, special states;
- :mod:`~statmech.analysis.plateaus`: the symmetric plateaus, the one a curve visits, plateaus of curves;
- :mod:`~statmech.analysis.asymptotics`: the fixed point near the perfect student, Goldt et al.'s formula;
- :mod:`~statmech.analysis.critical`: the critical learning rate;
- :mod:`~statmech.analysis.search`: all fixed points at once.
"""

from statmech.analysis import asymptotics, critical, fixed_points, plateaus, search

__all__ = ["asymptotics", "critical", "fixed_points", "plateaus", "search"]
