"""The paper's evaluation variants (Sec. 5.1), written once to a derived folder.

==================  =========================================================================
kind                what is down-sampled
==================  =========================================================================
vr_market1501       every image to a width drawn uniformly from [8, 32), aspect kept
vr_msmt17           every image to a width drawn uniformly from [32, 128), aspect kept
mlr_viper           camera A (the query camera) by a factor drawn from {2, 3, 4}, train and
                    test; gallery camera B at full resolution (SING's protocol)
mlr_cuhk03          each pair's first camera likewise; the classic 1,367/100 splits
mlr_market1501      camera 1 by {2, 3, 4}; LR queries from camera 1 only, HR gallery from
                    the other cameras (the protocol CAD-Net and later methods report)
mlr_market1501_vpfa one camera per identity, drawn at random, by {2, 3, 4} in every subset;
                    queries and gallery from every camera (VPFA's construction: another
                    protocol, its numbers never share MLR-Market1501's column)
caviar              nothing: CAVIAR's camera B is genuinely low resolution
market1501, msmt17, nothing: the original datasets, with r computed (Fig. 2 trains on them)
synthetic
vr_synthetic,       the same builders applied to the embedded synthetic dataset
mlr_synthetic
synthetic_at_R      every image (train and test) to R times its width: the fixed-resolution
                    sets that measure the embedded data's headroom (:mod:`lib.headroom`)
==================  =========================================================================

Resolution (Sec. 3): ``r = width / width_max`` where ``width_max`` is the largest width of
the original dataset's images (64 for Market-1501, so VR-Market1501 spans r in [0.125, 0.5));
the split's ``meta["width_max"]`` holds it. The down-sampling of an image is drawn from a
generator seeded by (seed, the image's path), so it does not depend on the trial, the order
or the number of worker processes. Sizes and resizing are :mod:`lib.data.resolution`'s (the
figures degrade with the same rule, so their r axis is the manifests' r); an image is never
enlarged: one narrower than its drawn width keeps its width and its own r. Images are stored
losslessly (PNG). The user's dataset is only read; outputs and a manifest (CSV: subset,
path, pid, camid, width, height, r, source, mask) go to ``out_dir/<kind>/<key>/``, ``key``
the hash of every setting that changes them (kind, data root, seed, the variant's spec, the
dataset's load options), and are reused when present.
"""

from __future__ import annotations

import csv
import json
import os
import zlib
from dataclasses import asdict, dataclass, replace
from functools import partial
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from lib.data import splits
from lib.data.datasets import load
from lib.data.resolution import downsample, round_half_up, size_at
from lib.data.samples import ImageError, Sample, Split
from lib.settings import settings_key

FORMAT_VERSION = 2  # 2: images never enlarged, half-up rounding, cache keyed by all options
MANIFEST_FIELDS = ["subset", "path", "pid", "camid", "width", "height", "r", "source", "mask"]


@dataclass(frozen=True)
class VariantSpec:
    base: str
    widths: tuple[int, int] | None = None  # VR: new width drawn from [lo, hi)
    factors: tuple[int, ...] | None = None  # MLR: down-sampling factors
    lr_camera: int = 0  # MLR: the (0-based) camera down-sampled; -1: one drawn per identity
    lr_queries_only: bool = False  # MLR-Market: queries from lr_camera, gallery from the rest
    scale: float | None = None  # fixed resolution: every image to scale times its width


VARIANTS: dict[str, VariantSpec] = {
    "vr_market1501": VariantSpec("market1501", widths=(8, 32)),
    "vr_msmt17": VariantSpec("msmt17", widths=(32, 128)),
    "mlr_viper": VariantSpec("viper", factors=(2, 3, 4)),
    "mlr_cuhk03": VariantSpec("cuhk03", factors=(2, 3, 4)),
    "mlr_market1501": VariantSpec("market1501", factors=(2, 3, 4), lr_queries_only=True),
    "mlr_market1501_vpfa": VariantSpec("market1501", factors=(2, 3, 4), lr_camera=-1),
    "caviar": VariantSpec("caviar"),
    "vr_synthetic": VariantSpec("synthetic", widths=(8, 32)),
    "market1501": VariantSpec("market1501"),  # the originals (Fig. 2 trains on them)
    "msmt17": VariantSpec("msmt17"),
    "synthetic": VariantSpec("synthetic"),
    "mlr_synthetic": VariantSpec("synthetic", factors=(2, 3, 4), lr_queries_only=True),
}
FIXED_RESOLUTIONS = (0.25, 0.375, 0.5, 0.75)  # synthetic_at_R (R = 1 is "synthetic" itself)
VARIANTS.update(
    {f"synthetic_at_{r:g}": VariantSpec("synthetic", scale=r) for r in FIXED_RESOLUTIONS}
)


