"""``statmech prune-sim``: prune real finite-N students and compare with the N -> infinity theory."""

from __future__ import annotations

import argparse

from statmech.commands._common import (
    ListAction,
    add_model_args,
    finite_float,
    model_from_args,
    nonneg_float,
    out_dir,
    positive_float,
    positive_int,
    seed_int,
)
from statmech.core import vocabulary as V
from statmech.core.lock import output_lock
from statmech.core.model import Model


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prune-sim",
        help="prune real trained students (finite N) with every scheme; theory beside simulation (CSV, PNG)",
        description=(
            "Train students by online SGD (or load --weights), prune their real weights with real masks "
            "(k-DPP samples from kernels estimated on P = alpha N streamed inputs, magnitude thresholds, "
            "least-squares reweighting), score every pruned network (eps_g of its order parameters and the "
            "noisy test loss on 0.1 P test inputs) and put the N -> infinity prediction from the measured "
            "order parameters beside it. Writes DIR/prune_sim.csv (one row per mask), "
            "DIR/prune_sim_summary.csv (mean and standard errors over masks and students, theory), "
            "DIR/prune_sim_theory.csv, DIR/prune_sim_coordinates.csv (Gaussian-coordinate check), the "
            "figures prune_sim.png, prune_sim_coordinates.png, prune_sim_inclusion.png and the students' "
            "weights; parameters and the model in the JSON sidecars. The model: --activation (student g), "
            "--teacher-activation (g*, default g), --output-scale (phi = (1/s_K) sum v g, the teacher with s_M; "
            "a pruned network keeps the unpruned s_K) for training and scoring; --weight-decay and "
            "--batch-size for training (refused with --weights)."
        ),
    )
    p.add_argument("--K", type=positive_int, help="student hidden units (default 6; with --weights: the files' value)")
    p.add_argument("--M", type=positive_int, help="teacher hidden units (default 2; with --weights: the files' value)")
    p.add_argument("--N", type=positive_int, help="input dimension (default 500; with --weights: the files' value)")
    p.add_argument("--vstar", type=finite_float, default=None, help="teacher second-layer weight (default 4)")
    p.add_argument("--eta", type=nonneg_float, default=None, help="first-layer learning rate (default 0.5)")
    p.add_argument("--eta-v", type=nonneg_float, default=None, help="second-layer learning rate (default 0.5)")
    p.add_argument(
        "--alpha-max",
        "--alpha",
        dest="alpha_max",
        type=positive_float,
        default=1600.0,
        help="training time alpha; P = alpha N training samples (default 1600)",
    )
    p.add_argument(
        "--sigma",
        type=nonneg_float,
        action=ListAction,
        default=[0.0],
        help="output-noise standard deviation(s), training and test labels (default 0)",
    )
    p.add_argument("--activation", choices=V.ACTIVATIONS, default=V.ERF, help="g (default erf)")
    add_model_args(p, include=("teacher_activation", "weight_decay", "batch_size", "output_scale"))
    p.add_argument(
        "--runs", "--seeds", dest="runs", type=positive_int, default=None, help="number of trained students (default 3)"
    )
    p.add_argument("--seed", type=seed_int, default=0, help="first student seed (default 0)")
    p.add_argument(
        "--weights",
        nargs="+",
        metavar="FILE.npz",
        help="load students (statmech.Weights files) instead of training; one student per file",
    )
    p.add_argument(
        "--pipeline",
        choices=V.PIPELINE_NAMES,
        default=V.PAPER_PIPELINE,
        help="paper: rows renormalised, signed-v importance, 5 masks, noisy test loss; "
        "clean: as trained, |v| importance, 10 masks, eps_g (default paper)",
    )
    p.add_argument(
        "--schemes",
        "--scheme",
        dest="schemes",
        action=ListAction,
        choices=V.SCHEMES + (V.ALL,),
        default=[V.ALL],
        help="pruning schemes, separated by spaces or commas, or all (default all)",
    )
    p.add_argument("--keep", type=positive_int, action=ListAction, help="node budgets k (default 1..K-1)")
    p.add_argument("--masks", type=positive_int, help="masks per scheme and budget (default: 5 paper, 10 clean)")
    p.add_argument(
        "--score",
        "--importance",
        dest="score",
        choices=V.IMPORTANCE_SCORES,
        help="importance-node score (default: signed-v paper, abs-v clean)",
    )
    p.add_argument(
        "--kernel",
        "--node-kernel",
        dest="kernel",
        choices=V.NODE_KERNELS,
        default=None,
        help=f"DPP-node kernel (default {V.LINEAR_PREACTIVATION}, the paper's linear kernel)",
    )
    p.add_argument("--beta", type=positive_float, default=None, help="Gaussian node kernel width (default 1)")
    p.add_argument("--eps", type=nonneg_float, default=None, help="Gaussian node kernel ridge (default 0)")
    p.add_argument("--jitter", type=nonneg_float, default=None, help="ridge added to the DPP node kernel (default 0)")
    p.add_argument(
        "--edge-kernel",
        choices=V.EDGE_KERNELS,
        default=None,
        help="DPP-edge kernel: diag(w) (X^T X/P) diag(w) from data (data, default) or its white limit diag(w^2)",
    )
    p.add_argument(
        "--reweight",
        action=ListAction,
        default=[V.NO_REWEIGHT],
        choices=V.REWEIGHTS,
        help="reweightings scored for every mask, each applied to the schemes it belongs to "
        "(optimal-readout: N -> infinity theory only; default none)",
    )
    p.add_argument(
        "--input-corr",
        type=float,
        default=0.0,
        help="correlated inputs: covariance rho^|i-j| (default 0: white); students are still trained on white inputs",
    )
    p.add_argument("--n-kernel", type=positive_int, help="inputs for the kernels (default P = alpha N)")
    p.add_argument("--n-test", type=positive_int, help="test-set size (default 0.1 P)")
    p.add_argument(
        "--inclusion-masks",
        type=int,
        default=400,
        help="DPP-edge masks for the inclusion-probability check of unit 0 at k = K/2 (0: skip; default 400)",
    )
    p.add_argument("--no-theory", action="store_true", help="skip the N -> infinity predictions")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.set_defaults(func=run)


