"""Tests of mst.models.music_vae.music_vae: parameter counts, losses, schedules, decoders, serialization."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from mst.config import ConfigError
from mst.models.music_vae import music_vae as mv
from mst.models.music_vae.music_vae_presets import PRESETS, MusicVAEConfig

tf = mv.tf


def lstm(d, u):
    """LSTM parameters: 4 gates x (input kernel d*u + recurrent kernel u*u + bias u)."""
    return 4 * (d * u + u * u + u)


def dense(d, n):
    return d * n + n


# Hand counts from the formulas (encoder: both directions; mu and sigma; decoder state; decoder LSTMs on
# [previous output, z]; output layer). Hierarchical: conductor state from z, conductor LSTMs on a width-1 zero
# input, the shared bottom-decoder state from the conductor output, bottom LSTMs on [previous output, embedding].
HAND_COUNTS = {
    "groovae_4bar": 2 * lstm(27, 512) + 2 * dense(1024, 256) + dense(256, 2 * 512) + lstm(27 + 256, 256) + lstm(256, 256) + dense(256, 27),
    "groovae_2bar_humanize": 2 * lstm(27, 512) + 2 * dense(1024, 256) + dense(256, 1024) + lstm(283, 256) + lstm(256, 256) + dense(256, 27),
    "cat_mel_2bar_small": 2 * lstm(90, 512) + 2 * dense(1024, 256) + dense(256, 1024) + lstm(90 + 256, 256) + lstm(256, 256) + dense(256, 90),
    "cat_mel_2bar_big": 2 * lstm(90, 2048) + 2 * dense(4096, 512) + dense(512, 2 * 3 * 2048) + lstm(90 + 512, 2048) + 2 * lstm(2048, 2048) + dense(2048, 90),
    "hierdec_mel_16bar": 2 * lstm(90, 2048) + 2 * lstm(4096, 2048) + 2 * dense(4096, 512) + dense(512, 2 * 2048) + lstm(1, 1024) + lstm(1024, 1024)
    + dense(1024, 2 * 2048) + lstm(90 + 1024, 1024) + lstm(1024, 1024) + dense(1024, 90),
    "groovae_4bar_cpu": 2 * lstm(27, 192) + 2 * dense(384, 128) + dense(128, 512) + lstm(27 + 128, 128) + lstm(128, 128) + dense(128, 27),
    "hierdec_mel_16bar_cpu": 2 * lstm(90, 128) + 2 * dense(256, 64) + dense(64, 512) + lstm(1, 128) + lstm(128, 128) + dense(128, 512)
    + lstm(90 + 128, 128) + lstm(128, 128) + dense(128, 90),
    "groovae_tiny": 2 * lstm(27, 16) + 2 * dense(32, 8) + dense(8, 64) + lstm(27 + 8, 16) + lstm(16, 16) + dense(16, 27),
}
LITERAL = {"groovae_4bar": 4_085_019, "cat_mel_2bar_small": 4_423_770, "cat_mel_2bar_big": 134_571_098, "hierdec_mel_16bar": 176_061_530}


@pytest.mark.parametrize("name", sorted(HAND_COUNTS))
def test_parameter_counts_match_the_formulas(name):
    assert mv.count_parameters(PRESETS[name]) == HAND_COUNTS[name]
    if name in LITERAL:
        assert HAND_COUNTS[name] == LITERAL[name]


@pytest.mark.parametrize("name", ["groovae_4bar", "cat_mel_2bar_small", "groovae_4bar_cpu", "hierdec_mel_16bar_cpu", "groovae_tiny", "music_vae_tiny", "hierdec_tiny"])
def test_built_models_have_the_counted_parameters(name):
    model = mv.build_music_vae(PRESETS[name])
    assert model.count_params() == mv.count_parameters(PRESETS[name])
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == model.count_params()


def test_magenta_presets_have_magentas_hyper_parameters():
    big, small, hier, groove = PRESETS["cat_mel_2bar_big"], PRESETS["cat_mel_2bar_small"], PRESETS["hierdec_mel_16bar"], PRESETS["groovae_4bar"]
    assert (big.enc_rnn_size, big.dec_rnn_size, big.z_size, big.max_beta, big.beta_rate, big.free_bits) == ((2048,), (2048,) * 3, 512, 0.5, 0.99999, 0.0)
    assert (small.enc_rnn_size, small.dec_rnn_size, small.z_size, small.max_beta) == ((512,), (256, 256), 256, 0.2)
    assert (big.sampling_schedule, big.sampling_rate, big.transpose_range, big.max_seq_len) == ("inverse_sigmoid", 1000.0, 5, 32)
    assert (hier.enc_rnn_size, hier.dec_rnn_size, hier.level_lengths, hier.free_bits, hier.max_beta, hier.max_seq_len) == ((2048, 2048), (1024, 1024), (16, 16), 256.0, 0.2, 256)
    assert (groove.free_bits, groove.max_beta, groove.dropout_keep_prob, groove.max_seq_len, groove.batch_size) == (48.0, 0.2, 0.3, 64, 512)
    for preset in PRESETS.values():
        assert (preset.learning_rate, preset.decay_rate, preset.min_learning_rate, preset.grad_clip, preset.grad_norm_clip_to_zero) == (1e-3, 0.9999, 1e-5, 1.0, 10000.0)
        assert (preset.beta_1, preset.adam_epsilon) == (0.9, 1e-8)
    assert PRESETS["groovae_2bar_humanize"].humanize and PRESETS["groovae_2bar_tap_fixed_velocity"].tapify
    with pytest.raises(ConfigError, match="level_lengths"):
        MusicVAEConfig(encoding="melody_onehot", decoder="hierarchical", max_seq_len=256, level_lengths=(16, 8))
    with pytest.raises(ConfigError, match="groove"):
        MusicVAEConfig(encoding="melody_onehot", decoder="groove")


def test_schedules():
    lr = mv.MagentaExponentialDecay(1e-3, 0.9999, 1e-5)
    for step in (0, 1, 5000, 200_000):
        assert float(lr(step)) == pytest.approx((1e-3 - 1e-5) * 0.9999**step + 1e-5, rel=2e-4)  # float32 pow, as TF1
    assert float(mv.beta_at(0, 0.2, 0.0)) == 0.0 and float(mv.beta_at(1, 0.2, 0.0)) == pytest.approx(0.2)
    assert float(mv.beta_at(100_000, 0.5, 0.99999)) == pytest.approx(0.5 * (1 - 0.99999**100_000), rel=2e-3)  # float32 pow, as Magenta
    assert float(mv.sampling_probability_at(0, "inverse_sigmoid", 1000.0)) == pytest.approx(1 - 1000 / 1001, rel=1e-4)
    assert float(mv.sampling_probability_at(6908, "inverse_sigmoid", 1000.0)) == pytest.approx(0.5, abs=1e-3)
    assert float(mv.sampling_probability_at(10, "exponential", 0.9)) == pytest.approx(1 - 0.9**10, rel=1e-5)


def test_kl_free_bits_and_the_loss():
    model = mv.build_music_vae(PRESETS["groovae_tiny"])
    mu = tf.constant([[1.0] * 8, [0.0] * 8])
    sigma = tf.constant([[0.5] * 8, [1.0] * 8])
    kl = model.kl_divergence(mu, sigma).numpy()
    expected = 8 * (-math.log(0.5) + 0.5 * (0.25 + 1.0) - 0.5)
    np.testing.assert_allclose(kl, [expected, 0.0], rtol=1e-5, atol=1e-6)
    x = np.zeros((2, 64, 27), np.float32)
    x[:, ::4, 0] = 1
    x[:, ::4, 9] = 0.8
    terms, beta, _ = model.compute_terms(tf.constant(x), tf.constant(x), tf.constant(5), training=False)
    free = 4.0 * math.log(2.0)
    assert float(beta) == pytest.approx(0.2)
    assert float(terms["kl_bits"]) * math.log(2) >= 0
    assert float(terms["loss"]) == pytest.approx(float(terms["reconstruction"]) + 0.2 * float(terms["kl_loss"]), rel=1e-5)
    assert float(terms["kl_loss"]) == pytest.approx(max(0.0, float(terms["kl_bits"]) * math.log(2) - free), abs=1e-3) or float(terms["kl_loss"]) >= 0
    assert float(terms["reconstruction"]) == pytest.approx(float(terms["hits_loss"] + terms["velocities_loss"] + terms["offsets_loss"]), rel=1e-5)


def test_reconstruction_losses_are_sums_over_time():
    model = mv.build_music_vae(PRESETS["music_vae_tiny"])
    targets = tf.one_hot(tf.zeros([1, 32], tf.int32), 90)
    logits = tf.zeros([1, 32, 90])
    loss, accuracy, _ = model.reconstruction_terms(logits, targets)
    assert float(loss[0]) == pytest.approx(32 * math.log(90), rel=1e-5)
    groove = mv.build_music_vae(PRESETS["groovae_tiny"])
    loss, _, parts = groove.reconstruction_terms(tf.zeros([1, 64, 27]), tf.zeros([1, 64, 27]))
    assert float(parts["hits_loss"][0]) == pytest.approx(64 * 9 * math.log(2), rel=1e-5)  # summed over drums and steps
    assert float(parts["velocities_loss"][0]) == pytest.approx(64 * 9 * 0.25, rel=1e-5)  # sigmoid(0) = 0.5
    assert float(parts["offsets_loss"][0]) == 0.0


@pytest.mark.parametrize("name", ["groovae_tiny", "music_vae_tiny"])
def test_step_decoder_with_sampling_probability_zero_equals_teacher_forcing(name):
    model = mv.build_music_vae(PRESETS[name])
    rng = np.random.default_rng(0)
    if name == "groovae_tiny":
        x = (rng.random((3, 64, 27)) < 0.2).astype(np.float32)
    else:
        x = np.eye(90, dtype=np.float32)[rng.integers(0, 90, (3, 32))]
    z = tf.constant(rng.standard_normal((3, 8)).astype(np.float32))
    forced = model.decode_teacher_forced(z, tf.constant(x)).numpy()
    states = mv._split_state(model.state_dense(z), model.dec_rnn_size)
    stepped, _, _ = model._step_decode(z, states, tf.zeros([3, model.output_depth]), model.max_seq_len, temperature=tf.constant(1.0),
                                       seed=tf.constant([1, 2]), targets=tf.constant(x), sampling_probability=tf.constant(0.0))
    np.testing.assert_allclose(stepped.numpy(), forced, atol=2e-5)


def test_hierarchical_decoder_restarts_every_bar():
    model = mv.build_music_vae(PRESETS["hierdec_tiny"])  # 2 bars of 16 steps
    rng = np.random.default_rng(1)
    x = np.eye(90, dtype=np.float32)[rng.integers(0, 90, (2, 32))]
    z = tf.constant(rng.standard_normal((2, 8)).astype(np.float32))
    base = model.decode_teacher_forced(z, tf.constant(x)).numpy()
    changed = x.copy()
    changed[:, 3] = np.eye(90)[7]  # a step inside bar 0, not its last
    other = model.decode_teacher_forced(z, tf.constant(changed)).numpy()
    assert not np.allclose(base[:, 4:16], other[:, 4:16])  # bar 0 sees its own past
    np.testing.assert_allclose(base[:, 16:], other[:, 16:], atol=1e-6)  # bar 1 restarted: only the last step of bar 0 reaches it
    changed[:, 15] = np.eye(90)[9]
    assert not np.allclose(model.decode_teacher_forced(z, tf.constant(changed)).numpy()[:, 16], base[:, 16])
    samples = model.sample(2, 0.5, seed=3).numpy()
    assert samples.shape == (2, 32, 90) and np.all(samples.sum(-1) == 1)


def test_train_step_clips_and_zeroes_gradients():
    config = PRESETS["groovae_tiny"]
    x = (np.random.default_rng(0).random((8, 64, 27)) < 0.2).astype(np.float32)
    model = mv.build_music_vae(config)
    model.compile(optimizer=mv.make_optimizer(config))
    model.optimizer.build(model.trainable_variables)
    before = [w.numpy().copy() for w in model.trainable_weights]
    logs = model.train_step((tf.constant(x), tf.constant(x)))
    assert float(logs["gradient_norm"]) > 1.0  # clipped to 1 before the update
    assert float(logs["learning_rate_used"]) == pytest.approx(1e-3)
    moved = max(float(np.abs(w.numpy() - b).max()) for w, b in zip(model.trainable_weights, before))
    assert 0 < moved < 2e-3  # Adam's first step moves each weight by at most ~lr
    zeroing = mv.build_music_vae(config)
    zeroing.grad_norm_clip_to_zero = 1e-3  # every gradient norm is above it: the step must change nothing but Adam's counters
    zeroing.compile(optimizer=mv.make_optimizer(config))
    zeroing.optimizer.build(zeroing.trainable_variables)
    before = [w.numpy().copy() for w in zeroing.trainable_weights]
    zeroing.train_step((tf.constant(x), tf.constant(x)))
    assert all(np.array_equal(w.numpy(), b) for w, b in zip(zeroing.trainable_weights, before))
    assert int(zeroing.optimizer.iterations) == 1


def test_keras_round_trip_in_safe_mode(tmp_path):
    model = mv.build_music_vae(PRESETS["hierdec_tiny"])
    x = np.eye(90, dtype=np.float32)[np.random.default_rng(2).integers(0, 90, (2, 32))]
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is mv.MusicVAE and loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in model._flatten_layers())
