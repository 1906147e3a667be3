"""State and Weights: construction, validation, .npz round trips, bad input."""

import dataclasses

import numpy as np
import pytest

import statmech as sm
from statmech.core.io import PROVENANCE_KEY
from statmech.core.state import STATE_KEYS


def test_from_weights_matches_definitions(rng):
    K, M, N = 4, 3, 50
    W, Ws = rng.standard_normal((K, N)), rng.standard_normal((M, N))
    v, vs = rng.standard_normal(K), rng.standard_normal(M)
    s = sm.State.from_weights(W, Ws, v, vs)
    # element-wise sums, not the matrix products used in the code
    for i in range(K):
        for k in range(K):
            assert s.Q[i, k] == pytest.approx(sum(W[i, j] * W[k, j] for j in range(N)) / N, rel=1e-12)
        for n in range(M):
            assert s.R[i, n] == pytest.approx(sum(W[i, j] * Ws[n, j] for j in range(N)) / N, rel=1e-12)
    assert s.K == K and s.M == M
    np.testing.assert_array_equal(s.v, v)


def test_random_state_is_state_of_random_weights_and_law():
    s = sm.State.random(6, 2, 500, vstar=4.0, seed=3)
    w = sm.Weights.random(6, 2, 500, vstar=4.0, seed=3)
    assert s == w.state()
    np.testing.assert_array_equal(s.vstar, [4.0, 4.0])
    # Q_ii of N(0,1) rows at N = 500 is 1 +- sqrt(2/500): 6 standard deviations
    assert np.all(np.abs(np.diag(s.Q) - 1) < 6 * np.sqrt(2 / 500))
    assert np.all(np.abs(s.R) < 6 / np.sqrt(500))
    assert sm.State.random(6, 2, 500, seed=4) != s


def test_arrays_are_read_only_and_float64():
    s = sm.State.random(3, 2, 10, seed=0)
    for k in STATE_KEYS:
        a = getattr(s, k)
        assert a.dtype == np.float64
        with pytest.raises(ValueError):
            a[...] = 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.Q = np.eye(3)


def test_save_load_round_trip(tmp_path):
    s = sm.State.random(5, 3, 40, vstar=[1.0, 2.0, 3.0], seed=1)
    p = s.save(tmp_path / "s.npz")
    with np.load(p) as d:
        assert sorted(d.files) == sorted((*STATE_KEYS, PROVENANCE_KEY))  # the fields and the provenance record
    assert sm.State.load(p) == s
    w = sm.Weights.random(5, 3, 40, seed=1)
    assert np.array_equal(sm.Weights.load(w.save(tmp_path / "w.npz")).W, w.W)


def test_replace_validates():
    s = sm.State.random(2, 2, 10, seed=0)
    assert s.replace(v=np.array([1.0, 2.0])).v[1] == 2.0
    with pytest.raises(ValueError, match="shape"):
        s.replace(v=np.ones(3))


@pytest.mark.parametrize(
    "fields, match",
    [
        (dict(Q=np.eye(2), R=np.zeros((2, 1)), T=np.eye(1), v=np.ones(2), vstar=np.ones(1)), None),
        (
            dict(Q=np.eye(3), R=np.zeros((2, 1)), T=np.eye(1), v=np.ones(2), vstar=np.ones(1)),
            r"Q must have shape \(2, 2\)",
        ),
        (dict(Q=np.eye(2), R=np.zeros((2, 2)), T=np.eye(1), v=np.ones(2), vstar=np.ones(1)), r"R must have shape"),
        (
            dict(Q=[[1, 0.5], [0.2, 1]], R=np.zeros((2, 1)), T=np.eye(1), v=np.ones(2), vstar=np.ones(1)),
            "Q must be symmetric",
        ),
        (
            dict(Q=[[1, 2], [2, 1]], R=np.zeros((2, 1)), T=np.eye(1), v=np.ones(2), vstar=np.ones(1)),
            "positive semi-definite",
        ),
        (dict(Q=np.eye(2), R=[[2.0], [0]], T=np.eye(1), v=np.ones(2), vstar=np.ones(1)), "positive semi-definite"),
        (dict(Q=np.eye(2), R=np.zeros((2, 1)), T=np.eye(1), v=[1, np.nan], vstar=np.ones(1)), "NaN"),
        (
            dict(Q=np.zeros((0, 0)), R=np.zeros((0, 1)), T=np.eye(1), v=np.ones(0), vstar=np.ones(1)),
            "K .* must be >= 1",
        ),
        (
            dict(Q=np.eye(2), R=np.zeros((2, 0)), T=np.zeros((0, 0)), v=np.ones(2), vstar=np.ones(0)),
            "M .* must be >= 1",
        ),
    ],
)
def test_validation(fields, match):
    if match is None:
        assert sm.State(**fields).K == 2
    else:
        with pytest.raises(ValueError, match=match):
            sm.State(**fields)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="K must be an integer >= 1"):
        sm.State.random(0, 2, 10)
    with pytest.raises(ValueError, match="M must be an integer >= 1"):
        sm.State.random(2, 0, 10)
    with pytest.raises(ValueError, match="N must be an integer >= 1"):
        sm.Weights.random(2, 2, 0)
    with pytest.raises(ValueError, match="share N"):
        sm.State.from_weights(np.ones((2, 3)), np.ones((1, 4)), np.ones(2), np.ones(1))


