"""Initial conditions (statmech.core.initial): structure of each start, the teacher, and bad input."""

import numpy as np
import pytest

from statmech import State, Weights
from statmech.core.initial import (
    SMALL_VARIANCE,
    check_vstar,
    initial_state,
    initial_weights,
    teacher_overlaps,
    weights_from_state,
)
from statmech.core.state import random_weights


def test_random_is_the_paper_start_bit_for_bit():
    w = initial_weights(6, 2, 500, vstar=4.0, seed=0)
    ref = Weights.random(6, 2, 500, vstar=4.0, seed=0)
    for k in ("W", "Wstar", "v", "vstar"):
        assert np.array_equal(getattr(w, k), getattr(ref, k))
    assert initial_state(6, 2, 500, vstar=4.0, seed=0) == State.random(6, 2, 500, vstar=4.0, seed=0)
    W, Ws, v, vs = random_weights(3, 2, 40, vstar=[1.0, 2.0], seed=5)
    assert np.array_equal(initial_weights(3, 2, 40, vstar=[1.0, 2.0], seed=5).W, W)


@pytest.mark.parametrize("init", ["random", "small", "informed", "denoise"])
def test_the_ode_start_is_the_state_of_the_same_draw(init):
    kw = dict(init=init, vstar=[2.0, -1.0], teacher_overlap=0.3, seed=7)
    assert initial_state(5, 2, 300, **kw) == initial_weights(5, 2, 300, **kw).state()


def test_teacher_overlaps_are_met_exactly():
    """T = (1 - rho) I + rho 11^T at finite N (orthonormalised rows), and the eigenvalues that bound rho."""
    T = teacher_overlaps(3, 0.4)
    assert np.allclose(np.linalg.eigvalsh(T), [0.6, 0.6, 1.8])
    w = initial_weights(4, 3, 200, teacher_overlap=0.4, vstar=[2.0, 1.0, -0.5], seed=1)
    assert np.allclose(w.state().T, T, rtol=0, atol=1e-12)
    assert np.array_equal(w.vstar, [2.0, 1.0, -0.5])
    # a T given directly, singular (rho at the lower end is excluded from teacher_overlap, but T may be PSD)
    Ts = np.array([[1.0, 1.0], [1.0, 1.0]])
    assert np.allclose(initial_weights(2, 2, 50, T=Ts, seed=0).state().T, Ts, atol=1e-12)
    # teacher weights given: kept as they are
    Wstar = np.random.default_rng(3).standard_normal((2, 50))
    assert np.array_equal(initial_weights(2, 2, 50, Wstar=Wstar, seed=0).Wstar, Wstar)


def test_small_start_has_small_overlaps():
    """Entries of W and v with variance 1/2000: Q_ii = 1/2000 within its sampling error sqrt(2/N) / 2000."""
    N = 4000
    st = initial_state(4, 2, N, init="small", seed=2)
    assert np.all(np.abs(np.diag(st.Q) - SMALL_VARIANCE) < 5 * np.sqrt(2 / N) * SMALL_VARIANCE)
    # R_in = w_i . w*_n / N has standard deviation sqrt(SMALL_VARIANCE / N)
    assert np.all(np.abs(st.R) < 5 * np.sqrt(SMALL_VARIANCE / N))
    assert np.all(np.abs(st.v) < 5 * np.sqrt(SMALL_VARIANCE))


def test_informed_start_puts_the_first_units_on_the_teacher():
    N, noise = 4000, 0.1
    st = initial_state(4, 2, N, init="informed", vstar=[2.0, 1.0], teacher_overlap=0.3, seed=3, noise=noise)
    # w_k = w*_k + noise z_k: R_kn = T_kn + O(noise / sqrt N), Q_kk = T_kk + noise^2 + O(1/sqrt N)
    assert np.allclose(st.R[:2], st.T, atol=5 * noise * np.sqrt(2 / N))
    assert np.allclose(np.diag(st.Q)[:2], 1 + noise**2, atol=5 * np.sqrt(2 / N))
    assert np.all(np.abs(st.R[2:]) < 5 * noise / np.sqrt(N))
    assert np.all(np.abs(st.v[:2] - [2.0, 1.0]) < 5 * noise) and np.all(np.abs(st.v[2:]) < 5 * noise)


def test_denoise_start_shares_v_among_the_copies():
    """K = 5, M = 2: units 0, 2, 4 copy teacher 0 (3 copies), units 1, 3 teacher 1 (2 copies)."""
    st = initial_state(5, 2, 3000, init="denoise", vstar=[3.0, -1.0], seed=4, noise=0.05)
    assert np.allclose(st.v, [1.0, -0.5, 1.0, -0.5, 1.0])
    owner = np.arange(5) % 2
    # R_k,owner = T_owner,owner + noise z_k . w*_owner / N (standard deviation noise sqrt(T / N))
    assert np.allclose(st.R[np.arange(5), owner], st.T[owner, owner], atol=5 * 0.05 * np.sqrt(1.1 / 3000))
    # copies overlap like their teacher unit with itself, units of different teachers like the teachers
    assert np.allclose(st.Q[0, 2], st.T[0, 0], atol=5 * 0.05 * np.sqrt(2.2 / 3000))
    assert np.allclose(st.Q[0, 1], st.T[0, 1], atol=5 * 0.05 * np.sqrt(2.2 / 3000))
    # the copies' outputs add up to the teacher's: at zero noise the student computes the teacher's function
    exact = initial_state(5, 2, 3000, init="denoise", vstar=[3.0, -1.0], seed=4, noise=0.0)
    from statmech.ode.generalisation import eps_g

    assert eps_g(exact) < 1e-20


def test_weights_from_a_state_have_its_overlaps():
    st = State.random(3, 2, 100, vstar=[1.0, 2.0], seed=1)
    w = weights_from_state(st, 250, seed=5)
    assert w.N == 250 and w.state().allclose(st, rtol=1e-10, atol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match=r"teacher_overlap must lie in \(-1/\(M-1\), 1\) = \(-0.5, 1\) for M=3"):
        teacher_overlaps(3, -0.5)
    with pytest.raises(ValueError, match=r"teacher_overlap must lie in .* got 1.0"):
        teacher_overlaps(2, 1.0)
    with pytest.raises(ValueError, match=r"vstar must have 1 value \(every teacher unit\) or M=2 values, got 3"):
        check_vstar([1, 2, 3], 2)
    with pytest.raises(ValueError, match=r"init \(initial condition\) must be one of random, small, informed, denoise"):
        initial_weights(3, 2, 10, init="large")
    with pytest.raises(ValueError, match=r"init 'denoise' copies teacher units into student units and needs K >= M"):
        initial_weights(2, 3, 10, init="denoise")
    with pytest.raises(ValueError, match=r"T must be positive semi-definite"):
        initial_weights(2, 2, 10, T=[[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match=r"give one of teacher_overlap, T and Wstar"):
        initial_weights(2, 2, 10, T=np.eye(2), teacher_overlap=0.1)
    with pytest.raises(ValueError, match=r"exact overlaps of 5 vectors need N >= 5, got N=3"):
        weights_from_state(State.random(3, 2, 10, seed=0), 3)
