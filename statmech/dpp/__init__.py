"""Exact k-DPP machinery: stable elementary symmetric polynomials, sampling, enumeration, inclusion probabilities."""

from statmech.dpp.kdpp import (
    KDPP,
    DiagonalKDPP,
    diagonal_inclusion_limit,
    elementary_symmetric,
    log_elementary_symmetric,
)

__all__ = ["KDPP", "DiagonalKDPP", "elementary_symmetric", "log_elementary_symmetric", "diagonal_inclusion_limit"]
