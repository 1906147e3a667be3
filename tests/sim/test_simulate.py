"""Finite-N online SGD (statmech.sim) against independent routes.

- the in-loop Gaussian sampler against scipy's normal distribution;
- the expected one-step increments of R and v against the Gaussian integrals
  I3 and I2 (exact at any N, for erf, linear and ReLU);
- mean learning curves over seeds against the ODE from the same initial state;
- reproducibility, chunking and resume bit for bit; the specialised 6:2 student;
- bad input and divergence.
"""

import json
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from scipy import special, stats

from statmech import State, Weights, integrate
from statmech.core.interrupt import sigint_flag
from statmech.integrals import I2, I3
from statmech.sim import SimulationResult, checkpoint_path, ode_reference, read_checkpoint, simulate, simulate_seeds
from statmech.sim import run as run_module
from statmech.sim._kernel import fresh_buffers, sgd_steps
from statmech.sim._rng import ZIG_R, seed_state, standard_normal, ziggurat_closure

ACT = {"erf": 0, "linear": 1, "relu": 2}


# ------------------------------------------------------------------ sampler
def test_ziggurat_table_closes():
    # the top layer's area equals the common layer area to rounding (tables built from r alone)
    assert abs(ziggurat_closure()) < 1e-12


def test_normals_match_scipy_normal():
    z = standard_normal(seed_state(123, 0), 1_000_000)
    # KS against scipy's N(0,1) cdf: at n = 1e6 the statistic of a correct sampler is ~1e-3,
    # the critical value at p = 1e-3 is 1.95 / sqrt(n) = 2e-3
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # moments: standard errors sqrt(1/n), sqrt(2/n), sqrt(15/n) (skew), sqrt(96/n) (excess kurtosis); 5 s.e.
    n = z.size
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(stats.skew(z)) < 5 * np.sqrt(6 / n)
    assert abs(stats.kurtosis(z)) < 5 * np.sqrt(24 / n)
    # the tail beyond r comes from a separate sampler: its mass 2 P(Z > r) = 2.6e-4 within 5 binomial s.e.
    p = 2 * stats.norm.sf(ZIG_R)
    assert abs(np.mean(np.abs(z) > ZIG_R) - p) < 5 * np.sqrt(p / n)
    # and its shape: P(|Z| > 4.5 | |Z| > r) from scipy, binomial s.e. on the ~258 tail draws
    tail = np.abs(z[np.abs(z) > ZIG_R])
    q = stats.norm.sf(4.5) / stats.norm.sf(ZIG_R)
    assert abs(np.mean(tail > 4.5) - q) < 5 * np.sqrt(q * (1 - q) / tail.size) + 1 / tail.size


def test_streams_are_reproducible_and_independent():
    a = standard_normal(seed_state(7, 0), 200_000)
    assert np.array_equal(a, standard_normal(seed_state(7, 0), 200_000))
    # drawing in pieces continues the same stream
    s = seed_state(7, 0)
    pieces = np.concatenate([standard_normal(s, 1), standard_normal(s, 99_999), standard_normal(s, 100_000)])
    assert np.array_equal(a, pieces)
    # other streams: correlation within 5 s.e. (1 / sqrt(n)) of zero
    for other in (seed_state(7, 1), seed_state(8, 0), seed_state((7, 1), 0), seed_state((0, 7), 0)):
        b = standard_normal(other, 200_000)
        assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(a.size)
    # documented identity: SeedSequence pads entropy with zeros, so run 0 of simulate_seeds(seed=7)
    # (entropy (7, 0)) is simulate(seed=7)
    assert np.array_equal(seed_state((7, 0), 0), seed_state(7, 0))


def test_stream_differs_from_initial_weight_generator():
    # Weights.random draws from default_rng(seed); the SGD stream of the same seed must not repeat it
    w = Weights.random(1, 1, 5000, 1.0, seed=3)
    z = standard_normal(seed_state(3, 0), 5000)
    assert abs(np.corrcoef(w.Wstar[0], z)[0, 1]) < 5 / np.sqrt(5000)


