"""lib.report.plots: figures with bootstrapped intervals are the same from the same numbers."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from lib.report import plots  # noqa: E402


def _weights() -> pd.DataFrame:
    """Fusion weights of 2 DSBs at 3 resolutions, 5 images each: w_L = 1 - r + noise."""
    rng = np.random.default_rng(0)
    rows = []
    for block in (1, 2):
        for r in (0.25, 0.5, 1.0):
            for _ in range(5):
                w_low = float(np.clip(1 - r + rng.normal(0, 0.1), 0, 1))
                rows.append({"r": r, "block": block, "w_low": w_low, "w_high": 1 - w_low})
    return pd.DataFrame(rows)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    plt.close(fig)
    return buffer.getvalue()


def test_fusion_weights_figure_is_the_same_twice_and_draws_the_means() -> None:
    frame = _weights()
    fig = plots.fusion_weights(frame)
    # each DSB's panel: the w_L line through the mean w_L per r
    for ax, block in zip(fig.axes, (1, 2), strict=True):
        part = frame[frame["block"] == block].groupby("r")["w_low"].mean()
        xs, ys = ax.get_lines()[0].get_data()
        np.testing.assert_allclose(xs, part.index)
        np.testing.assert_allclose(ys, part.to_numpy())
    # the 95% bootstrap band is seeded: the same numbers give the same image, byte for byte
    assert _png(fig) == _png(plots.fusion_weights(frame))


def test_objective_slices_draw_the_two_slices_with_one_legend_outside_the_panels() -> None:
    rs = [0.25, 0.5, 1.0]
    grid = pd.DataFrame([[3.0, 2.0, 1.5], [2.5, 1.8, 1.2], [2.0, 1.4, 1.0]], index=rs, columns=rs)
    grids = {"A": grid, "B": grid * 2}
    fig = plots.objective_slices(grids, "title")
    diagonal, last_column = fig.axes[0].lines[1], fig.axes[1].lines[1]
    np.testing.assert_allclose(diagonal.get_ydata(), [6.0, 3.6, 2.0])  # O(r, r) of grid B
    np.testing.assert_allclose(last_column.get_ydata(), [3.0, 2.4, 2.0])  # O(r1, 1) of grid B
    assert all(ax.get_legend() is None for ax in fig.axes)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["A", "B"]
    fig.canvas.draw()
    box = legend.get_window_extent()
    for ax in fig.axes:  # below both panels: it covers no curve
        assert box.y1 < ax.get_tightbbox().y0
    plt.close(fig)
