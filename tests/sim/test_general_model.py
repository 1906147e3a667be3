"""The general teacher-student model in the simulator against independent routes.

- the general SGD kernel against plain numpy (every activation pair, weight
  decay, mini-batches, output scaling), and against the fused kernel of the
  paper's model (the same stream gives the same weights to rounding);
- mean learning curves over seeds against the ODE started from the
  simulated weights' order parameters, for each activation pair, weight decay,
  B = 1 and 10, each output scaling, each initial condition and a
  correlated teacher with unequal v*;
- the finite training set: labels drawn once, training error, no ODE;
- bad input.
"""

import numpy as np
import pytest
from scipy import special

from statmech import integrate
from statmech.core.initial import initial_weights
from statmech.core.model import Model
from statmech.sim import ode_reference, simulate, simulate_seeds
from statmech.sim import run as run_module
from statmech.sim._kernel import NO_DATA, model_buffers, model_sgd_steps
from statmech.sim._rng import seed_state, standard_normal

ACT = {"erf": 0, "linear": 1, "relu": 2}
PAIRS = [(s, t) for s in ACT for t in ACT]
G = {"erf": lambda u: special.erf(u / np.sqrt(2)), "linear": lambda u: u, "relu": lambda u: np.maximum(u, 0)}
GP = {
    "erf": lambda u: np.sqrt(2 / np.pi) * np.exp(-(u**2) / 2),
    "linear": np.ones_like,
    "relu": lambda u: (u > 0).astype(float),
}