def test_malformed_state_files(tmp_path):
    np.savez(tmp_path / "missing.npz", Q=np.eye(2), R=np.zeros((2, 1)), T=np.eye(1), v=np.ones(2))
    with pytest.raises(ValueError, match=r"missing key\(s\) \['vstar'\]"):
        sm.State.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "shape.npz", Q=np.eye(3), R=np.zeros((2, 1)), T=np.eye(1), v=np.ones(2), vstar=np.ones(1))
    with pytest.raises(ValueError, match="shape.npz: Q must have shape"):
        sm.State.load(tmp_path / "shape.npz")
    (tmp_path / "junk.npz").write_text("not an npz")
    with pytest.raises(ValueError, match="not a valid .npz"):
        sm.State.load(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="does not exist"):
        sm.State.load(tmp_path / "nope.npz")
    np.save(tmp_path / "single.npy", np.eye(2))
    with pytest.raises(ValueError, match="single array"):
        sm.State.load(tmp_path / "single.npy")
    np.savez(tmp_path / "w.npz", W=np.ones((2, 5)), Wstar=np.ones((1, 4)), v=np.ones(2), vstar=np.ones(1))
    with pytest.raises(ValueError, match="share N"):
        sm.Weights.load(tmp_path / "w.npz")


def test_weights_validation_names_the_array():
    """Weights validates its arrays like State (one helper): non-numeric, wrong rank, NaN."""
    from statmech import Weights

    W, Ws = np.ones((2, 3)), np.ones((1, 3))
    with pytest.raises(ValueError, match="W must be a numeric array"):
        Weights(W=[["a", "b", "c"]] * 2, Wstar=Ws, v=[1, 1], vstar=[1])
    with pytest.raises(ValueError, match="v must be 1-dimensional"):
        Weights(W=W, Wstar=Ws, v=np.ones((2, 1)), vstar=[1])
    with pytest.raises(ValueError, match="Wstar contains NaN"):
        Weights(W=W, Wstar=np.full((1, 3), np.nan), v=[1, 1], vstar=[1])


def test_complex_string_and_object_arrays_are_refused_by_name(tmp_path):
    """Casting would drop an imaginary part or parse strings: refused, naming the array (also from a file)."""
    s = sm.State.random(3, 2, 20, seed=0)
    with pytest.raises(ValueError, match=r"^Q must be real, got complex values \(dtype complex128\)$"):
        sm.State(s.Q + 1j * np.eye(3), s.R, s.T, s.v, s.vstar)
    with pytest.raises(ValueError, match=r"^v must be a numeric array, got strings"):
        sm.State(s.Q, s.R, s.T, ["1", "2", "3"], s.vstar)
    with pytest.raises(ValueError, match=r"^vstar must be a numeric array, got Python objects"):
        sm.State(s.Q, s.R, s.T, s.v, np.array([1.0, None]))
    with pytest.raises(ValueError, match=r"^W must be real, got complex values"):
        sm.Weights(W=np.ones((2, 3)) * (1 + 0j), Wstar=np.ones((1, 3)), v=[1, 1], vstar=[1])
    np.savez(tmp_path / "c.npz", Q=s.Q, R=s.R, T=s.T, v=s.v + np.array([0.2 + 5j, 0, 0]), vstar=s.vstar)
    with pytest.raises(ValueError, match=r"state file .*c\.npz: v must be real, got complex values"):
        sm.State.load(tmp_path / "c.npz")
    # real input of any numeric dtype is still accepted (ints, bools, float32)
    assert sm.State(s.Q.astype(np.float32).astype(np.float64), s.R, s.T, np.array([1, 2, 3]), [True, True]).K == 3
