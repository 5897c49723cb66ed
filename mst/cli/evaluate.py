#!/usr/bin/env python
"""Evaluates genre-transfer models the way Brunner et al. 2018 did, and beyond.

One subcommand per model family, plus sweeps:

    # a CycleGAN: the paper's classifier table, S^D_tot, ranking, music metrics, collapse figures
    # -> REPORT_DIR/report.md (mst.models.cyclegan.cyclegan_report)
    python evaluate.py cyclegan --model runs/cp/export --classifier runs/cp_classifier \\
        --data data/prepared --out reports/cp_base [--genre-a classical --genre-b pop] [--seed 0] [--limit N]

    # the same without the subcommand (the form the README uses)
    python evaluate.py --model runs/cp/export --classifier runs/cp_classifier --data data/prepared --out reports/cp_base

    # a genre classifier: test accuracy under test-time noise σ_C (thesis Table 5.1)
    # (mst.models.genre_classifier.genre_classifier_evaluation)
    python evaluate.py classifier --classifier runs/cp_classifier --data data/prepared --out reports/cp_clf

    # several CycleGAN evaluations in the layout of the paper's Table VI (σ_D) or Tables VII-IX
    # (variants) (mst.models.cyclegan.cyclegan_sweep)
    python evaluate.py sweep --runs reports/cp_base reports/cp_partial reports/cp_full \\
        --layout variants --out reports/cp_sweep

    # the generative families: one subcommand each (``Family.evaluate`` in mst.registry), e.g.
    python evaluate.py attention-rnn --help

Each mode prints the path of the markdown report it wrote. Exit status: 0 success; 1 the evaluation
failed while running (a model raised an error or produced NaN); 2 bad usage or unusable inputs
(missing model, classifier or dataset, a genre the dataset lacks, an empty test split, genres that
do not match the models' recorded configs).

The arguments are parsed before anything heavy is imported, so ``--help`` is instant.
"""

from __future__ import annotations

from mst.cli import add_trust_argument, restoring_saved_model_policy, apply_trust_argument, refuse_file_for_folder, expand_user, option_value
from mst.cli.errors import command

import argparse
import sys
from collections.abc import Callable, Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SUBCOMMANDS = ("cyclegan", "classifier", "sweep")
PROG = "evaluate.py"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def _add_data_arguments(parser: argparse.ArgumentParser, *, what: str) -> None:
    parser.add_argument("--data", required=True, help="prepared dataset folder (python -m mst.prepare) with test splits")
    parser.add_argument("--genre-a", help=f"genre A (class 0); default: from the {what}'s recorded config")
    parser.add_argument("--genre-b", help=f"genre B (class 1); default: from the {what}'s recorded config")
    parser.add_argument("--out", required=True, help="report folder (created; files in it are replaced)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the --limit subset and of the noise (default 0)")
    parser.add_argument("--limit", type=_positive_int, help="evaluate at most N test phrases per genre (a seeded random subset)")
    parser.add_argument("--batch-size", type=_positive_int, default=64, help="phrases per model call (default 64)")
    parser.add_argument("--no-verify", dest="verify_data", action="store_false",
                        help="skip the sha256 check of the dataset's shards against its manifest")
    add_trust_argument(parser)


