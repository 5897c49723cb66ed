"""Attention-RNN exports (kind ``attention_rnn``): the ``next_token`` / ``sample`` / ``vocabulary`` SavedModel
signatures and ``attention_rnn.keras``, and loading them back.

An export folder holds (see :mod:`mst.export` for the shared layout):

* ``saved_model/``: endpoints ``next_token(pitch int32 [B, T], duration int32 [B, T]) ->
  {"pitch_probabilities", "duration_probabilities", "attention"}``, ``sample(seed_pitch,
  seed_duration, length, temperature_pitch, temperature_duration, seed) -> {"pitch", "duration",
  "attention", "pitch_probabilities", "duration_probabilities", "stopped_on_start"}`` (the whole
  autoregressive loop in the graph, :mod:`mst.models.attention_rnn.attention_rnn_sampling`) and
  ``vocabulary() -> {"pitch": string [n_pitch], "duration": string [n_duration]}``, so the export is
  usable with ``tf.saved_model.load`` alone (no mst, no Keras custom objects);
* ``attention_rnn.keras`` (loads with ``keras.saving.load_model(..., safe_mode=True)`` after
  ``import mst``);
* ``vocabulary.json``: the training-split vocabulary, the tokenisation options and the window
  length (:func:`mst.models.attention_rnn.attention_rnn_task.token_info`); also in ``export.json``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mst import atomic
from mst.encodings import note_tokens as nt
from mst.export import (
    EXPORT_INFO_NAME,
    existing_model_path,
    export_info_of_kind,
    SAVED_MODEL_DIR_NAME,
    ExportError,
    checkpoint_location,
    checkpoint_step,
    is_saved_model,
    load_keras,
    load_saved_model,
    read_export_info,
    restore_inference_weights,
    run_config,
    versions,
)
from mst.runtime import import_tensorflow
from mst.training.run_dir import BEST_DIR_NAME, BEST_EXPORT_DIR_NAME, BEST_INFO_NAME, CHECKPOINT_DIR_NAME, VOCABULARY_FILE_NAME

KIND = "attention_rnn"
KERAS_FILE_NAME = "attention_rnn.keras"
EXPORT_FORMAT_VERSION = 1
ENDPOINTS = {
    "next_token": {"inputs": {"pitch": "int32 [B, T]", "duration": "int32 [B, T]"},
                   "outputs": ["pitch_probabilities", "duration_probabilities", "attention"]},
    "sample": {"inputs": {"seed_pitch": "int32 [n]", "seed_duration": "int32 [n]", "length": "int32 []",
                          "temperature_pitch": "float32 [] (0 = argmax)", "temperature_duration": "float32 []", "seed": "int64 []"},
               "outputs": ["pitch", "duration", "attention", "pitch_probabilities", "duration_probabilities", "stopped_on_start"]},
    "vocabulary": {"inputs": {}, "outputs": ["pitch", "duration"]},
}


def _vocabulary_function(vocabulary: nt.Vocabulary):
    tf = import_tensorflow()
    pitch, duration = list(vocabulary.pitch), list(vocabulary.duration)

    @tf.function(input_signature=[])
    def vocabulary_tokens():
        return {"pitch": tf.constant(pitch), "duration": tf.constant(duration)}

    return vocabulary_tokens


def export_attention_rnn(model, out_dir, *, config, tokens: dict, info: dict | None = None) -> Path:
    """Exports an attention RNN (SavedModel + ``attention_rnn.keras`` + ``vocabulary.json`` + ``export.json``).

    Args:
        model: The Keras model (:func:`mst.models.attention_rnn.attention_rnn.build_attention_rnn`).
        out_dir: Export folder to create or replace (written under a temporary name, then renamed).
        config: Its config (recorded in ``export.json``).
        tokens: :func:`~mst.models.attention_rnn.attention_rnn_task.token_info` (vocabulary, options, seq_len).
        info: Extra ``export.json`` fields (checkpoint, global step, best epoch, ...).

    Returns:
        The export folder.
    """
    import keras  # noqa: PLC0415

    from mst.models.attention_rnn.attention_rnn_sampling import make_next_token_function, make_sample_function  # noqa: PLC0415

    vocabulary = nt.Vocabulary.from_dict(tokens["vocabulary"])
    seq_len = int(tokens.get("seq_len", nt.SEQ_LEN))
    final = Path(out_dir)
    temporary = atomic.fresh_staging_folder(final)
    try:
        archive = keras.export.ExportArchive()
        archive.track(model)
        for name, function in (("next_token", make_next_token_function(model)),
                               ("sample", make_sample_function(model, vocabulary.sizes, seq_len)),
                               ("vocabulary", _vocabulary_function(vocabulary))):
            archive.add_endpoint(name=name, fn=function, input_signature=function.input_signature)
        archive.write_out(str(temporary / SAVED_MODEL_DIR_NAME), verbose=False)
        model.save(temporary / KERAS_FILE_NAME)
        atomic.write_json(temporary / VOCABULARY_FILE_NAME, tokens)
        payload = {
            "format": "mst.export", "format_version": EXPORT_FORMAT_VERSION, "kind": KIND,
            "saved_model": SAVED_MODEL_DIR_NAME, "keras_files": [KERAS_FILE_NAME], "endpoints": ENDPOINTS,
            "versions": versions(), "config": config.to_dict() if config is not None else None,
            "vocabulary_sizes": {"pitch": vocabulary.sizes[0], "duration": vocabulary.sizes[1]},
            "tokens": tokens,
        }
        payload.update(info or {})
        atomic.write_json(temporary / EXPORT_INFO_NAME, payload)
        atomic.replace_folder(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final


class AttentionRNN:
    """A loaded attention RNN: in-graph ``sample``, ``next_token``, its vocabulary and token options.

    Attributes:
        sample: The ``sample`` function (see :mod:`mst.models.attention_rnn.attention_rnn_sampling`).
        next_token: The ``next_token`` function.
        vocabulary: The :class:`mst.encodings.note_tokens.Vocabulary`.
        token_options: The dataset's tokenisation options (dict), for reading seed MIDI files.
        seq_len: Window length.
        source: Where it was loaded from; ``kind``: ``saved_model``, ``keras`` or ``checkpoint``.
        info: ``export.json`` (or the run's ``best.json``) fields.
    """

    def __init__(self, *, sample, next_token, tokens: dict, source: str, kind: str, info: dict | None = None, keep_alive=None):
        self.sample = sample
        self.next_token = next_token
        self.vocabulary = nt.Vocabulary.from_dict(tokens["vocabulary"])
        self.token_options = dict(tokens.get("note_token_options", {}))
        self.seq_len = int(tokens.get("seq_len", nt.SEQ_LEN))
        self.source = source
        self.kind = kind
        self.info = dict(info or {})
        self._keep_alive = keep_alive


def _read_tokens(folder: Path) -> dict:
    path = folder / VOCABULARY_FILE_NAME
    if not path.is_file():
        raise ExportError(f"{path} is missing: the model's vocabulary travels with it (export folder or run folder)")
    return json.loads(path.read_text(encoding="utf-8"))


def read_best_info(run_dir) -> dict:
    """``best.json`` of a run (empty before the first validation)."""
    path = Path(run_dir) / BEST_INFO_NAME
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def restore_best_weights(model, run_dir) -> str:
    """Restores ``RUN_DIR/best/``: the validation monitor saves the model's weights only (its unused
    dropout seed states are not needed for inference); returns the checkpoint prefix."""
    tf = import_tensorflow()
    prefix = tf.train.latest_checkpoint(str(Path(run_dir) / BEST_DIR_NAME))
    if prefix is None:
        raise ExportError(f"{Path(run_dir) / BEST_DIR_NAME} holds no checkpoint yet")
    tf.train.Checkpoint(model=model).restore(prefix).expect_partial().assert_existing_objects_matched()
    return prefix


def _from_keras_model(model, tokens: dict, *, source: str, kind: str, info=None) -> AttentionRNN:
    from mst.models.attention_rnn.attention_rnn_sampling import make_next_token_function, make_sample_function  # noqa: PLC0415

    vocabulary = nt.Vocabulary.from_dict(tokens["vocabulary"])
    return AttentionRNN(sample=make_sample_function(model, vocabulary.sizes, int(tokens.get("seq_len", nt.SEQ_LEN))),
                        next_token=make_next_token_function(model), tokens=tokens, source=source, kind=kind, info=info, keep_alive=model)


def load_attention_rnn(path, which: str = "best") -> AttentionRNN:
    """Loads an attention RNN from an export folder, its SavedModel or ``.keras`` file, a run folder or a checkpoint.

    Args:
        path: Export folder (``export.json``), ``saved_model/`` inside one, ``attention_rnn.keras``,
            a training run folder or a checkpoint prefix.
        which: For a run folder: ``"best"`` (best validation checkpoint, the default, falling back to
            the last one before the first validation) or ``"last"``.

    Raises:
        ExportError: Nothing loadable at ``path`` or its vocabulary is missing.
        FileNotFoundError: ``path`` does not exist.
    """
    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    path = existing_model_path(path, "attention RNN")
    info = export_info_of_kind(path, KIND)
    if info is not None:
        # The .keras file (safe mode) rather than the SavedModel: loading a SavedModel runs its ops,
        # which mst's commands only do for a SavedModel path the user names (mst.export.trust_saved_models).
        return _from_keras_model(load_keras(path / KERAS_FILE_NAME), _read_tokens(path), source=str(path), kind="keras", info=info)
    if path.is_dir() and is_saved_model(path):
        loaded = load_saved_model(path)
        if not hasattr(loaded, "sample"):
            raise ExportError(f"SavedModel {path} has no 'sample' endpoint")
        return AttentionRNN(sample=loaded.sample, next_token=loaded.next_token, tokens=_read_tokens(path.parent), source=str(path), kind="saved_model", keep_alive=loaded)
    if path.suffix == ".keras":
        return _from_keras_model(load_keras(path), _read_tokens(path.parent), source=str(path), kind="keras", info=read_export_info(path.parent))
    run_dir, prefix = checkpoint_location(path)
    if not (run_dir / "config.json").is_file():
        raise ExportError(f"{path} is neither an attention-RNN export, a SavedModel, a .keras file, a run folder nor a checkpoint")
    from mst.models.attention_rnn.attention_rnn import build_attention_rnn_for  # noqa: PLC0415

    config = run_config(run_dir, KIND)
    tokens = _read_tokens(run_dir)
    model = build_attention_rnn_for(config, nt.Vocabulary.from_dict(tokens["vocabulary"]).sizes)
    info = {}
    if prefix is None and which == "best" and import_tensorflow().train.latest_checkpoint(str(run_dir / BEST_DIR_NAME)) is not None:
        prefix = restore_best_weights(model, run_dir)
        info = {"checkpoint": "best", **read_best_info(run_dir)}
    else:
        prefix = restore_inference_weights(model, run_dir, prefix, CHECKPOINT_DIR_NAME)
        info = {"checkpoint": "last", "global_step": checkpoint_step(prefix)}
    return _from_keras_model(model, tokens, source=prefix, kind="checkpoint", info=info)


def export_run(run_dir: Path, config, out_dir: Path, preset: str) -> list[Path]:
    """``train.py --export-only``: the newest checkpoint to ``out_dir`` and, when it exists, the best to ``RUN_DIR/export_best``."""
    from mst.models.attention_rnn.attention_rnn import build_attention_rnn_for  # noqa: PLC0415

    run_dir = Path(run_dir)
    tokens = _read_tokens(run_dir)
    model = build_attention_rnn_for(config, nt.Vocabulary.from_dict(tokens["vocabulary"]).sizes)
    prefix = restore_inference_weights(model, run_dir, None, CHECKPOINT_DIR_NAME)
    written = [export_attention_rnn(model, out_dir, config=config, tokens=tokens, info={"preset": preset, "checkpoint": "last", "global_step": checkpoint_step(prefix)})]
    if import_tensorflow().train.latest_checkpoint(str(run_dir / BEST_DIR_NAME)) is not None:
        restore_best_weights(model, run_dir)
        written.append(export_attention_rnn(model, run_dir / BEST_EXPORT_DIR_NAME, config=config, tokens=tokens,
                                            info={"preset": preset, "checkpoint": "best", **read_best_info(run_dir)}))
    return written