# ------------------------------------------------- one step vs Gaussian integrals
@pytest.mark.parametrize("activation", ["erf", "linear", "relu"])
def test_expected_one_step_increment_matches_integrals(activation):
    """E[Delta R_in] = (eta/N) v_i sum_a w_a I3(i, n, a), E[Delta v_i] = (eta_v/N) sum_a w_a I2(i, a).

    Exact at any N (the fields of a Gaussian x have covariance [[Q, R], [R^T, T]]
    exactly), so a small N and many independent single steps from the same
    weights check the compiled step against the closed-form integrals.
    """
    K, M, N, eta, eta_v = 3, 2, 40, 0.7, 0.4
    w = Weights.random(K, M, N, vstar=[1.5, -1.0], seed=11)
    st = w.state()
    C = st.covariance()
    wa = np.concatenate([-st.v, st.vstar])
    pred_R = eta * st.v[:, None] * np.einsum("inA,A->in", I3(C, activation)[:K, K:, :], wa)
    pred_v = eta_v * I2(C, activation)[:K, :] @ wa
    s = seed_state(5, 0)
    buf = fresh_buffers(K, N)
    n = 20_000
    dR = np.empty((n, K, M))
    dv = np.empty((n, K))
    for j in range(n):
        W, v = w.W.copy(), w.v.copy()
        assert sgd_steps(ACT[activation], W, v, w.Wstar, w.vstar, s, 1, eta, eta_v, 0.3, *buf) == 1
        dR[j] = (W - w.W) @ w.Wstar.T  # = N * Delta R
        dv[j] = (v - w.v) * N
    for est, pred in ((dR, pred_R), (dv, pred_v)):
        mean = est.mean(axis=0)
        se = est.std(axis=0, ddof=1) / np.sqrt(n)
        # 4.5 standard errors: 15 entries compared, a false alarm has probability ~1e-4
        assert np.all(np.abs(mean - pred) < 4.5 * se), (activation, mean, pred, se)


def _numpy_sgd(activation, W, v, Wstar, vstar, draws, eta, eta_v, sigma):
    """docs/theory/model.md written plainly in numpy, one sample per step (the reference)."""
    g = {"erf": lambda u: special.erf(u / np.sqrt(2)), "linear": lambda u: u, "relu": lambda u: np.maximum(u, 0)}
    gp = {
        "erf": lambda u: np.sqrt(2 / np.pi) * np.exp(-(u**2) / 2),
        "linear": np.ones_like,
        "relu": lambda u: (u > 0).astype(float),
    }
    N = W.shape[1]
    for d in draws:
        x, zeta = d[:N], d[N]
        lam, nu = W @ x / np.sqrt(N), Wstar @ x / np.sqrt(N)
        delta = vstar @ g[activation](nu) + sigma * zeta - v @ g[activation](lam)
        W, v = (
            W + np.outer(eta / np.sqrt(N) * v * gp[activation](lam) * delta, x),
            v + eta_v / N * g[activation](lam) * delta,
        )
    return W, v


@pytest.mark.parametrize("activation", ["erf", "linear", "relu"])
def test_compiled_steps_equal_plain_numpy(activation):
    """Fed the same inputs (N + 1 normals per step: x, then zeta), numba and numpy agree to rounding."""
    K, M, N, steps = 4, 3, 37, 300  # N not a multiple of 4 or 8: the remainder loops run too
    w = Weights.random(K, M, N, vstar=[2.0, -1.0, 0.5], seed=3)
    s = seed_state(9, 0)
    draws = [standard_normal(s, N + 1) for _ in range(steps)]
    W, v = w.W.copy(), w.v.copy()
    done = sgd_steps(
        ACT[activation], W, v, w.Wstar, w.vstar, seed_state(9, 0), steps, 0.3, 0.2, 0.4, *fresh_buffers(K, N)
    )
    assert done == steps
    W_ref, v_ref = _numpy_sgd(activation, w.W, w.v, w.Wstar, w.vstar, draws, 0.3, 0.2, 0.4)
    # rounding only: 300 steps of O(1) updates, float64 (different summation order)
    assert np.allclose(W, W_ref, rtol=0, atol=1e-11) and np.allclose(v, v_ref, rtol=0, atol=1e-11)
    assert not np.allclose(W, w.W, atol=1e-3)  # and the weights did move


