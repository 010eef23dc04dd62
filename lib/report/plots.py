"""Figures shared by the notebooks (matplotlib/seaborn; each returns the Figure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from lib.data.loader import read_image
from lib.data.resolution import at_resolution, source_geometry
from lib.data.samples import Sample


def persons_across_resolutions(
    paths: Sequence[str],
    resolutions: Sequence[float],
    labels: Sequence[str] | None = None,
    *,
    width_max: float | None = None,
):
    """A grid: one column per image, one row per resolution (the idea of the paper's Fig. 1:
    persons told apart by fine cues at high resolution look alike at low resolution).
    Resolution as in Sec. 3: width ``r * width_max``, never enlarged; ``width_max`` is the
    dataset's widest width (default: each image's own, i.e. the images are taken as r = 1)."""
    images = [read_image(p) for p in paths]
    fig, axes = plt.subplots(
        len(resolutions), len(images), figsize=(1.1 * len(images), 2.0 * len(resolutions))
    )
    axes = np.atleast_2d(axes)
    for row, r in enumerate(resolutions):
        for col, image in enumerate(images):
            ax = axes[row, col]
            ax.imshow(at_resolution(image, r, width_max))
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(f"r = {r:g}")
            if row == 0 and labels is not None:
                ax.set_title(labels[col], fontsize=8)
    fig.tight_layout()
    return fig


def resolution_histograms(manifests: dict[str, pd.DataFrame]):
    """Histogram of r per subset for each built variant (one panel per variant)."""
    fig, axes = plt.subplots(
        1, len(manifests), figsize=(3.2 * len(manifests), 2.6), squeeze=False, sharey=False
    )
    for ax, (name, frame) in zip(axes[0], manifests.items(), strict=True):
        sns.histplot(
            frame, x="r", hue="subset", bins=np.linspace(0, 1, 21), multiple="stack", ax=ax
        )
        ax.set_title(name)
        ax.set_xlabel("resolution r = width / width_max")
        ax.set_xlim(0, 1.02)
    fig.tight_layout()
    return fig


def loss_curves(runs: dict[str, Path | str], columns: Sequence[str] | None = None):
    """Per-epoch training losses read from each run's ``log.csv`` (one panel per run)."""
    fig, axes = plt.subplots(1, len(runs), figsize=(3.6 * len(runs), 2.8), squeeze=False)
    for ax, (label, folder) in zip(axes[0], runs.items(), strict=True):
        log = pd.read_csv(Path(folder) / "log.csv")
        cols = [
            c for c in log.columns if c.startswith("loss_") and (columns is None or c in columns)
        ]
        for c in cols:
            ax.plot(log["epoch"], log[c], marker="o", label=c.removeprefix("loss_"))
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss (epoch mean)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def sr_grid(
    images: torch.Tensor,
    sr_models: dict[str, torch.nn.Module],
    resolutions: Sequence[float],
    *,
    samples: Sequence[Sample] | None = None,
):
    """For each image and resolution: LR input (bilinear), each SR model's output, and HR.
    ``samples`` (those the images were read from, :func:`lib.eval.analysis.hr_batch`) make r the
    r of Sec. 3 (width r * width_max of the dataset); without them each image is taken as
    r = 1 at its tensor width. The SR models run in eval mode (their modes restored after)."""
    from lib.eval.analysis import degrade
    from lib.models.modes import evaluating

    sizes, width_max = source_geometry(samples) if samples is not None else (None, None)
    columns = ["bilinear", *sr_models, "HR"]
    rows = [(i, r) for i in range(len(images)) for r in resolutions]
    fig, axes = plt.subplots(
        len(rows), len(columns), figsize=(1.2 * len(columns), 2.1 * len(rows)), squeeze=False
    )
    with evaluating(*sr_models.values()):
        for row, (i, r) in enumerate(rows):
            lr = degrade(images[i : i + 1], r, width_max, sizes[i : i + 1] if sizes else None)
            shown = {"bilinear": lr, **{n: m(lr) for n, m in sr_models.items()}}
            shown["HR"] = images[i : i + 1]
            for col, name in enumerate(columns):
                ax = axes[row, col]
                ax.imshow(shown[name][0].clamp(0, 1).permute(1, 2, 0).cpu().numpy())
                ax.set_xticks([])
                ax.set_yticks([])
                if row == 0:
                    ax.set_title(name, fontsize=8)
                if col == 0:
                    ax.set_ylabel(f"r = {r:g}", fontsize=8)
    fig.tight_layout()
    return fig


