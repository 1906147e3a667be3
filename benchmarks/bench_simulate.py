"""Online-SGD benchmark: steps per second at N = 500, K = 6, M = 2 (erf, both layers), one core.

    python benchmarks/bench_simulate.py [--quick]

Prints a table: SGD steps per second of statmech.sim's compiled loop
(fresh Gaussian input every step, generated in the loop) against
(a) a plain numpy loop with one sample per step, vectorised over K and N,
    inputs from numpy's default Generator (docs/performance.md: ~42,000 steps/s), and
(b) the paper authors' approach: a PyTorch nn.Module with two bias-free Linear
    layers, MSELoss, per-layer SGD learning rates, one optimizer step per
    sample (docs/performance.md: ~5,200 steps/s). Skipped with a note when torch is
    not installed (``pip install torch``: a benchmark-only extra).
All three run on one core (torch.set_num_threads(1); our loop is serial);
each rate is steps per second of this process's CPU time (time descheduled on
a shared machine does not count), best of 5 interleaved windows of about a
second (2 with --quick).
Before timing, the three implementations are checked to compute the same SGD
rule: fed the same inputs, their weights agree to rounding after 500 steps.
Also printed, for information: the general model's kernel (statmech.sim._kernel.model_sgd_steps, used
for other activation pairs, weight decay, mini-batches and output scaling) on the same 6:2 problem.
Also printed: the wall time of the paper's whole 800,000-step run through
``simulate`` (with 50 save points) and its peak Python-tracked memory at
alpha = 100 and 1600 (constant: memory is O(K N), not O(steps)).
Goals: >= 200,000 steps/s and >= 30x the PyTorch approach.
"""

import argparse
import math
import os
import platform
import time
import tracemalloc

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core for numpy's BLAS too (set before numpy is imported)

import numpy as np  # noqa: E402
from scipy.special import erf  # noqa: E402

import statmech as sm  # noqa: E402
from statmech.sim import simulate  # noqa: E402
from statmech.sim._kernel import NO_DATA, fresh_buffers, model_buffers, model_sgd_steps, sgd_steps  # noqa: E402
from statmech.sim._rng import seed_state, standard_normal  # noqa: E402

K, M, N, VSTAR, ETA, ETA_V = 6, 2, 500, 4.0, 0.5, 0.5


# ------------------------------------------------------------- (a) numpy loop
def numpy_sgd(W, v, Wstar, vstar, xs, eta, eta_v, sigma=0.0):
    """Plain numpy, one sample per step (docs/theory/model.md). xs: iterable of (x, zeta)."""
    n = W.shape[1]
    sq = math.sqrt(n)
    for x, zeta in xs:
        lam = W @ x / sq
        nu = Wstar @ x / sq
        g = erf(lam / math.sqrt(2))
        delta = vstar @ erf(nu / math.sqrt(2)) + sigma * zeta - v @ g
        gp = math.sqrt(2 / math.pi) * np.exp(-0.5 * lam**2)
        dW = np.outer((eta / sq) * v * gp * delta, x)
        v += (eta_v / n) * g * delta
        W += dW
    return W, v


def numpy_inputs(rng, steps):
    for _ in range(steps):
        yield rng.standard_normal(N), 0.0


# ------------------------------------------------------------ (b) PyTorch
def torch_setup(w):
    import torch
    from torch import nn

    torch.set_num_threads(1)
    torch.manual_seed(0)

    class TwoLayer(nn.Module):
        def __init__(self, W, v):
            super().__init__()
            self.fc1 = nn.Linear(W.shape[1], W.shape[0], bias=False, dtype=torch.float64)
            self.fc2 = nn.Linear(W.shape[0], 1, bias=False, dtype=torch.float64)
            with torch.no_grad():
                self.fc1.weight.copy_(torch.from_numpy(W))
                self.fc2.weight.copy_(torch.from_numpy(v[None, :]))

        def forward(self, x):
            return self.fc2(torch.erf(self.fc1(x) / math.sqrt(x.shape[-1]) / math.sqrt(2)))

    student = TwoLayer(w.W.copy(), w.v.copy())
    teacher = TwoLayer(w.Wstar.copy(), w.vstar.copy())
    for p in teacher.parameters():
        p.requires_grad_(False)
    # MSELoss = (phi - y)^2, twice the paper's loss of one sample: halve the rates. Layer 1: eta (its gradient
    # carries the 1/sqrt(N) of the fields); layer 2: eta_v / N.
    opt = torch.optim.SGD(
        [
            {"params": student.fc1.parameters(), "lr": ETA / 2},
            {"params": student.fc2.parameters(), "lr": ETA_V / N / 2},
        ],
        lr=ETA / 2,
    )
    return torch, student, teacher, opt, nn.MSELoss()


def torch_sgd(setup, xs):
    torch, student, teacher, opt, loss_fn = setup
    for x in xs:
        with torch.no_grad():
            y = teacher(x)
        opt.zero_grad()
        loss = loss_fn(student(x), y)
        loss.backward()
        opt.step()