# ------------------------------------------------------------- ODE vs simulation
@pytest.mark.parametrize(
    "case",
    [
        dict(K=6, M=2, vstar=4.0, eta=0.5, eta_v=0.5, sigma=0.0, activation="erf", alpha_max=20.0),
        dict(K=6, M=2, vstar=4.0, eta=0.5, eta_v=0.5, sigma=0.5, activation="erf", alpha_max=20.0),
        dict(K=3, M=2, vstar=1.0, eta=0.5, eta_v=0.0, sigma=0.3, activation="erf", alpha_max=30.0),
        dict(K=2, M=1, vstar=1.0, eta=0.2, eta_v=0.2, sigma=0.0, activation="linear", alpha_max=10.0),
    ],
    ids=["6:2", "6:2-noise", "3:2-first-layer", "linear"],
)
def test_mean_of_seeds_follows_ode(case):
    """Mean eps_g over 16 seeds within 3 s.e. + 10 eps_g / N of the ODE from the same initial state.

    The O(1/N) allowance: a finite-N run's mean differs from the N -> inf
    ODE by O(1/N) (docs/theory/model.md), from the O(1/N) corrections to the
    drift (|x|^2 / N is not 1 and correlates with the fields) and from eps_g
    being nonlinear in the fluctuating order parameters. Measured over
    N = 100..1600 with 20 seeds, N |mean - ODE| / eps_g stayed below about
    10 before the plateau escape; at N = 400 this adds 2.5% of eps_g. The
    curves end before the escape from the plateau, where finite-N
    fluctuations shift the escape time by O(1) (README, Simulations).
    """
    N = 400
    p = dict(case)
    K, M, vstar, amax = p.pop("K"), p.pop("M"), p.pop("vstar"), p.pop("alpha_max")
    w = Weights.random(K, M, N, vstar=vstar, seed=0)
    res = simulate_seeds(
        w, seeds=16, alpha_max=amax, save_at=np.geomspace(0.05, amax, 20), workers=1, progress=False, **p
    )
    assert res.status == 0, res.message
    ode = ode_reference(res)
    assert ode.status == 0
    assert np.allclose(ode.alpha, res.alpha)
    dev = np.abs(res.mean - ode.eps_g)
    allowed = 3 * res.stderr + 10 * ode.eps_g / N
    assert np.all(dev <= allowed), np.c_[res.alpha, res.mean, ode.eps_g, res.stderr][dev > allowed]
    # not a trivial agreement: the band is under 10% of eps_g at every point, while eps_g falls 10-fold or more
    assert np.all(allowed < 0.1 * ode.eps_g), allowed / ode.eps_g
    assert ode.eps_g[-1] < 0.1 * ode.eps_g[0]


def test_initial_point_is_the_ode_initial_state():
    w = Weights.random(4, 2, 300, vstar=2.0, seed=9)
    r = simulate(w, eta=0.5, alpha_max=1.0, seed=1, progress=False)
    assert r.alpha[0] == 0 and r.state_at(0).allclose(State.random(4, 2, 300, vstar=2.0, seed=9), rtol=1e-12)
    assert r.initial_state == w.state()


def test_noisy_test_loss_is_eps_g_plus_half_sigma_squared():
    """Empirical test loss on P noisy samples: E = eps_g + sigma^2 / 2, variance of the loss / P."""
    w = Weights.random(4, 2, 200, vstar=2.0, seed=2)
    sigma, P = 0.5, 20_000
    r = simulate(w, eta=0.5, alpha_max=5.0, save_at=[0.0, 1.0, 5.0], sigma=sigma, test_size=P, seed=0, progress=False)
    expected = r.eps_g + 0.5 * sigma**2
    # per-sample loss (phi - y)^2 / 2 has standard deviation <= sqrt(2) x its mean for Gaussian (phi - y);
    # 5 standard errors of the mean of P samples
    assert np.all(np.abs(r.test_loss - expected) < 5 * np.sqrt(2) * expected / np.sqrt(P))
    # the test set is held fixed: a second run with the same test seed sees the same samples
    r2 = simulate(
        w,
        eta=0.5,
        alpha_max=5.0,
        save_at=[0.0, 1.0, 5.0],
        sigma=sigma,
        test_size=P,
        seed=1,
        test_seed=0,
        progress=False,
    )
    assert r2.test_loss[0] == r.test_loss[0]


# --------------------------------------------------------- reproducibility
def _fields(r: SimulationResult):
    return (r.eps_g, r.Q, r.R, r.v, r.steps, r.weights.W, r.weights.v)


def _identical(a, b):
    return all(np.array_equal(x, y) for x, y in zip(_fields(a), _fields(b)))