def _add_checkpoint_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--classifier-checkpoint",
        choices=("last", "best"),
        default="last",
        help="for a classifier run folder: the last checkpoint (default, as the authors' test) or the best test accuracy",
    )


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """``evaluate.py cyclegan`` (also ``evaluate.py`` without a subcommand); no TensorFlow import."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Evaluate a CycleGAN genre-transfer model: transfer every test phrase (cycle from the continuous "
            "transfer, both binarized at 0.5), score origin/transfer/cycle with the pair's genre classifier, "
            "and write the paper's table with S^D_tot, the per-phrase ranking, music metrics, content "
            "preservation, distribution similarity and collapse statistics into the --out folder. Other modes: "
            f"`{PROG} classifier --help`, `{PROG} sweep --help`."
        ),
    )
    parser.add_argument("--model", required=True, help="CycleGAN export folder, SavedModel folder, .keras file or training run folder")
    parser.add_argument("--classifier", required=True, help="genre classifier export folder, SavedModel, .keras file or training run folder")
    _add_checkpoint_argument(parser)
    _add_data_arguments(parser, what="model")
    parser.add_argument("--variant", choices=("base", "partial", "full"), help="model variant (default: from its config); picks the paper's column")
    parser.add_argument("--sigma-d", type=_non_negative_float, help="σ_D the model was trained with (default: from its config)")
    parser.add_argument("--label", help="name of this model in sweeps (default: its preset or folder name)")
    parser.add_argument("--examples", type=_positive_int, default=3, help="strongest and weakest transfers shown per direction (default 3)")
    return parser


def build_sweep_parser() -> argparse.ArgumentParser:
    """``evaluate.py sweep``."""
    parser = argparse.ArgumentParser(
        prog=f"{PROG} sweep",
        description=(
            "Assemble several evaluations (their report folders with results.json) of one genre pair into the "
            "paper's table layout, next to the paper's printed cells when the pair matches: --layout sigma = "
            "one variant over σ_D (Table VI); --layout variants = base / partial / full (Tables VII-IX)."
        ),
    )
    parser.add_argument("--runs", nargs="+", required=True, metavar="REPORT_DIR", help="report folders written by evaluate.py")
    parser.add_argument("--layout", choices=("sigma", "variants"), required=True, help="sigma: columns are σ_D values; variants: base/partial/full")
    parser.add_argument("--out", required=True, help="output folder for sweep.md, sweep.csv and sweep.json")
    return parser


def build_classifier_parser() -> argparse.ArgumentParser:
    """``evaluate.py classifier``."""
    from mst.models.genre_classifier.genre_classifier_presets import SIGMA_C_EVAL  # noqa: PLC0415  (pure Python, no TensorFlow)

    parser = argparse.ArgumentParser(
        prog=f"{PROG} classifier",
        description=(
            "Test accuracy of a genre classifier with zero-mean Gaussian noise N(0, σ_C²) added to the test "
            "inputs in the classifier's -1/+1 scale (the authors' way), next to the thesis' Table 5.1 for the pair. "
            "With --seed 0 and all test phrases the noise is the one of the classifier's per-epoch test_accuracy.csv."
        ),
    )
    parser.add_argument("--classifier", required=True, help="genre classifier export folder, SavedModel, .keras file or training run folder")
    _add_checkpoint_argument(parser)
    _add_data_arguments(parser, what="classifier")
    parser.add_argument(
        "--sigma-c",
        type=_non_negative_float,
        nargs="+",
        default=list(SIGMA_C_EVAL),
        help="noise levels σ_C (default: the thesis' 0 0.01 0.1 0.2 0.3 0.5)",
    )
    return parser


def _run_cyclegan(args: argparse.Namespace) -> str:
    from mst.models.cyclegan import cyclegan_report  # noqa: PLC0415  (imports TensorFlow)

    result, files = cyclegan_report.run_evaluation(
        args.model,
        args.classifier,
        args.data,
        args.out,
        genre_a=args.genre_a,
        genre_b=args.genre_b,
        seed=args.seed,
        limit=args.limit,
        batch_size=args.batch_size,
        classifier_checkpoint=args.classifier_checkpoint,
        variant=args.variant,
        sigma_d=args.sigma_d,
        label=args.label,
        examples=args.examples,
    )
    cells = result.table().as_dict()
    print(f"{result.genre_a} (A) / {result.genre_b} (B): " + ", ".join(f"{row} {value:.2f}" for row, value in cells.items()))
    print(f"S^D_tot {result.strength().total:.2f} %")
    for warning in result.collapse_warnings():
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    return str(files["report"])


def _run_classifier(args: argparse.Namespace) -> str:
    from mst.models.genre_classifier import genre_classifier_evaluation  # noqa: PLC0415  (imports TensorFlow)

    result, files = genre_classifier_evaluation.run_classifier_evaluation(
        args.classifier,
        args.data,
        args.out,
        genre_a=args.genre_a,
        genre_b=args.genre_b,
        sigmas=args.sigma_c,
        seed=args.seed,
        limit=args.limit,
        batch_size=args.batch_size,
        checkpoint=args.classifier_checkpoint,
    )
    print(f"{result.genre_a} vs {result.genre_b}: " + ", ".join(f"σ_C={sigma:g}: {result.accuracy[sigma]:.2f} %" for sigma in result.sigmas))
    return str(files["report"])


def _run_sweep(args: argparse.Namespace) -> str:
    from mst.models.cyclegan import cyclegan_sweep  # noqa: PLC0415
    from mst.models.cyclegan.strength import transfer_strength  # noqa: PLC0415

    sweep, files = cyclegan_sweep.run_sweep(args.runs, args.layout, args.out)
    for column in sweep.columns:
        print(f"{column.heading}: S^D_tot {transfer_strength(column.cells).total:.2f} %")
    return str(files["report"])


def parse(argv: Sequence[str]) -> tuple[Callable[[argparse.Namespace], str], argparse.Namespace]:
    """``(runner, arguments)`` of a command line; no subcommand means ``cyclegan``.

    Raises:
        SystemExit: ``--help`` (0) or bad usage (2), as argparse does.
    """
    argv = list(argv)
    if argv and argv[0] == "cyclegan":
        return _run_cyclegan, build_parser(f"{PROG} cyclegan").parse_args(argv[1:])
    if argv and argv[0] == "classifier":
        return _run_classifier, build_classifier_parser().parse_args(argv[1:])
    if argv and argv[0] == "sweep":
        return _run_sweep, build_sweep_parser().parse_args(argv[1:])
    return _run_cyclegan, build_parser().parse_args(argv)


def _split_verify_arguments(argv: list[str]) -> tuple[list[str], str | None, bool]:
    """A family subcommand's arguments without ``--no-verify``, its ``--data`` and whether to verify."""
    verify = "--no-verify" not in argv
    return [item for item in argv if item != "--no-verify"], option_value(argv, "--data"), verify


