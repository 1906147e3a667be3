"""One figure style: every figure function draws each scheme with the style map's colour and marker,
integer axes carry integer ticks, the F1 summary states ours minus published with the right sign,
quick summaries say they are quick, and reproduce's message lists the files it wrote."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from statmech.core.vocabulary import EDGE_LSQ, EDGE_SCHEMES, NO_REWEIGHT, NODE_SCHEMES, RANDOM_EDGE, SCHEMES
from statmech.experiments import paper as ex
from statmech.plots import dynamics, paper, prune_sim, pruning, realdata, style

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def captured(monkeypatch):
    """Figures handed to save() by each plotting module, kept open for inspection."""
    figs = []

    def keep(fig, path, pdf=False):
        figs.append(fig)
        return Path(path)

    for mod in (dynamics, paper, prune_sim, pruning, realdata):
        monkeypatch.setattr(mod, "save", keep)
    yield figs
    import matplotlib.pyplot as plt

    for f in figs:
        plt.close(f)


def _marked_lines(fig):
    """(rgba colour, marker) of every drawn line that carries a marker, and of every line, in all axes."""
    marked, lines = [], []
    for ax in fig.axes:
        for ln in ax.get_lines():
            if len(ln.get_xdata()) == 0:
                continue
            col = to_rgba(ln.get_color())
            lines.append((col, ln.get_linestyle()))
            if ln.get_marker() not in (None, "None", "", " ", "_", "|"):  # "_", "|": error-bar caps
                face = ln.get_markerfacecolor()
                edge = ln.get_markeredgecolor()
                shown = to_rgba(edge) if face in ("none", "None") else to_rgba(face)
                marked.append((shown, ln.get_marker()))
    return marked, lines


def _check_schemes(fig, schemes, tones=(0.0,)):
    """Each scheme appears with its own colour (or a sigma tone of it) and marker; no scheme's marker in another's
    colour."""
    marked, _ = _marked_lines(fig)
    for s in schemes:
        st = style.SCHEME_STYLE[s]
        ok = {to_rgba(style.tint(st.color, t)) for t in tones}
        assert any(c in ok and m == st.marker for c, m in marked), s
    colours = {
        to_rgba(style.tint(st.color, t)): name for name, st in style.SCHEME_STYLE.items() for t in (0.0, 0.45, 0.5)
    }
    for c, m in marked:
        if c in colours:
            assert m == style.SCHEME_STYLE[colours[c]].marker, (colours[c], m)


def _summary(schemes, sigmas=(0.0,), reweights=(NO_REWEIGHT,), seed=0):
    rng = np.random.default_rng(seed)
    cols = {c: [] for c in ("sigma", "scheme", "k", "reweight", "eps_g_mean", "eps_g_stderr", "eps_g_theory_mean")}
    for sig in sigmas:
        for s in schemes:
            for rw in reweights:
                for k in range(1, 6):
                    y = 4.0 / k * (1.3 if s in NODE_SCHEMES else 1.0) * (0.5 if rw != NO_REWEIGHT else 1.0)
                    for c, v in zip(cols, (sig, s, k, rw, y * (1 + 0.05 * rng.standard_normal()), 0.02 * y, y)):
                        cols[c].append(v)
    return {c: np.asarray(v) for c, v in cols.items()}


def test_style_map_covers_the_vocabulary_and_families():
    assert tuple(style.SCHEME_STYLE) == SCHEMES
    assert {style.SCHEME_STYLE[s].marker for s in NODE_SCHEMES} == set("osD")
    assert {style.SCHEME_STYLE[s].marker for s in EDGE_SCHEMES} == set("^v>")
    # random / importance / DPP differ in line style within each family (greyscale)
    for fam in (NODE_SCHEMES, EDGE_SCHEMES):
        assert len({str(style.SCHEME_STYLE[s].linestyle) for s in fam}) == 3
    assert len({style.SCHEME_STYLE[s].color for s in SCHEMES}) == 6
    with pytest.raises(ValueError, match="scheme must be one of"):
        style.scheme_style("magic-node")
    assert style.scheme_style("dpp-node, optimal") is style.SCHEME_STYLE["dpp-node"]


def test_prune_sim_errors_use_the_style_map_and_integer_ticks(captured, tmp_path):
    pub = {0.0: {s: [4.0 / k for k in range(1, 6)] for s in SCHEMES}}
    prune_sim.pruned_errors(
        _summary(SCHEMES, sigmas=(0.0, 0.25)), tmp_path / "a.png", theory_column="eps_g_theory_mean", published=pub
    )
    fig = captured[-1]
    _check_schemes(fig, SCHEMES)
    fig.canvas.draw()
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
        assert ax.get_ylabel()
    # the legend lies outside every axes (never over the data)
    leg = fig.axes[-1].get_legend()
    assert leg is not None
    fig_box, ax_box = leg.get_window_extent(), fig.axes[-1].get_window_extent()
    assert fig_box.x0 >= ax_box.x1


def test_reweighting_effect_styles_and_coinciding_curves(captured, tmp_path):
    s = _summary(EDGE_SCHEMES, reweights=(NO_REWEIGHT, EDGE_LSQ))
    # edge-lsq equal to none for random edge: the legend must say so
    same = (s["scheme"] == RANDOM_EDGE) & (s["reweight"] == EDGE_LSQ)
    base = (s["scheme"] == RANDOM_EDGE) & (s["reweight"] == NO_REWEIGHT)
    s["eps_g_mean"][same] = s["eps_g_mean"][base]
    prune_sim.reweighting_effect([("sigma = 0", s)], tmp_path / "r.png")
    fig = captured[-1]
    _check_schemes(fig, EDGE_SCHEMES)
    labels = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert "random edge, edge-lsq (coincides with none)" in labels
    assert "DPP edge, edge-lsq" in labels  # halved: not the same curve
    fig.canvas.draw()
    ax = fig.axes[0]
    assert all(float(t).is_integer() for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1])


def test_pruning_theory_figure_and_phase_diagram(captured, tmp_path):
    x = [1 / 6, 2 / 6, 3 / 6]
    pruning.pruned_errors(
        x,
        {s: [3.0, 2.0, 1.0] for s in SCHEMES},
        tmp_path / "e.png",
        unpruned=0.1,
        published={s: [3, 2, 1] for s in SCHEMES},
    )
    _check_schemes(captured[-1], SCHEMES)
    bare = {  # theory: a line without markers in the scheme's colour
        to_rgba(ln.get_color())
        for ax in captured[-1].axes
        for ln in ax.get_lines()
        if ln.get_marker() in ("None", None, "") and len(ln.get_xdata()) > 1
    }
    assert all(to_rgba(style.SCHEME_STYLE[s].color) in bare for s in SCHEMES)
    rows = {"z": [1.0, 2.0], "keep_fraction": [0.5, 0.5], **{c: ["holds", "fails"] for c in ("C1", "C2", "C3", "C3x")}}
    pruning.phase_diagram(rows, None, None, tmp_path / "p.png")
    titles = [ax.get_title() for ax in captured[-1].axes]
    assert any(t.startswith("C3x: DPP edge beats every scheme") for t in titles), titles


def test_f1_grid_styles_both_sigmas(captured, tmp_path):
    cols = {c: [] for c in ("config", "sigma", "scheme", "k", "published", "theory", "sim_mean", "sim_stderr")}
    for cfg, K, schemes in (("6:2", 6, SCHEMES), ("5:20", 20, (RANDOM_EDGE, "dpp-node"))):
        for sig in (0.0, 0.25):
            for s, k in [("unpruned", K)] + [(s, k) for s in schemes for k in range(1, 6)]:
                y = 0.05 if s == "unpruned" else 4.0 / k
                for c, v in zip(cols, (cfg, sig, s, k, y, y, y * 1.01, 0.01)):
                    cols[c].append(v)
    configs = {"6:2": {"K": 6, "M": 2, "N": 500, "alpha": 1600}, "5:20": {"K": 20, "M": 5, "N": 500, "alpha": 3000}}
    paper.f1_grid({c: np.asarray(v) for c, v in cols.items()}, tmp_path / "f1.png", configs=configs)
    fig = captured[-1]
    _check_schemes(fig, SCHEMES, tones=(0.0,))
    _check_schemes(fig, SCHEMES, tones=(style.sigma_tone(0.25),))
    titles = [ax.get_title() for ax in fig.axes]
    assert any("K:M = 20:5 (paper's 5:20)" in t for t in titles) and any("K:M = 6:2" in t for t in titles)


def test_dynamics_panels_styles_and_labels(captured, tmp_path):
    a = np.geomspace(0.01, 100, 20)
    curves = SimpleNamespace(
        alpha=a, unpruned=1 / (1 + a), eps_g={s: 2 / (1 + a) for s in SCHEMES}, params={"keep": 3, "N": 500}
    )
    sim = {s: (a, 2 / (1 + a), 0.01 + 0 * a) for s in SCHEMES}
    retrained = {s: (a, 1 / (1 + a) + 0.2) for s in SCHEMES}
    dynamics.pruning_dynamics(
        curves, tmp_path / "d.png", sim_pruned=sim, retrained=retrained, sim_retrained=sim, limit=retrained
    )
    fig = captured[-1]
    _check_schemes(fig, SCHEMES)
    assert all(ax.get_ylabel() for ax in fig.axes)  # every panel has a y label
    assert "nearly coincide" in fig.axes[1].get_title()  # identical node curves say so
    dynamics.masked_deviation([500, 2000], {s: ([0.02, 0.01], [0.002, 0.002]) for s in EDGE_SCHEMES}, tmp_path / "m")
    _check_schemes(captured[-1], EDGE_SCHEMES)


def test_realdata_published_panel_apart_and_labelled(captured, tmp_path):
    rows = [
        {"scheme": s, "reweight": rw, "fraction": f, "error_mean": 0.1 / f, "error_std": 0.01}
        for s in SCHEMES
        for rw in (NO_REWEIGHT, "optimal-readout")
        for f in (0.2, 0.5)
    ]
    pub = {"edge_fractions": [0.2, 0.5], "error_percent": {"dpp-edge": [20, 5]}, "unpruned_error_percent": 2.0}
    realdata.realdata_errors(rows, 0.02, tmp_path / "rd.png", published=pub)
    fig = captured[-1]
    _check_schemes(fig, SCHEMES)
    titles = [ax.get_title() for ax in fig.axes]
    assert "published, MNIST (not comparable:\ndifferent data and network)" in titles
    assert not fig.axes[2].axison  # an empty gap between our panels and the published one
    pub_ax = fig.axes[-1]
    assert all(ln.get_markerfacecolor() == "none" for ln in pub_ax.get_lines() if ln.get_marker() not in ("None", None))


# ------------------------------------------------------------------ summaries
def _f1_table(ours_minus_pub0: float, ours_minus_pub25: float):
    cols = {
        c: []
        for c in (
            "config",
            "sigma",
            "scheme",
            "k",
            "published",
            "theory",
            "theory_sim_students",
            "sim_mean",
            "sim_stderr",
        )
    }
    for sig, d in ((0.0, ours_minus_pub0), (0.25, ours_minus_pub25)):
        for s, base in ((RANDOM_EDGE, 10.0), ("dpp-node", 11.0)):  # random edge below DPP node: C2 holds
            for k in range(1, 6):
                pub = base - k + 2 * sig
                for c, v in zip(cols, ("5:20", sig, s, k, pub, pub + d, pub + d, pub + d, 0.01)):
                    cols[c].append(v)
    return {c: np.asarray(v) for c, v in cols.items()}


def _configs():
    return {n: ex.paper_config(n) for n in ("6:2", "5:20")}


def test_f1_summary_states_ours_minus_published_with_its_sign():
    text = ex.summary_markdown(_f1_table(1.6, -0.31), sizes=ex.FULL, configs=_configs())
    assert "+1.60 (ours above the published points) at sigma = 0" in text
    assert "-0.31 (ours below the published points) at sigma = 0.25" in text
    assert ex.ours_minus_published(2.0, 1.5) == "+0.50 (ours above the published points)"
    assert ex.ours_minus_published(1.0, 1.5) == "-0.50 (ours below the published points)"


def test_quick_summary_says_so_first_and_draws_no_conclusion():
    table = _f1_table(1.6, -0.31)
    full = ex.summary_markdown(table, sizes=ex.FULL, configs=_configs())
    assert "Reproduced at every budget" in full and "likely reason" in full  # the verdicts exist in full mode
    quick = ex.summary_markdown(table, sizes=ex.QUICK, configs=_configs())
    first = quick.splitlines()[0]
    assert first.startswith("**Quick run at reduced sizes (N = 60") and "no conclusion" in first
    for word in ("Reproduced", "reproduced", "Fails", "fails", "likely reason", "Reasons are assigned"):
        assert word not in quick, word
    assert "+1.60 (ours above the published points)" in quick  # the numbers stay


def test_reproduce_message_lists_exactly_the_files_written(tmp_path):
    res = ex.reproduce(tmp_path, figures=("F4",), quick=True, log=lambda m: None)
    on_disk = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert sorted(p.name for p in res["written"]) == on_disk == ["F4.csv", "F4.json", "F4.png"]
    assert res["message"].startswith(f"reproduce (quick): wrote 3 files to {tmp_path}")
    assert res["message"].endswith(": F4.csv, F4.json, F4.png")


def test_replot_redraws_from_the_committed_tables(tmp_path):
    import shutil

    for name in ("F1.csv", "F1.json", "prune_sim_clean_summary.csv", "prune_sim_clean_summary.json"):
        shutil.copy(REPO / "figures" / name, tmp_path / name)
    res = ex.replot(tmp_path, log=lambda m: None)
    assert sorted(p.name for p in res["written"]) == ["F1.png", "F1_summary.md", "prune_sim_clean.png"]
    for p in res["written"]:
        assert p.stat().st_size > 1000
    assert (tmp_path / "F1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (tmp_path / "F1_summary.md").read_text()
    assert "+1.60 (ours above the published points) at sigma = 0." in text  # the committed 5:20 sigma = 0 run
    with pytest.raises(ValueError, match="only must name figures from"):
        ex.replot(tmp_path, only=["nope.png"])