def test_same_seed_same_bits_and_chunking_does_not_matter(monkeypatch):
    w = Weights.random(3, 2, 100, vstar=1.0, seed=4)
    kw = dict(eta=0.8, sigma=0.2, alpha_max=30.0, seed=5, progress=False)
    a = simulate(w, **kw)
    b = simulate(w, **kw)
    assert _identical(a, b)
    c = simulate(w, **dict(kw, seed=6))
    assert not np.array_equal(a.weights.W, c.weights.W)
    # tiny compiled chunks (7 steps): same stream, same bits
    monkeypatch.setattr(run_module, "_CHUNK_WORK", 7 * 100 * 9)
    assert _identical(a, simulate(w, **kw))


def test_resume_equals_uninterrupted_run(tmp_path):
    w = Weights.random(3, 2, 100, vstar=1.0, seed=4)
    kw = dict(eta=0.8, sigma=0.2, alpha_max=40.0, seed=5, test_size=500, progress=False)
    full = simulate(w, **kw)
    ck = tmp_path / "run.npz"
    calls = {"n": 0}

    def stop_after_some_chunks():
        calls["n"] += 1
        return calls["n"] > 20

    part = simulate(w, **kw, checkpoint=ck, checkpoint_every=0.0, _stop=stop_after_some_chunks)
    assert part.status == 1 and "interrupted" in part.message
    assert 0 < len(part.alpha) < len(full.alpha)
    assert np.array_equal(part.eps_g, full.eps_g[: len(part.alpha)])  # a valid partial result
    saved = read_checkpoint(ck)
    assert saved["status"] == 1 and saved["step"] == part.step
    done = simulate(w, **kw, checkpoint=ck, resume=True)
    assert done.status == 0
    assert _identical(done, full)
    assert np.array_equal(done.test_loss, full.test_loss)
    # a finished checkpoint is returned as is, and weights may be omitted
    again = simulate(None, **kw, checkpoint=ck, resume=True)
    assert _identical(again, full)


def test_resume_refuses_a_different_run(tmp_path):
    w = Weights.random(3, 2, 100, vstar=1.0, seed=4)
    ck = tmp_path / "run.npz"
    simulate(w, eta=0.5, alpha_max=2.0, seed=0, checkpoint=ck, progress=False)
    with pytest.raises(ValueError, match=r"belongs to a different run \(eta: checkpoint 0.5 vs now 0.6"):
        simulate(w, eta=0.6, alpha_max=2.0, seed=0, checkpoint=ck, resume=True)
    with pytest.raises(ValueError, match="different initial weights"):
        simulate(
            Weights.random(3, 2, 100, vstar=1.0, seed=5), eta=0.5, alpha_max=2.0, seed=0, checkpoint=ck, resume=True
        )
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot be read"):
        read_checkpoint(tmp_path / "junk.npz")


def _damaged_checkpoints(tmp_path, w, kw):
    """A finished checkpoint of a short run, and copies of it broken in the ways a crash or a disk breaks files."""
    good = tmp_path / "good.npz"
    simulate(w, **kw, checkpoint=good)
    data = good.read_bytes()
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    nan = dict(arrays, W=arrays["W"].copy())
    nan["W"][0, 0] = np.nan
    shape = dict(arrays, v=np.ones(7))
    cplx = dict(arrays, v=arrays["v"] + 0.5j)
    cases = {
        "truncated.npz": "not a valid .npz file (truncated or corrupt",
        "empty.npz": "it is empty (0 bytes",
        "text.npz": "not a valid .npz file (it does not begin like a zip archive",
        "nan.npz": "array 'W' contains NaN or infinite entries",
        "shape.npz": "damaged (v has shape (7,), expected (3,)",
        "complex.npz": "array 'v' has dtype complex128, expected real numbers",
        "state.npz": "is not a checkpoint (no format 'statmech-simulate-checkpoint-1')",
    }
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) * 2 // 3])
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "text.npz").write_text("step,W\n1,2\n")
    np.savez(tmp_path / "nan.npz", **nan)
    np.savez(tmp_path / "shape.npz", **shape)
    np.savez(tmp_path / "complex.npz", **cplx)
    State.random(3, 2, 20, seed=0).save(tmp_path / "state.npz")
    return cases


