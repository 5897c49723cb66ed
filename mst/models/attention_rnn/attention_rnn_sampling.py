"""Sampling the attention RNN: the whole autoregressive loop in one TensorFlow graph.

:func:`make_sample_function` returns a ``tf.function`` (the SavedModel's ``sample`` signature)::

    sample(seed_pitch int32 [n], seed_duration int32 [n], length int32 [],
           temperature_pitch float32 [], temperature_duration float32 [], seed int64 [])
      -> {"pitch": int32 [m], "duration": int32 [m], "attention": float32 [m, 32],
          "pitch_probabilities": float32 [m, n_pitch], "duration_probabilities": float32 [m, n_duration],
          "stopped_on_start": bool []}

It starts from the window ``32 x START`` followed by the seed (the last 32 tokens are kept), and
runs a ``tf.while_loop`` of up to ``length`` steps: the model predicts both heads from the
window, each head is drawn independently from ``softmax(log p / T)`` (``T = 0``: argmax) with
``tf.random.stateless_categorical`` seeded by ``(seed, step)``, the window drops its oldest token
and appends the new one. Sampling stops early when ``START`` is drawn (the book's rule; the
``START`` is not returned). ``<unk>`` is never drawn, and neither is the START duration ``0``.
The same ``(seed, temperatures, seed tokens)`` always give the same tokens.

``attention[i]`` is the attention over the 32 window positions when token ``i`` was predicted
(position 31 = the token just before it); the probabilities are the model's (before temperature).
:func:`make_next_token_function` is the SavedModel's ``next_token`` signature (one window ->
probabilities + attention). :func:`predict_loop` is the book's per-note Python loop with
``model.predict``, kept for the benchmark.
"""

from __future__ import annotations

import numpy as np

from mst.encodings import note_tokens as nt
from mst.runtime import import_tensorflow


def _draw(tf, probabilities, temperature, masked, seed):
    """One token from ``softmax(log p / T)`` (argmax for ``T <= 0``), never one of ``masked``."""
    logits = tf.math.log(tf.maximum(probabilities, 1e-30))
    size = tf.shape(logits)[-1]
    mask = tf.reduce_any(tf.equal(tf.range(size)[:, None], tf.constant(masked, tf.int32)[None, :]), axis=1)
    logits = tf.where(mask, tf.constant(-np.inf, logits.dtype), logits)

    def sampled():
        return tf.cast(tf.random.stateless_categorical(logits[None, :] / temperature, 1, seed=seed)[0, 0], tf.int32)

    def greedy():
        return tf.cast(tf.argmax(logits), tf.int32)

    return tf.cond(temperature > 0, sampled, greedy)


