"""Person masks M for the foreground-focus loss (Eq. 5) from a person segmenter (Sec. 4.1).

Sec. 4.1: "Image segmentation algorithms like [DeeperCut] can be applied to generate binary
foreground masks"; Table 1's row "FFSR (DeeperCut, JL)" trains FFSR with such masks. DeeperCut
itself (a Caffe/TensorFlow pose estimator) does not install from a package registry. Here the
masks come from a segmenter whose weights ship inside a registry wheel, so it works offline:
the optional extra ``masks`` (``pip install -e ".[masks]"``, i.e. ``mediapipe==0.10.21``).

Sources (:data:`SOURCES`):

- ``mediapipe_selfie`` (default): MediaPipe's selfie segmentation
  (``mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite``), a person/background
  segmenter. It returns a map for every image; an image counts as found when the mask
  covers at least ``min_foreground`` of it.
- ``mediapipe_pose``: MediaPipe Pose (BlazePose detector + ``pose_landmark_full.tflite``)
  with its segmentation output: a pose estimator with a person mask, like DeeperCut; no pose,
  no mask.
- ``market1501_parsing``: no model; the human parsing labels that ISP (Zhu et al., ECCV 2020)
  published for Market-1501's training images, read from ``<root>/market1501_parsing/`` beside
  ``market1501/`` (``label > 0`` is the person). A real person mask like the paper's DeeperCut
  masks, for training images only (the method needs masks only to train); an image without
  labels keeps the Gaussian. Variants of Market-1501 use it wherever the folder is there
  (:func:`mask_source`).

Both are run on the crop up-sampled (bicubic) to ``height`` px and padded by ``pad`` of that
height on every side (edge colour); the probability map is brought back to the image's own
size (bilinear) and thresholded at ``threshold``. Why the selfie model and these options:
CAVIAR's crops are 16-75 px wide; on all 1,000 images of its 50 two-camera identities
(``python -m lib masks caviar --root ../shared/datasets [options]``), images
with a mask found, camera A / camera B of 500 each:

==============================  ==========  ==========
options                         selfie      pose
==============================  ==========  ==========
defaults (height 256, pad 0.5)  500 / 483   475 / 137
``--height 0`` (native, pad)    500 / 435   473 / 119
``--pad 0`` (height 256)        203 / 27    233 / 54
``--pad 0 --height 0``          144 / 4
==============================  ==========  ==========

The padding matters most (with the person filling the frame both models mostly miss it), then the
up-sampling for camera B. BlazePose's detector rarely finds camera B's 26-px persons, so
the pose model would leave most low-resolution images on the Gaussian. Median foreground of
the selfie masks: 0.55 (camera A), 0.45 (camera B); ``figures/person_masks_caviar.png``
shows them, and the misses.

Masks are computed once per dataset into
``data/derived/person_masks/<dataset>/<key>/`` (``key``: hash of the dataset, its data root,
the source and every option), never into the dataset's folder:

- ``masks/<image path relative to the dataset folder>.png``: 8-bit, 255 = person, the size
  of the image (only for images where a person was found);
- ``manifest.csv``: ``path, camid, width, height, found (yes/no), foreground, mask``
  (``foreground``: the share of the image's pixels marked person; ``mask`` empty when not
  found), written last, so a folder with a manifest is complete and is reused as it is;
- ``settings.json``: what the key hashes.

Every file is written to a temporary name and renamed, so an interruption leaves no
half-written file; a rerun keeps the masks already written and segments the rest.

:func:`attach` returns a split whose samples carry these masks (``Sample.mask``, of the
high-resolution source image, as the loader expects): :class:`lib.data.loader.ReIDDataset`
with ``mask="auto"`` reads them. An image where no person was found keeps ``mask=None``, so
the loader falls back to the Gaussian of Sec. 4.1 for that image alone; how many images do
is counted in ``split.meta["person_masks"]``.

Command line (prints the hit rate per camera, writes a grid of images and masks)::

    python -m lib masks caviar --root ../shared/datasets
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from lib.data.datasets import load
from lib.data.paths import PROJECT_ROOT, derived_root
from lib.data.samples import Sample, Split
from lib.settings import settings_key

FORMAT_VERSION = 1
PARSING = "market1501_parsing"  # ISP's human parsing of Market-1501's training images
SOURCES = ("mediapipe_selfie", "mediapipe_pose", PARSING)
SEGMENTERS = SOURCES[:2]  # the sources that run a model (mediapipe)
MANIFEST_FIELDS = ["path", "camid", "width", "height", "found", "foreground", "mask"]
INSTALL_HINT = (
    "the person-mask source needs mediapipe: pip install -e '.[masks]' "
    "(mediapipe==0.10.21, its weights ship in the wheel)"
)

# A segmenter maps an RGB uint8 image (H, W, 3) to a person probability map (H, W) in [0, 1],
# or None where it finds no person.
Segmenter = Callable[[np.ndarray], "np.ndarray | None"]


@dataclass(frozen=True)
class MaskOptions:
    """How masks are computed (all part of the cache key).

    ``height``: the crop is up-sampled (bicubic, aspect kept) to this height before it is
    segmented (0: native size); ``pad``: border added on every side, as a fraction of the
    up-sampled height (edge colour); ``threshold``: probability above which a pixel is
    person; ``min_foreground``: a mask covering less than this share of the image counts as
    not found.
    """

    height: int = 256
    pad: float = 0.5
    threshold: float = 0.5
    min_foreground: float = 0.05


def mediapipe_available() -> bool:
    """Whether the optional ``masks`` extra (mediapipe) is importable."""
    import importlib.util

    return importlib.util.find_spec("mediapipe") is not None


def load_segmenter(source: str = "mediapipe_selfie") -> Segmenter:
    """A segmenter for ``source`` (see :data:`SOURCES`), weights from the installed wheel.

    Raises ``ImportError`` with the install line when mediapipe is not installed."""
    if source not in SEGMENTERS:
        raise ValueError(f"unknown person-mask source {source!r}; valid: {', '.join(SEGMENTERS)}")
    try:
        from mediapipe.python.solutions import pose, selfie_segmentation
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    if source == "mediapipe_selfie":
        model = selfie_segmentation.SelfieSegmentation(model_selection=0)

        def selfie(rgb: np.ndarray) -> np.ndarray | None:
            out = model.process(rgb).segmentation_mask
            return None if out is None else np.asarray(out, dtype=np.float32)

        return selfie
    # model_complexity=1: pose_landmark_full.tflite, which the wheel ships
    model = pose.Pose(
        static_image_mode=True, model_complexity=1, enable_segmentation=True, smooth_landmarks=False
    )

    def blazepose(rgb: np.ndarray) -> np.ndarray | None:
        out = model.process(rgb)
        if out.pose_landmarks is None or out.segmentation_mask is None:
            return None
        return np.asarray(out.segmentation_mask, dtype=np.float32)

    return blazepose


def parsing_folder(root: str | Path) -> Path | None:
    """``<root>/market1501_parsing`` where it exists: human parsing labels of Market-1501's
    training images, ``bounding_box_train/<image stem>.png`` (128 x 64, uint8, 0 =
    background, 1-19 = body parts and clothes; ISP, Zhu et al., ECCV 2020)."""
    folder = Path(root).expanduser() / PARSING
    return folder if folder.is_dir() else None


def parsing_mask(folder: Path, image_path: str, size: tuple[int, int]) -> np.ndarray | None:
    """The person mask (uint8, 255 = person, ``size`` = (width, height)) of one Market-1501
    image from its parsing labels (``label > 0``), or None where the image has none (586 of
    the 12,936 training images; every test image)."""
    path = folder / Path(image_path).parent.name / f"{Path(image_path).stem}.png"
    if not path.is_file():
        return None
    with Image.open(path) as labels:
        person = Image.fromarray((np.asarray(labels) > 0).astype(np.uint8) * 255, mode="L")
    if person.size != size:
        person = person.resize(size, Image.NEAREST)
    return np.asarray(person)


def segment_image(
    image: Image.Image, segmenter: Segmenter, options: MaskOptions = MaskOptions()
) -> np.ndarray | None:
    """The binary person mask (uint8, 255 = person, the image's size) of one RGB image, or
    None where the segmenter finds no person or the mask covers less than
    ``options.min_foreground`` of the image."""
    image = image.convert("RGB")
    width, height = image.size
    work = image
    if options.height > 0 and options.height != height:
        scale = options.height / height
        work = image.resize((max(1, round(width * scale)), options.height), Image.BICUBIC)
    rgb = np.asarray(work, dtype=np.uint8)
    pad = round(options.pad * rgb.shape[0])
    if pad > 0:
        rgb = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    prob = segmenter(np.ascontiguousarray(rgb))
    if prob is None:
        return None
    prob = np.asarray(prob, dtype=np.float32).reshape(rgb.shape[:2])
    if pad > 0:
        prob = prob[pad:-pad, pad:-pad]
    prob_image = Image.fromarray(prob, mode="F").resize((width, height), Image.BILINEAR)
    mask = np.asarray(prob_image) > options.threshold
    if mask.mean() < options.min_foreground:
        return None
    return mask.astype(np.uint8) * 255


def _unique_samples(split: Split) -> list[Sample]:
    """One sample per high-resolution image of the split, in a stable order."""
    seen: dict[str, Sample] = {}
    for samples in split.subsets().values():
        for s in samples:
            seen.setdefault(s.hr_path, replace(s, path=s.hr_path, source=None))
    return sorted(seen.values(), key=lambda s: s.path)


def _settings(dataset: str, root: Path, source: str, options: MaskOptions) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "dataset": dataset,
        "root": str(root.resolve()),
        "source": source,
        "options": asdict(options),
    }


def masks_dir(
    dataset: str,
    root: str | Path,
    source: str = "mediapipe_selfie",
    options: MaskOptions = MaskOptions(),
    out_dir: str | Path | None = None,
) -> Path:
    """The folder of ``dataset``'s masks for ``source`` and ``options`` (whether built or not):
    ``<out_dir or data/derived/person_masks>/<dataset>/<key>``."""
    base = Path(out_dir) if out_dir is not None else derived_root() / "person_masks"
    settings = _settings(dataset, Path(root).expanduser(), source, options)
    return base / dataset / settings_key(settings)


def _write_atomic(path: Path, write: Callable[[str], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _save_png(mask: np.ndarray, path: Path) -> None:
    _write_atomic(path, lambda tmp: Image.fromarray(mask, mode="L").save(tmp, format="PNG"))


def compute(
    dataset: str,
    root: str | Path,
    *,
    source: str = "mediapipe_selfie",
    options: MaskOptions = MaskOptions(),
    segmenter: Segmenter | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
    **load_options,
) -> Path:
    """Compute (or reuse) person masks for every image of ``dataset`` under data root
    ``root``; returns the path of its ``manifest.csv``.

    The images are those of the dataset's split (``load(dataset, root, trial=0)``: for the
    datasets split by identity every trial uses a subset of them). ``segmenter`` replaces
    the one :func:`load_segmenter` builds for ``source`` (tests; ``source`` still names the
    cache). Nothing is computed when the manifest exists."""
    root = Path(root).expanduser()
    folder = masks_dir(dataset, root, source, options, out_dir)
    manifest = folder / "manifest.csv"
    if manifest.is_file():
        return manifest
    samples = _unique_samples(load(dataset, root, 0, **load_options))
    if not samples:
        raise ValueError(f"{dataset}: no images under {root} to compute person masks for")
    base = Path(os.path.commonpath([s.path for s in samples]))
    if len(samples) == 1:
        base = base.parent
    if source == PARSING:
        folder_of_labels = parsing_folder(root)
        if folder_of_labels is None:
            raise FileNotFoundError(
                f"no parsing labels at {root / PARSING}: expected "
                f"{PARSING}/bounding_box_train/<image stem>.png beside market1501/"
            )

        def mask_of(path: str, image: Image.Image) -> np.ndarray | None:
            return parsing_mask(folder_of_labels, path, image.size)
    else:
        segmenter = segmenter or load_segmenter(source)

        def mask_of(path: str, image: Image.Image) -> np.ndarray | None:
            return segment_image(image, segmenter, options)

    settings = _settings(dataset, root, source, options)
    _write_atomic(folder / "settings.json", lambda tmp: Path(tmp).write_text(json.dumps(settings)))
    rows = []
    for s in tqdm(samples, desc=f"person masks {dataset}", unit="img", disable=not progress):
        dest = folder / "masks" / Path(os.path.relpath(s.path, base)).with_suffix(".png")
        with Image.open(s.path) as im:
            width, height = im.size
            if dest.is_file():  # written by an interrupted earlier run
                mask = np.asarray(Image.open(dest).convert("L"))
            else:
                mask = mask_of(s.path, im)
                if mask is not None:
                    _save_png(mask, dest)
        found = mask is not None
        rows.append(
            {
                "path": s.path,
                "camid": s.camid,
                "width": width,
                "height": height,
                "found": "yes" if found else "no",
                "foreground": f"{(mask > 127).mean():.4f}" if found else "",
                "mask": str(dest) if found else "",
            }
        )

    def write_manifest(tmp: str) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, MANIFEST_FIELDS)
            writer.writeheader()
            writer.writerows(rows)

    _write_atomic(manifest, write_manifest)
    return manifest


def read_manifest(manifest: str | Path) -> list[dict]:
    """The rows of a person-mask manifest, ``found`` as bool, ``foreground`` as float (NaN
    where not found), ``camid``, ``width`` and ``height`` as int."""
    manifest = Path(manifest)
    if not manifest.is_file():
        raise FileNotFoundError(
            f"no person-mask manifest at {manifest}: expected manifest.csv with columns "
            f"{', '.join(MANIFEST_FIELDS)} (python -m lib masks DATASET --root ROOT)"
        )
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["found"] = row["found"] == "yes"
        row["foreground"] = float(row["foreground"]) if row["found"] else float("nan")
        for column in ("camid", "width", "height"):
            row[column] = int(row[column])
    return rows


def attach(split: Split, manifest: str | Path) -> Split:
    """``split`` with each sample's ``mask`` set to the person mask of its high-resolution
    source image (``Sample.hr_path``) where one was found; others keep the mask they had
    (None: the loader's ``mask="auto"`` uses the Gaussian for them). Counts go to
    ``split.meta["person_masks"]``: ``manifest``, and per subset images ``with_mask`` /
    ``without_mask``."""
    by_path = {row["path"]: row["mask"] for row in read_manifest(manifest) if row["found"]}
    counts: dict[str, object] = {"manifest": str(manifest)}
    subsets = {}
    for name, samples in split.subsets().items():
        subsets[name] = [replace(s, mask=by_path.get(s.hr_path, s.mask)) for s in samples]
        with_mask = sum(s.mask is not None for s in subsets[name])
        counts[name] = {"with_mask": with_mask, "without_mask": len(samples) - with_mask}
    return replace(split, **subsets, meta={**split.meta, "person_masks": counts})


def person_mask_split(
    dataset: str,
    root: str | Path,
    trial: int = 0,
    *,
    source: str = "mediapipe_selfie",
    options: MaskOptions = MaskOptions(),
    segmenter: Segmenter | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
    **load_options,
) -> Split:
    """``load(dataset, root, trial)`` with person masks attached (computed on first use)."""
    manifest = compute(
        dataset,
        root,
        source=source,
        options=options,
        segmenter=segmenter,
        out_dir=out_dir,
        progress=progress,
        **load_options,
    )
    return attach(load(dataset, root, trial, **load_options), manifest)


def with_person_masks(split: Split, kind: str, data_root: str | Path | None) -> Split:
    """``split`` (of variant ``kind``) with the person masks of its dataset's images attached
    (:func:`attach`): what a run with ``mask="person"`` trains on. Computed on first use,
    which needs the ``masks`` extra; reused from ``data/derived/person_masks`` after."""
    from lib.data.paths import default_data_root
    from lib.data.variants import VARIANTS

    root = Path(data_root or default_data_root())
    return attach(split, compute(VARIANTS[kind].base, root, source=mask_source(kind, root)))


def mask_source(kind: str, data_root: str | Path) -> str:
    """Where the person masks of variant ``kind`` come from: Market-1501's parsing labels
    (:data:`PARSING`) where they are beside the dataset, else MediaPipe's selfie segmenter."""
    from lib.data.variants import VARIANTS

    market = VARIANTS[kind].base == "market1501"
    return PARSING if market and parsing_folder(data_root) is not None else "mediapipe_selfie"


def person_mask_mode(kind: str, data_root: str | Path | None = None, trial: int = 0,
                     seed: int = 0) -> str | None:  # fmt: skip
    """The ``mask`` a run trained with person masks uses on variant ``kind``: ``"auto"``
    where the dataset has its own (the embedded data's exact masks, a ``masks/`` folder),
    ``"person"`` where a segmenter is installed or its masks were computed, None where
    neither (the row is then not run, :data:`NO_MASKS_NOTE`)."""
    if missing_masks_note(kind, data_root, trial, seed) is None:
        return "auto"
    from lib.data.paths import default_data_root
    from lib.data.variants import VARIANTS

    root = Path(data_root or default_data_root()).expanduser()
    source = mask_source(kind, root)
    if source == PARSING:
        return "person"
    computed = masks_dir(VARIANTS[kind].base, root, source, MaskOptions(), None)
    return "person" if mediapipe_available() or (computed / "manifest.csv").is_file() else None


NO_MASKS_NOTE = "not run: no person masks"


def missing_masks_note(
    kind: str, data_root: str | Path | None = None, trial: int = 0, seed: int = 0
) -> str | None:
    """Why a row trained with person masks (Table 1's "FFSR (DeeperCut, JL)", Sec. 5.3) cannot
    run on variant ``kind``, or None when the training images of the split that training
    reads (:func:`lib.data.prepare.prepare`) carry masks.

    The embedded synthetic data always has its exact masks (not built here). For real data
    the variant is prepared (reused when built) and its training samples are checked: a
    dataset shipping masks (``masks/`` beside a Market-layout folder) passes; otherwise the
    note is :data:`NO_MASKS_NOTE`, with the folder of masks computed here when there is one
    that training does not read."""
    from lib.data.prepare import prepare
    from lib.data.variants import VARIANTS

    if kind not in VARIANTS:
        raise ValueError(f"unknown dataset {kind!r}; valid: {', '.join(VARIANTS)}")
    if VARIANTS[kind].base == "synthetic":
        return None
    split = prepare(kind, data_root=data_root or None, trial=trial, seed=seed)
    if any(s.mask for s in split.train):
        return None
    computed = derived_root() / "person_masks" / VARIANTS[kind].base
    if any(computed.glob("*/manifest.csv")):
        return f"{NO_MASKS_NOTE} read by training (computed in {computed}, not attached)"
    return NO_MASKS_NOTE


def hit_rates(rows: Sequence[dict]) -> list[dict]:
    """Per camera and overall: images, images with a mask found, the hit rate and the
    foreground fraction (mean, median, 5th and 95th percentile) of the masks found."""
    groups = {
        f"camera {c}": [r for r in rows if r["camid"] == c]
        for c in sorted({r["camid"] for r in rows})
    }
    groups["all"] = list(rows)
    out = []
    for name, group in groups.items():
        fg = np.array([r["foreground"] for r in group if r["found"]], dtype=float)
        found = len(fg)
        stats = (
            {
                "fg_mean": fg.mean(),
                "fg_median": np.median(fg),
                "fg_p5": np.percentile(fg, 5),
                "fg_p95": np.percentile(fg, 95),
            }
            if found
            else dict.fromkeys(("fg_mean", "fg_median", "fg_p5", "fg_p95"), float("nan"))
        )
        out.append(
            {
                "camera": name,
                "images": len(group),
                "found": found,
                "hit_rate": found / max(1, len(group)),
                **stats,
            }
        )
    return out


def grid_figure(
    rows: Sequence[dict], path: str | Path, *, per_camera: int = 8, seed: int = 0
) -> Path:
    """A figure of ``per_camera`` images per camera, then up to ``per_camera`` images where
    no person was found (drawn with ``seed``), each above its mask (the image darkened
    outside it) or "no person found", written to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    groups = [[r for r in rows if r["camid"] == c] for c in sorted({r["camid"] for r in rows})]
    groups.append([r for r in rows if not r["found"]])  # the misses, whatever the camera
    picked = []
    for group in groups:
        if group:
            idx = rng.choice(len(group), size=min(per_camera, len(group)), replace=False)
            picked.append([group[i] for i in sorted(idx)])
    cams = range(len(picked))
    cols = max(len(p) for p in picked)
    fig, axes = plt.subplots(
        2 * len(cams), cols, figsize=(1.1 * cols, 2.4 * 2 * len(cams)), squeeze=False
    )
    for ci, group in enumerate(picked):
        for j in range(cols):
            top, bottom = axes[2 * ci, j], axes[2 * ci + 1, j]
            top.axis("off")
            bottom.axis("off")
            if j >= len(group):
                continue
            row = group[j]
            with Image.open(row["path"]) as im:
                image = np.asarray(im.convert("RGB"))
            top.imshow(image)
            top.set_title(f"cam {row['camid']}\n{Path(row['path']).name}", fontsize=6)
            if row["found"]:
                mask = np.asarray(Image.open(row["mask"]).convert("L")) > 127
                overlay = image.copy()
                overlay[~mask] = (overlay[~mask] * 0.25).astype(np.uint8)
                bottom.imshow(overlay)
                bottom.set_title(f"fg {row['foreground']:.2f}", fontsize=6)
            else:
                bottom.imshow(image * 0 + 40)
                bottom.set_title("no person found", fontsize=6)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m lib masks DATASET --root ROOT [--source ...]``."""
    parser.add_argument("dataset", help="a dataset name of lib.data.datasets (e.g. caviar)")
    parser.add_argument("--root", required=True, help="the data root holding DATASET/")
    parser.add_argument("--source", choices=SOURCES, default="mediapipe_selfie")
    defaults = MaskOptions()
    parser.add_argument("--height", type=int, default=defaults.height)
    parser.add_argument("--pad", type=float, default=defaults.pad)
    parser.add_argument("--threshold", type=float, default=defaults.threshold)
    parser.add_argument("--min-foreground", type=float, default=defaults.min_foreground)
    parser.add_argument(
        "--figure", default=None, help="grid PNG (default figures/person_masks_DATASET.png)"
    )


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``python -m lib masks``: compute the masks, print the hit rate per camera and write the
    grid figure."""
    options = MaskOptions(args.height, args.pad, args.threshold, args.min_foreground)
    try:
        manifest = compute(args.dataset, args.root, source=args.source, options=options)
    except (ImportError, FileNotFoundError) as error:
        print(f"python -m lib masks: {error}", file=sys.stderr)
        return 1
    rows = read_manifest(manifest)
    print(f"{args.dataset}: {args.source} {asdict(options)}; manifest {manifest}")
    print("camera      images  found  hit rate  fg mean  fg median  fg p5  fg p95")
    for r in hit_rates(rows):
        print(
            f"{r['camera']:<10} {r['images']:>7} {r['found']:>6} {r['hit_rate']:>9.3f} "
            f"{r['fg_mean']:>8.3f} {r['fg_median']:>10.3f} {r['fg_p5']:>6.3f} {r['fg_p95']:>7.3f}"
        )
    figure = args.figure or PROJECT_ROOT / "figures" / f"person_masks_{args.dataset}.png"
    print(f"figure: {grid_figure(rows, figure)}")
    return 0