def target_width(
    spec: VariantSpec, width: int, camid: int, seed: int, key: str, lr_camera: int | None = None
) -> int | None:
    """The width an image ``width`` px wide is down-sampled to under ``spec``, or None to keep
    it as it is (nothing to do, or a drawn width not below its own: never enlarged).
    ``lr_camera``: the camera down-sampled for this image's identity (default: the spec's)."""
    if spec.scale is not None:
        new_width = round_half_up(width * spec.scale)
        return new_width if new_width < width else None
    if spec.widths is None and spec.factors is None:
        return None
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    if spec.widths is not None:
        new_width = int(rng.integers(spec.widths[0], spec.widths[1]))
    elif camid != (spec.lr_camera if lr_camera is None else lr_camera):
        return None
    else:
        new_width = round_half_up(width / int(rng.choice(spec.factors)))
    return new_width if new_width < width else None


def lr_cameras(spec: VariantSpec, samples, seed: int) -> dict[int, int]:
    """The camera down-sampled for each identity: the spec's own, or (``lr_camera = -1``) one
    of the identity's cameras drawn from (seed, pid), independent of order and trial."""
    cams: dict[int, set[int]] = {}
    for s in samples:
        cams.setdefault(s.pid, set()).add(s.camid)
    if spec.lr_camera >= 0:
        return dict.fromkeys(cams, spec.lr_camera)
    return {
        pid: sorted(c)[int(np.random.default_rng([seed, 7, pid & 0xFFFFFFFF]).integers(len(c)))]
        for pid, c in cams.items()
    }


def _degrade(spec: VariantSpec, seed: int, job: tuple[str, str, int, str, int]) -> tuple:
    """Down-sample one image as ``spec`` says (written to ``dest`` unless already there).

    Returns (path to read, new width, new height, original width, original height)."""
    source, dest, camid, key, lr_camera = job
    try:
        return _degrade_image(spec, seed, source, dest, camid, key, lr_camera)
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise ImageError(source, error) from None


def _degrade_image(
    spec: VariantSpec, seed: int, source: str, dest: str, camid: int, key: str, lr_camera: int
) -> tuple:
    with Image.open(source) as im:
        width, height = im.size
        new_width = target_width(spec, width, camid, seed, key, lr_camera)
        if new_width is None:
            return source, width, height, width, height
        r = new_width / width  # relative to this image: its width_max is not known yet
        new_width, new_height = size_at((width, height), r, width)
        if not os.path.exists(dest):
            small = downsample(im.convert("RGB"), r, width)
            Path(dest).parent.mkdir(parents=True, exist_ok=True)
            tmp = f"{dest}.{os.getpid()}.tmp"
            small.save(tmp, format="PNG")
            os.replace(tmp, dest)
    return dest, new_width, new_height, width, height


def _settings(kind: str, root: Path, seed: int, load_options: dict) -> dict:
    """Everything that changes what a variant's folder holds (its cache key)."""
    spec = VARIANTS[kind]
    return {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "root": str(root.resolve()),
        "seed": seed,
        "spec": asdict(spec),
        "load_options": dict(sorted(load_options.items())),
    }


def _variant_dir(kind: str, root: Path, out_dir: Path, seed: int, load_options: dict) -> Path:
    return Path(out_dir) / kind / settings_key(_settings(kind, root, seed, load_options))


def _restrict(split: Split, spec: VariantSpec) -> Split:
    if not spec.lr_queries_only:
        return split
    query = [s for s in split.query if s.camid == spec.lr_camera]
    gallery = [s for s in split.gallery if s.camid != spec.lr_camera]
    return replace(split, query=query, gallery=gallery)


