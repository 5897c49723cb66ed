"""Training runs for every model family: one driver, strategies, resumable checkpoints, callbacks.

``train.py`` at the repository root is the command line; :func:`mst.training.driver.train` is the
library entry (it also documents GPU, multi-GPU, multi-worker and TPU use). One run = one folder
(``--out RUN_DIR``, layout in :mod:`mst.training.run_dir`). Restarting the same command resumes it
at the newest checkpoint's global step, mid-epoch included, with the same remaining batches
(:mod:`mst.training.loop` explains how; ``--deterministic`` makes the continuation bit-identical
to an uninterrupted run).
"""