def test_resume_from_a_damaged_checkpoint_is_a_one_line_error(tmp_path):
    """Truncated, empty, wrong format, NaN, wrong shape, complex: one line naming the file and what to do, no leak."""
    import gc
    import warnings

    w = Weights.random(3, 2, 60, vstar=1.0, seed=4)
    kw = dict(eta=0.5, alpha_max=1.0, seed=0, progress=False)
    cases = _damaged_checkpoints(tmp_path, w, kw)
    for name, message in cases.items():
        path = tmp_path / name
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(ValueError) as exc:
                simulate(w, **kw, checkpoint=path, resume=True)
            gc.collect()
        text = str(exc.value)
        assert f"checkpoint file {path}" in text and message in text, text
        assert "delete it, or rerun without --resume" in text and "\n" not in text
        assert not [c for c in caught if issubclass(c.category, ResourceWarning)], name
        with pytest.raises(ValueError, match="rerun without --resume"):
            read_checkpoint(path)
    (tmp_path / "ckdir").mkdir()
    with pytest.raises(ValueError, match=r"checkpoint .*ckdir is a directory; give the path of a file"):
        simulate(w, **kw, checkpoint=tmp_path / "ckdir")
    (tmp_path / "ckfile").write_text("")
    with pytest.raises(ValueError, match=r"checkpoint_dir .*ckfile exists and is not a directory"):
        simulate_seeds(w, seeds=2, **kw, workers=1, checkpoint_dir=tmp_path / "ckfile")


