"""The explorers' plain functions and widgets (lib.report.widgets), without a browser."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex
from PIL import Image
from torch import nn

from lib.data.loader import read_image, to_tensor
from lib.data.samples import Sample
from lib.eval import extract_features
from lib.report.widgets import (
    LR_NAME,
    MATCH,
    NON_MATCH,
    explore,
    explore_query,
    explorer_widget,
    make_state,
    on_change,
    query_at_resolution,
    rank_gallery,
    ranked_lists_figure,
    render_panel,
)

SIZE = (16, 8)  # input size (H, W)


class TinyNet(nn.Module):
    """Flatten + linear: any network returning {"f": ...} will do for the explorer."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.fc = nn.Linear(3 * SIZE[0] * SIZE[1], 6)

    def forward(self, x):
        return {"f": self.fc(x.flatten(1))}


class TinySR(nn.Module):
    def forward(self, x):
        return 1 - x  # a visible, exact change


def _samples(folder, pids_cams, seed):
    """Samples of a variant whose width_max is 16: each a 16 x 32 HR source and its copy at
    r = 0.5 (8 x 16 px, the input size), as lib.data.variants stores them."""
    rng = np.random.default_rng(seed)
    samples = []
    for i, (pid, camid) in enumerate(pids_cams):
        hr, path = folder / f"{seed}_{i}_hr.png", folder / f"{seed}_{i}.png"
        pixels = rng.integers(0, 255, (2 * SIZE[0], 2 * SIZE[1], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(hr)
        Image.fromarray(pixels).resize((SIZE[1], SIZE[0]), Image.BILINEAR).save(path)
        samples.append(Sample(str(path), pid, camid, r=0.5, source=str(hr)))
    return samples


@pytest.fixture()
def data(tmp_path):
    gallery = _samples(tmp_path, [(0, 0), (0, 1), (1, 1), (2, 0), (1, 0), (3, 2), (0, 2)], 1)
    queries = _samples(tmp_path, [(0, 0), (1, 1)], 2)
    return queries, gallery


def test_query_at_resolution_degrades_the_hr_source(data):
    queries, _ = data
    q = queries[0]
    hr_image = read_image(q.hr_path)
    hr = to_tensor(hr_image, SIZE)
    assert torch.equal(query_at_resolution(q, 1.0, SIZE), hr)
    # at the query's own r (0.5 of width_max 16 = 8 px) it is the image the variant stores
    stored = to_tensor(read_image(q.path), SIZE)
    assert torch.equal(query_at_resolution(q, 0.5, SIZE), stored)
    low = query_at_resolution(q, 0.25, SIZE)  # 0.25 * 16 = 4 px wide, not 0.25 * 8 = 2
    assert low.shape == (3, *SIZE)
    assert torch.equal(low, to_tensor(hr_image.resize((4, 8), Image.BILINEAR), SIZE))
    assert not torch.allclose(low, hr, atol=1e-3)
    assert torch.equal(query_at_resolution(q, 0.25, SIZE, width_max=32), stored)
    with pytest.raises(ValueError, match="in \\(0, 1\\]"):
        query_at_resolution(queries[0], 0.0, SIZE)


def test_rank_gallery_matches_numpy_argsort_with_market_junk_removed():
    rng = np.random.default_rng(0)
    g = rng.normal(size=(30, 5)).astype(np.float32)
    q = rng.normal(size=5).astype(np.float32)
    pids, camids = rng.integers(0, 4, 30), rng.integers(0, 3, 30)
    dist = np.sqrt(((g.astype(np.float64) - q) ** 2).sum(axis=1))
    order = np.argsort(dist, kind="stable")
    kept = [i for i in order if not (pids[i] == 2 and camids[i] == 1)]
    ranked = rank_gallery(q, g, pids, camids, 2, 1, k=10)
    assert [i for i, _, _ in ranked] == kept[:10]
    assert np.allclose([d for _, d, _ in ranked], dist[kept[:10]], atol=1e-5)
    assert [m for _, _, m in ranked] == [bool(pids[i] == 2) for i in kept[:10]]
    whole = rank_gallery(q, g, pids, camids, 2, 1, k=30, protocol="single_shot")
    assert [i for i, _, _ in whole] == list(order)
    with pytest.raises(ValueError, match="protocol"):
        rank_gallery(q, g, pids, camids, 2, 1, protocol="cuhk")


def test_rank_gallery_ties_follow_gallery_index():
    g = np.zeros((4, 2), dtype=np.float32)
    ranked = rank_gallery([1.0, 0.0], g, [5, 6, 7, 5], [0, 0, 0, 1], 5, 0, k=4)
    assert [i for i, _, _ in ranked] == [1, 2, 3]  # index 0: same pid and camera, removed
    assert [m for _, _, m in ranked] == [False, False, True]


def test_state_rankings_match_extracted_features_and_r_changes_the_query(data):
    queries, gallery = data
    models = {"a": TinyNet(0), "b": TinyNet(1)}
    state = make_state(queries, gallery, models, SIZE, sr_models={"inv": TinySR()}, k=5)
    assert state.r == 0.5 and state.shown == ("a", "b")
    assert list(state.images) == [LR_NAME, "inv"]
    assert torch.allclose(state.images["inv"], 1 - state.images[LR_NAME])
    g = extract_features(models["b"], gallery, SIZE)["f"]
    assert torch.allclose(state.gallery_features["b"], g)
    q = models["b"](state.images[LR_NAME][None])["f"][0].detach()
    expected = np.argsort(torch.linalg.vector_norm(g - q, dim=1).numpy(), kind="stable")
    expected = [i for i in expected if i != 0][:5]  # gallery 0: identity 0, camera 0
    assert [i for i, _, _ in state.ranked["b"]] == expected
    assert [m for _, _, m in state.ranked["b"]] == [gallery[i].pid == 0 for i in expected]

    before = state.images[LR_NAME].clone()
    features = state.gallery_features["a"]
    on_change(state, r=0.25)  # 4 px of width_max 16 (r = 0.5 and 1 both fill the 8-px input)
    assert not torch.allclose(before, state.images[LR_NAME], atol=1e-3)
    hr_image = read_image(queries[0].hr_path)
    assert torch.equal(
        state.images[LR_NAME], to_tensor(hr_image.resize((4, 8), Image.BILINEAR), SIZE)
    )
    on_change(state, r=1.0)
    assert torch.equal(state.images[LR_NAME], to_tensor(hr_image, SIZE))
    assert state.gallery_features["a"] is features  # computed once

    on_change(state, query_index=1, shown=["a"])
    assert list(state.ranked) == ["a"]
    assert all(gallery[i].pid != 1 or gallery[i].camid != 1 for i, _, _ in state.ranked["a"])
    with pytest.raises(IndexError):
        on_change(state, query_index=7)
    with pytest.raises(ValueError, match="unknown models"):
        on_change(state, shown=["c"])


def _border(ax) -> str | None:
    spine = ax.spines["left"]
    return to_hex(spine.get_edgecolor()) if spine.get_visible() else None


def test_render_panel_marks_true_and_false_matches(data):
    queries, gallery = data
    state = make_state(queries, gallery, {"a": TinyNet(0)}, SIZE, sr_models={"inv": TinySR()})
    ranked = {"a": [(1, 0.5, True), (2, 0.7, False), (6, 0.9, True)]}
    fig = render_panel(state.images, ranked, state.thumbnail, title="t")
    axes = np.array(fig.axes).reshape(2, -1)
    assert [ax.get_title() for ax in axes[0, :2]] == [LR_NAME, "inv"]
    assert [_border(ax) for ax in axes[1, :3]] == [MATCH, NON_MATCH, MATCH]
    assert [ax.get_title() for ax in axes[1, :3]] == ["0.50", "0.70", "0.90"]
    shown = axes[1, 0].get_images()[0].get_array()
    assert np.allclose(shown, state.thumbnail(1))
    assert axes[1, 0].get_ylabel() == "a"


def test_widgets_build_and_their_callbacks_update_the_state(data):
    import ipywidgets as w

    queries, gallery = data
    state = make_state(queries, gallery, {"a": TinyNet(0), "b": TinyNet(1)}, SIZE, k=3)
    box = explorer_widget(state)
    query, r, models = box.children[0].children
    assert isinstance(box.children[1], w.Output) and isinstance(r, w.FloatSlider)
    assert (r.min, r.max, r.value) == (0.125, 1.0, 0.5)
    before = state.images[LR_NAME].clone()
    r.value = 0.25
    assert state.r == 0.25 and not torch.allclose(before, state.images[LR_NAME], atol=1e-3)
    query.value = 1
    assert state.query_index == 1
    models.value = ("b",)
    assert list(state.ranked) == ["b"] and len(state.ranked["b"]) == 3

    assert isinstance(explore_query(queries, gallery, {"a": TinyNet(0)}, SIZE), w.VBox)
    picker = explore(
        {
            "one": {"query_samples": queries, "gallery_samples": gallery, "models": {}},
            "two": {"query_samples": queries[:1], "gallery_samples": gallery, "models": {}},
        },
        SIZE,
    )
    dropdown, holder = picker.children
    first = holder.children[0]
    dropdown.value = "two"
    assert holder.children[0] is not first
    assert len(holder.children[0].children[0].children[0].options) == 1
    dropdown.value = "one"
    assert holder.children[0] is first  # built once


def test_ranked_lists_figure_rows_and_marks(data):
    queries, gallery = data
    models = {"a": TinyNet(0), "b": TinyNet(1)}
    feats = {
        n: (extract_features(m, queries, SIZE)["f"], extract_features(m, gallery, SIZE)["f"])
        for n, m in models.items()
    }
    fig = ranked_lists_figure(queries, gallery, feats, k=4, size=SIZE)
    axes = np.array(fig.axes).reshape(4, 5)  # (2 queries x 2 models) rows, query + top-4
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ["a", "b", "a", "b"]
    for row, (qi, name) in zip(axes, [(0, "a"), (0, "b"), (1, "a"), (1, "b")], strict=True):
        q = queries[qi]
        pids = [s.pid for s in gallery]
        camids = [s.camid for s in gallery]
        ranked = rank_gallery(feats[name][0][qi], feats[name][1], pids, camids, q.pid, q.camid, 4)
        expected = [MATCH if match else NON_MATCH for _, _, match in ranked]
        assert [_border(ax) for ax in row[1:]] == expected
        assert _border(row[0]) is None
    matplotlib.pyplot.close(fig)
