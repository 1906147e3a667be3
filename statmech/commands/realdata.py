"""``statmech realdata``: prune the first layer of a sigmoid MLP trained on real data."""

from __future__ import annotations

import argparse

from statmech.commands._common import ListAction, out_dir, positive_int, seed_int
from statmech.core import vocabulary as V
from statmech.core.lock import output_lock


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "realdata",
        help="train a sigmoid MLP on real data and prune its first layer with every scheme",
        description=(
            "Train scikit-learn's MLPClassifier (logistic units) and prune its first layer with every "
            "scheme, budgets matched by parameter count (H e + H H2 = n (D + H2)). Writes DIR/realdata.csv "
            "(test error mean and std over rounds per scheme, budget and reweighting; parameters in "
            "realdata.json) and DIR/realdata.png. Rows are written as they finish."
        ),
    )
    p.add_argument(
        "--dataset",
        default="digits",
        help="'digits' (default, ships with scikit-learn), 'mnist' (downloads from OpenML), "
        "or a path to an .npz with X_train, y_train, X_test, y_test",
    )
    p.add_argument(
        "--hidden",
        type=positive_int,
        action=ListAction,
        default=[100, 100],
        help="hidden layer widths (default 100 100)",
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
    p.add_argument(
        "--fractions",
        type=float,
        action=ListAction,
        default=[0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
        help="fractions of each unit's input edges kept, node budgets matched by parameters (default 0.2 ... 0.9)",
    )
    p.add_argument(
        "--masks",
        "--rounds",
        dest="masks",
        type=positive_int,
        default=5,
        help="masks per scheme and budget (default 5)",
    )
    p.add_argument(
        "--reweight",
        action=ListAction,
        choices=V.REWEIGHTS,
        default=[V.NO_REWEIGHT, V.FUSE_ACTIVATION, V.EDGE_LSQ],
        help="reweightings after pruning, each applied to the schemes it belongs to: fuse-activation (node "
        "fusion on activations), edge-lsq (edge least squares); fuse-preactivation and optimal-readout are "
        "not available for the MLP (default none fuse-activation edge-lsq)",
    )
    p.add_argument("--max-iter", type=positive_int, default=500, help="training epochs of the MLP (default 500)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the split, the training and the masks (default 0)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from statmech.core.io import write_table
    from statmech.experiments.published import mnist_errors
    from statmech.plots.realdata import realdata_errors
    from statmech.pruning.finite import mlp as rd

    schemes = rd.mlp_schemes(args.schemes)
    reweight = rd.check_reweights(args.reweight, schemes)  # checked before any training
    rd.budgets(1, 1, 1, args.fractions)
    out = out_dir(args.out)  # and the output directory
    with output_lock(out):
        data = rd.load_dataset(args.dataset, seed=args.seed)
        mlp, classes = rd.train_mlp(data, args.hidden, seed=args.seed, max_iter=args.max_iter)
        unpruned = mlp.error(data.X_test, data.y_test, classes)
        params = dict(
            dataset=data.name,
            D=data.D,
            hidden=args.hidden,
            n_train=len(data.y_train),
            n_test=len(data.y_test),
            unpruned_error=unpruned,
            rounds=args.masks,
            seed=args.seed,
            max_iter=args.max_iter,
            beta="10/|train| (Gaussian node kernel on activations)",
            eps=1e-3,
            error="test error (fraction misclassified)",
        )
        rows = []
        cols = [
            "scheme",
            "reweight",
            "fraction",
            "edges_per_unit",
            "nodes_kept",
            "params_fraction",
            "error_mean",
            "error_std",
            "rounds",
            "distinct_masks",
        ]

        def on_row(row):
            rows.append(row)
            write_table(out / "realdata.csv", {c: [r[c] for r in rows] for c in cols}, params)

        rd.prune_mlp(
            data,
            mlp,
            classes,
            schemes=schemes,
            fractions=args.fractions,
            rounds=args.masks,
            reweight=reweight,
            seed=args.seed,
            on_row=on_row,
        )
        realdata_errors(rows, unpruned, out / "realdata.png", dataset=data.name, published=mnist_errors())
        print(
            f"unpruned test error {100 * unpruned:.2f}%; wrote {len(rows)} rows to {out}/realdata.csv and realdata.png"
        )
        return 0
