"""Pruning real students: DPP mask sampling from kernels estimated on streamed data.

    python benchmarks/bench_prune.py [--P 800000] [--quick]

Measures, for K = 6, N = 500 (the paper's 6:2 student; random N(0,1) weights,
which cost the same as trained ones):

1. streaming P training inputs once to estimate the kernels, with memory
   O(N^2 + K N) (peak traced with tracemalloc, against the P x N array a
   non-streamed version holds: 3.2 GB at P = 800,000);
2. one DPP-node mask (k-DPP over the 6 units, kernel (1/P) sum lambda lambda^T);
3. one DPP-edge mask set (one k-DPP over the 500 edges of each of the 6 units,
   kernel diag(w_i) (X^T X / P) diag(w_i)) at every paper budget e;
4. beside it, the same edge mask set with dppy 0.3.3's exact k-DPP sampler
   (baseline; kernel rescaled to unit mean eigenvalue to avoid its float64
   overflow, docs/performance.md), when dppy is installed.
"""

import argparse
import os
import platform
import sys
import time
import tracemalloc

import numpy as np

from statmech import Weights
from statmech.core.budgets import edges_per_unit
from statmech.pruning.finite import masks as pw


def timed(fn, repeat=3):
    best = np.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def dppy_edge_set(W, Sxx, e, seed):
    from dppy.finite_dpps import FiniteDPP

    rs = np.random.RandomState(seed)
    for i in range(W.shape[0]):
        L = pw.edge_kernel(W[i], Sxx)
        L = L / np.trace(L) * L.shape[0]  # a k-DPP is scale invariant; avoids dppy's ESP overflow
        dpp = FiniteDPP("likelihood", L=L)  # a fresh object per call (dppy caches stale ESPs across k)
        dpp.sample_exact_k_dpp(size=e, random_state=rs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--P", type=int, default=800_000, help="number of streamed training inputs (default 800,000)")
    ap.add_argument("--quick", action="store_true", help="P = 100,000 and no dppy baseline")
    args = ap.parse_args()
    P = 100_000 if args.quick else args.P
    K, M, N = 6, 2, 500
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, numpy {np.__version__}"
    )
    w = Weights.random(K, M, N, vstar=4.0, seed=0)

    # 1. streamed moments, with and without the N x N input second moment
    rows = []
    for sxx in (False, True):
        tracemalloc.start()
        t0 = time.perf_counter()
        m = pw.data_moments(w.W, pw.GaussianInputs(N), P, rng=1, second_moment=sxx, progress=False)
        dt = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        what = "kernels + X^T X/P (DPP edge)" if sxx else "node kernels only (DPP node)"
        rows.append((f"stream P={P:,}: {what}", dt, peak / 2**20))
        if sxx:
            m_edge = m
        else:
            m_node = m
    print()
    print(f"{'step':<52}{'seconds':>10}{'peak MiB':>10}")
    for name, dt, mb in rows:
        print(f"{name:<52}{dt:>10.3f}{mb:>10.1f}")
    print(f"{'(a materialised P x N float64 input array would be)':<52}{'':>10}{P * N * 8 / 2**20:>10.0f}")

    # 2. one DPP-node mask
    L = pw.node_kernel(m_node)
    rng = np.random.default_rng(2)
    t_node, _ = timed(lambda: pw.dpp_node_masks(L, 3, 1, rng), repeat=20)
    print(
        f"\none DPP-node mask (K=6, k=3), kernel ready: {t_node * 1e6:.0f} us; "
        f"with the P={P:,} streamed kernel estimate: {rows[0][1] + t_node:.2f} s"
    )

    # 3. one DPP-edge mask set per paper budget, ours and dppy
    have_dppy = False
    if not args.quick:
        try:
            import dppy  # noqa: F401

            have_dppy = True
        except ImportError:
            print("dppy not installed: baseline skipped")
    print(f"\n{'DPP-edge mask set (6 units x 500 edges)':<42}{'statmech s':>12}{'dppy s':>10}{'ratio':>8}")
    for k in range(1, K):
        e = edges_per_unit(k, K, N)
        t_ours, masks = timed(lambda: pw.dpp_edge_masks(w.W, e, 1, rng, Sxx=m_edge.Sxx))
        assert np.all(masks.sum(2) == e)
        t_d = timed(lambda: dppy_edge_set(w.W, m_edge.Sxx, e, 3), repeat=1)[0] if have_dppy else np.nan
        print(f"{'e = ' + str(e):<42}{t_ours:>12.3f}{t_d:>10.3f}{t_d / t_ours:>8.1f}")
    t10, _ = timed(lambda: pw.dpp_edge_masks(w.W, 250, 10, rng, Sxx=m_edge.Sxx), repeat=1)
    print(f"{'10 mask sets at e = 250 (one eigh per unit)':<42}{t10:>12.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