def make_sample_function(model, vocabulary_sizes: tuple[int, int], seq_len: int = nt.SEQ_LEN):
    """The in-graph sampler of a model (see the module docstring)."""
    tf = import_tensorflow()
    n_pitch, n_duration = vocabulary_sizes

    @tf.function(input_signature=[
        tf.TensorSpec([None], tf.int32, name="seed_pitch"),
        tf.TensorSpec([None], tf.int32, name="seed_duration"),
        tf.TensorSpec([], tf.int32, name="length"),
        tf.TensorSpec([], tf.float32, name="temperature_pitch"),
        tf.TensorSpec([], tf.float32, name="temperature_duration"),
        tf.TensorSpec([], tf.int64, name="seed"),
    ])
    def sample(seed_pitch, seed_duration, length, temperature_pitch, temperature_duration, seed):
        start = tf.fill([seq_len], tf.constant(nt.START_INDEX, tf.int32))
        window_p = tf.concat([start, seed_pitch], 0)[-seq_len:][None, :]
        window_d = tf.concat([start, seed_duration], 0)[-seq_len:][None, :]
        arrays = [tf.TensorArray(dtype, size=0, dynamic_size=True, element_shape=shape) for dtype, shape in (
            (tf.int32, []), (tf.int32, []), (tf.float32, [seq_len]), (tf.float32, [n_pitch]), (tf.float32, [n_duration]))]

        def condition(step, stopped, *_):
            return tf.logical_and(step < length, tf.logical_not(stopped))

        def body(step, stopped, window_p, window_d, pitches, durations, attentions, p_probs, d_probs):
            out = model({"pitch": window_p, "duration": window_d}, training=False)
            p = tf.cast(out["pitch"][0], tf.float32)
            d = tf.cast(out["duration"][0], tf.float32)
            step_seed = tf.stack([seed, tf.cast(step, tf.int64)])
            pitch = _draw(tf, p, temperature_pitch, [nt.UNK_INDEX], step_seed)
            duration = _draw(tf, d, temperature_duration, [nt.START_INDEX, nt.UNK_INDEX], step_seed + tf.constant([0, 1 << 40], tf.int64))
            stopped = tf.equal(pitch, nt.START_INDEX)
            pitches = pitches.write(step, pitch)
            durations = durations.write(step, duration)
            attentions = attentions.write(step, tf.cast(out["attention"][0], tf.float32))
            p_probs = p_probs.write(step, p)
            d_probs = d_probs.write(step, d)
            window_p = tf.concat([window_p[:, 1:], [[pitch]]], 1)
            window_d = tf.concat([window_d[:, 1:], [[duration]]], 1)
            return step + 1, stopped, window_p, window_d, pitches, durations, attentions, p_probs, d_probs

        step, stopped, _, _, *arrays = tf.while_loop(
            condition, body, [tf.constant(0), tf.constant(False), window_p, window_d, *arrays])
        kept = tf.where(stopped, step - 1, step)
        pitch, duration, attention, p_probs, d_probs = (array.stack()[:kept] for array in arrays)
        return {"pitch": pitch, "duration": duration, "attention": attention, "pitch_probabilities": p_probs,
                "duration_probabilities": d_probs, "stopped_on_start": stopped}

    return sample


def make_next_token_function(model):
    """``next_token(pitch int32 [B, T], duration int32 [B, T]) -> {"pitch_probabilities", "duration_probabilities", "attention"}``."""
    tf = import_tensorflow()

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="pitch"), tf.TensorSpec([None, None], tf.int32, name="duration")])
    def next_token(pitch, duration):
        out = model({"pitch": pitch, "duration": duration}, training=False)
        return {"pitch_probabilities": tf.cast(out["pitch"], tf.float32), "duration_probabilities": tf.cast(out["duration"], tf.float32),
                "attention": tf.cast(out["attention"], tf.float32)}

    return next_token


def sample_with_temperature(probabilities: np.ndarray, temperature: float, rng: np.random.Generator, masked=()) -> int:
    """The book's ``sample_with_temp`` in NumPy (``T = 0``: argmax), with ``masked`` ids excluded."""
    logits = np.log(np.maximum(np.asarray(probabilities, np.float64), 1e-30))
    logits[list(masked)] = -np.inf
    if temperature <= 0:
        return int(np.argmax(logits))
    scaled = np.exp((logits - logits.max()) / temperature)
    return int(rng.choice(len(scaled), p=scaled / scaled.sum()))


def predict_loop(model, length: int, *, temperature: float = 0.5, seed: int = 0, seq_len: int = nt.SEQ_LEN) -> tuple[list[int], list[int]]:
    """The book's sampler: one ``model.predict`` call per note from a Python loop (benchmark baseline)."""
    rng = np.random.default_rng(seed)
    window_p = [nt.START_INDEX] * seq_len
    window_d = [nt.START_INDEX] * seq_len
    pitches, durations = [], []
    for _ in range(length):
        out = model.predict({"pitch": np.asarray([window_p[-seq_len:]], np.int32), "duration": np.asarray([window_d[-seq_len:]], np.int32)}, verbose=0)
        pitch = sample_with_temperature(out["pitch"][0], temperature, rng, [nt.UNK_INDEX])
        duration = sample_with_temperature(out["duration"][0], temperature, rng, [nt.START_INDEX, nt.UNK_INDEX])
        if pitch == nt.START_INDEX:
            break
        pitches.append(pitch)
        durations.append(duration)
        window_p.append(pitch)
        window_d.append(duration)
    return pitches, durations
