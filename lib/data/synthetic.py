"""The embedded dataset: procedural pedestrians seen by six cameras, Market-1501 layout.

It stands in for the real datasets so every figure and table comes out with no download, and
it reproduces the phenomenon the paper starts from (Fig. 1, Sec. 1 and 3): what tells two
persons apart is spread over graded spatial scales, so each halving of the resolution r
removes some identity information but not all. Identities are nested three deep:

- a *clan* (3-4 families, 9-16 persons) shares the coarse cues, visible at any r: body
  height and build, skin, the colours of the upper and lower garment, the garment type;
- a *family* (3-4 persons) of a clan shares the mid-scale cues, visible down to about a
  quarter of full resolution: hair colour and length, cap, sleeves, shoes, the bag (type,
  colour, side) and a wide pattern on the upper garment (periods of 6-10 output pixels at
  64x32, 12-20 at 128x64); families of a clan differ pairwise in at least two of them;
- a person differs from the rest of the family in at least two fine cues, visible at full
  resolution only: stripes or checks on the lower garment (2-3 pixel periods at 64x32),
  hair texture, a logo of 1-pixel lines, the bag strap. They are zero-mean modulations of
  the coarse colour (:mod:`lib.data.synthetic_render`) and average away when down-sampled.

``generate(root)`` writes ``root/synthetic/`` as Market-1501 does (``bounding_box_train/``,
``bounding_box_test/``, ``query/``, names like ``0002_c1s1_000451_01.jpg``), plus exact
foreground masks ``masks/<subset>/<stem>.png`` (255 = person), ``identities.json`` (each
person's cues, ``family`` and ``clan``) and ``settings.json``. Byte-identical for a seed,
whatever the number of workers.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from tqdm.auto import tqdm

from lib.data.synthetic_render import LOGOS, OCCLUSIONS, VIEWS, Camera, Identity, render

__all__ = ["Camera", "Identity", "generate", "make_cameras", "render", "sample_identities", "twin"]

FORMAT_VERSION = 2  # 2: clans, families and graded cue scales
SKINS = [(236, 200, 170), (215, 170, 135), (190, 140, 105), (150, 105, 75), (105, 75, 55)]
HAIRS = [(45, 38, 35), (75, 55, 40), (120, 85, 55), (185, 150, 95), (140, 135, 130), (150, 70, 40)]
UPPERS = [(205, 205, 200), (55, 55, 60), (50, 62, 110), (170, 50, 50), (60, 100, 170),
          (60, 120, 70), (128, 128, 130), (200, 175, 60), (120, 85, 60),
          (115, 70, 135)]  # fmt: skip
LOWERS = [(48, 48, 52), (45, 55, 90), (70, 95, 140), (120, 120, 125), (170, 150, 110),
          (100, 75, 55), (200, 198, 190)]  # fmt: skip
SHOES = [(40, 40, 40), (200, 200, 200), (110, 70, 45), (60, 60, 90)]
BAGS = [(50, 45, 45), (110, 70, 45), (150, 30, 40), (40, 70, 120), (90, 100, 60), (180, 160, 120)]
# periods in pixels at the 128x64 reference size (halved at 64x32, never below 2 pixels)
UPPER_MID = [
    ("plain", 12.0),
    ("hstripes", 12.0),
    ("vstripes", 12.0),
    ("checks", 16.0),
    ("hstripes", 20.0),
]
LOWER_FINE = [
    ("plain", 4.0),
    ("vstripes", 4.0),
    ("vstripes", 6.0),
    ("hstripes", 4.0),
    ("checks", 4.0),
]
HAIR_STYLES = ("smooth", "streaked", "curly", "banded")
LOGO_NAMES = ("none", *LOGOS)
FINE_CUES = ("stripes", "hair", "logo", "strap")
MID_CUES = ("upper", "bag", "hair_length", "sleeves")
STYLES = ("street", "park", "corridor", "shops", "plaza", "parking")


def _pick(rng: np.random.Generator, items, p=None):
    return items[int(rng.choice(len(items), p=p))]


def _coarse(rng: np.random.Generator) -> dict:
    """Cues a whole clan shares: still visible at the lowest resolution."""
    return dict(
        height=_pick(rng, [0.92, 0.96, 1.0]), build=_pick(rng, [0.86, 1.0, 1.14]),
        skin=_pick(rng, SKINS), upper_color=_pick(rng, UPPERS), lower_color=_pick(rng, LOWERS),
        lower_type=_pick(rng, ["trousers", "shorts", "skirt"], [0.7, 0.15, 0.15]),
    )  # fmt: skip


def _mid(rng: np.random.Generator) -> dict:
    """Cues a family shares and the other families of its clan do not (mid scale)."""
    upper = _pick(rng, UPPER_MID)
    return dict(
        hair_color=_pick(rng, HAIRS),
        hair_length=_pick(rng, ["short", "long", "bun", "cap"], [0.45, 0.25, 0.12, 0.18]),
        cap_color=_pick(rng, UPPERS), sleeves=_pick(rng, ["long", "short"], [0.6, 0.4]),
        shoes_color=_pick(rng, SHOES), bag_color=_pick(rng, BAGS),
        bag=_pick(rng, ["none", "backpack", "shoulder", "handbag"], [0.3, 0.25, 0.3, 0.15]),
        bag_side=_pick(rng, ["left", "right"]), upper_pattern=upper[0], upper_period=upper[1],
    )  # fmt: skip


def _fine(rng: np.random.Generator) -> dict:
    """Cues that differ inside a family: visible at full resolution only."""
    lower = _pick(rng, LOWER_FINE)
    return dict(
        lower_pattern=lower[0], lower_period=lower[1], hair_style=_pick(rng, HAIR_STYLES),
        logo=_pick(rng, LOGO_NAMES, [0.4] + [0.15] * len(LOGOS)),
        strap=_pick(rng, ["cross", "shoulder"]),
    )  # fmt: skip


def _fine_key(fine: dict, bag: str) -> tuple:
    strap = fine["strap"] if bag == "shoulder" else None
    return (fine["lower_pattern"], fine["lower_period"], fine["logo"], fine["hair_style"], strap)


def _mid_key(mid: dict) -> tuple:
    hair = (mid["hair_length"], mid["cap_color"] if mid["hair_length"] == "cap" else None)
    bag = (mid["bag"], None if mid["bag"] == "none" else mid["bag_color"])
    return (
        mid["hair_color"],
        hair,
        mid["sleeves"],
        bag,
        (mid["upper_pattern"], mid["upper_period"]),
    )


def _cue_distance(a: tuple, b: tuple) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def _distinct(rng, draw, key, count: int, min_distance: int = 2) -> list[dict]:
    """Up to ``count`` draws whose keys differ pairwise in at least ``min_distance`` cues."""
    out: list[dict] = []
    for _ in range(500):
        if len(out) == count:
            break
        cand = draw(rng)
        if all(_cue_distance(key(cand), key(m)) >= min_distance for m in out):
            out.append(cand)
    return out


def _families(
    rng, n: int, first_pid: int, first_family: int, size=(3, 4), per_clan=(3, 4), first_clan=0
) -> list[Identity]:
    """``n`` identities in clans of ``per_clan`` families of ``size`` persons each."""
    out: list[Identity] = []
    family, clan = first_family, first_clan
    while len(out) < n:
        coarse = _coarse(rng)
        count = int(rng.integers(per_clan[0], per_clan[1] + 1))
        for mid in _distinct(rng, _mid, _mid_key, count):
            target = int(rng.integers(size[0], size[1] + 1))
            members = _distinct(rng, _fine, lambda f, bag=mid["bag"]: _fine_key(f, bag), target)
            for fine in members[: n - len(out)]:
                out.append(
                    Identity(
                        pid=first_pid + len(out), family=family, clan=clan, **coarse, **mid, **fine
                    )
                )
            family += 1
            if len(out) == n:
                break
        clan += 1
    return out


def sample_identities(
    n: int,
    seed: int = 0,
    *,
    family_size: tuple[int, int] = (3, 4),
    families_per_clan: tuple[int, int] = (3, 4),
) -> list[Identity]:
    """``n`` identities (pids 1..n) in clans of ``families_per_clan`` families of
    ``family_size`` members. A clan shares every coarse cue, a family every mid-scale cue, and
    family members differ pairwise in at least two fine cues (the paper's Fig. 1 situation)."""
    rng = np.random.default_rng([seed, 11])
    return _families(rng, n, 1, 0, family_size, families_per_clan)


def twin(identity: Identity, differ_in: str = "stripes", seed: int = 0) -> Identity:
    """A twin: ``identity`` with one cue changed (same pid, every other cue kept).
    ``differ_in``: the fine cues stripes (pattern of the lower garment, Fig. 1's stripes on the
    pants), hair (hair texture), logo, strap (shoulder bags); or the mid-scale cue upper (the
    wide pattern of the upper garment)."""
    rng = np.random.default_rng([seed, 23])

    def other(options, current):
        return _pick(rng, [o for o in options if o != current])

    if differ_in == "stripes":
        pattern, period = other(LOWER_FINE, (identity.lower_pattern, identity.lower_period))
        return replace(identity, lower_pattern=pattern, lower_period=period)
    if differ_in == "upper":
        pattern, period = other(UPPER_MID, (identity.upper_pattern, identity.upper_period))
        return replace(identity, upper_pattern=pattern, upper_period=period)
    if differ_in == "hair":
        return replace(identity, hair_style=other(HAIR_STYLES, identity.hair_style))
    if differ_in == "logo":
        return replace(identity, logo=other(LOGO_NAMES, identity.logo))
    if differ_in == "strap":
        if identity.bag != "shoulder":
            raise ValueError(
                f"a strap twin needs a shoulder bag, pid {identity.pid} has {identity.bag}"
            )
        return replace(identity, strap="shoulder" if identity.strap == "cross" else "cross")
    raise ValueError(f"unknown cue {differ_in!r}; valid: {', '.join(FINE_CUES)}, upper")


# --- cameras: cluttered procedural backgrounds, illumination, colour cast, noise ----------


def _jitter(rng, color, amount: float = 18) -> tuple:
    return tuple(int(np.clip(c + rng.uniform(-amount, amount), 0, 255)) for c in color)


def _background(style: str, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A cluttered scene drawn at twice the size and box-filtered down (anti-aliased)."""
    H, W = 2 * h, 2 * w
    hor = int(H * rng.uniform(0.42, 0.6))
    wall = _jitter(
        rng, _pick(rng, [(170, 160, 150), (140, 120, 110), (190, 185, 170), (120, 125, 135)])
    )
    ground = _jitter(rng, _pick(rng, [(130, 128, 125), (150, 140, 125), (95, 95, 100)]))
    if style == "park":
        wall, ground = _jitter(rng, (150, 175, 190)), _jitter(rng, (85, 120, 65))
    if style == "parking":
        ground = _jitter(rng, (75, 75, 80), 8)
    im = Image.new("RGB", (W, H), wall)
    d = ImageDraw.Draw(im)
    d.rectangle([0, hor, W, H], fill=ground)
    u = H / 100  # scene unit
    if style in ("street", "corridor", "plaza"):  # wall structure: bricks / panels / windows
        step = u * (3 if style == "street" else 9)
        for y in np.arange(0, hor, step):
            d.line([0, y, W, y], fill=_jitter(rng, wall, 25), width=max(1, int(u * 0.6)))
    if style in ("street", "corridor", "shops", "plaza"):  # windows, doors, posters, shop fronts
        x = rng.uniform(-20, 0) * u
        while x < W:
            ww = rng.uniform(10, 26) * u
            top = rng.uniform(0.05, 0.5) * hor
            color = (
                _pick(rng, UPPERS + BAGS) if style == "shops" else _jitter(rng, (70, 80, 95), 30)
            )
            d.rectangle([x, top, x + ww, hor - rng.uniform(0, 0.3) * hor], fill=color)
            d.rectangle([x + u, top + u, x + ww - u, top + 4 * u], fill=_jitter(rng, wall, 60))
            x += ww + rng.uniform(4, 20) * u
    if style == "park":  # trees and hedges
        for _ in range(int(rng.integers(6, 11))):
            x, r = rng.uniform(0, W), rng.uniform(8, 20) * u
            d.rectangle([x - 1.5 * u, hor - 30 * u, x + 1.5 * u, hor + 2 * u], fill=(90, 65, 45))
            d.ellipse(
                [x - r, hor - 30 * u - r, x + r, hor - 30 * u + r],
                fill=_jitter(rng, (60, 110, 55), 30),
            )
        d.rectangle([0, hor + 8 * u, W, hor + 20 * u], fill=_jitter(rng, (180, 165, 130)))
    step = rng.uniform(6, 12) * u  # ground: tiles, stones or lane markings
    for y in np.arange(hor, H, step):
        d.line([0, y, W, y], fill=_jitter(rng, ground, 30), width=max(1, int(u * 0.5)))
    for x in np.arange(rng.uniform(0, step), W, step * (3 if style == "parking" else 1.5)):
        line = (225, 225, 215) if style == "parking" else _jitter(rng, ground, 30)
        d.line([x, hor, x + rng.uniform(-8, 8) * u, H], fill=line, width=max(1, int(u * 0.5)))
    if style == "parking":  # parked cars
        for _ in range(int(rng.integers(2, 4))):
            x, y = rng.uniform(0, W), hor + rng.uniform(-8, 4) * u
            d.rounded_rectangle(
                [x, y - 14 * u, x + 40 * u, y + 4 * u], radius=4 * u, fill=_pick(rng, UPPERS)
            )
            d.rectangle([x + 6 * u, y - 12 * u, x + 32 * u, y - 7 * u], fill=(40, 50, 60))
            for wx in (x + 8 * u, x + 32 * u):
                d.ellipse([wx - 3 * u, y + u, wx + 3 * u, y + 7 * u], fill=(25, 25, 25))
    for _ in range(int(rng.integers(1, 4))):  # poles, bollards, signs
        x = rng.uniform(0, W)
        y0, y1 = rng.uniform(0, 0.4) * H, hor + rng.uniform(5, 25) * u
        d.rectangle([x, y0, x + rng.uniform(1, 2.5) * u, y1], fill=_jitter(rng, (70, 70, 75), 30))
    for _ in range(int(rng.integers(6, 14))):  # clutter: boxes, bins, plants, litter
        x, y, s = rng.uniform(0, W), rng.uniform(0.2, 1.0) * H, rng.uniform(1, 7) * u
        shape = d.ellipse if rng.random() < 0.5 else d.rectangle
        shape(
            [x - s, y - s, x + s, y + s * rng.uniform(0.5, 2)],
            fill=_pick(rng, UPPERS + LOWERS + BAGS),
        )
    im = im.filter(ImageFilter.GaussianBlur(1.2)).reduce(2)
    arr = np.asarray(im, np.float32)
    low = rng.normal(0, 10, (max(2, h // 12), max(2, w // 12), 1)).astype(np.float32)
    arr += np.asarray(Image.fromarray(low[..., 0]).resize((w, h), Image.BILINEAR))[..., None]
    arr += rng.normal(0, 3, arr.shape).astype(np.float32)
    return np.clip(arr, 0, 255).astype(np.uint8)


def make_cameras(n: int = 6, *, seed: int = 0, height: int = 128, width: int = 64) -> list[Camera]:
    """``n`` cameras (indices 1..n) with their own background style (cycling through six),
    illumination gain, colour cast, sensor noise, JPEG quality and occlusion rate."""
    cams = []
    for i in range(1, n + 1):
        rng = np.random.default_rng([seed, 97, i])
        style = STYLES[(i - 1) % len(STYLES)]
        bg = _background(style, rng, int(round(height * 1.15)), width * 3)
        cams.append(Camera(
            index=i, style=style, gain=float(rng.uniform(0.75, 1.15)),
            cast=tuple(float(c) for c in rng.uniform(0.88, 1.12, 3)),
            noise=float(rng.uniform(1.5, 5.0)), jpeg_quality=int(rng.integers(75, 96)),
            occlusion_rate=float(rng.uniform(0.05, 0.25)), background=bg,
        ))  # fmt: skip
    return cams


# --- the dataset: identities, cameras, splits, writing ------------------------------------


def _view_params(rng: np.random.Generator, camera: Camera) -> dict:
    occluded = rng.random() < camera.occlusion_rate
    return dict(
        view=_pick(rng, VIEWS, [0.3, 0.3, 0.2, 0.2]), pose_phase=float(rng.random()),
        dx=float(rng.uniform(-3, 3)), dy=float(rng.uniform(-3, 2)),
        scale=float(rng.uniform(0.9, 1.04)),
        occlusion=_pick(rng, OCCLUSIONS) if occluded else None,
    )  # fmt: skip


_STATE: dict = {}


def _init_worker(cameras: list[Camera], settings: dict, out: str) -> None:
    _STATE.update(cameras={c.index: c for c in cameras}, settings=settings, out=Path(out))


def _write_image(job: tuple[Identity, int, int, str, str]) -> None:
    """Render and write one image and its mask; the image's randomness comes from
    (seed, pid, camera, index) only, so the output does not depend on the workers."""
    ident, cam, k, subset, stem = job
    s, camera = _STATE["settings"], _STATE["cameras"][cam]
    rng = np.random.default_rng([s["seed"], ident.pid, cam, k])
    img, mask = render(ident, camera, **_view_params(rng, camera), seed=rng,
                       height=s["height"], width=s["width"])  # fmt: skip
    out = _STATE["out"]
    Image.fromarray(img).save(out / subset / f"{stem}.jpg", quality=camera.jpeg_quality)
    Image.fromarray(mask).save(out / "masks" / subset / f"{stem}.png")


def _plan(settings: dict) -> tuple[list[Identity], list[dict], list[tuple]]:
    """Identities (train families first, then test families), their cameras and the jobs."""
    rng = np.random.default_rng([settings["seed"], 1])
    n_train, n_test = settings["num_train_ids"], settings["num_test_ids"]
    size, per_clan = settings["family_size"], settings["families_per_clan"]
    train = _families(rng, n_train, 1, 0, size, per_clan)
    after = (train[-1].family + 1, train[-1].clan + 1) if train else (0, 0)
    test = _families(rng, n_test, n_train + 1, after[0], size, per_clan, after[1])
    lo, hi = settings["images_per_id_cam"]
    n_cams, records, jobs = settings["cameras"], [], []
    for ident in train + test:
        is_test = ident.pid > n_train
        count = int(rng.integers(settings["min_cameras"], n_cams + 1))
        cams = sorted(int(c) + 1 for c in rng.choice(n_cams, size=count, replace=False))
        records.append({**asdict(ident), "subset": "test" if is_test else "train", "cameras": cams})
        for cam in cams:
            base = int(rng.integers(0, 900000))
            for k in range(int(rng.integers(lo, hi + 1))):
                subset = (
                    ("query" if k == 0 else "bounding_box_test")
                    if is_test
                    else "bounding_box_train"
                )
                stem = f"{ident.pid:04d}_c{cam}s1_{base + 1 + 25 * k:06d}_01"
                jobs.append((ident, cam, k, subset, stem))
    return train + test, records, jobs


def _settings(seed, num_train_ids, num_test_ids, images_per_id_cam, cameras, min_cameras,
              height, width, family_size, families_per_clan) -> dict:  # fmt: skip
    ipc = (images_per_id_cam,) * 2 if isinstance(images_per_id_cam, int) else images_per_id_cam
    lo, hi = int(ipc[0]), int(ipc[1])
    if lo < 2 or hi < lo:
        raise ValueError(
            f"images_per_id_cam must be >= 2 (one query + gallery per camera), got {ipc}"
        )
    if not 2 <= min_cameras <= cameras:
        raise ValueError(f"need 2 <= min_cameras <= cameras, got {min_cameras} and {cameras}")
    if num_train_ids < 1 or num_test_ids < 1 or num_train_ids + num_test_ids > 9999:
        raise ValueError("need 1..9999 train and test identities in all (4-digit pids)")
    return dict(
        format_version=FORMAT_VERSION, seed=int(seed), num_train_ids=int(num_train_ids),
        num_test_ids=int(num_test_ids), images_per_id_cam=[lo, hi], cameras=int(cameras),
        min_cameras=int(min_cameras), height=int(height), width=int(width),
        family_size=[int(family_size[0]), int(family_size[1])],
        families_per_clan=[int(families_per_clan[0]), int(families_per_clan[1])],
    )  # fmt: skip


def _is_complete(folder: Path, settings: dict) -> bool:
    try:
        return (folder / ".complete").is_file() and json.loads(
            (folder / "settings.json").read_text()
        ) == settings
    except (OSError, ValueError):
        return False


def _remove_stale_tmp(root: Path) -> None:
    for tmp in root.glob(".synthetic.tmp-*"):
        try:
            os.kill(int(tmp.name.rsplit("-", 1)[1]), 0)  # its writer is still running
        except (ProcessLookupError, ValueError):
            shutil.rmtree(tmp, ignore_errors=True)
        except PermissionError:
            pass


def generate(
    root: str | Path,
    *,
    seed: int = 0,
    num_train_ids: int = 150,
    num_test_ids: int = 150,
    images_per_id_cam: int | tuple[int, int] = (2, 3),
    cameras: int = 6,
    min_cameras: int = 2,
    height: int = 128,
    width: int = 64,
    family_size: tuple[int, int] = (3, 4),
    families_per_clan: tuple[int, int] = (3, 4),
    workers: int | None = None,
    progress: bool = True,
) -> Path:
    """Write the embedded dataset to ``root/synthetic`` in the Market-1501 layout and return
    that path. Each identity is seen by a random subset of ``min_cameras``..``cameras``
    cameras, with ``images_per_id_cam`` images (an int or an inclusive range) per camera;
    for a test identity one image per camera is a query and the rest are gallery images.
    Reused when a complete folder with the same settings exists; written to a temporary
    folder and renamed at the end, so an interrupted run leaves nothing half-written."""
    root = Path(root).expanduser()
    final = root / "synthetic"
    settings = _settings(seed, num_train_ids, num_test_ids, images_per_id_cam, cameras,
                         min_cameras, height, width, family_size, families_per_clan)  # fmt: skip
    if _is_complete(final, settings):
        return final
    if final.exists() and not (final / "settings.json").is_file():
        raise FileExistsError(
            f"{final} exists and was not written by lib.data.synthetic; move it away"
        )
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp(root)
    tmp = root / f".synthetic.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        for sub in ("bounding_box_train", "bounding_box_test", "query"):
            (tmp / sub).mkdir(parents=True)
            (tmp / "masks" / sub).mkdir(parents=True)
        _, records, jobs = _plan(settings)
        cams = make_cameras(cameras, seed=seed, height=height, width=width)
        workers = min(os.cpu_count() or 1, 8) if workers is None else max(1, workers)
        bar = tqdm(total=len(jobs), desc="synthetic", unit="img", disable=not progress)
        if workers == 1:
            _init_worker(cams, settings, str(tmp))
            for job in jobs:
                _write_image(job)
                bar.update()
        else:
            ctx = get_context("fork")
            with ctx.Pool(workers, _init_worker, (cams, settings, str(tmp))) as pool:
                for _ in pool.imap_unordered(_write_image, jobs, chunksize=32):
                    bar.update()
        bar.close()
        (tmp / "identities.json").write_text(json.dumps(records, indent=1))
        (tmp / "settings.json").write_text(json.dumps(settings, indent=1))
        (tmp / ".complete").write_text(f"{len(jobs)} images\n")
        if not _is_complete(final, settings):  # else a concurrent run finished it first
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
