"""Genre-classifier evaluation of a transfer model: table rows, transfer strength S^D, ranking.

Protocol (Brunner et al. 2018; docs/reference/cyclegan.md#evaluation-protocol): for direction A→B
every test phrase x_A of genre A is transferred (x̂_B) and cycled back (x̃_A); the pair's
classifier gives the probability P_A of the *source* genre for origin, transfer and cycle. Likewise
P_B for direction B→A.

* :func:`classifier_table` turns the per-phrase source probabilities into the six table cells
  (A, A→B, A→B→A, B, B→A, B→A→B), in percent: the share of phrases classified as the source genre
  (``P_source > 0.5``, i.e. the argmax of a two-class softmax), or the mean source probability.
* :func:`direction_strength` / :func:`transfer_strength` apply the strength formula
  (docs/reference/cyclegan.md#transfer-strength) to six cells, whatever their origin (ours, or the
  paper's printed ones, see :mod:`mst.models.cyclegan.paper_tables`).
* :func:`rank_transfers` rebuilds the authors' per-phrase ranking file.

Example:
    >>> import numpy as np
    >>> a_to_b = DirectionProbabilities(origin=[0.9, 0.8, 0.7, 0.2], transfer=[0.1, 0.6, 0.3, 0.2],
    ...                                 cycle=[0.9, 0.9, 0.4, 0.6])
    >>> b_to_a = DirectionProbabilities(origin=[0.9, 0.9], transfer=[0.2, 0.7], cycle=[0.8, 0.3])
    >>> table = classifier_table(a_to_b, b_to_a)
    >>> table.as_dict()
    {'A': 75.0, 'A→B': 25.0, 'A→B→A': 75.0, 'B': 100.0, 'B→A': 50.0, 'B→A→B': 50.0}
    >>> transfer_strength(table)
    StrengthScores(a_to_b=50.0, b_to_a=25.0, total=37.5)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal, NamedTuple

import numpy as np

from mst.metrics.content import content_difference

TABLE_ROW_LABELS: tuple[str, ...] = ("A", "A→B", "A→B→A", "B", "B→A", "B→A→B")
Statistic = Literal["percent_source", "mean_probability"]
STATISTICS: tuple[str, ...] = ("percent_source", "mean_probability")
SOURCE_THRESHOLD = 0.5  # a phrase counts as its source genre when P_source > 0.5 (strictly)


def _probabilities(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of probabilities; got shape {array.shape}")
    if not np.all((array >= 0.0) & (array <= 1.0)):  # also rejects NaN
        raise ValueError(f"{name} must hold probabilities in [0, 1]")
    return array


@dataclass(frozen=True, eq=False)  # array fields: == would be ambiguous
class DirectionProbabilities:
    """Per-phrase *source-genre* probabilities of one transfer direction.

    For A→B all three arrays hold P_A; for B→A they hold P_B. Entry ``i`` of each array belongs to
    test phrase ``i`` (its origin, transfer and cycle).

    Attributes:
        origin: ``[N]`` P_source of the original phrases.
        transfer: ``[N]`` P_source of their (binarized) transfers.
        cycle: ``[N]`` P_source of their (binarized) cycles.
    """

    origin: np.ndarray
    transfer: np.ndarray
    cycle: np.ndarray

    def __post_init__(self):
        arrays = {field.name: _probabilities(getattr(self, field.name), field.name) for field in fields(self)}
        lengths = {name: len(array) for name, array in arrays.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"origin, transfer and cycle need one probability per phrase; got lengths {lengths}")
        for name, array in arrays.items():
            object.__setattr__(self, name, array)

    def __len__(self) -> int:
        return len(self.origin)


def source_probability(logits, source_index: int) -> np.ndarray:
    """Softmax probability of class ``source_index`` from classifier logits ``[N, C]``.

    In a genre pair A is class 0 and B class 1 (labels (1, 0) and (0, 1)).

    Example:
        >>> source_probability([[2.0, 0.0], [0.0, 0.0]], source_index=0).round(4).tolist()
        [0.8808, 0.5]
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or not 0 <= source_index < logits.shape[1]:
        raise ValueError(f"need logits [N, C] and 0 <= source_index < C; got shape {logits.shape}, {source_index}")
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))  # shift for overflow safety
    return shifted[:, source_index] / shifted.sum(axis=1)