def _run(spec: VariantSpec, seed: int, jobs: list, workers: int, desc: str) -> list:
    work = partial(_degrade, spec, seed)
    if workers <= 1 or len(jobs) < 2000:
        return [work(j) for j in tqdm(jobs, desc=desc, unit="img", leave=False)]
    with get_context("fork").Pool(workers) as pool:
        it = pool.imap(work, jobs, chunksize=256)
        return list(tqdm(it, total=len(jobs), desc=desc, unit="img", leave=False))


def build(
    kind: str,
    root: str | Path,
    out_dir: str | Path,
    *,
    seed: int = 0,
    trial: int = 0,
    workers: int | None = None,
    **load_options,
) -> Split:
    """Build (or reuse) variant ``kind`` of the dataset under data root ``root`` in
    ``out_dir`` and return its split for ``trial``; samples carry ``r`` and ``source``, and
    ``meta["width_max"]`` is the width_max of Sec. 3. ``load_options`` go to the dataset's
    loader (e.g. ``variant="detected"`` for CUHK03) and are part of the cache key."""
    if kind not in VARIANTS:
        raise ValueError(f"unknown variant {kind!r}; valid: {', '.join(VARIANTS)}")
    spec, root = VARIANTS[kind], Path(root).expanduser()
    folder = _variant_dir(kind, root, Path(out_dir), seed, load_options)
    manifest = folder / f"manifest-trial{trial}.csv"
    # the identity split of a trial comes from data/splits/ where the dataset has a file there
    base = splits.load(spec.base, root, trial) if not load_options else None
    base = base or load(spec.base, root, trial, **load_options)
    if manifest.is_file():
        return _read(manifest, kind, base, trial)
    split = _restrict(base, spec)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    settings = _settings(kind, root, seed, load_options)
    (folder / "settings.json").write_text(json.dumps(settings, default=str))
    unique = {s.path: s for subset in split.subsets().values() for s in subset}
    common = os.path.commonpath(list(unique)) if len(unique) > 1 else str(Path(*unique).parent)
    lr_cam = lr_cameras(spec, unique.values(), seed)
    jobs = [
        (path, str(folder / "images" / Path(rel).with_suffix(".png")), sample.camid, rel,
         lr_cam[sample.pid])
        for path, sample in unique.items()
        for rel in [os.path.relpath(path, common)]
    ]  # fmt: skip
    workers = workers or min(2, os.cpu_count() or 1)
    done = dict(zip(unique, _run(spec, seed, jobs, workers, kind), strict=True))
    width_max = max(w0 for *_, w0, _ in done.values())
    rows = []
    for subset, samples in split.subsets().items():
        for s in samples:
            path, w, h = done[s.path][:3]
            rows.append(
                {
                    "subset": subset,
                    "path": path,
                    "pid": s.pid,
                    "camid": s.camid,
                    "width": w,
                    "height": h,
                    "r": w / width_max,
                    "source": s.path if path != s.path else "",
                    "mask": s.mask or "",
                }
            )
    tmp = manifest.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, manifest)
    return _read(manifest, kind, base, trial)


def _read(manifest: Path, kind: str, base: Split, trial: int) -> Split:
    subsets: dict[str, list[Sample]] = {"train": [], "query": [], "gallery": []}
    width_max = 0
    with open(manifest, newline="") as f:
        for row in csv.DictReader(f):
            width_max = max(width_max, round_half_up(int(row["width"]) / float(row["r"])))
            subsets[row["subset"]].append(
                Sample(
                    row["path"],
                    int(row["pid"]),
                    int(row["camid"]),
                    r=float(row["r"]),
                    source=row["source"] or None,
                    mask=row["mask"] or None,
                )
            )
    meta = {**base.meta, "manifest": str(manifest), "width_max": width_max}
    return Split(
        kind, **subsets, protocol=base.protocol, trial=trial, trials=base.trials, meta=meta
    )


def read_manifest(split: Split):
    """The manifest of a built variant as a pandas DataFrame (for statistics and plots)."""
    import pandas as pd

    return pd.read_csv(split.meta["manifest"])