def _numpy_model_sgd(model, W, v, Wstar, vstar, draws):
    """The general model's update written plainly in numpy (the reference); draws: B per update, N + 1 normals each."""
    K, N = W.shape
    M = Wstar.shape[0]
    sk, sm = model.student_scale(K), model.teacher_scale(M)
    g, gp, gt = G[model.activation], GP[model.activation], G[model.teacher_activation]
    B, kappa = model.batch_size, model.weight_decay
    for u in range(len(draws) // B):
        dW, dv = np.zeros_like(W), np.zeros_like(v)
        for d in draws[u * B : (u + 1) * B]:
            x, zeta = d[:N], d[N]
            lam, nu = W @ x / np.sqrt(N), Wstar @ x / np.sqrt(N)
            delta = vstar @ gt(nu) / sm + model.sigma * zeta - v @ g(lam) / sk
            dW += np.outer(v * gp(lam) * delta / sk, x)
            dv += g(lam) * delta / sk
        W = (1 - kappa / N) * W + model.eta / np.sqrt(N) * dW / B
        v = (1 - kappa / N) * v + model.eta_v / N * dv / B
    return W, v


@pytest.mark.parametrize(
    "pair,kappa,B,scale",
    [(p, 0.0, 1, "1") for p in PAIRS] + [(("erf", "relu"), 0.3, 4, "sqrt"), (("relu", "linear"), 0.1, 3, "K")],
)
def test_general_kernel_equals_plain_numpy(pair, kappa, B, scale):
    """Fed the same normals (x then zeta for each of the B samples of an update), numba and numpy agree to rounding."""
    K, M, N, updates = 4, 3, 37, 60  # N not a multiple of 4 or 8
    model = Model(
        activation=pair[0],
        teacher_activation=pair[1],
        eta=0.3,
        eta_v=0.2,
        sigma=0.4,
        weight_decay=kappa,
        batch_size=B,
        output_scale=scale,
    )
    w = initial_weights(K, M, N, vstar=[2.0, -1.0, 0.5], seed=3)
    s = seed_state(9, 0)
    draws = [standard_normal(s, N + 1) for _ in range(updates * B)]
    W, v = w.W.copy(), w.v.copy()
    args = (model.eta, model.eta_v, model.sigma, kappa, B, 1 / model.student_scale(K), 1 / model.teacher_scale(M))
    empty = np.zeros((0, 0), dtype=bool)
    done = model_sgd_steps(
        ACT[pair[0]], ACT[pair[1]], W, v, w.Wstar, w.vstar, seed_state(9, 0), updates, *args, empty, NO_DATA,
        np.zeros(0), *model_buffers(K, N),
    )  # fmt: skip
    assert done == updates
    W_ref, v_ref = _numpy_model_sgd(model, w.W, w.v, w.Wstar, w.vstar, draws)
    assert np.allclose(W, W_ref, rtol=0, atol=1e-11) and np.allclose(v, v_ref, rtol=0, atol=1e-11)
    assert not np.allclose(W, w.W, atol=1e-3)


def test_general_kernel_on_the_paper_model_equals_the_fused_kernel(monkeypatch):
    """Forced through the general kernel, the paper's model follows the same stream: the same run to rounding."""
    w = initial_weights(3, 2, 100, vstar=1.0, seed=4)
    kw = dict(eta=0.8, sigma=0.2, alpha_max=5.0, seed=5, test_size=200, progress=False)
    fused = simulate(w, **kw)
    monkeypatch.setattr(run_module, "is_default_model", lambda model: False)
    general = simulate(w, **kw)
    assert np.allclose(general.weights.W, fused.weights.W, rtol=0, atol=1e-12)
    assert np.allclose(general.eps_g, fused.eps_g, rtol=1e-12, atol=0)
    assert np.allclose(general.test_loss, fused.test_loss, rtol=1e-12, atol=0)


def test_the_default_model_is_the_paper_run_bit_for_bit():
    """simulate(w, Model()) and the keyword form run the fused kernel: identical bits."""
    w = initial_weights(3, 2, 100, vstar=1.0, seed=4)
    a = simulate(w, Model(eta=0.8, sigma=0.2), alpha_max=5.0, seed=5, progress=False)
    b = simulate(w, eta=0.8, sigma=0.2, alpha_max=5.0, seed=5, progress=False)
    assert np.array_equal(a.weights.W, b.weights.W) and np.array_equal(a.eps_g, b.eps_g)
    assert a.model == b.model == Model(eta=0.8, sigma=0.2)
    with pytest.raises(ValueError, match=r"give either model= or its fields, not both: got model and \['eta'\]"):
        simulate(w, Model(), eta=0.3, alpha_max=1.0)


# ------------------------------------------------------------- ODE vs simulation
N_ODE, SEEDS = 1000, 20
SAVE_AT = np.array([0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0])
SE_FLOOR = 1e-9  # save points whose standard error is below this (alpha = 0: every run starts from the same weights)


def _ode_vs_simulation(model, *, K=3, M=2, init="random", vstar=1.0, teacher_overlap=None, seed=0, seeds=SEEDS):
    """max |mean - ODE| / s.e. over the saved times; asserts the band 3 s.e. + 10 eps_g / N at each.

    The band: 3 standard errors of the mean over ``seeds`` runs, plus the
    O(1/N) finite-size allowance of tests/sim/test_simulate.py (a finite-N
    mean differs from the N -> infinity ODE by O(1/N): |x|^2 / N fluctuates
    and correlates with the fields, and eps_g is nonlinear in fluctuating
    order parameters; measured N |mean - ODE| / eps_g below about 10), which
    at N = 1000 is 1% of eps_g. The ODE starts from the order parameters of
    the very weights the runs start from (``weights.state()``).
    """
    w = initial_weights(K, M, N_ODE, init=init, vstar=vstar, teacher_overlap=teacher_overlap, seed=seed)
    res = simulate_seeds(w, model, seeds=seeds, alpha_max=SAVE_AT[-1], save_at=SAVE_AT, workers=1, progress=False)
    assert res.status == 0, res.message
    ode = integrate(w.state(), model, alpha_max=SAVE_AT[-1], save_at=res.alpha)
    assert ode.status == 0, ode.message
    assert np.allclose(ode_reference(res).eps_g, ode.eps_g, rtol=1e-12)  # the same ODE through the result
    assert abs(res.mean[0] - ode.eps_g[0]) <= 1e-12 * ode.eps_g[0]  # the same start
    use = res.stderr > SE_FLOOR
    assert use.sum() == len(SAVE_AT) - 1
    dev = np.abs(res.mean - ode.eps_g)[use]
    allowed = 3 * res.stderr[use] + 10 * ode.eps_g[use] / N_ODE
    table = np.c_[res.alpha[use], res.mean[use], ode.eps_g[use], res.stderr[use]]
    assert np.all(dev <= allowed), table[dev > allowed]
    # not a trivial agreement: the curve moves by more than the band
    assert abs(ode.eps_g[-1] - ode.eps_g[0]) > 3 * allowed.max(), table
    return float(np.max(dev / res.stderr[use]))


CASES = {
    **{f"{s}-{t}": dict(model=Model(activation=s, teacher_activation=t, eta=0.5)) for s, t in PAIRS},
    "weight-decay": dict(model=Model(eta=0.5, weight_decay=0.5, sigma=0.2)),
    "batch-1": dict(model=Model(eta=0.5, activation="relu", teacher_activation="erf", batch_size=1)),
    "batch-10": dict(model=Model(eta=0.5, activation="relu", teacher_activation="erf", batch_size=10, sigma=0.5)),
    "scale-1": dict(model=Model(eta=0.5, output_scale="1"), K=4),
    "scale-sqrt": dict(model=Model(eta=0.5, output_scale="sqrt"), K=4),
    "scale-K": dict(model=Model(eta=1.0, output_scale="K"), K=4, vstar=2.0),
    "init-random": dict(model=Model(eta=0.5), init="random"),
    "init-small": dict(model=Model(eta=1.0), init="small", vstar=2.0),
    "init-informed": dict(model=Model(eta=1.0, sigma=0.5), init="informed", K=4),
    "init-denoise": dict(model=Model(eta=0.5, sigma=0.3), init="denoise", K=5),
    "correlated-teacher": dict(model=Model(eta=0.5), M=3, K=4, vstar=[2.0, 1.0, -0.5], teacher_overlap=0.4),
}
FAST = ["erf-relu", "weight-decay", "batch-10", "scale-sqrt", "init-denoise", "correlated-teacher"]


@pytest.mark.parametrize("name", FAST)
def test_mean_of_seeds_follows_the_general_ode(name):
    """A representative subset (one mixed pair, decay, B = 10, scaling, a structured start, a correlated teacher)."""
    _ode_vs_simulation(**CASES[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in CASES if n not in FAST])
def test_mean_of_seeds_follows_the_general_ode_every_case(name):
    """The other activation pairs, B = 1, the other scalings and initial conditions."""
    _ode_vs_simulation(**CASES[name])


# ----------------------------------------------------------- finite training set
def test_finite_training_set():
    """P = ts N samples drawn once (noisy labels kept), reused: training error below the test error, no ODE."""
    w = initial_weights(3, 2, 200, vstar=1.0, seed=1)
    kw = dict(eta=0.5, sigma=0.3, alpha_max=20.0, save_at=np.arange(0.0, 20.5, 0.5), progress=False)
    a = simulate(w, **kw, train_set=0.5, seed=2)
    assert a.params["train_samples"] == 100 and a.train_loss is not None and len(a.train_loss) == len(a.alpha)
    # the training set is a function of the seed alone: the same error at the start, and the same run
    b = simulate(w, **kw, train_set=0.5, seed=2)
    assert np.array_equal(a.train_loss, b.train_loss) and np.array_equal(a.weights.W, b.weights.W)
    # at alpha = 0 the training error is an empirical mean over P = 100 samples of the test loss of the
    # initial weights: eps_g + sigma^2 / 2 within 5 standard errors (s.d. of the loss <= sqrt 2 x its mean)
    expected = a.eps_g[0] + 0.5 * 0.3**2
    assert abs(a.train_loss[0] - expected) < 5 * np.sqrt(2) * expected / 10
    # 40 epochs over 100 samples of a 3 x 200 student (600 first-layer weights): it fits the set, not the rule
    assert a.train_loss[-1] < 0.5 * a.eps_g[-1]
    online = simulate(w, **kw, seed=2)
    assert online.train_loss is None and online.eps_g[-1] < a.eps_g[-1]
    with pytest.raises(ValueError, match="no online ODE describes SGD on a finite training set"):
        ode_reference(a)
    res = simulate_seeds(w, **kw, seeds=2, workers=1, train_set=0.5)
    assert res.train_mean.shape == res.mean.shape and np.all(res.train_mean[-1] < res.mean[-1])


def test_finite_training_set_resumes_bit_for_bit(tmp_path):
    w = initial_weights(3, 2, 60, vstar=1.0, seed=1)
    kw = dict(eta=0.5, sigma=0.3, alpha_max=10.0, batch_size=2, train_set=1.0, seed=2, progress=False)
    full = simulate(w, **kw)
    ck = tmp_path / "run.npz"
    calls = {"n": 0}

    def stop_soon():
        calls["n"] += 1
        return calls["n"] > 3

    monkey_chunk = run_module._CHUNK_WORK
    run_module._CHUNK_WORK = 10_000
    try:
        part = simulate(w, **kw, checkpoint=ck, checkpoint_every=0.0, _stop=stop_soon)
    finally:
        run_module._CHUNK_WORK = monkey_chunk
    assert part.status == 1
    done = simulate(w, **kw, checkpoint=ck, resume=True)
    assert np.array_equal(done.weights.W, full.weights.W) and np.array_equal(done.train_loss, full.train_loss)
    with pytest.raises(ValueError, match=r"different run \(.*weight_decay: checkpoint 0.0 vs now 0.1"):
        simulate(w, **dict(kw, weight_decay=0.1), checkpoint=ck, resume=True)


# ------------------------------------------------------------------- bad input
def test_bad_model_input():
    w = initial_weights(3, 2, 50, seed=0)
    with pytest.raises(ValueError, match=r"weight_decay must be a finite number >= 0, got -0.1"):
        simulate(w, weight_decay=-0.1, alpha_max=1)
    with pytest.raises(ValueError, match=r"batch_size must be an integer >= 1, got 0"):
        simulate(w, batch_size=0, alpha_max=1)
    with pytest.raises(ValueError, match=r"output_scale must be one of 1, sqrt, K; got 'N'"):
        simulate_seeds(w, output_scale="N", alpha_max=1)
    with pytest.raises(ValueError, match=r"teacher_activation must be one of erf, linear, relu; got 'tanh'"):
        simulate(w, teacher_activation="tanh", alpha_max=1)
    with pytest.raises(ValueError, match=r"train_set must be a finite number > 0 \(samples per input dimension\)"):
        simulate(w, train_set=0, alpha_max=1)
    with pytest.raises(ValueError, match=r"unknown model parameter\(s\) \['wd'\]"):
        simulate(w, wd=0.1, alpha_max=1)