def summarize_probabilities(probabilities, statistic: Statistic = "percent_source") -> float:
    """One table cell in percent from per-phrase source probabilities.

    ``"percent_source"``: 100 × share of phrases with ``P_source > 0.5`` (a tie at exactly 0.5 is not
    the source genre). ``"mean_probability"``: 100 × mean ``P_source``.

    Example:
        >>> probabilities = [0.9, 0.5, 0.25, 0.75]
        >>> summarize_probabilities(probabilities), summarize_probabilities(probabilities, "mean_probability")
        (50.0, 60.0)
    """
    values = _probabilities(probabilities, "probabilities")
    if statistic == "percent_source":
        return float(100.0 * np.mean(values > SOURCE_THRESHOLD))
    if statistic == "mean_probability":
        return float(100.0 * np.mean(values))
    raise ValueError(f"statistic must be one of {STATISTICS}; got {statistic!r}")


class StrengthScores(NamedTuple):
    """Transfer strength per direction and in total, in percent (range −100..100)."""

    a_to_b: float
    b_to_a: float
    total: float


@dataclass(frozen=True)
class ClassifierTable:
    """The six cells of one column of the paper's Tables VI–IX, in percent.

    ``a``, ``a_to_b``, ``a_to_b_to_a`` are P_A of A's test phrases, transfers and cycles;
    ``b``, ``b_to_a``, ``b_to_a_to_b`` are P_B of B's.
    """

    a: float
    a_to_b: float
    a_to_b_to_a: float
    b: float
    b_to_a: float
    b_to_a_to_b: float

    def as_dict(self) -> dict[str, float]:
        """Cells keyed by the paper's row labels (:data:`TABLE_ROW_LABELS`), in table order."""
        return dict(zip(TABLE_ROW_LABELS, (float(getattr(self, field.name)) for field in fields(self))))

    def strength(self) -> StrengthScores:
        """Shortcut for :func:`transfer_strength`."""
        return transfer_strength(self)


def classifier_table(
    a_to_b: DirectionProbabilities, b_to_a: DirectionProbabilities, statistic: Statistic = "percent_source"
) -> ClassifierTable:
    """The six table cells from the per-phrase source probabilities of both directions.

    Args:
        a_to_b: P_A of A's test phrases, their transfers to B and their cycles.
        b_to_a: P_B of B's test phrases, their transfers to A and their cycles.
        statistic: ``"percent_source"`` (the paper's reading: % classified as the source genre) or
            ``"mean_probability"`` (100 × mean P_source), see :func:`summarize_probabilities`.

    Example:
        >>> one = DirectionProbabilities(origin=[0.8, 0.6], transfer=[0.4, 0.2], cycle=[0.7, 0.3])
        >>> round(classifier_table(one, one, "mean_probability").as_dict()["A→B"], 6)
        30.0
    """
    cells = [
        summarize_probabilities(getattr(direction, stage), statistic)
        for direction in (a_to_b, b_to_a)
        for stage in ("origin", "transfer", "cycle")
    ]
    return ClassifierTable(*cells)


def direction_strength(origin: float, transfer: float, cycle: float) -> float:
    """S^D of one direction: ½[(P(origin) − P(transfer)) + (P(cycle) − P(transfer))].

    All three are the same direction's source-genre cells (e.g. A, A→B, A→B→A).

    Example:
        >>> round(direction_strength(88.09, 20.62, 88.18), 6)
        67.515
    """
    return 0.5 * ((origin - transfer) + (cycle - transfer))


def transfer_strength(table: ClassifierTable) -> StrengthScores:
    """S^D_{A→B}, S^D_{B→A} and S^D_tot = ½(S^D_{A→B} + S^D_{B→A}) of one table column.

    Example (the paper's Table VI, σ_D = 1, printed S_tot 69.7 %):
        >>> scores = transfer_strength(ClassifierTable(88.09, 20.62, 88.18, 92.53, 20.71, 92.53))
        >>> round(scores.total, 4)
        69.6675
    """
    a_to_b = direction_strength(table.a, table.a_to_b, table.a_to_b_to_a)
    b_to_a = direction_strength(table.b, table.b_to_a, table.b_to_a_to_b)
    return StrengthScores(a_to_b, b_to_a, 0.5 * (a_to_b + b_to_a))


