"""k-DPP sampling benchmark: statmech.dpp against dppy 0.3.3's exact k-DPP sampler.

    python benchmarks/bench_dpp.py [--quick]

Prints a table of samples per second (after numba compilation), ours vs dppy,
side by side on this machine, with the ratio:
- a 6 x 6 kernel, k = 3 (one ``sample()`` call per sample, and one batched call);
- a *fresh* 500 x 500 kernel, k = 166 (new object per sample: eigendecomposition
  + ESPs + one sample), and the same kernel reused for many samples;
- the ill-scaled 500 x 500 kernel (eigenvalues near 1000, k = 166) where dppy's
  float64 ESP recursion overflows: our rate, and what dppy does;
- DiagonalKDPP at n = 500, k = 166 (construction + one sample, and batched) against
  dppy with the diagonal kernel; and at n = 20,000, k = 3,320 (ours only).
Reference (docs/performance.md, a 2-core machine): dppy about 16,000 samples/s for
6 x 6, k = 3, and about 16 samples/s for a fresh 500 x 500 kernel, k = 166.
dppy needs a legacy RandomState (it rejects numpy Generators).

BLAS runs single-threaded (OPENBLAS_NUM_THREADS=1 etc. unless already set)
for both libraries: on a shared 2-core machine a 2-thread eigendecomposition
is slower and varies by 10x from run to run.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

from statmech.dpp import KDPP, DiagonalKDPP  # noqa: E402


def rate(fn, per_call=1, min_time=1.0, min_calls=3):
    """Samples per second of fn (which draws per_call samples), timed for at least min_time."""
    fn()
    n, t0 = 0, time.perf_counter()
    while n < min_calls or time.perf_counter() - t0 < min_time:
        fn()
        n += 1
    return n * per_call / (time.perf_counter() - t0)


def wishart(rng, n, dof, scale=1.0):
    A = rng.standard_normal((n, dof))
    return scale * A @ A.T / dof


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="shorter timings")
    args = ap.parse_args()
    tmin = 0.3 if args.quick else 1.5
    try:
        from dppy.finite_dpps import FiniteDPP
    except ImportError:  # pragma: no cover
        FiniteDPP = None
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, numpy {np.__version__}, dppy {'yes' if FiniteDPP else 'missing'}, "
        f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}"
    )
    rng = np.random.default_rng(0)
    g = np.random.default_rng(1)
    rs = np.random.RandomState(1)
    rows = []

    def dppy_rate(make_L, k, fresh, per_call=1):
        if FiniteDPP is None:
            return float("nan")
        holder = {"dpp": FiniteDPP("likelihood", L=make_L())}

        def one():
            if fresh:
                holder["dpp"] = FiniteDPP("likelihood", L=make_L())
            holder["dpp"].sample_exact_k_dpp(size=k, random_state=rs)

        return rate(one, per_call, tmin)

    # 6 x 6, k = 3
    L6 = wishart(rng, 6, 7)
    d6 = KDPP(L6, 3)
    ours = rate(lambda: d6.sample(rng=g), 1, tmin)
    ours_b = rate(lambda: d6.sample(rng=g, size=10_000), 10_000, tmin)
    theirs = dppy_rate(lambda: L6, 3, fresh=False)
    rows.append(("6x6 k=3, one call per sample", ours, theirs, "baseline ~16,000/s"))
    rows.append(("6x6 k=3, batched (size=10,000)", ours_b, theirs, "dppy: one call per sample"))

    # fresh 500 x 500, k = 166 (unit-scale eigenvalues: dppy is correct here)
    L500 = wishart(rng, 500, 1000)
    ours = rate(lambda: KDPP(L500, 166).sample(rng=g), 1, tmin)
    theirs = dppy_rate(lambda: L500, 166, fresh=True)
    rows.append(("500x500 k=166, fresh kernel", ours, theirs, "eigh + ESP + sample; baseline ~16/s"))
    d500 = KDPP(L500, 166)
    ours = rate(lambda: d500.sample(rng=g, size=20), 20, tmin)
    theirs = dppy_rate(lambda: L500, 166, fresh=False)
    rows.append(("500x500 k=166, reused kernel", ours, theirs, "eigendecomposition reused"))

    # ill-scaled: eigenvalues ~ 1000
    Lbig = 1000.0 * L500
    ours = rate(lambda: KDPP(Lbig, 166).sample(rng=g), 1, tmin)
    note = "dppy missing"
    if FiniteDPP is not None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                s = FiniteDPP("likelihood", L=Lbig).sample_exact_k_dpp(size=166, random_state=np.random.RandomState(0))
                note = f"dppy returned {len(s)} items with {len(caught)} RuntimeWarnings (overflow)"
            except Exception as exc:  # dppy fails one way or another
                note = f"dppy: {type(exc).__name__}: {exc} ({len(caught)} overflow warnings)"
    rows.append(("500x500 k=166, eigenvalues ~1000, fresh", ours, float("nan"), note))

    # diagonal kernels
    w = rng.standard_normal(500) ** 2
    ours = rate(lambda: DiagonalKDPP(w, 166).sample(rng=g), 1, tmin)
    theirs = dppy_rate(lambda: np.diag(w), 166, fresh=True)
    rows.append(("Diagonal n=500 k=166, fresh", ours, theirs, "dppy: full kernel diag(w)"))
    dd = DiagonalKDPP(w, 166)
    ours = rate(lambda: dd.sample(rng=g, size=1000), 1000, tmin)
    theirs = dppy_rate(lambda: np.diag(w), 166, fresh=False)
    rows.append(("Diagonal n=500 k=166, reused, batched", ours, theirs, ""))
    w2 = rng.standard_normal(20_000) ** 2
    ours = rate(lambda: DiagonalKDPP(w2, 3320).sample(rng=g, size=100), 100, tmin, min_calls=2)
    rows.append(("Diagonal n=20,000 k=3,320, 100 per kernel", ours, float("nan"), "ours only"))

    print()
    print(f"{'samples per second':<42}{'statmech':>12}{'dppy':>12}{'ratio':>9}  note")
    for name, a, b, note in rows:
        r = a / b if np.isfinite(b) else float("nan")
        bs = f"{b:>12.4g}" if np.isfinite(b) else f"{'-':>12}"
        rs_ = f"{r:>9.1f}" if np.isfinite(r) else f"{'-':>9}"
        print(f"{name:<42}{a:>12.4g}{bs}{rs_}  {note}")
    print(
        f"\nDiagonalKDPP n=500: {1e6 / rows[-3][1]:.0f} us per fresh kernel + sample, "
        f"{1e6 / rows[-2][1]:.1f} us per sample when batched"
    )


if __name__ == "__main__":
    main()
