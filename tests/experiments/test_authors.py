"""Checks behind docs/guide/paper_numbers.md (statmech.experiments.authors)."""

import collections
import pickle
import struct

import numpy as np
import pytest

from statmech.experiments import authors as au


def test_teacher_second_moment_identity_and_spread():
    # T = I: every diagonal term (2/pi) asin(1/2) = 1/3, off-diagonal 0 -> v*^2 M / 3
    assert au.teacher_second_moment(np.eye(5), 4.0) == pytest.approx(16 * 5 / 3, rel=1e-14)
    r = au.teacher_scale_spread(5, 500, draws=4000, seed=1)
    # linearised: the off-diagonal T_nm ~ N(0, 1/N) dominate, sd ~ 2 sqrt(M(M-1)/2) (1/pi) / sqrt(N) / (M/3)
    sd_lin = 2 * np.sqrt(10) / np.pi / np.sqrt(500) / (5 / 3)
    assert r.mean() == pytest.approx(1.0, abs=4 * r.std() / np.sqrt(r.size) + 0.005)
    assert r.std() == pytest.approx(sd_lin, rel=0.15)


def test_node_enumeration_k1_dpp_equals_random_and_identity_reference():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((4, 300)) * rng.uniform(0.5, 1.5, (4, 1))
    v = rng.uniform(0.5, 1.5, 4)
    r = au.node_pruning_by_enumeration(W, v, W, v, rescale=False)
    assert r["unpruned"] < 1e-14  # the student against itself
    r2 = au.node_pruning_by_enumeration(W, v, W, v)
    # rescaled rows: constant kernel diagonal, so the 1-DPP is uniform
    assert r2[1]["dpp"] == pytest.approx(r2[1]["random"], rel=1e-12)
    for k in (1, 2, 3):
        assert r2[k]["min"] <= r2[k]["random"] <= r2[k]["max"]
    with pytest.raises(ValueError, match="W must be K x N"):
        au.node_pruning_by_enumeration(W, v[:3], W, v)


def test_read_legacy_torch_state_roundtrip(tmp_path):
    # write the legacy layout by hand: magic, protocol, sys info, the dict with persistent ids, keys, raw data
    w1 = np.arange(6, dtype=np.float32).reshape(2, 3)
    w2 = np.array([[1.5, -2.0]], dtype=np.float32)

    class Rebuild:
        def __init__(self, *args):
            self.args = args

        def __reduce__(self):
            return (_rebuild_tensor_v2, self.args)

    path = tmp_path / "s.pth"
    with path.open("wb") as f:
        pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump({"little_endian": True}, f, protocol=2)

        class P(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, tuple) and obj and obj[0] == "storage":
                    return obj
                return None

        od = collections.OrderedDict(
            [
                ("w1.weight", Rebuild(("storage", "FloatStorage", "0", "cpu", 6, None), 0, (2, 3), (3, 1), False)),
                ("w2.weight", Rebuild(("storage", "FloatStorage", "1", "cpu", 2, None), 0, (1, 2), (2, 1), False)),
            ]
        )
        P(f, protocol=2).dump(od)
        pickle.dump(["0", "1"], f, protocol=2)
        for a in (w1, w2):
            f.write(struct.pack("<q", a.size))
            f.write(a.tobytes())
    d = au.read_legacy_torch_state(path)
    assert np.array_equal(d["w1.weight"], w1.astype(np.float64))
    assert np.array_equal(d["w2.weight"], w2.astype(np.float64))


def _rebuild_tensor_v2(*args):  # stands in for torch._utils._rebuild_tensor_v2 when writing the test file
    return args


def test_f1_reasons_are_only_what_was_shown():
    """Every 'likely reason' in the committed F1 summary is a recorded finding or says it was not investigated."""
    from pathlib import Path

    from statmech.experiments.authors import CLAIM_VERDICTS, GAP_FINDINGS, gap_finding

    shown = {text for *_, text in GAP_FINDINGS} | {"not investigated"}
    summary = (Path(__file__).resolve().parents[2] / "figures" / "F1_summary.md").read_text()
    rows = [line for line in summary.splitlines() if line.startswith("| 6:2") or line.startswith("| 5:20")]
    reasons = {line.rstrip(" |").rsplit("|", 1)[1].strip() for line in rows if line.count("|") >= 10}
    assert reasons and reasons <= shown, reasons - shown
    assert gap_finding("6:2", 0.0, "random-edge").startswith("the published curve lies 0.20 below")
    assert gap_finding("9:9", 0.0, "random-edge") == "not investigated"
    assert all(f"- {v}." in summary for v in CLAIM_VERDICTS)
