"""What the learning dynamics does: fixed points and their stability, plateaus, the critical learning rate."""

from statmech.analysis import fixed_points, plateaus

__all__ = ["fixed_points", "plateaus"]