RANKING_COLUMNS: tuple[str, ...] = ("Id", "Content_diff", "|P_O - P_T|", "P_origin", "P_transfer", "P_cycle")


@dataclass(frozen=True, eq=False)  # array fields: == would be ambiguous
class TransferRanking:
    """The authors' per-phrase ranking of one direction, strongest transfer first.

    All arrays are ``[N]`` and in ranked order; ``phrase_id[k]`` is the index (or caller-given id) of
    the phrase ranked ``k``.
    """

    phrase_id: np.ndarray
    content_diff: np.ndarray
    abs_probability_change: np.ndarray
    p_origin: np.ndarray
    p_transfer: np.ndarray
    p_cycle: np.ndarray

    def __len__(self) -> int:
        return len(self.phrase_id)

    def rows(self) -> list[tuple]:
        """One tuple per phrase in :data:`RANKING_COLUMNS` order (plain Python numbers)."""
        columns = [getattr(self, field.name).tolist() for field in fields(self)]
        return list(zip(*columns))

    def to_text(self) -> str:
        """Tab-separated text with a header line, like the authors' ranking file.

        Example:
            >>> x = np.zeros((2, 64, 84), bool)
            >>> lines = rank_transfers(x, x, [0.9, 0.6], [0.2, 0.5], [0.8, 0.7]).to_text().splitlines()
            >>> lines[0].split("\\t")
            ['Id', 'Content_diff', '|P_O - P_T|', 'P_origin', 'P_transfer', 'P_cycle']
            >>> lines[1].split("\\t")
            ['0', '0.000000', '0.700000', '0.900000', '0.200000', '0.800000']
        """
        lines = ["\t".join(RANKING_COLUMNS)]
        for row in self.rows():
            lines.append("\t".join([str(row[0])] + [f"{value:.6f}" for value in row[1:]]))
        return "\n".join(lines)


def rank_transfers(origin, transfer, p_origin, p_transfer, p_cycle, phrase_ids=None) -> TransferRanking:
    """Ranks the transfers of one direction by ``|P_O − P_T|``, largest first.

    Args:
        origin: Binary source phrases ``[N, 64, 84(, 1)]``.
        transfer: Their binary transfers, same shape.
        p_origin, p_transfer, p_cycle: ``[N]`` source-genre probabilities.
        phrase_ids: Optional ``[N]`` integer ids (default ``0..N-1``).

    Returns:
        A :class:`TransferRanking`; ties in ``|P_O − P_T|`` keep ascending id order.

    Example:
        >>> x = np.zeros((3, 64, 84), bool)
        >>> rank_transfers(x, x, [0.9, 0.9, 0.6], [0.5, 0.1, 0.2], [0.8, 0.8, 0.8]).phrase_id.tolist()
        [1, 0, 2]
    """
    probabilities = DirectionProbabilities(p_origin, p_transfer, p_cycle)
    differences = np.asarray(content_difference(origin, transfer), dtype=np.float64).reshape(-1)
    if len(differences) != len(probabilities):
        raise ValueError(f"got {len(differences)} phrases but {len(probabilities)} probabilities")
    ids = np.arange(len(differences)) if phrase_ids is None else np.asarray(phrase_ids)
    if ids.shape != differences.shape or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"phrase_ids must be {len(differences)} integers; got {ids.dtype} {ids.shape}")
    change = np.abs(probabilities.origin - probabilities.transfer)
    order = np.lexsort((ids, -change))  # last key is primary: change descending, then id ascending
    return TransferRanking(
        phrase_id=ids[order],
        content_diff=differences[order],
        abs_probability_change=change[order],
        p_origin=probabilities.origin[order],
        p_transfer=probabilities.transfer[order],
        p_cycle=probabilities.cycle[order],
    )