@pytest.mark.parametrize("workers", [1, 2])
def test_cli_resume_from_a_damaged_checkpoint(tmp_path, capsys, workers):
    """`simulate --resume` with a truncated or empty checkpoint, one process or a pool: exit 2, one line."""
    from statmech.cli import main

    out = tmp_path / "s"
    args = ["simulate", "--K", "2", "--M", "1", "--N", "30", "--alpha-max", "2", "--runs", "2", "--points", "3"]
    args += ["--workers", str(workers), "--out", str(out)]
    assert main(args) == 0
    capsys.readouterr()
    ck = checkpoint_path(out / "checkpoints", 1)
    data = ck.read_bytes()
    for content, message in ((data[: len(data) // 2], "truncated or corrupt"), (b"", "it is empty")):
        ck.write_bytes(content)
        assert main(args + ["--resume"]) == 2
        err = capsys.readouterr().err.strip()
        assert "Traceback" not in err and len(err.splitlines()) == 1, err
        assert f"checkpoint file {ck}" in err and message in err and "rerun without --resume" in err


def test_processes_give_the_same_runs_as_one_process(tmp_path):
    w = Weights.random(3, 2, 80, vstar=1.0, seed=1)
    kw = dict(seeds=3, eta=0.6, alpha_max=10.0, progress=False)
    serial = simulate_seeds(w, workers=1, **kw)
    pooled = simulate_seeds(w, workers=2, checkpoint_dir=tmp_path, **kw)
    assert pooled.status == 0 and pooled.params["workers"] == 2
    assert np.array_equal(serial.eps_g, pooled.eps_g)
    assert np.array_equal(serial.mean, pooled.mean) and np.array_equal(serial.stderr, pooled.stderr)
    assert all(checkpoint_path(tmp_path, r).exists() for r in range(3))
    # runs differ from each other, and the statistics are those of the runs
    assert not np.array_equal(serial.eps_g[0], serial.eps_g[1])
    assert np.allclose(serial.stderr, serial.eps_g.std(axis=0, ddof=1) / np.sqrt(3))


def test_ctrl_c_sets_the_stop_flag_instead_of_raising():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be installed in the main thread")
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        pytest.skip("SIGINT is ignored in this process (the flag is left to the parent)")
    with sigint_flag() as flag:
        signal.raise_signal(signal.SIGINT)
        assert flag["stop"]


# ---------------------------------------------------------- specialisation
def _assert_specialised(weights: Weights):
    """Groups of near-copies of each teacher unit (docs/guide/reproduce.md, 'A trained 6-unit student specialises').

    Structure, not exact numbers: every student unit has normalised overlap
    > 0.9 with one teacher unit, each teacher gets K/M = 3 units, overlaps
    > 0.9 within a group and < 0.3 across, every copy carries about v*/3 = 4/3
    (within 25%; copies of one teacher are a nearly flat direction, along
    which SGD noise spreads the v_i) with its sign matching the sign of its
    overlap (erf is odd), and the copies of a teacher unit add up to v*
    within 15% (their rows are not exact copies, so the sum is below v*).
    """
    st = weights.state()
    d = np.sqrt(np.diag(st.Q))
    Qn = st.Q / np.outer(d, d)
    Rn = st.R / np.outer(d, np.sqrt(np.diag(st.T)))
    owner = np.argmax(np.abs(Rn), axis=1)
    assert np.all(np.abs(Rn[np.arange(len(owner)), owner]) > 0.9), Rn
    for n in range(st.M):
        group = np.flatnonzero(owner == n)
        assert len(group) == st.K // st.M, owner
        within = np.abs(Qn[np.ix_(group, group)])
        assert np.all(within > 0.9), Qn
        signed_v = st.v[group] * np.sign(Rn[group, n])
        share = st.vstar[n] / len(group)
        assert np.all(np.abs(signed_v - share) < 0.25 * share), (signed_v, share)
        assert abs(signed_v.sum() - st.vstar[n]) < 0.15 * st.vstar[n], signed_v
        others = np.flatnonzero(owner != n)
        assert np.all(np.abs(Qn[np.ix_(group, others)]) < 0.3), Qn


def test_six_two_student_specialises_paper_configuration_one_seed():
    """The paper's 6:2 run (N = 500, alpha = 1600, 800,000 steps: a few seconds) for one seed."""
    w = Weights.random(6, 2, 500, vstar=4.0, seed=0)
    r = simulate(w, eta=0.5, alpha_max=1600.0, seed=0, progress=False)
    assert r.status == 0
    _assert_specialised(r.weights)
    assert r.eps_g[-1] < 0.01 * r.eps_g[0]


@pytest.mark.slow
def test_six_two_student_specialises_paper_configuration():
    """The paper's 6:2 run: N = 500, alpha = 1600, 5 seeds (and other initial weights): all specialise."""
    for init in (0, 1):
        w = Weights.random(6, 2, 500, vstar=4.0, seed=init)
        res = simulate_seeds(w, seeds=5, seed=init, eta=0.5, alpha_max=1600.0, progress=False)
        assert res.status == 0
        for run in res.runs:
            _assert_specialised(run.weights)


@pytest.mark.slow
def test_deviation_from_ode_shrinks_like_inverse_sqrt_n():
    """RMS over seeds and times of (single run - ODE) at N = 100, 400, 1600: slope -1/2 in log-log.

    Fluctuations of the order parameters are O(1/sqrt N) (docs/theory/model.md);
    the mean bias is O(1/N) and negligible next to them. Times up to alpha = 15
    (initial drop and plateau, before the escape). A slope in [-0.7, -0.3]
    allows for the error of an RMS over 12 seeds (about 20% per point).
    """
    rms = []
    Ns = [100, 400, 1600]
    for N in Ns:
        w = Weights.random(6, 2, N, vstar=4.0, seed=0)
        res = simulate_seeds(w, seeds=12, eta=0.5, alpha_max=15.0, save_at=np.geomspace(0.1, 15.0, 15), progress=False)
        ode = ode_reference(res)
        rms.append(np.sqrt(np.mean((res.eps_g - ode.eps_g) ** 2)))
    slope = np.polyfit(np.log(Ns), np.log(rms), 1)[0]
    assert -0.7 < slope < -0.3, (rms, slope)


# ------------------------------------------------------------- bad input
def test_bad_input_messages():
    w = Weights.random(3, 2, 50, vstar=1.0, seed=0)
    with pytest.raises(ValueError, match=r"N must be an integer >= 1, got 0"):
        Weights.random(3, 2, 0, vstar=1.0, seed=0)
    with pytest.raises(ValueError, match=r"alpha_max must be a finite number > 0, got 0"):
        simulate(w, eta=0.5, alpha_max=0)
    with pytest.raises(ValueError, match=r"alpha_max must be a finite number > 0, got -1"):
        simulate_seeds(w, eta=0.5, alpha_max=-1)
    with pytest.raises(ValueError, match=r"seeds must be >= 1 \(the number of independent runs\), got 0"):
        simulate_seeds(w, seeds=0, eta=0.5, alpha_max=1)
    with pytest.raises(ValueError, match=r"eta must be a finite number >= 0, got -0.1"):
        simulate(w, eta=-0.1, alpha_max=1)
    with pytest.raises(ValueError, match=r"eta_v must be a finite number >= 0, got nan"):
        simulate(w, eta=0.1, eta_v=float("nan"), alpha_max=1)
    with pytest.raises(ValueError, match=r"sigma must be a finite number >= 0"):
        simulate(w, eta=0.1, sigma=-1, alpha_max=1)
    with pytest.raises(ValueError, match=r"test_size must be an integer >= 0, got -5"):
        simulate(w, eta=0.1, alpha_max=1, test_size=-5)
    with pytest.raises(ValueError, match=r"seed must be an integer >= 0"):
        simulate(w, eta=0.1, alpha_max=1, seed=-3)
    with pytest.raises(ValueError, match=r"workers must be an integer >= 1, got 0"):
        simulate_seeds(w, eta=0.1, alpha_max=1, workers=0)
    with pytest.raises(ValueError, match=r"save_at must lie in \[0, alpha_max=1.0\]"):
        simulate(w, eta=0.1, alpha_max=1, save_at=[0.5, 2.0])
    with pytest.raises(ValueError, match=r"activation must be one of"):
        simulate(w, eta=0.1, alpha_max=1, activation="tanh")
    with pytest.raises(ValueError, match=r"resume=True needs a checkpoint path"):
        simulate(w, eta=0.1, alpha_max=1, resume=True)


def test_divergence_stops_with_a_message_and_no_nan():
    # linear student, fixed v: the error vector follows e <- (I - c x x^T / N) e with c = eta sum_k v_k^2,
    # unstable for c > 2 (LMS); here sum v_k^2 = 4.73, so eta = 1 gives c = 4.7 and the weights blow up
    w = Weights.random(3, 2, 100, vstar=1.0, seed=0)
    assert 1.0 * np.sum(w.v**2) > 2
    r = simulate(w, eta=1.0, eta_v=0.0, alpha_max=50.0, activation="linear", progress=False)
    assert r.status == -1
    assert "diverged between alpha=" in r.message and "eta=1.0" in r.message and "too large" in r.message
    assert 0 < len(r.alpha) < 45
    for a in (r.eps_g, r.Q, r.R, r.v, r.weights.W, r.weights.v):
        assert np.all(np.isfinite(a))
    # the ODE of the same run fails too (an independent check that this learning rate is unstable)
    assert integrate(r.initial_state, eta=1.0, eta_v=0.0, alpha_max=50.0, activation="linear").status == -1
    # a max_abs bound stops a run that grows without overflowing
    r2 = simulate(w, eta=0.5, alpha_max=50.0, activation="erf", max_abs=1.5, progress=False)
    assert r2.status == -1 and "exceeded max_abs=1.5" in r2.message
    assert np.all(np.diag(r2.weights.state().Q) <= 1.5)
    # several seeds: the table stops where the runs stopped, still without NaN
    res = simulate_seeds(w, seeds=2, eta=1.0, eta_v=0.0, alpha_max=50.0, activation="linear", workers=1, progress=False)
    assert res.status == -1 and "failed" in res.message
    assert np.all(np.isfinite(res.mean)) and np.all(np.isfinite(res.stderr))


# ------------------------------------------------------------------- CLI
def test_cli_writes_table_weights_and_figure(tmp_path, capsys):
    from statmech.cli import main
    from statmech.core.io import read_table

    out = tmp_path / "sim"
    args = [
        "simulate",
        "--K",
        "3",
        "--M",
        "2",
        "--vstar",
        "1",
        "--N",
        "100",
        "--eta",
        "0.5",
        "--eta-v",
        "0.5",
        "--sigma",
        "0.1",
        "--alpha-max",
        "5",
        "--runs",
        "3",
        "--workers",
        "1",
        "--points",
        "10",
        "--n-test",
        "200",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    cols, params = read_table(out / "simulation.csv")
    assert {"alpha", "eps_g_mean", "eps_g_stderr", "eps_g_ode", "eps_g_seed0", "eps_g_seed2", "test_loss_mean"} <= set(
        cols
    )
    per_seed = np.array([cols[f"eps_g_seed{r}"] for r in range(3)])
    assert np.allclose(cols["eps_g_mean"], per_seed.mean(axis=0))
    assert params["N"] == 100 and params["runs"] == 3 and params["status"] == 0 and params["sigma"] == 0.1
    assert Weights.load(out / "initial_weights.npz").state() == State.random(3, 2, 100, vstar=1.0, seed=0)
    assert Weights.load(out / "final_weights_seed1.npz").N == 100
    assert (out / "simulation.png").stat().st_size > 10_000
    assert "reached alpha_max" in capsys.readouterr().out
    # the same DIR again without --resume is refused; with --resume the finished runs are reused
    assert main(args) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert main(args + ["--resume"]) == 0
    cols2, _ = read_table(out / "simulation.csv")
    assert np.array_equal(cols2["eps_g_mean"], cols["eps_g_mean"])


def test_cli_single_seed_has_no_standard_error(tmp_path, capsys):
    from statmech.cli import main
    from statmech.core.io import read_table

    out = tmp_path / "one"
    assert (
        main(
            [
                "simulate",
                "--K",
                "2",
                "--M",
                "1",
                "--N",
                "50",
                "--alpha-max",
                "1",
                "--runs",
                "1",
                "--points",
                "5",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "n/a (one run)" in capsys.readouterr().out
    cols, params = read_table(out / "simulation.csv")
    assert np.all(np.isnan(cols["eps_g_stderr"])) and params["max_abs_z_vs_ode"] is None
    assert main(["simulate", "--out", str(tmp_path / "x"), "--n-test", "-3"]) == 2
    assert "--n-test must be an integer >= 0, got -3" in capsys.readouterr().err


def test_cli_rejects_bad_numbers(capsys):
    from statmech.cli import main

    for bad, msg in (
        (["--N", "0"], "expected an integer >= 1"),
        (["--runs", "0"], "expected an integer >= 1"),
        (["--alpha-max", "0"], "expected a number > 0"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(["simulate", "--out", "x"] + bad)
        assert exc.value.code == 2
        assert msg in capsys.readouterr().err


def test_cli_old_spellings_are_the_same_options():
    """--seeds and --test-size are second option strings of --runs and --n-test (one code path)."""
    from statmech.cli import build_parser

    old = build_parser().parse_args(["simulate", "--seeds", "3", "--test-size", "7", "--out", "x"])
    new = build_parser().parse_args(["simulate", "--runs", "3", "--n-test", "7", "--out", "x"])
    assert vars(old) == vars(new) and new.runs == 3 and new.n_test == 7


def test_cli_resume_without_checkpoints_says_so(tmp_path, capsys):
    from statmech.cli import main

    assert (
        main(
            [
                "simulate",
                "--K",
                "2",
                "--M",
                "1",
                "--N",
                "30",
                "--alpha-max",
                "2",
                "--runs",
                "1",
                "--resume",
                "--out",
                str(tmp_path / "s"),
            ]
        )
        == 0
    )
    assert "--resume: no checkpoints in" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_ctrl_c_then_resume_matches_uninterrupted(tmp_path):
    """A real SIGINT to `statmech simulate`: exit 130, a partial table, and --resume gives the full result."""
    common = [
        "--K",
        "6",
        "--M",
        "2",
        "--N",
        "500",
        "--alpha-max",
        "400",
        "--runs",
        "2",
        "--workers",
        "2",
        "--points",
        "20",
    ]
    ref = tmp_path / "ref"
    subprocess.run(
        [sys.executable, "-m", "statmech.cli", "simulate", *common, "--out", str(ref)], check=True, capture_output=True
    )
    out = tmp_path / "int"
    proc = subprocess.Popen(
        [sys.executable, "-m", "statmech.cli", "simulate", *common, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 60
    while not (out / "checkpoints" / "seed1.npz").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 130, proc.stderr.read().decode()
    partial = json.loads((out / "simulation.json").read_text())["params"]
    assert partial["status"] == 1 and "resume" in partial["message"]
    subprocess.run(
        [sys.executable, "-m", "statmech.cli", "simulate", *common, "--out", str(out), "--resume"],
        check=True,
        capture_output=True,
    )
    a = (ref / "simulation.csv").read_text()
    b = (out / "simulation.csv").read_text()
    assert a == b


def test_resume_refuses_another_set_of_runs(tmp_path):
    """The number of runs is part of the run: resuming 2 runs as 3 (or with another base seed) is refused."""
    w = Weights.random(3, 2, 100, vstar=1.0, seed=4)
    kw = dict(eta=0.5, alpha_max=1.0, workers=1, progress=False, checkpoint_dir=tmp_path)
    simulate_seeds(w, seeds=2, seed=0, **kw)
    assert json.loads((tmp_path / "runs.json").read_text()) == {"runs": [0, 1], "seed": 0}
    with pytest.raises(ValueError, match=r"holds the runs \[0, 1\] of seed 0, asked for \[0, 1, 2\] of seed 0"):
        simulate_seeds(w, seeds=3, seed=0, resume=True, **kw)
    with pytest.raises(ValueError, match=r"asked for \[0, 1\] of seed 7"):
        simulate_seeds(w, seeds=2, seed=7, resume=True, **kw)
    again = simulate_seeds(w, seeds=2, seed=0, resume=True, **kw)  # the same runs resume
    assert again.eps_g.shape[0] == 2
