"""The explorers of notebook 09 (ipywidgets in JupyterLab) and the ranked lists of Fig. 5.

Pick a query, slide its resolution r (Sec. 3: the HR source down-sampled to width
r * width_max of its dataset, as the variants' images are, and up-sampled back bilinearly)
and see the LR input, each SR model's output (FFSR, Sec. 4.1) and the top-k gallery of each
ReID model, ranked by the Euclidean distance of the 256-d features (Sec. 5.2), true matches
framed green and false ones red. The gallery's features are computed once; only the query's
are recomputed when r changes.

The widget callbacks only call plain functions (:func:`query_at_resolution`,
:func:`rank_gallery`, :func:`on_change`, :func:`render_panel`), so all the logic runs and is
tested without a browser.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from lib.data.loader import read_image, to_tensor
from lib.data.resolution import downsample, width_max_of
from lib.data.samples import Sample
from lib.eval import extract_features
from lib.models.modes import evaluating

MATCH, NON_MATCH = "#2ca02c", "#d62728"  # border colours of true and false matches
LR_NAME = "LR (bilinear)"
PROTOCOLS = ("market", "single_shot")

Ranked = list[tuple[int, float, bool]]  # (gallery index, distance, is a true match)


def query_at_resolution(
    sample: Sample, r: float, input_size: tuple[int, int], *, width_max: float | None = None
) -> Tensor:
    """The sample's HR source brought to resolution ``r`` of Sec. 3 (width ``r * width_max``,
    never enlarged: :func:`lib.data.resolution.downsample`) and up-sampled bilinearly to
    ``input_size`` = (H, W), as the loader reads a variant's image: a (3, H, W) image in
    [0, 1]. ``width_max`` defaults to the sample's dataset's (its width / its r), so at the
    sample's own r this is the image the variant stores."""
    if not 0 < r <= 1:
        raise ValueError(f"resolution r must be in (0, 1], got {r}")
    width_max = width_max_of([sample]) if width_max is None else width_max
    return to_tensor(downsample(read_image(sample.hr_path), r, width_max), input_size)


def _eval(model: nn.Module, images: Tensor, device) -> dict | Tensor:
    """``model``'s output for ``images`` in eval mode without autograd (modes restored after)."""
    with evaluating(model):
        return model(images.to(device))


def query_features(models: Mapping[str, nn.Module], image: Tensor, device="cpu") -> dict:
    """The feature ``f`` (Sec. 5.2) of one (3, H, W) image under each model, on the CPU."""
    return {name: _eval(m, image[None], device)["f"][0].float().cpu() for name, m in models.items()}


def sr_images(sr_models: Mapping[str, nn.Module], image: Tensor, device="cpu") -> dict:
    """Each SR model's output for one (3, H, W) image: the module's tensor, or ``out["sr"]``
    of a whole network (SR module + extractor, Eq. 3), clamped to [0, 1], on the CPU."""
    shown = {}
    for name, model in sr_models.items():
        out = _eval(model, image[None], device)
        shown[name] = (out["sr"] if isinstance(out, dict) else out)[0].clamp(0, 1).cpu()
    return shown