def fusion_weights(frame: pd.DataFrame):
    """w_L and w_H of each DSB against r (mean and 95% interval over images), with the
    targets of Eq. 7 (1 - r and r) dashed."""
    long = frame.melt(id_vars=["r", "block"], value_vars=["w_low", "w_high"], var_name="weight")
    blocks = sorted(frame["block"].unique())
    fig, axes = plt.subplots(
        1, len(blocks), figsize=(3.0 * len(blocks), 2.8), sharey=True, squeeze=False
    )
    rs = np.array(sorted(frame["r"].unique()))
    for ax, block in zip(axes[0], blocks, strict=True):
        sns.lineplot(
            long[long["block"] == block],
            x="r",
            y="value",
            hue="weight",
            marker="o",
            ax=ax,
            seed=0,  # its bootstrap interval: the same figure from the same numbers
        )
        ax.plot(rs, 1 - rs, ls="--", c="C0", lw=0.8)
        ax.plot(rs, rs, ls="--", c="C1", lw=0.8)
        ax.set_title(f"DSB {block}")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("resolution r")
    axes[0, 0].set_ylabel("fusion weight")
    fig.tight_layout()
    return fig


def objective_slices(grids: dict[str, pd.DataFrame], title: str = ""):
    """The two panels of Figs. 2 and 4: (a) O(r, r) against r, (b) O(r1, 1) against r1, one
    line per grid (dataset or model), their legend below the panels."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    for label, grid in grids.items():
        rs = np.array(grid.index, dtype=float)
        axes[0].plot(rs, np.diag(grid.to_numpy(dtype=float)), marker="o", label=label)
        axes[1].plot(rs, grid[grid.columns.max()].to_numpy(dtype=float), marker="o", label=label)
    axes[0].set_xlabel("r1 = r2")
    axes[1].set_xlabel("r1 (r2 = 1)")
    for ax, name in zip(axes, ("(a) O(r, r)", "(b) O(r1, 1)"), strict=True):
        ax.set_ylabel("O = mean D_sim / mean D_dif")
        ax.set_title(name)
    # One legend below both panels: inside a panel it covered the low-r points of the curves.
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8)
    if title:
        fig.suptitle(title)
    rows = -(-len(labels) // 4)
    fig.tight_layout(rect=(0, 0.07 * rows, 1, 1))
    return fig


def objective_heatmap(grid: pd.DataFrame, title: str = ""):
    """The full grid O(r1, r2) as a heatmap (beyond the paper's two slices)."""
    fig, ax = plt.subplots(figsize=(4.6, 3.8))
    sns.heatmap(grid.astype(float), annot=len(grid) <= 8, fmt=".2f", cmap="viridis", ax=ax)
    ax.invert_yaxis()
    ax.set_title(title or "O(r1, r2)")
    fig.tight_layout()
    return fig


def stratified_heatmaps(frames: dict[str, pd.DataFrame], value: str = "rank1"):
    """Rank-1 (or mAP) per (query resolution bucket, gallery resolution bucket), one panel
    per model (data: :func:`lib.eval.metrics.evaluate_by_resolution`), in %."""
    fig, axes = plt.subplots(1, len(frames), figsize=(4.2 * len(frames), 3.6), squeeze=False)
    for ax, (label, frame) in zip(axes[0], frames.items(), strict=True):
        grid = frame.pivot(index="q_bucket", columns="g_bucket", values=value) * 100
        sns.heatmap(grid, annot=True, fmt=".0f", vmin=0, vmax=100, cmap="magma", ax=ax)
        ax.set_title(f"{label}: {value} (%)")
        ax.set_xlabel("gallery resolution r")
        ax.set_ylabel("query resolution r")
        ax.invert_yaxis()
    fig.tight_layout()
    return fig


def headroom(frame: pd.DataFrame, title: str = ""):
    """Rank-1 (%) of the ResNet baseline against the test resolution r
    (:func:`lib.headroom.headroom_records`): trained at r or on VR-Synthetic, tested
    resolution-matched (solid) or query at r against a full-resolution gallery (dashed);
    mean and 95% interval over seeds."""
    long = frame.melt(
        id_vars=["seed", "r", "trained_on"],
        value_vars=["matched_rank1", "cross_rank1"],
        var_name="test",
        value_name="rank1",
    )
    long["rank1"] *= 100
    long["test"] = long["test"].map(
        {
            "matched_rank1": "matched (query and gallery at r)",
            "cross_rank1": "query at r, gallery r = 1",
        }
    )
    long["trained_on"] = long["trained_on"].map(
        {"r": "trained at r", "vr_synthetic": "trained on VR mix"}
    )
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    sns.lineplot(long, x="r", y="rank1", hue="trained_on", style="test", marker="o",
                 errorbar=("ci", 95), seed=0, ax=ax)  # fmt: skip
    ax.set_xlabel("test resolution r (query)")
    ax.set_ylabel("Rank-1 (%)")
    ax.set_ylim(0, 100)
    ax.axhspan(25, 60, color="0.92", zorder=0, label="aim for the baseline: 25-60%")
    ax.legend(fontsize=7)
    ax.set_title(title or "Headroom: ResNet baseline by resolution")
    fig.tight_layout()
    return fig


def rank1_with_intervals(
    records: pd.DataFrame, reported: Mapping[str, float], title: str = "",
    baseline: str = "ResNet50",
):  # fmt: skip
    """Left: Rank-1 (%) per method, every seed as a dot, the mean with its 95% t-interval and
    the paper's reported number as a cross. Right: each method's paired gain over
    ``baseline`` (same seed) with its 95% t-interval, beside the paper's gain. ``records``:
    columns ``method``, ``seed``, ``rank1`` (%)."""
    from scipy import stats

    def interval(values: np.ndarray) -> tuple[float, float]:
        if values.size < 2:
            return float(values.mean()), 0.0
        sem = values.std(ddof=1) / np.sqrt(values.size)
        return float(values.mean()), float(stats.t.ppf(0.975, values.size - 1) * sem)

    wide = records.pivot_table(index="seed", columns="method", values="rank1", aggfunc="first")
    methods = [m for m in dict.fromkeys(records["method"]) if m in wide]
    others = [m for m in methods if m != baseline] if baseline in methods else []
    if others:
        fig, (left, right) = plt.subplots(
            1, 2, figsize=(2.2 * len(methods) + 2, 3.4), width_ratios=[len(methods), len(others)]
        )
    else:  # the baseline alone (or no baseline): no gains to show
        fig, left = plt.subplots(figsize=(1.6 * len(methods) + 2.5, 3.4))
        right = None
    for i, method in enumerate(methods):
        values = wide[method].dropna().to_numpy(dtype=float)
        left.scatter(np.full(values.size, i - 0.12), values, s=14, color="0.45", zorder=3)
        mean, half = interval(values)
        left.errorbar(i, mean, yerr=half, fmt="o", color="C0", capsize=4, zorder=4,
                      label="ours: mean, 95% interval" if i == 0 else None)  # fmt: skip
        if np.isfinite(reported.get(method, np.nan)):
            left.scatter(i + 0.15, reported[method], marker="x", color="C3", s=40, zorder=4,
                         label="paper (reported)" if i == 0 else None)  # fmt: skip
    left.set_xticks(range(len(methods)), methods)
    left.set_ylabel("Rank-1 (%)")
    left.legend(fontsize=8, loc="best")
    for i, method in enumerate(others):
        diff = (wide[method] - wide[baseline]).dropna().to_numpy(dtype=float)
        mean, half = interval(diff)
        right.errorbar(i, mean, yerr=half, fmt="o", color="C0", capsize=4, zorder=4)
        gain = reported.get(method, np.nan) - reported.get(baseline, np.nan)
        if np.isfinite(gain):
            right.scatter(i + 0.15, gain, marker="x", color="C3", s=40, zorder=4)
    if right is not None:
        right.axhline(0, color="0.3", lw=0.8)
        right.set_xticks(range(len(others)), others)
        right.set_ylabel(f"gain over {baseline} (Rank-1 points)")
    for ax in (left, right):
        if ax is not None:
            ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
