"""Tests of the config base and the registry: presets, derived fields, overrides, validation, JSON files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mst import config as mst_config
from mst import registry
from mst.models.cyclegan import cyclegan_presets
from mst.registry import CONFIG_MAP, get_config
from mst.models.genre_classifier.genre_classifier_presets import ClassifierConfig
from mst.config import ConfigError
from mst.models.cyclegan.cyclegan_presets import CycleGANConfig

PAPER_SIGMA = {
    "cyclegan_jazz_classical_base": 1.0,
    "cyclegan_jazz_classical_partial": 0.0,
    "cyclegan_jazz_classical_full": 0.01,
    "cyclegan_classical_pop_base": 0.1,
    "cyclegan_classical_pop_partial": 1.0,
    "cyclegan_classical_pop_full": 1.0,
    "cyclegan_jazz_pop_base": 0.01,
    "cyclegan_jazz_pop_partial": 0.01,
    "cyclegan_jazz_pop_full": 0.0,
}


def test_nine_paper_presets_with_the_papers_sigma_d():
    for name, sigma in PAPER_SIGMA.items():
        cfg = get_config(name)
        pair, variant = name.removeprefix("cyclegan_").rsplit("_", 1)
        assert cfg.sigma_d == sigma, name
        assert cfg.variant == variant and cfg.pair == pair and cfg.name == name
        assert (cfg.genre_a, cfg.genre_b) == cyclegan_presets.PAPER_PAIRS[pair]
        # the code's settings
        assert (cfg.generator_filters, cfg.generator_residual_blocks, cfg.discriminator_filters) == (64, 10, 64)
        assert (cfg.batch_size, cfg.learning_rate, cfg.beta_1, cfg.epochs, cfg.epoch_step) == (16, 2e-4, 0.5, 100, 10)
        assert (cfg.lambda_cycle, cfg.gamma, cfg.pool_size, cfg.seed) == (10.0, 1.0, 50, 19)
        assert cfg.noise == "half_normal" and not cfg.pool_for_base and not cfg.mixed_generator_loss
        assert cfg.residual_relu_after_add
    recommended = cyclegan_presets.RECOMMENDED_CPU_PRESET
    assert {n for n in registry.list_configs("cyclegan") if not n.endswith(("_cpu", "_tiny")) and n != recommended} == set(PAPER_SIGMA)


def test_the_recommended_cpu_preset_is_the_cpu_size_with_the_objective_options():
    cfg = get_config(cyclegan_presets.RECOMMENDED_CPU_PRESET)
    cpu = get_config("cyclegan_classical_pop_cpu")
    assert (cfg.cycle_loss, cfg.content_weight, cfg.identity_weight) == ("bce", 2.0, 0.0)
    assert (cfg.genre_a, cfg.genre_b, cfg.variant, cfg.sigma_d) == (cpu.genre_a, cpu.genre_b, cpu.variant, cpu.sigma_d)
    assert (cfg.generator_filters, cfg.generator_residual_blocks, cfg.discriminator_filters, cfg.batch_size) == (16, 10, 16, 16)
    assert cpu.cycle_loss == "l1" and cpu.content_weight == 0 and cpu.balancing == "random_per_epoch"


def test_mixed_genres_are_derived_from_the_variant():
    assert get_config("cyclegan_jazz_pop_base").mixed_genres == ()
    assert get_config("cyclegan_jazz_pop_partial").mixed_genres == ("jazz", "pop")
    assert get_config("cyclegan_jazz_pop_full").mixed_genres == ("jazz", "classical", "pop")
    assert get_config("cyclegan_classical_pop_full").mixed_genres == ("jazz", "classical", "pop")
    assert CycleGANConfig(genre_a="rock", genre_b="jazz", variant="full").mixed_genres == ("jazz", "classical", "pop", "rock")
    assert not get_config("cyclegan_jazz_pop_base").uses_pool and get_config("cyclegan_jazz_pop_full").uses_pool
    assert get_config("cyclegan_jazz_pop_base", ["pool_for_base=true"]).uses_pool
    # overriding the variant re-derives M unless M is set explicitly
    assert get_config("cyclegan_jazz_pop_base", ["variant=partial"]).mixed_genres == ("jazz", "pop")
    assert get_config("cyclegan_jazz_pop_partial", ["variant=full"]).mixed_genres == ("jazz", "classical", "pop")
    assert get_config("cyclegan_jazz_pop_partial", ["variant=base"]).mixed_genres == ()
    assert get_config("cyclegan_jazz_pop_partial", ["genre_b=classical"]).mixed_genres == ("jazz", "classical")
    assert get_config("cyclegan_jazz_pop_full", ["mixed_genres=jazz,pop,rock"]).mixed_genres == ("jazz", "pop", "rock")


def test_cpu_and_tiny_presets():
    for pair in cyclegan_presets.PAPER_PAIRS:
        cpu = get_config(f"cyclegan_{pair}_cpu")
        assert (cpu.generator_filters, cpu.generator_residual_blocks, cpu.discriminator_filters, cpu.batch_size) == (16, 10, 16, 16)
        assert cpu.variant == "base" and cpu.sigma_d == PAPER_SIGMA[f"cyclegan_{pair}_base"]
    tiny = get_config("cyclegan_tiny")
    assert (tiny.generator_filters, tiny.generator_residual_blocks, tiny.discriminator_filters, tiny.batch_size) == (8, 2, 8, 4)
    assert tiny.variant == "partial" and tiny.uses_pool
    for pair, (a, b) in cyclegan_presets.PAPER_PAIRS.items():
        clf = get_config(f"classifier_{pair}")
        assert isinstance(clf, ClassifierConfig) and (clf.genre_a, clf.genre_b) == (a, b)
        assert (clf.filters, clf.learning_rate, clf.beta_1, clf.batch_size, clf.epochs, clf.epoch_step) == (64, 2e-4, 0.5, 16, 100, 10)
        assert clf.sigma_c_eval == (0.0, 0.01, 0.1, 0.2, 0.3, 0.5)
    assert get_config("classifier_tiny").filters < 64
    assert registry.list_configs("classifier") == ["classifier_classical_pop", "classifier_jazz_classical", "classifier_jazz_pop", "classifier_tiny"]


def test_override_parsing_is_type_aware():
    cfg = get_config(
        "cyclegan_tiny",
        [
            "sigma_d=1",
            "epochs=20",
            "batch_size=8.0",
            "pool_for_base=yes",
            "mixed_generator_loss=True",
            "noise=gaussian",
            "steps_per_epoch=none",
            "checkpoint_every_steps=500",
            "mixed_genres=(jazz, classical, pop)",
            "learning_rate=1e-3",
            "name=my run",
        ],
    )
    assert cfg.sigma_d == 1.0 and isinstance(cfg.sigma_d, float)
    assert cfg.epochs == 20 and cfg.batch_size == 8 and isinstance(cfg.batch_size, int)
    assert cfg.pool_for_base is True and cfg.mixed_generator_loss is True and cfg.noise == "gaussian"
    assert cfg.steps_per_epoch is None and cfg.checkpoint_every_steps == 500
    assert cfg.mixed_genres == ("jazz", "classical", "pop") and cfg.learning_rate == 1e-3 and cfg.name == "my run"
    clf = get_config("classifier_tiny", ["sigma_c_eval=0,0.5", "steps_per_epoch=7"])
    assert clf.sigma_c_eval == (0.0, 0.5) and clf.steps_per_epoch == 7
    assert get_config("classifier_tiny", ["sigma_c_eval=()"]).sigma_c_eval == ()
    assert mst_config.apply_overrides(get_config("cyclegan_tiny"), {"sigma_d": 3.0}).sigma_d == 3.0
    assert get_config("cyclegan_tiny") is CONFIG_MAP["cyclegan_tiny"]  # presets are never mutated


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["sigm_d=1"], r"unknown CycleGANConfig field 'sigm_d' \(did you mean sigma_d\?\); valid fields: genre_a"),
        (["epochs=ten"], "epochs: expected an int"),
        (["epochs=2.5"], "epochs: expected an int"),
        (["pool_for_base=maybe"], "expected a bool"),
        (["sigma_d=-1"], "sigma_d must be >= 0"),
        (["variant=mixed"], "variant must be one of"),
        (["noise=uniform"], "noise must be one of"),
        (["pool_size=1"], "pool_size"),
        (["mixed_genres="], "needs a non-empty mixed_genres"),
        (["variant=base", "mixed_genres=jazz"], "mixed_genres must be empty"),
        (["variant=base", "mixed_generator_loss=true"], "mixed_generator_loss"),
        (["genre_b=jazz"], "must differ"),
        (["genre_a=Jazz"], "lower-case"),
        (["batch_size=0"], "batch_size must be an int >= 1"),
        (["sigma_d"], "field=value"),
    ],
)
def test_override_errors_are_clear(overrides, message):
    with pytest.raises(ConfigError, match=message):
        get_config("cyclegan_tiny", overrides)


def test_unknown_preset_lists_valid_names():
    with pytest.raises(ConfigError) as err:
        get_config("cyclegan_jazz_clasical_base")
    text = str(err.value)
    assert "did you mean cyclegan_jazz_classical_base" in text
    assert all(name in text for name in CONFIG_MAP)
    with pytest.raises(ConfigError, match="unknown model family 'gan'"):
        registry.list_configs("gan")


def test_dict_json_and_file_round_trips(tmp_path):
    for name, cfg in CONFIG_MAP.items():
        assert type(cfg).from_dict(cfg.to_dict()) == cfg, name
        assert registry.config_from_json(cfg.to_json()) == cfg, name
        json.dumps(cfg.to_dict())  # plain JSON types
    cfg = get_config("cyclegan_classical_pop_full", ["sigma_d=0.1"])
    path = registry.save_config(cfg, tmp_path / "run" / "config.json")
    assert registry.load_config(path) == cfg
    assert not list(path.parent.glob("*.tmp-*"))
    payload = json.loads(path.read_text())
    assert payload["config_class"] == "CycleGANConfig" and payload["config"]["mixed_genres"] == ["jazz", "classical", "pop"]
    with pytest.raises(ConfigError, match="unknown CycleGANConfig field"):
        CycleGANConfig.from_dict({**cfg.to_dict(), "typo": 1})
    with pytest.raises(ConfigError, match="not an mst config"):
        registry.config_from_json('{"a": 1}')


def test_configs_are_frozen_and_validated_on_replace():
    cfg = get_config("cyclegan_tiny")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.sigma_d = 1.0
    assert cfg.replace(sigma_d=5.0).sigma_d == 5.0
    assert cfg.replace(variant="full").mixed_genres == ("jazz", "classical", "pop")
    assert cfg.replace(variant="full", mixed_genres=("pop",)).mixed_genres == ("pop",)
    with pytest.raises(ConfigError, match="unknown"):
        cfg.replace(sigma=1.0)
    with pytest.raises(ConfigError):
        cfg.replace(epochs=0)
    with pytest.raises(ConfigError):
        ClassifierConfig(genre_a="jazz", genre_b="pop", sigma_c_eval=(-0.1,))
    assert mst_config.parse_value("1,2", tuple[int, ...]) == (1, 2)


def test_a_config_file_of_mst_0_1_reads_as_the_run_it_describes():
    recorded = json.loads((Path(__file__).parent / "fixtures" / "legacy_v0_1" / "run" / "config.json").read_text())
    recorded["config"].pop("balancing")  # mst 0.1 did not write it: it always kept a fixed subset
    legacy = registry.config_from_json(json.dumps(recorded))
    assert legacy.balancing == "fixed_subset" and get_config("cyclegan_tiny").balancing == "random_per_epoch"


def test_every_family_is_registered_once_with_importable_parts():
    names = [family.name for family in registry.FAMILIES]
    assert len(set(names)) == len(names) and len({f.kind for f in registry.FAMILIES}) == len(names)
    for family in registry.FAMILIES:
        for attribute in ("task", "loader", "run_exporter"):
            assert callable(family.resolve(attribute)), (family.name, attribute)
        assert all(registry.family_of(config) is family for config in family.presets.values())
        assert registry.family(family.kind) is family
    with pytest.raises(ConfigError, match="unknown model family 'gan'"):
        registry.family("gan")
