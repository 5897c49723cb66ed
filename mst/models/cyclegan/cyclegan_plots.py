"""CycleGAN figures: the strongest and weakest transfers of a direction (the authors' ranking).

The ranking itself is computed by :func:`mst.models.cyclegan.strength.rank_transfers`; this module
only draws it, with the shared helpers of :mod:`mst.plotting`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from mst.models.cyclegan.strength import rank_transfers
from mst.plotting import DEFAULT_DPI, STEPS_PER_BAR, as_plot_rolls, check_steps_per_bar, draw_roll, is_single_roll, save_figure


def save_ranking_png(
    path,
    origin,
    transfer,
    cycle,
    probs,
    *,
    n_each: int = 2,
    steps_per_bar: int = STEPS_PER_BAR,
    dpi: int = DEFAULT_DPI,
) -> str:
    """Saves the strongest and weakest transfers of one direction (origin | transfer | cycle rows).

    Phrases are ranked as in the authors' ranking file (:func:`mst.models.cyclegan.strength.rank_transfers`:
    by ``|P_origin − P_transfer|`` of the source genre, largest first). The top ``n_each`` rows are
    the strongest transfers, the bottom ``n_each`` the weakest; with fewer than ``2 · n_each``
    phrases every phrase is shown once, in rank order.

    Args:
        path: Output ``.png`` path (written atomically).
        origin, transfer, cycle: Binary phrases ``[N, T, 84(, 1)]`` of one direction.
        probs: ``[N, 3]`` source-genre probabilities (P_origin, P_transfer, P_cycle) per phrase.
        n_each: Rows for the strongest and for the weakest transfers.
        steps_per_bar: Bar-line spacing in steps.
        dpi: Resolution.

    Example:
        >>> import tempfile, os
        >>> x = np.zeros((3, 64, 84)); probs = [[0.9, 0.1, 0.8], [0.9, 0.8, 0.9], [0.7, 0.4, 0.6]]
        >>> os.path.isfile(save_ranking_png(os.path.join(tempfile.mkdtemp(), "r.png"), x, x, x, probs, n_each=1))
        True
    """
    check_steps_per_bar(steps_per_bar)
    if int(n_each) != n_each or n_each < 1:
        raise ValueError(f"n_each must be a positive integer; got {n_each}")
    named = (("origin", origin), ("transfer", transfer), ("cycle", cycle))
    stages = {name: as_plot_rolls(rolls, name) for name, rolls in named}
    if any(is_single_roll(rolls) for rolls in (origin, transfer, cycle)):
        raise ValueError("origin, transfer and cycle must be batches [N, T, 84(, 1)]")
    shapes = {name: rolls.shape for name, rolls in stages.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"origin, transfer and cycle must have the same shape; got {shapes}")
    probabilities = np.asarray(probs, dtype=np.float64)
    num_phrases = shapes["origin"][0]
    if probabilities.shape != (num_phrases, 3):
        raise ValueError(
            f"probs must be [N, 3] = (P_origin, P_transfer, P_cycle) with N = {num_phrases}; "
            f"got {probabilities.shape}"
        )
    ranking = rank_transfers(
        stages["origin"], stages["transfer"], probabilities[:, 0], probabilities[:, 1], probabilities[:, 2]
    )
    if num_phrases <= 2 * n_each:
        rows = [(f"rank {rank + 1}", rank) for rank in range(num_phrases)]
    else:
        rows = [(f"strongest #{rank + 1}", rank) for rank in range(n_each)]
        rows += [(f"weakest #{n_each - k}", num_phrases - n_each + k) for k in range(n_each)]
    figure = Figure(figsize=(10.0, 2.3 * len(rows)), layout="constrained")
    grid = figure.subplots(len(rows), 3, squeeze=False)
    for row, (row_label, rank) in enumerate(rows):
        phrase = int(ranking.phrase_id[rank])
        stage_probabilities = (ranking.p_origin[rank], ranking.p_transfer[rank], ranking.p_cycle[rank])
        for column, (stage, probability) in enumerate(zip(stages, stage_probabilities)):
            title = f"{stage}  P_source={probability:.2f}"
            if column == 0:
                title = f"{row_label} (id {phrase}, |ΔP|={ranking.abs_probability_change[rank]:.2f})\n{title}"
            draw_roll(grid[row, column], stages[stage][phrase], title, steps_per_bar)
    return save_figure(figure, path, dpi)