# --------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="shorter timings, no memory check")
    args = ap.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, numpy {np.__version__}"
    )
    w = sm.Weights.random(K, M, N, vstar=VSTAR, seed=0)

    # --- the three implementations compute the same rule (same inputs, 500 steps)
    s = seed_state(1, 0)
    draws = [standard_normal(s, N + 1) for _ in range(500)]
    W_ours, v_ours = w.W.copy(), w.v.copy()
    sgd_steps(0, W_ours, v_ours, w.Wstar, w.vstar, seed_state(1, 0), 500, ETA, ETA_V, 0.0, *fresh_buffers(K, N))
    W_np, v_np = numpy_sgd(w.W.copy(), w.v.copy(), w.Wstar, w.vstar, ((d[:N], d[N]) for d in draws), ETA, ETA_V)
    checks = [f"ours vs numpy after 500 equal steps: max |dW| {np.max(np.abs(W_ours - W_np)):.1e}"]
    try:
        setup = torch_setup(w)
    except ImportError:
        setup = None
    if setup is not None:
        torch = setup[0]
        torch_sgd(setup, (torch.from_numpy(d[:N].copy()) for d in draws))
        W_t = setup[1].fc1.weight.detach().numpy()
        checks.append(f"torch vs numpy: max |dW| {np.max(np.abs(W_t - W_np)):.1e}")
    print("same SGD rule: " + "; ".join(checks))

    # --- timings: windows of about one second each, interleaved, best of `repeats` per implementation.
    # Clock: this process's CPU time (time.process_time), so time spent descheduled on a shared machine
    # does not count; every implementation runs on one thread, so CPU time = time on one core.
    repeats = 2 if args.quick else 5
    W, v = w.W.copy(), w.v.copy()
    buf = fresh_buffers(K, N)
    st = seed_state(2, 0)
    sgd_steps(0, W, v, w.Wstar, w.vstar, st, 10, ETA, ETA_V, 0.0, *buf)  # compile / load cache
    rng = np.random.default_rng(3)
    rate_ours = rate_np = 0.0
    rate_torch = None if setup is None else 0.0
    steps_ours, steps_np, steps_t = 300_000, 40_000, 5_000
    for rep in range(repeats):
        t0 = time.process_time()
        sgd_steps(0, W, v, w.Wstar, w.vstar, st, steps_ours, ETA, ETA_V, 0.0, *buf)
        rate_ours = max(rate_ours, steps_ours / (time.process_time() - t0))

        Wn, vn = w.W.copy(), w.v.copy()
        t0 = time.process_time()
        numpy_sgd(Wn, vn, w.Wstar, w.vstar, numpy_inputs(rng, steps_np), ETA, ETA_V)
        rate_np = max(rate_np, steps_np / (time.process_time() - t0))

        if setup is not None:
            setup = torch_setup(w)
            torch = setup[0]
            gen = torch.Generator().manual_seed(4 + rep)
            t0 = time.process_time()
            torch_sgd(setup, (torch.randn(N, generator=gen, dtype=torch.float64) for _ in range(steps_t)))
            rate_torch = max(rate_torch, steps_t / (time.process_time() - t0))

    # the general kernel on the paper's model (one activation, no decay, B = 1, s = 1): same rule, unfused loops
    Wg, vg = w.W.copy(), w.v.copy()
    gbuf = model_buffers(K, N)
    no_mask = np.zeros((0, 0), dtype=bool)
    general = (ETA, ETA_V, 0.0, 0.0, 1, 1.0, 1.0, no_mask, NO_DATA, np.zeros(0))
    model_sgd_steps(0, 0, Wg, vg, w.Wstar, w.vstar, st, 10, *general, *gbuf)  # compile / load cache
    rate_general = 0.0
    for _ in range(repeats):
        t0 = time.process_time()
        model_sgd_steps(0, 0, Wg, vg, w.Wstar, w.vstar, st, steps_ours // 2, *general, *gbuf)
        rate_general = max(rate_general, steps_ours // 2 / (time.process_time() - t0))

    t0, c0 = time.perf_counter(), time.process_time()
    r = simulate(w, eta=ETA, eta_v=ETA_V, alpha_max=1600.0, seed=0, progress=False)
    t_paper, c_paper = time.perf_counter() - t0, time.process_time() - c0

    print()
    print(f"{'SGD, N=500, K=6, M=2, one core':<44}{'steps/s':>12}{'ours / it':>11}{'800k steps':>12}")
    rows = [("statmech.sim (numba, inputs in the loop)", rate_ours)]
    rows.append(("statmech.sim general-model kernel", rate_general))
    rows.append(("(a) numpy loop, one sample per step", rate_np))
    rows.append(("(b) PyTorch nn.Module, per-sample SGD step", rate_torch))
    for name, rate in rows:
        if rate is None:
            print(f"{name:<44}{'skipped: torch not installed (pip install torch)':>35}")
            continue
        print(f"{name:<44}{rate:>12,.0f}{rate_ours / rate:>10.1f}x{800_000 / rate:>11.2f}s")
    print()
    print(
        f"paper run via simulate(): alpha 0 -> 1600 (800,000 steps, 51 save points) in {t_paper:.2f} s wall, "
        f"{c_paper:.2f} s CPU; "
        f"eps_g(1600) = {r.eps_g[-1]:.4f}"
    )
    goal = "met" if rate_ours >= 200_000 else "NOT met"
    print(f"goal >= 200,000 steps/s: {goal}", end="")
    if rate_torch is not None:
        print(f"; goal >= 30x PyTorch: {'met' if rate_ours >= 30 * rate_torch else 'NOT met'}", end="")
    print()

    if not args.quick:
        peaks = []
        for amax in (100.0, 1600.0):
            tracemalloc.start()
            simulate(w, eta=ETA, eta_v=ETA_V, alpha_max=amax, seed=0, progress=False)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        print(
            f"peak traced memory of simulate(): alpha=100 (50,000 steps) {peaks[0] / 1e6:.2f} MB, "
            f"alpha=1600 (800,000 steps) {peaks[1] / 1e6:.2f} MB (weights: {K * N * 8 / 1e3:.0f} kB)"
        )


if __name__ == "__main__":
    main()