def _verify(data_dir: str) -> int:
    """Checks the dataset's shards (once per process); returns an exit status, 0 when they are intact."""
    from pathlib import Path  # noqa: PLC0415

    from mst.records.manifest import MANIFEST_NAME, DatasetError  # noqa: PLC0415
    from mst.records.shards import verify_dataset_once  # noqa: PLC0415

    if not (Path(data_dir) / MANIFEST_NAME).is_file():
        return 0  # not a dataset: the evaluation's own input checks say so, in their order
    try:
        verify_dataset_once(data_dir)
    except DatasetError as error:
        print(f"{PROG}: error: {error} (prepare the dataset again, or pass --no-verify to read it anyway)", file=sys.stderr)
        return EXIT_USAGE
    return 0


def _tensorflow_data_loss_error() -> tuple[type[BaseException], ...]:
    """``(tf.errors.DataLossError,)`` once TensorFlow is imported (only then can it be raised)."""
    tf = sys.modules.get("tensorflow")
    return (tf.errors.DataLossError,) if tf is not None and hasattr(tf, "errors") else ()


@command(PROG)
@restoring_saved_model_policy
def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status (see the module docstring)."""
    argv = expand_user(argv)
    refuse_file_for_folder(option_value(argv))  # before any model loads or metric runs
    if argv and argv[0] not in SUBCOMMANDS and not argv[0].startswith("-"):
        from mst import registry  # noqa: PLC0415  (no TensorFlow)
        from mst.config import ConfigError  # noqa: PLC0415

        try:
            entry = registry.family_for_command(argv[0], "evaluate")
        except ConfigError as error:
            print(f"{PROG}: error: {error} (or one of {', '.join(SUBCOMMANDS)})", file=sys.stderr)
            return EXIT_USAGE
        family_argv, data_dir, verify = _split_verify_arguments(apply_trust_argument(argv[1:]))
        if verify and data_dir is not None:
            error = _verify(data_dir)
            if error:
                return error
        return int(entry.resolve("evaluate")(family_argv))
    try:
        runner, args = parse(argv)
    except SystemExit as stop:  # argparse: --help (0) or bad usage (2, message already printed)
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    from mst import export  # noqa: PLC0415

    export.trust_saved_models(getattr(args, "trust_saved_model", False))
    if getattr(args, "verify_data", False) and getattr(args, "data", None):
        error = _verify(args.data)
        if error:
            return error
    from mst.models.cyclegan.cyclegan_evaluation import EvaluationError, EvaluationInputError  # noqa: PLC0415

    try:
        report = runner(args)
    except _tensorflow_data_loss_error() as error:  # a shard damaged after the check, or --no-verify
        from mst.records.shards import explain_read_error  # noqa: PLC0415

        if getattr(args, "data", None) is None:
            raise
        raise explain_read_error(args.data, error) from error
    except EvaluationInputError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except EvaluationError as error:
        print(f"{PROG}: evaluation failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(report)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