# options of the training, which does not happen with --weights
_TRAINING = (
    ("--vstar", "vstar"),
    ("--eta", "eta"),
    ("--eta-v", "eta_v"),
    ("--runs", "runs"),
    ("--weight-decay", "weight_decay"),
    ("--batch-size", "batch_size"),
)


def _model(args: argparse.Namespace) -> Model:
    """The Model of training and scoring (sigma 0: each --sigma value replaces it); training options beside
    --weights are refused (the students are loaded, not trained)."""
    if args.weights:
        default = {"weight_decay": 0.0, "batch_size": 1}
        for flag, name in _TRAINING:
            value = getattr(args, name)
            if value is not None and value != default.get(name):
                raise ValueError(f"{flag} {value} is a training option; the --weights students are not trained")
    ns = argparse.Namespace(**dict(vars(args), sigma=0.0))
    ns.eta = 0.5 if args.eta is None else args.eta
    ns.eta_v = 0.5 if args.eta_v is None else args.eta_v
    return model_from_args(ns, supported=("teacher_activation", "weight_decay", "batch_size", "output_scale"))


def _is_paper_model(model: Model) -> bool:
    return (
        model.activation == model.teacher_activation == V.ERF
        and model.output_scale == "1"
        and model.weight_decay == 0
        and model.batch_size == 1
    )


