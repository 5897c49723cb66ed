"""Tests for mst.records.pianoroll_reader.PairEpochs: balancing, the mixed set, determinism, errors.

(Ported from the tests of ``mst.records.cyclegan_dataset``, which PairEpochs replaced; the trainers'
use of it is tested in tests/training_test.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
from testing import packed_set
from testing import write_records_dataset as write_dataset

from mst.records.manifest import DatasetError
from mst.records.pianoroll_reader import PairEpochs, TrainingDataError


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pair_epochs")
    return directory, write_dataset(directory)  # train phrases: jazz 40, pop 70, classical 25


def epoch_batches(epochs: PairEpochs, epoch: int) -> list[dict]:
    return list(epochs.dataset(epoch).as_numpy_iterator())


def seen(batches, key: str) -> set[bytes]:
    return set().union(*(packed_set(batch[key]) for batch in batches))


def test_fixed_subset_balances_by_smallest_uid(dataset):
    directory, written = dataset
    epochs = PairEpochs(directory, "jazz", "pop", batch_size=8, seed=3, balancing="fixed_subset")
    assert epochs.batches_per_epoch == 40 // 8 and int(epochs.dataset(0).cardinality()) == 5
    first = epoch_batches(epochs, 0)
    assert len(first) == 5 and set(first[0]) == {"a", "b"}
    assert first[0]["a"].shape == (8, 64, 84, 1) and first[0]["b"].dtype == np.float32
    pop = sorted(written[("pop", "train")], key=lambda r: r.uid)
    assert seen(first, "b") == {r.packed_roll for r in pop[:40]}  # exactly the 40 smallest uids of the larger side
    assert seen(first, "a") == {r.packed_roll for r in written[("jazz", "train")]}
    again = epoch_batches(PairEpochs(directory, "jazz", "pop", batch_size=8, seed=3, balancing="fixed_subset"), 0)
    np.testing.assert_array_equal(first[2]["b"], again[2]["b"])  # same seed and epoch: same batches
    second = epoch_batches(epochs, 1)
    assert not np.array_equal(first[0]["a"], second[0]["a"])  # another epoch: another order ...
    assert seen(second, "b") == seen(first, "b")  # ... of the same subset


def test_random_per_epoch_draws_a_fresh_subset_of_the_larger_side(dataset):
    directory, written = dataset
    epochs = PairEpochs(directory, "pop", "classical", batch_size=8, seed=0, balancing="random_per_epoch")
    assert epochs.batches_per_epoch == 25 // 8
    pop_seen = set()
    for epoch in range(6):
        batches = epoch_batches(epochs, epoch)
        assert len(seen(batches, "a")) == 24  # 3 full batches of distinct phrases
        pop_seen |= seen(batches, "a")
    assert len(pop_seen) > 25  # different epochs draw different parts of the larger side
    assert pop_seen <= {r.packed_roll for r in written[("pop", "train")]}
    for batch, again in zip(epoch_batches(epochs, 4), epoch_batches(epochs, 4)):
        np.testing.assert_array_equal(batch["a"], again["a"])  # an epoch's subset depends on (seed, epoch) only


def test_mixed_set_is_the_union_of_the_named_genres_and_not_downsampled(dataset):
    directory, written = dataset
    epochs = PairEpochs(directory, "jazz", "pop", batch_size=8, seed=0, mixed_genres=["jazz", "pop", "classical"])
    assert epochs.batches_per_epoch == 5
    mixed_seen = set()
    for epoch in range(4):
        for batch in epoch_batches(epochs, epoch):
            assert batch["m"].shape == (8, 64, 84, 1)
            mixed_seen |= packed_set(batch["m"])
    union = {r.packed_roll for g in ("jazz", "pop", "classical") for r in written[(g, "train")]}
    assert mixed_seen <= union
    assert mixed_seen & {r.packed_roll for r in written[("classical", "train")]}
    pop_by_uid = sorted(written[("pop", "train")], key=lambda r: r.uid)
    assert mixed_seen & {r.packed_roll for r in pop_by_uid[40:]}  # M is not downsampled


def test_pair_epochs_errors(dataset):
    directory, _ = dataset
    with pytest.raises(DatasetError, match="unknown genre 'rock'"):
        PairEpochs(directory, "jazz", "rock", batch_size=8, seed=0)
    with pytest.raises(DatasetError, match="unknown genre 'folk'"):
        PairEpochs(directory, "jazz", "pop", batch_size=8, seed=0, mixed_genres=["folk"])
    with pytest.raises(TrainingDataError, match="must differ"):
        PairEpochs(directory, "jazz", "jazz", batch_size=8, seed=0)
    with pytest.raises(TrainingDataError, match="at least one full batch of 64"):
        PairEpochs(directory, "jazz", "pop", batch_size=64, seed=0)
    with pytest.raises(TrainingDataError, match="mixed set .* fewer than one batch of 30"):
        PairEpochs(directory, "jazz", "pop", batch_size=30, seed=0, mixed_genres=["classical"])
    with pytest.raises(ValueError, match="balancing"):
        PairEpochs(directory, "jazz", "pop", batch_size=8, seed=0, balancing="uid")
