"""Gaussian random numbers inside numba: xoshiro256++ and a 256-layer ziggurat.

Why not numpy's Generator: the simulator needs N fresh Gaussians per SGD step,
and drawing them from Python costs more than the step itself (about 12 us per
500-vector with ``Generator.standard_normal``, docs/performance.md). Generating them in
the compiled loop costs about 2 ns per value and keeps memory at O(N).

- Uniform bits: xoshiro256++ (Blackman & Vigna 2019, period 2^256 - 1). Its
  whole state is four uint64 words, so a checkpoint stores it exactly and a
  resumed run continues the same stream bit for bit.
- Normals: the ziggurat of Marsaglia & Tsang (2000) with 256 layers, tail
  point r = 3.6541528853610088 (the layout numpy uses). The tables are built
  here from r alone: every layer has area v = r f(r) + int_r^inf f with
  f(x) = exp(-x^2/2), x_{i-1} = f^{-1}(f(x_i) + v / x_i); the top layer closes
  to rounding error (checked in the tests). 98.5% of draws take the fast path
  (one 64-bit word: 8 bits layer, 1 bit sign, 52 bits magnitude); the rest use
  the wedge test or Marsaglia's exponential tail sampler.
- Seeding: ``numpy.random.SeedSequence(entropy, spawn_key=(stream,))`` fills
  the 4 state words, so different (entropy, stream) pairs give independent
  streams, and none coincides with ``default_rng(entropy)`` (the generator that
  draws the initial weights in ``Weights.random``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy.special import erfc

__all__ = ["seed_state", "standard_normal", "fill_normals", "ZIG_R", "ziggurat_closure"]

ZIG_R = 3.6541528853610088
_LAYERS = 256


def _tables(r: float = ZIG_R, n: int = _LAYERS):
    """(ki, wi, fi, closure) of the ziggurat: acceptance thresholds, scales, f at layer edges."""

    def f(x):
        return math.exp(-0.5 * x * x)

    v = r * f(r) + math.sqrt(math.pi / 2.0) * erfc(r / math.sqrt(2.0))
    x = np.zeros(n)  # x[i]: right edge of layer i (i >= 1); layer 0 is the base with the tail
    x[n - 1] = r
    for i in range(n - 1, 1, -1):
        x[i - 1] = math.sqrt(-2.0 * math.log(v / x[i] + f(x[i])))
    closure = x[1] * (1.0 - f(x[1])) - v  # area of the top layer minus v: 0 for a consistent table
    m = 2.0**52
    ki = np.zeros(n, dtype=np.int64)
    wi = np.zeros(n)
    fi = np.zeros(n)
    q = v / f(r)  # width of the base layer's rectangle-plus-tail block
    ki[0] = int(r / q * m)
    wi[0] = q / m
    fi[0] = 1.0
    for i in range(1, n):
        inner = x[i - 1] if i >= 2 else 0.0
        ki[i] = int(inner / x[i] * m)
        wi[i] = x[i] / m
        fi[i] = f(x[i])
    return ki, wi, fi, closure


_KI, _WI, _FI, _CLOSURE = _tables()
_INV_R = 1.0 / ZIG_R


def ziggurat_closure() -> float:
    """Area mismatch of the ziggurat's top layer (should be at rounding level, ~1e-15)."""
    return float(_CLOSURE)


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(cache=True, inline="always")
def next_u64(s):
    """One xoshiro256++ output; advances the state array s (4 x uint64) in place."""
    s0, s1, s2, s3 = s[0], s[1], s[2], s[3]
    res = _rotl(s0 + s3, 23) + s0
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    s[0] = s0
    s[1] = s1
    s[2] = s2
    s[3] = s3
    return res


@njit(cache=True, inline="always")
def _next_double(s):
    """Uniform on [0, 1) with 53 random bits."""
    return float(np.int64(next_u64(s) >> np.uint64(11))) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _slow_normal(s, idx, neg, x):
    """Finish a ziggurat draw that missed the fast path (about 1.5% of draws)."""
    ki, wi, fi = _KI, _WI, _FI
    while True:
        if idx == 0:
            # Marsaglia's tail sampler beyond r
            while True:
                xx = -math.log1p(-_next_double(s)) * _INV_R
                yy = -math.log1p(-_next_double(s))
                if yy + yy > xx * xx:
                    return -(ZIG_R + xx) if neg else ZIG_R + xx
        elif fi[idx] + _next_double(s) * (fi[idx - 1] - fi[idx]) < math.exp(-0.5 * x * x):
            return x
        r = next_u64(s)
        idx = np.int64(r & np.uint64(0xFF))
        rabs = np.int64((r >> np.uint64(9)) & np.uint64(0x000FFFFFFFFFFFFF))
        neg = np.int64((r >> np.uint64(8)) & np.uint64(1))
        x = float(rabs) * wi[idx] * (1.0 - 2.0 * float(neg))
        if rabs < ki[idx]:
            return x


@njit(cache=True)
def fill_normals(s, out, n):
    """out[:n] = n standard normals from the stream s (advanced in place).

    The fast path is written out here rather than in a helper: a returning
    helper around the rare slow call made numba's code 20x slower, and the
    sign is applied without a branch (a 50/50 branch mispredicts half the time).
    """
    ki, wi = _KI, _WI
    for i in range(n):
        r = next_u64(s)
        idx = np.int64(r & np.uint64(0xFF))
        rabs = np.int64((r >> np.uint64(9)) & np.uint64(0x000FFFFFFFFFFFFF))
        neg = np.int64((r >> np.uint64(8)) & np.uint64(1))
        x = float(rabs) * wi[idx] * (1.0 - 2.0 * float(neg))
        if rabs >= ki[idx]:
            x = _slow_normal(s, idx, neg, x)
        out[i] = x


def seed_state(entropy, stream: int) -> np.ndarray:
    """The 4-word xoshiro256++ state of stream number ``stream`` of a seed.

    ``entropy`` is an int or a tuple of ints (as numpy's SeedSequence takes).
    """
    if isinstance(entropy, tuple):
        entropy = list(entropy)
    s = np.random.SeedSequence(entropy, spawn_key=(int(stream),)).generate_state(4, np.uint64)
    if not np.any(s):  # the all-zero state is xoshiro's one fixed point (probability 2^-256)
        s[0] = np.uint64(0x9E3779B97F4A7C15)
    return s


def standard_normal(state: np.ndarray, n: int) -> np.ndarray:
    """n standard normals from a xoshiro state array (advanced in place): for tests and tools."""
    if state.dtype != np.uint64 or state.shape != (4,):
        raise ValueError(f"state must be a uint64 array of shape (4,), got {state.dtype} {state.shape}")
    out = np.empty(int(n))
    fill_normals(state, out, int(n))
    return out
