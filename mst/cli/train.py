#!/usr/bin/env python3
"""Train (or resume) a preset of any model family on a prepared dataset.

Examples::

    python train.py --preset cyclegan_tiny --data data/tiny --out runs/tiny
    python train.py --preset cyclegan_jazz_classical_cpu --data data/jc --out runs/jc_cpu --set epochs=5
    python train.py --preset classifier_jazz_classical --data data/jc --out runs/clf_jc
    python train.py --preset cyclegan_jazz_classical_base --data data/jc --out runs/jc \\
        --strategy mirrored --mixed-precision --xla          # GPUs
    python train.py --preset cyclegan_tiny --data data/tiny --out runs/tiny_2cpu \\
        --logical-cpus 2 --strategy mirrored                 # test distribution on a CPU
    python train.py --preset cyclegan_tiny --data data/tiny --out runs/tiny --export-only

Running the same command again resumes the run at its newest checkpoint (kill -9 included).
See ``mst/training/driver.py`` for GPU, multi-GPU, multi-worker and TPU notes.

Exit status (the same for every mst command, :mod:`mst.cli.errors`): 0 done, 1 training stopped
on a non-finite loss, 2 bad arguments, config, dataset or run folder (the message says which), 3
environment: disk full or read-only, device setup, a worker of a multi-worker run was lost (start
every worker again to resume). ``--debug`` shows the traceback of an error.
"""

from __future__ import annotations

from mst.cli import refuse_file_for_folder, expand_user
from mst.cli.errors import add_debug_argument, command

import argparse
import sys

from mst.training.devices import STRATEGY_NAMES  # no TensorFlow: --help stays fast


def build_argument_parser() -> argparse.ArgumentParser:
    """The ``train.py`` command-line parser."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", help="config preset name (see --list-presets)")
    parser.add_argument("--data", help="prepared dataset folder (python -m mst.prepare --out DIR)")
    parser.add_argument("--out", help="run folder: config, checkpoints, logs, samples, export")
    parser.add_argument("--set", dest="overrides", action="append", nargs="+", default=[], metavar="FIELD=VALUE", help="override a config field (repeatable), e.g. --set epochs=5 batch_size=8")
    parser.add_argument("--strategy", choices=STRATEGY_NAMES, default="default", help="tf.distribute strategy (default: %(default)s)")
    parser.add_argument("--tpu", default=None, metavar="ADDRESS", help="TPU name or grpc:// address for --strategy tpu (default: local TPU)")
    parser.add_argument("--logical-cpus", type=int, default=None, metavar="N", help="split the CPU into N logical devices before TF starts (to test --strategy mirrored without GPUs)")
    parser.add_argument("--mixed-precision", action="store_true", help="Keras mixed_float16 policy (mixed_bfloat16 on TPU); for GPUs")
    parser.add_argument("--xla", action="store_true", help="compile the train step with XLA (jit_compile=True); for GPUs/TPUs")
    parser.add_argument("--deterministic", action="store_true", help="tf.config.experimental.enable_op_determinism(): bit-identical re-runs and resumes")
    parser.add_argument("--force", action="store_true", help="resume even if the config or dataset differs from the run folder's")
    parser.add_argument("--checkpoint-every-steps", type=int, default=None, metavar="N", help="checkpoint every N steps (default: the config's checkpoint_every_steps, else each epoch)")
    parser.add_argument("--max-steps", type=int, default=None, metavar="N", help="stop after N global steps (the run can be continued later)")
    parser.add_argument("--keep-checkpoints", type=int, default=3, metavar="N", help="step checkpoints to keep (default: %(default)s)")
    parser.add_argument("--no-export", dest="export", action="store_false", help="do not export RUN_DIR/export when training ends")
    parser.add_argument("--no-verify", dest="verify_data", action="store_false",
                        help="skip the sha256 check of the dataset's shards against its manifest (done once per run start)")
    parser.add_argument("--export-only", action="store_true", help="only export the run's newest checkpoint (no training)")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1, help="0 silent, 1 progress bar, 2 one line per epoch")
    parser.add_argument("--list-presets", action="store_true", help="print the preset names and exit")
    add_debug_argument(parser)
    return parser


def _fail(message: str) -> int:
    print(f"train.py: error: {message}", file=sys.stderr, flush=True)
    return 2


@command("train.py")
def main(argv=None) -> int:
    """Runs the command line; returns the exit status."""
    parser = build_argument_parser()
    args = parser.parse_args(expand_user(argv))
    refuse_file_for_folder(args.out)  # a run folder; before the dataset or TensorFlow is touched
    from mst import config as mst_config  # noqa: PLC0415  (no TensorFlow)
    from mst import registry  # noqa: PLC0415  (no TensorFlow)

    if args.list_presets:
        print("\n".join(registry.list_configs()))
        return 0
    if args.export_only:
        if not args.out:
            parser.error("--export-only needs --out RUN_DIR")
    else:
        missing = [flag for flag, value in (("--preset", args.preset), ("--data", args.data), ("--out", args.out)) if not value]
        if missing:
            parser.error(f"the following arguments are required: {', '.join(missing)}")
    overrides = [item for group in args.overrides for item in group]
    try:
        config = None if args.export_only else registry.get_config(args.preset, overrides)
    except mst_config.ConfigError as error:
        return _fail(str(error))

    from mst.runtime import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    from mst.training.devices import DeviceSetupError, configure_logical_cpus  # noqa: PLC0415

    try:
        if args.logical_cpus is not None:
            configure_logical_cpus(args.logical_cpus)  # before anything initialises TensorFlow
    except DeviceSetupError as error:
        return _fail(str(error))

    from mst import export, records  # noqa: PLC0415
    from mst.training.driver import RunOptions, train  # noqa: PLC0415
    from mst.training.checkpointing import CheckpointError  # noqa: PLC0415
    from mst.training.run_dir import RunDirError  # noqa: PLC0415

    expected_errors = (mst_config.ConfigError, records.DatasetError, RunDirError, DeviceSetupError, export.ExportError, CheckpointError)
    if args.export_only:
        try:
            for path in export.export_run(args.out):
                print(f"mst: exported to {path}", flush=True)
        except expected_errors as error:
            return _fail(str(error))
        return 0
    try:
        options = RunOptions(
            strategy=args.strategy,
            tpu_address=args.tpu,
            mixed_precision=args.mixed_precision,
            xla=args.xla,
            deterministic=args.deterministic,
            force=args.force,
            checkpoint_every_steps=args.checkpoint_every_steps,
            max_steps=args.max_steps,
            keep_checkpoints=args.keep_checkpoints,
            export=args.export,
            verbose=args.verbose,
            verify_data=args.verify_data,
        )
    except ValueError as error:  # bad --max-steps, --checkpoint-every-steps, ...
        return _fail(str(error))
    from mst.training.driver import WorkerLostError  # noqa: PLC0415

    try:
        result = train(config, args.data, args.out, options, preset=args.preset)
    except expected_errors as error:
        return _fail(str(error))
    except WorkerLostError as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        return 3
    if result.stopped_on_nan is not None:
        name, value = result.stopped_on_nan
        print(
            f"train.py: {name} became {value} at step {result.final_step + 1}; training stopped. "
            f"The newest checkpoint is step {result.checkpoint_step} (rerunning the command resumes there).",
            file=sys.stderr,
        )
        return 1
    print(f"mst: run {result.run_dir}: step {result.final_step} of {result.total_steps}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
