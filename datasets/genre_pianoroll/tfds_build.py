"""``tfds build`` for this builder when the ``tfds`` command itself cannot start.

The ``tfds`` console script of tensorflow-datasets 4.9.10 imports its ``convert_format`` command at
start-up, which needs ``apache_beam`` (not a dependency of mst), so ``tfds build`` fails with
``ModuleNotFoundError: No module named 'apache_beam'`` before doing anything. This script runs the
very same ``build`` command class (``tensorflow_datasets.scripts.cli.build.Args``) with the same
flags, without the other commands:

    PYTHONPATH=. python datasets/genre_pianoroll/tfds_build.py datasets/genre_pianoroll \\
        --manual_dir=datasets/genre_pianoroll/dummy_data --data_dir=/tmp/tfds --config=jazz_classical

With ``apache_beam`` installed, ``tfds build`` accepts exactly the same arguments. Works offline:
the builder reads only the manual folder.
"""

from __future__ import annotations

from absl import app
from tensorflow_datasets.scripts.cli import build, cli_utils


def _run(args: build.Args) -> None:
    args.execute()


if __name__ == "__main__":
    app.run(_run, flags_parser=cli_utils.make_flags_parser(build.Args, description=__doc__.splitlines()[0]))
