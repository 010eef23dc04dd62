"""Parse the real ReID datasets from their official layouts into a :class:`Split`.

``load(name, root)`` takes a *data root* holding one folder per dataset, with the folder
names torchreid uses, so users point it at the data they already have::

    root/market1501/Market-1501-v15.09.15/{bounding_box_train,bounding_box_test,query}/
    root/msmt17/MSMT17_V1|MSMT17_V2/ + list_{train,val,query,gallery}.txt
    root/cuhk03/cuhk03_release/cuhk-03.mat          (MATLAB v7.3, see lib.data.cuhk03)
    root/viper/VIPeR/{cam_a,cam_b}/*.bmp
    root/caviar/CAVIARa/PPPPNNN.jpg
    root/synthetic/{bounding_box_train,bounding_box_test,query}/   (lib.data.synthetic)

Conventions: camid is 0-based; train identities are relabelled 0..N-1; query and gallery
keep the dataset's own identity numbers. Datasets evaluated over random identity splits
(VIPeR, CUHK03, CAVIAR) take ``trial``: the split is drawn from a generator seeded with it,
so a trial means the same identities on every machine. A missing or malformed root raises
one :class:`LayoutError` naming the path it looked at and the layout it expected.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lib.data.samples import IMAGE_SUFFIXES, LayoutError, Sample, Split, relabel

MARKET_PATTERN = re.compile(r"^([-\d]+)_c(\d+)")
# datasets evaluated over random identity splits, and how many their protocol has (Sec. 5.1:
# VIPeR and CAVIAR 10 random halves; CUHK03 its 20 classic test sets)
IDENTITY_SPLIT_TRIALS = {"viper": 10, "caviar": 10, "cuhk03": 20}


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def skipped_files(folder: Path) -> list[str]:
    """Names of the files in ``folder`` that are not images and are skipped (the official
    archives ship a ``Thumbs.db`` in each folder), sorted."""
    return sorted(
        p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() not in IMAGE_SUFFIXES
    )


def _trial_rng(name: str, trial: int) -> np.random.Generator:
    """A generator for identity splits: the same (dataset, trial) gives the same split."""
    return np.random.default_rng([sum(map(ord, name)), trial])


def _check_trial(name: str, trial: int, trials: int) -> None:
    if not 0 <= trial < trials:
        raise ValueError(f"{name}: trial must be in [0, {trials}), got {trial}")


# --- Market-1501 layout (also the synthetic dataset's) -------------------------------------

MARKET_EXPECTED = (
    "folders bounding_box_train/, bounding_box_test/ and query/ with images named like "
    "0002_c1s1_000451_03.jpg"
)


def _parse_market_dir(name: str, folder: Path, *, keep_distractors: bool) -> list[Sample]:
    samples = []
    masks = folder.parent / "masks" / folder.name
    for path in _images(folder):
        match = MARKET_PATTERN.match(path.name)
        if match is None:
            raise LayoutError(name, path, MARKET_EXPECTED, "unexpected file name")
        pid, cam = int(match.group(1)), int(match.group(2))
        if pid == -1 or (pid == 0 and not keep_distractors):
            continue  # junk images are ignored; distractors (pid 0) stay in the gallery only
        mask = masks / f"{path.stem}.png"
        samples.append(Sample(str(path), pid, cam - 1, mask=str(mask) if mask.is_file() else None))
    return samples


def parse_market_layout(name: str, base: Path) -> Split:
    """Read a folder in the Market-1501 layout (junk pid -1 dropped, distractors pid 0 kept
    in the gallery). Exact masks are attached where ``base/masks/<subset>/<stem>.png`` exists.
    Files that are not images (``Thumbs.db``) are skipped and listed per subset in
    ``meta["skipped_files"]``; an image with another name is a :class:`LayoutError`."""
    folders = {s: base / s for s in ("bounding_box_train", "query", "bounding_box_test")}
    missing = [s for s, p in folders.items() if not p.is_dir()]
    if missing:
        raise LayoutError(name, base, MARKET_EXPECTED, f"missing {', '.join(missing)}")
    train = _parse_market_dir(name, folders["bounding_box_train"], keep_distractors=False)
    query = _parse_market_dir(name, folders["query"], keep_distractors=False)
    gallery = _parse_market_dir(name, folders["bounding_box_test"], keep_distractors=True)
    if not (train and query and gallery):
        raise LayoutError(name, base, MARKET_EXPECTED, "a subset has no images")
    skipped = {s: skipped_files(p) for s, p in folders.items()}
    meta = {"skipped_files": {s: names for s, names in skipped.items() if names}}
    return Split(name, relabel(train), query, gallery, protocol="market", meta=meta)


def load_market1501(root: Path, trial: int = 0) -> Split:
    _check_trial("market1501", trial, 1)
    base = root / "market1501"
    if (base / "Market-1501-v15.09.15").is_dir():
        base = base / "Market-1501-v15.09.15"
    return parse_market_layout("market1501", base)


def load_synthetic(root: Path, trial: int = 0) -> Split:
    _check_trial("synthetic", trial, 1)
    return parse_market_layout("synthetic", root / "synthetic")


# --- MSMT17 -------------------------------------------------------------------------------

MSMT_EXPECTED = (
    "msmt17/MSMT17_V1 (train/, test/) or msmt17/MSMT17_V2 (mask_train_v2/, mask_test_v2/) "
    "with list_train.txt, list_val.txt, list_query.txt, list_gallery.txt"
)
MSMT_DIRS = {"MSMT17_V2": ("mask_train_v2", "mask_test_v2"), "MSMT17_V1": ("train", "test")}


def _parse_msmt_list(list_path: Path, image_dir: Path) -> list[Sample]:
    samples = []
    for line_no, line in enumerate(list_path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rel, pid = line.split()
            camid = int(Path(rel).name.split("_")[2]) - 1
        except (ValueError, IndexError):
            raise LayoutError(
                "msmt17", list_path, MSMT_EXPECTED, f"line {line_no} is not 'path pid': {line!r}"
            ) from None
        samples.append(Sample(str(image_dir / rel), int(pid), camid))
    return samples


def load_msmt17(root: Path, trial: int = 0) -> Split:
    """MSMT17 as torchreid reads it: train = list_train + list_val, query and gallery lists."""
    _check_trial("msmt17", trial, 1)
    versions = [v for v in MSMT_DIRS if (root / "msmt17" / v).is_dir()]
    if not versions:
        raise LayoutError("msmt17", root / "msmt17", MSMT_EXPECTED, "no MSMT17_V1 or MSMT17_V2")
    base = root / "msmt17" / versions[0]
    train_dir, test_dir = MSMT_DIRS[versions[0]]
    lists = {k: base / f"list_{k}.txt" for k in ("train", "val", "query", "gallery")}
    missing = [p.name for p in lists.values() if not p.is_file()]
    if missing:
        raise LayoutError("msmt17", base, MSMT_EXPECTED, f"missing {', '.join(missing)}")
    train = _parse_msmt_list(lists["train"], base / train_dir)
    train += _parse_msmt_list(lists["val"], base / train_dir)
    query = _parse_msmt_list(lists["query"], base / test_dir)
    gallery = _parse_msmt_list(lists["gallery"], base / test_dir)
    return Split("msmt17", relabel(train), query, gallery, protocol="market")


# --- Two-camera datasets evaluated over random identity splits ----------------------------


def _two_camera_split(
    name: str,
    by_pid: dict[int, list[Sample]],
    num_test: int,
    trial: int,
    trials: int,
    query_cam: int,
) -> Split:
    """Split identities into train/test for ``trial``; test images of ``query_cam`` are
    queries, those of the other camera the gallery (single-shot protocol)."""
    _check_trial(name, trial, trials)
    pids = np.array(sorted(by_pid))
    test_pids = set(_trial_rng(name, trial).permutation(pids)[:num_test].tolist())
    train = [s for p in pids if p not in test_pids for s in by_pid[p]]
    test = [s for p in sorted(test_pids) for s in by_pid[p]]
    query = [s for s in test if s.camid == query_cam]
    gallery = [s for s in test if s.camid != query_cam]
    return Split(name, relabel(train), query, gallery, "single_shot", trial=trial, trials=trials)


VIPER_EXPECTED = "viper/VIPeR/cam_a/*.bmp and viper/VIPeR/cam_b/*.bmp, paired by sorted order"


def load_viper(root: Path, trial: int = 0) -> Split:
    """VIPeR: 632 identities, one image per camera; 316/316 identities per trial, 10 trials.
    Query: camera A (the camera MLR-VIPeR down-samples), gallery: camera B."""
    base = root / "viper" / "VIPeR"
    cams = [base / "cam_a", base / "cam_b"]
    if not all(c.is_dir() for c in cams):
        raise LayoutError("viper", base, VIPER_EXPECTED, "missing cam_a/ or cam_b/")
    a, b = _images(cams[0]), _images(cams[1])
    if not a or len(a) != len(b):
        raise LayoutError("viper", base, VIPER_EXPECTED, f"{len(a)} vs {len(b)} images")
    by_pid = {
        i: [Sample(str(pa), i, 0), Sample(str(pb), i, 1)]
        for i, (pa, pb) in enumerate(zip(a, b, strict=True))
    }
    trials = IDENTITY_SPLIT_TRIALS["viper"]
    return _two_camera_split("viper", by_pid, len(by_pid) // 2, trial, trials, query_cam=0)


CAVIAR_EXPECTED = (
    "caviar/CAVIARa/PPPPNNN.jpg (4-digit person, 3-digit image; 001-010 camera A, 011-020 camera B)"
)
CAVIAR_PATTERN = re.compile(r"^(\d{4})(\d{3})\.jpg$", re.IGNORECASE)


def load_caviar(root: Path, trial: int = 0) -> Split:
    """CAVIAR4REID (Sec. 5.1): the 50 identities seen by both cameras, split in halves for
    training and testing per trial (10 trials); query = camera B (low resolution, images
    011-020), gallery = camera A (images 001-010). The 22 identities seen by camera A only
    are not used, as in SING and CSR-GAN's protocol."""
    base = root / "caviar" / "CAVIARa"
    if not base.is_dir():
        raise LayoutError("caviar", base, CAVIAR_EXPECTED, "folder missing")
    by_pid: dict[int, list[Sample]] = {}
    for path in _images(base):
        match = CAVIAR_PATTERN.match(path.name)
        if match is None:
            raise LayoutError("caviar", path, CAVIAR_EXPECTED, "unexpected file name")
        pid, number = int(match.group(1)), int(match.group(2))
        by_pid.setdefault(pid, []).append(Sample(str(path), pid, 0 if number <= 10 else 1))
    if not by_pid:
        raise LayoutError("caviar", base, CAVIAR_EXPECTED, "no images")
    both = {p: s for p, s in by_pid.items() if {x.camid for x in s} == {0, 1}}
    if not both:
        raise LayoutError(
            "caviar",
            base,
            CAVIAR_EXPECTED,
            f"none of its {len(by_pid)} identities has images of both camera A (001-010) "
            "and camera B (011-020)",
        )
    trials = IDENTITY_SPLIT_TRIALS["caviar"]
    split = _two_camera_split("caviar", both, len(both) // 2, trial, trials, query_cam=1)
    split.meta["camera_a_only_ids"] = len(by_pid) - len(both)
    return split


def load_cuhk03(root: Path, trial: int = 0, *, variant: str = "labeled") -> Split:
    from lib.data.cuhk03 import load_cuhk03_classic

    return load_cuhk03_classic(root, trial, variant=variant)


LOADERS: dict[str, Callable[..., Split]] = {
    "market1501": load_market1501,
    "msmt17": load_msmt17,
    "cuhk03": load_cuhk03,
    "viper": load_viper,
    "caviar": load_caviar,
    "synthetic": load_synthetic,
}


def load(name: str, root: str | Path, trial: int = 0, **options) -> Split:
    """Parse dataset ``name`` under the data root ``root`` (official layout) for ``trial``."""
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(LOADERS)}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise LayoutError(name, root, f"a data root folder holding {name}/")
    return LOADERS[name](root, trial, **options)


def available(root: str | Path) -> list[str]:
    """Names of the datasets whose folder exists under ``root`` (parsed or not)."""
    root = Path(root).expanduser()
    return [name for name in LOADERS if (root / name).is_dir()]