def rank_gallery(
    query_feature,
    gallery_features,
    gallery_pids,
    gallery_camids,
    query_pid: int,
    query_camid: int,
    k: int = 10,
    protocol: str = "market",
) -> Ranked:
    """The top-``k`` gallery entries of a query: Euclidean distance, stable order (ties by
    gallery index), as :mod:`lib.eval.metrics` ranks. ``market``: the gallery images of the same
    identity AND camera are removed first; ``single_shot``: the whole gallery is ranked."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    q = torch.as_tensor(query_feature, dtype=torch.float32).reshape(-1)
    g = torch.as_tensor(gallery_features, dtype=torch.float32)
    dist = torch.linalg.vector_norm(g - q, dim=1).numpy()
    pids, camids = np.asarray(gallery_pids), np.asarray(gallery_camids)
    order = np.argsort(dist, kind="stable")
    if protocol == "market":
        junk = (pids == query_pid) & (camids == query_camid)
        order = order[~junk[order]]
    return [(int(i), float(dist[i]), bool(pids[i] == query_pid)) for i in order[:k]]


@dataclass
class ExplorerState:
    """What the explorer shows: inputs, the chosen query and r, and what follows from them."""

    query_samples: list[Sample]
    gallery_samples: list[Sample]
    models: dict[str, nn.Module]
    sr_models: dict[str, nn.Module]
    input_size: tuple[int, int]
    gallery_features: dict[str, Tensor]
    k: int = 10
    protocol: str = "market"
    device: str | torch.device = "cpu"
    query_index: int = 0
    r: float = 1.0
    shown: tuple[str, ...] = ()  # the models whose ranked lists are shown
    images: dict[str, Tensor] = field(default_factory=dict)  # LR input, then each SR output
    ranked: dict[str, Ranked] = field(default_factory=dict)
    thumbnails: dict[str, np.ndarray] = field(default_factory=dict)

    def thumbnail(self, index: int) -> np.ndarray:
        """Gallery image ``index`` as stored (at the input size), read once."""
        return _thumbnail(self.gallery_samples[index].path, self.input_size, self.thumbnails)


def _thumbnail(path: str, size: tuple[int, int], cache: dict) -> np.ndarray:
    if path not in cache:
        cache[path] = to_tensor(read_image(path), size).permute(1, 2, 0).numpy()
    return cache[path]


def on_change(
    state: ExplorerState,
    *,
    r: float | None = None,
    query_index: int | None = None,
    shown: Sequence[str] | None = None,
) -> ExplorerState:
    """The callback of every control: set what changed, then recompute the query at r, the
    SR outputs and each shown model's ranked list (gallery features are reused)."""
    if query_index is not None:
        if not 0 <= query_index < len(state.query_samples):
            raise IndexError(f"query index {query_index} out of 0..{len(state.query_samples) - 1}")
        state.query_index = query_index
    if r is not None:
        state.r = float(r)
    if shown is not None:
        unknown = set(shown) - set(state.models)
        if unknown:
            raise ValueError(f"unknown models {sorted(unknown)}; have {list(state.models)}")
        state.shown = tuple(shown)
    sample = state.query_samples[state.query_index]
    image = query_at_resolution(sample, state.r, state.input_size)
    state.images = {LR_NAME: image, **sr_images(state.sr_models, image, state.device)}
    models = {name: state.models[name] for name in state.shown}
    pids = np.array([s.pid for s in state.gallery_samples])
    camids = np.array([s.camid for s in state.gallery_samples])
    state.ranked = {
        name: rank_gallery(
            f,
            state.gallery_features[name],
            pids,
            camids,
            sample.pid,
            sample.camid,
            state.k,
            state.protocol,
        )
        for name, f in query_features(models, image, state.device).items()
    }
    return state


def make_state(
    query_samples: Sequence[Sample],
    gallery_samples: Sequence[Sample],
    models: Mapping[str, nn.Module],
    input_size: tuple[int, int],
    *,
    sr_models: Mapping[str, nn.Module] | None = None,
    gallery_features: Mapping[str, Tensor] | None = None,
    k: int = 10,
    protocol: str = "market",
    device: str | torch.device = "cpu",
    query_index: int = 0,
    r: float | None = None,
) -> ExplorerState:
    """An explorer's state, its gallery features computed once (those not given), and the
    first query shown at ``r`` (default: the query's own resolution)."""
    features = dict(gallery_features or {})
    for name, model in models.items():
        if name not in features:
            features[name] = extract_features(model, gallery_samples, input_size, device=device)[
                "f"
            ]
    state = ExplorerState(
        list(query_samples),
        list(gallery_samples),
        dict(models),
        dict(sr_models or {}),
        tuple(input_size),
        features,
        k,
        protocol,
        device,
        shown=tuple(models),
    )
    start = r if r is not None else query_samples[query_index].r
    return on_change(state, r=start, query_index=query_index)


def _show(ax, image, title: str = "", border: str | None = None) -> None:
    array = image.permute(1, 2, 0).numpy() if isinstance(image, Tensor) else image
    ax.imshow(np.clip(array, 0, 1))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=7)
    for spine in ax.spines.values():
        spine.set_visible(border is not None)
        if border is not None:
            spine.set_edgecolor(border)
            spine.set_linewidth(3)


def _ranked_row(axes, ranked: Ranked, thumbnail: Callable[[int], np.ndarray]) -> None:
    for ax, (index, distance, match) in zip(axes, ranked, strict=False):
        _show(ax, thumbnail(index), f"{distance:.2f}", MATCH if match else NON_MATCH)