def run(args: argparse.Namespace) -> int:
    model = _model(args)

    from statmech.core.io import write_table
    from statmech.experiments.published import published_6_2
    from statmech.plots import prune_sim as fig
    from statmech.pruning.finite import masks as pw
    from statmech.pruning.finite import students as ps

    schemes = ps.pipeline_schemes(
        args.pipeline,
        args.schemes,
        score=args.score,
        kernel=args.kernel,
        beta=args.beta,
        eps=args.eps,
        jitter=args.jitter,
        edge_kernel=args.edge_kernel,
    )
    reweight = ps.check_reweights(args.reweight, schemes)
    if not -1 < args.input_corr < 1:
        raise ValueError(f"--input-corr must lie in (-1, 1), got {args.input_corr}")
    if args.inclusion_masks < 0:
        raise ValueError(f"--inclusion-masks must be >= 0, got {args.inclusion_masks}")
    given = {"--K": args.K, "--M": args.M, "--N": args.N}
    if args.weights:
        students, (K, M, N) = ps.load_students(args.weights)
        for (flag, value), have in zip(given.items(), (K, M, N)):
            if value is not None and value != have:
                raise ValueError(f"{flag} {value} conflicts with the weights files ({flag[2:]} = {have}); drop {flag}")
    else:
        students = None
        K, M, N = (
            (6 if args.K is None else args.K),
            (2 if args.M is None else args.M),
            (500 if args.N is None else args.N),
        )
    if args.keep:
        for k in args.keep:
            pw.check_node_budget(k, K)
    cov = pw.toeplitz_covariance(N, args.input_corr) if args.input_corr != 0 else None
    out = out_dir(args.out)
    with output_lock(out):
        params = {k: v for k, v in vars(args).items() if k not in ("func",)}
        params.update(K=K, M=M, N=N)
        if not args.weights:
            params.update(vstar=4.0 if args.vstar is None else args.vstar, eta=model.eta, eta_v=model.eta_v)
            params.update(runs=3 if args.runs is None else args.runs)
        # the model of every student; sigma: the --sigma values (one student set each)
        params["model"] = dict(model.to_dict(), sigma=args.sigma[0] if len(args.sigma) == 1 else list(args.sigma))
        if args.weights:  # loaded, not trained: the network and the test labels' noise only
            params["model"] = {
                k: v
                for k, v in params["model"].items()
                if k in ("activation", "teacher_activation", "output_scale", "sigma")
            }
        prune_kwargs = dict(
            schemes=schemes,
            keep=args.keep,
            n_masks=args.masks,
            n_kernel=args.n_kernel,
            n_test=args.n_test,
            input_covariance=cov,
            reweight=reweight,
            theory=not args.no_theory,
        )
        measure = ps.PIPELINES[args.pipeline].measure

        def write(partial):
            res0 = partial["results"][0]
            meta = dict(params, **{k: v for k, v in res0.params.items() if k not in params})
            meta["model"] = params["model"]
            write_table(out / "prune_sim.csv", partial["records"], meta, descriptions=_DESCRIPTIONS)
            write_table(
                out / "prune_sim_summary.csv",
                partial["summary"],
                dict(meta, headline_measure=measure),
                descriptions=_DESCRIPTIONS,
            )
            if partial["theory"]:
                write_table(out / "prune_sim_theory.csv", partial["theory"], meta, descriptions=_DESCRIPTIONS)
            last = partial["results"][-1]
            last.trained.save(out / f"student_sigma{last.params['sigma']:g}_seed{last.params['seed'][0]}.npz")

        import warnings

        try:
            with warnings.catch_warnings():
                # the deterministic-scheme note is printed once below
                warnings.simplefilter("ignore", pw.DeterministicMasksWarning)
                result = ps.prune_students(
                    K=K,
                    M=M,
                    N=N,
                    alpha=args.alpha_max,
                    sigmas=args.sigma,
                    seeds=params["runs"],
                    seed0=args.seed,
                    students=students,
                    vstar=params["vstar"],
                    model=model,
                    pipeline=args.pipeline,
                    on_student=write,
                    **prune_kwargs,
                )
        except KeyboardInterrupt:
            print(f"interrupted: finished students are in {out}/prune_sim*.csv")
            raise
        summ = result["summary"]
        published = (
            published_6_2()
            if (
                args.pipeline == "paper"
                and (K, M, N) == (6, 2, 500)
                and measure == "test_loss"
                and cov is None
                and _is_paper_model(model)
            )
            else None
        )
        title = (
            f"{args.pipeline} pipeline: K={K}, M={M}, N={N}, alpha={args.alpha_max:g}, "
            f"{len(result['results']) // len(args.sigma)} students"
            + (f", inputs rho={args.input_corr}" if cov is not None else "")
            + ("" if _is_paper_model(model) else f"\n{_describe(model)}")
        )
        fig.pruned_errors(
            summ,
            out / "prune_sim.png",
            measure=measure,
            theory_column=None if args.no_theory else f"{measure}_theory_mean",
            published=published,
            title=title,
        )
        if len(reweight) > 1:
            panels = [(f"sigma = {s:g}", {c: v[summ["sigma"] == s] for c, v in summ.items()}) for s in args.sigma]
            fig.reweighting_effect(panels, out / "prune_sim_reweighting.png", measure=measure)
        # Gaussian-coordinate hypothesis on every student; figure of the first
        checks = [ps.coordinate_check(res.weights) for res in result["results"]]
        write_table(
            out / "prune_sim_coordinates.csv",
            ps.coordinate_table(checks),
            dict(params, ks_critical_1pct=checks[0]["ks_critical_1pct"]),
            descriptions=_DESCRIPTIONS,
        )
        w0 = result["results"][0].weights
        fig.coordinate_histograms(
            w0.W, w0.Wstar, w0.state().covariance(), out / "prune_sim_coordinates.png", check=checks[0]
        )
        msg = ""
        r0 = result["results"][0]
        dpp_edge = any(s.name == V.DPP_EDGE for s in schemes)
        if args.inclusion_masks > 0 and dpp_edge and r0.moments is not None and r0.moments.Sxx is not None:
            from statmech.core.budgets import Budget

            e = Budget(keep=max(1, K // 2), N=N).edges_per_unit(K, N)
            inc = ps.inclusion_check(w0.W[0], r0.moments.Sxx, e, args.inclusion_masks, rng=args.seed)
            fig.inclusion_probabilities(
                [
                    (
                        f"unit 0, e = {e}: z rms {inc['z_rms']:.2f}, max |z| {inc['max_abs_z']:.2f}",
                        w0.W[0],
                        inc["freq"],
                        inc["pi"],
                        inc["n_masks"],
                    )
                ],
                out / "prune_sim_inclusion.png",
            )
            msg = (
                f"; DPP-edge inclusion check (unit 0, e={e}): z rms {inc['z_rms']:.2f}, max |z| {inc['max_abs_z']:.2f}"
            )
        for note in result["notes"]:
            print(f"note: {note}")
        print(
            f"pruned {len(result['results'])} student(s) with {len(schemes)} scheme(s); wrote {out}/prune_sim.csv, "
            f"prune_sim_summary.csv, prune_sim.png, prune_sim_coordinates.png{msg}"
        )
        return 0


def _describe(model: Model) -> str:
    """The model beyond the paper's, for a figure title."""
    parts = [f"student {model.activation}, teacher {model.teacher_activation}"]
    if model.output_scale != "1":
        parts.append(f"output scale {model.output_scale}")
    if model.weight_decay:
        parts.append(f"weight decay {model.weight_decay:g}")
    if model.batch_size != 1:
        parts.append(f"batch {model.batch_size}")
    return ", ".join(parts)


_DESCRIPTIONS = {
    "eps_g": "noise-free generalisation error of the pruned order parameters (exact for Gaussian inputs)",
    "test_loss": "empirical mean of (phi - y)^2/2 on the test set with noisy labels (about eps_g + sigma^2/2)",
    "eps_emp": "empirical mean of (phi - y_noiseless)^2/2 on the same test inputs (Monte Carlo eps_g)",
    "eps_emp_stderr": "standard error of eps_emp over the test inputs",
    "test_loss_stderr": "standard error of test_loss over the test inputs",
    "k": "node budget k; edge schemes keep e = round((kN+k-K)/K) edges per unit (column budget)",
    "budget": "k (node schemes) or e, edges kept per unit (edge schemes)",
    "param_fraction": "fraction of first+second-layer parameters kept",
    "eps_g_theory": "N -> infinity prediction (statmech.pruning) from this student's measured order parameters",
    "eps_g_stderr": "standard error across students of the per-student mean over masks (over masks if 1 student)",
    "ks": "Kolmogorov-Smirnov statistic against the hypothesised Gaussian",
}