def render_panel(
    images: Mapping[str, Tensor],
    ranked: Mapping[str, Ranked],
    thumbnail: Callable[[int], np.ndarray],
    *,
    title: str = "",
) -> Figure:
    """The explorer's figure: the first row shows ``images`` (LR input and SR outputs), each
    further row a model's ranked gallery (distance above each image; green border: true
    match, red: false match). A plain matplotlib Figure outside pyplot (no global state)."""
    k = max([len(r) for r in ranked.values()] + [1])
    cols = max(len(images), k)
    fig = Figure(figsize=(1.0 * cols + 0.6, 2.1 * (1 + len(ranked))), layout="constrained")
    axes = np.atleast_2d(fig.subplots(1 + len(ranked), cols, squeeze=False))
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, (name, image) in zip(axes[0], images.items(), strict=False):
        ax.set_axis_on()
        _show(ax, image, name)
    for row, (name, entries) in zip(axes[1:], ranked.items(), strict=True):
        for ax in row[: len(entries)]:
            ax.set_axis_on()
        _ranked_row(row, entries, thumbnail)
        row[0].set_ylabel(name, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def _title(state: ExplorerState) -> str:
    s = state.query_samples[state.query_index]
    return (
        f"query {state.query_index}: identity {s.pid}, camera {s.camid}, shown at r = {state.r:.3f}"
    )


def explorer_widget(state: ExplorerState):
    """The controls (query, r, models) and an Output holding :func:`render_panel`."""
    import ipywidgets as w
    from IPython.display import display

    query = w.Dropdown(
        options=[
            (f"{i}: id {s.pid}, cam {s.camid}, r {s.r:.2f}", i)
            for i, s in enumerate(state.query_samples)
        ],
        value=state.query_index,
        description="query",
    )
    r = w.FloatSlider(
        value=min(max(state.r, 0.125), 1.0),
        min=0.125,
        max=1.0,
        step=0.025,
        description="r",
        continuous_update=False,
        readout_format=".3f",
    )
    shown = w.SelectMultiple(options=list(state.models), value=state.shown, description="models")
    out = w.Output()

    def redraw() -> None:
        with out:
            out.clear_output(wait=True)
            display(render_panel(state.images, state.ranked, state.thumbnail, title=_title(state)))

    def changed(_change) -> None:
        on_change(state, r=r.value, query_index=query.value, shown=shown.value)
        redraw()

    for control in (query, r, shown):
        control.observe(changed, names="value")
    redraw()
    return w.VBox([w.HBox([query, r, shown]), out])


def explore_query(
    query_samples: Sequence[Sample],
    gallery_samples: Sequence[Sample],
    models: Mapping[str, nn.Module],
    input_size: tuple[int, int],
    *,
    sr_models: Mapping[str, nn.Module] | None = None,
    gallery_features: Mapping[str, Tensor] | None = None,
    k: int = 10,
    protocol: str = "market",
    device: str | torch.device = "cpu",
):
    """The query explorer: a query dropdown, an r slider (0.125-1) and a model picker over
    the LR -> SR images and each model's top-``k`` gallery (see :func:`make_state`)."""
    state = make_state(
        query_samples,
        gallery_samples,
        models,
        input_size,
        sr_models=sr_models,
        gallery_features=gallery_features,
        k=k,
        protocol=protocol,
        device=device,
    )
    return explorer_widget(state)


def explore(datasets: Mapping[str, Mapping], input_size: tuple[int, int], **options):
    """A dataset picker over :func:`explore_query`: ``datasets`` maps a name to its keyword
    arguments (``query_samples``, ``gallery_samples``, ``models``, optionally ``sr_models``,
    ``protocol``...). Each dataset's explorer (and its gallery features) is built once, when
    first picked."""
    import ipywidgets as w

    built: dict[str, object] = {}
    picker = w.Dropdown(options=list(datasets), description="dataset")
    holder = w.Box()

    def pick(_change=None) -> None:
        name = picker.value
        if name not in built:
            built[name] = explore_query(input_size=input_size, **{**options, **datasets[name]})
        holder.children = (built[name],)

    picker.observe(pick, names="value")
    pick()
    return w.VBox([picker, holder])


def ranked_lists_figure(
    queries: Sequence[Sample],
    gallery: Sequence[Sample],
    features_by_model: Mapping[str, tuple[Tensor, Tensor]],
    k: int = 10,
    *,
    size: tuple[int, int] = (128, 64),
    protocol: str = "market",
):
    """Fig. 5's ranked lists: one row per (query, model), the query as stored then its
    top-``k`` gallery (green border: true match, red: false). ``features_by_model`` maps a
    model to (query features, gallery features), rows aligned with ``queries`` / ``gallery``; images shown at ``size`` = (H, W)."""
    pids = np.array([s.pid for s in gallery])
    camids = np.array([s.camid for s in gallery])
    cache: dict[str, np.ndarray] = {}
    rows = [(qi, name) for qi in range(len(queries)) for name in features_by_model]
    fig, axes = plt.subplots(
        len(rows), k + 1, figsize=(0.75 * (k + 1) + 0.8, 1.55 * len(rows)), squeeze=False
    )
    for ax in axes.flat:
        ax.set_axis_off()
    for row, (qi, name) in zip(axes, rows, strict=True):
        q = queries[qi]
        query_f, gallery_f = features_by_model[name]
        ranked = rank_gallery(query_f[qi], gallery_f, pids, camids, q.pid, q.camid, k, protocol)
        for ax in row[: len(ranked) + 1]:
            ax.set_axis_on()
        _show(row[0], _thumbnail(q.path, size, cache), f"query r={q.r:.2f}")
        row[0].set_ylabel(name, fontsize=8)
        _ranked_row(row[1:], ranked, lambda i: _thumbnail(gallery[i].path, size, cache))
    fig.tight_layout()
    return fig
