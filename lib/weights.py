"""ImageNet weights of the backbones, fetched only when asked: ``python -m lib weights``.

::

    python -m lib weights list                      what is cached, what is missing, and where
    python -m lib weights download resnet50         one backbone (or several, or ``all``)

Nothing downloads implicitly: with ``pretrained=True`` the models read these files from
torchvision's cache (``torch.hub.get_dir()/checkpoints``, moved by ``TORCH_HOME``) and, when a
file is missing, the error names the command above.

The files are the ones torchvision and timm publish (the URLs their model code names, read
from the installed packages, so the file name is exactly the one the models look for):
ResNet-18/34/50 and DenseNet121 (torchvision, ``IMAGENET1K_V1``, the original weights of
2019) and SE-ResNet50 (timm). MobileNetV2 is not here: its weights come with a package
(:mod:`lib.models.mobilenet`).

Checksum: these publishers give no full SHA-256 for their files; each file *name* ends with
the first 8 or more hex digits of its SHA-256 (``resnet50-0676ba61.pth``). A download is kept
only when its SHA-256 starts with them: the same check ``torch.hub.download_url_to_file(...,
hash_prefix=...)`` makes for torchvision's own ``check_hash=True``. Give ``--sha256 HEX`` to
check a full digest you have. A download is written to a temporary file next to its
destination and renamed into place only after the check passes, so an interrupted, truncated
or corrupted download leaves nothing behind.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

from tqdm import tqdm

HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,64})\.")  # torch.hub's HASH_REGEX, at least 8 digits
TORCHVISION = ("resnet18", "resnet34", "resnet50", "densenet121")
TIMM = ("seresnet50",)
CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """A download failed or did not match its checksum; nothing was written."""


@dataclass(frozen=True)
class WeightsFile:
    """A published weights file: ``name`` (what users type), its ``url`` and what it is for."""

    name: str
    url: str
    what: str

    @property
    def filename(self) -> str:
        """The file name in the cache: the URL's last part (as torch.hub names it)."""
        return self.url.rsplit("/", 1)[-1]

    @property
    def hash_prefix(self) -> str | None:
        """The SHA-256 prefix embedded in the file name, or None when the name has none."""
        match = HASH_IN_NAME.search(self.filename)
        return match.group(1) if match else None


def cache_dir() -> Path:
    """torchvision's weights cache, where pretrained weights are looked for:
    ``torch.hub.get_dir()/checkpoints`` (``TORCH_HOME`` moves it)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def require_cached(filename: str, url: str, what: str) -> Path:
    """Path of a cached weights file; a clear ``FileNotFoundError`` when it is absent, naming
    the file and the command that fetches it."""
    path = cache_dir() / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"ImageNet weights for {what} are not in the local cache: {path} is missing; "
            f"run `python -m lib weights download {what}` (it fetches {url}, checks its "
            "SHA-256 and writes it there; TORCH_HOME moves the cache), or build the model "
            "with pretrained=False"
        )
    return path


def torchvision_weights(arch: str):
    """torchvision's ImageNet weights enum of ``arch``: ``IMAGENET1K_V1``, the original
    weights, as used in 2019."""
    import torchvision

    return torchvision.models.get_model_weights(arch).IMAGENET1K_V1


def catalogue() -> dict[str, WeightsFile]:
    """Every weights file the models can load, by name, with the URL the installed
    torchvision / timm give for it (so the file name is the one the models look for)."""
    import timm

    files = {}
    for arch in TORCHVISION:
        url = torchvision_weights(arch).url
        files[arch] = WeightsFile(arch, url, f"torchvision {arch} ImageNet (IMAGENET1K_V1)")
    for name in TIMM:
        url = timm.create_model(name, pretrained=False).pretrained_cfg.get("url") or ""
        if url:
            files[name] = WeightsFile(name, url, f"timm {name} ImageNet")
    return files


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _check(
    digest: str, hash_prefix: str | None, sha256: str | None, md5: tuple[str, str] | None = None
) -> str | None:
    """Why ``digest`` (SHA-256) is rejected, or None when it matches what is expected;
    ``md5`` is (the file's MD5, the expected MD5) where an MD5 is what was published."""
    if md5 is not None and md5[0] != md5[1].lower():
        return f"MD5 {md5[0]} is not the expected {md5[1].lower()}"
    if sha256 is not None and digest != sha256.lower():
        return f"SHA-256 {digest} is not the expected {sha256.lower()}"
    if hash_prefix is not None and not digest.startswith(hash_prefix):
        return f"SHA-256 {digest} does not start with {hash_prefix} (the hash in the file name)"
    return None


def download_file(
    url: str,
    dest: Path,
    *,
    hash_prefix: str | None = None,
    sha256: str | None = None,
    md5: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` atomically, accepting it only when its SHA-256 equals
    ``sha256`` and/or starts with ``hash_prefix``, and its MD5 equals ``md5`` (at least one
    is required; MD5 only where that is all a publisher gives).

    The bytes go to a temporary file in ``dest``'s folder, hashed as they arrive; a short
    read (fewer bytes than the server announced), a network error or a checksum mismatch
    removes it and raises one :class:`DownloadError` naming the URL; only a verified file is
    renamed to ``dest``. Returns ``dest``.
    """
    if hash_prefix is None and sha256 is None and md5 is None:
        raise ValueError(f"{url}: no checksum to verify the download against")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest, md5_digest = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                total = resp.headers.get("Content-Length")
                total = int(total) if total and total.isdigit() else None
                received = 0
                with tqdm(
                    total=total,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=dest.name,
                    disable=not progress,
                ) as bar:
                    while block := resp.read(CHUNK):
                        out.write(block)
                        digest.update(block)
                        md5_digest.update(block)
                        received += len(block)
                        bar.update(len(block))
                out.flush()
                os.fsync(out.fileno())
        except (urllib.error.URLError, HTTPException, OSError) as err:
            raise DownloadError(f"{url}: download failed ({err}); nothing was written") from err
        if total is not None and received != total:
            raise DownloadError(
                f"{url}: download truncated ({received} of {total} bytes); nothing was written"
            )
        why = _check(
            digest.hexdigest(), hash_prefix, sha256, (md5_digest.hexdigest(), md5) if md5 else None
        )
        if why:
            raise DownloadError(f"{url}: checksum mismatch, {why}; the download was discarded")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def download(
    name: str, *, url: str | None = None, sha256: str | None = None, progress: bool = True
) -> Path:
    """Fetch the weights ``name`` (:func:`catalogue`) into :func:`cache_dir`, verified. A
    cached file that passes the check is kept; ``url`` fetches the same file from a mirror."""
    files = catalogue()
    if name not in files:
        raise KeyError(f"no weights named {name!r}; valid: {', '.join(files)}")
    entry = files[name]
    dest = cache_dir() / entry.filename
    if dest.is_file() and _check(sha256_of(dest), entry.hash_prefix, sha256) is None:
        return dest
    return download_file(
        url or entry.url, dest, hash_prefix=entry.hash_prefix, sha256=sha256, progress=progress
    )


def status() -> list[tuple[WeightsFile, Path, bool]]:
    """(file, its cache path, whether it is cached) for every entry of :func:`catalogue`."""
    folder = cache_dir()
    return [(w, folder / w.filename, (folder / w.filename).is_file()) for w in catalogue().values()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m lib weights list | download NAME... [--url URL] [--sha256 HEX]``."""
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="what is cached and what is missing")
    get = sub.add_parser("download", help="download weights into the cache, verified")
    get.add_argument("names", nargs="+", metavar="NAME", help="names from `list`, or all")
    get.add_argument("--url", help="fetch from this URL instead (a mirror of the same file)")
    get.add_argument("--sha256", help="also require this full SHA-256")
    get.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``python -m lib weights``: list the cache, or download the named weights."""
    if args.action == "list":
        print(f"cache: {cache_dir()}")
        for entry, _path, cached in status():
            state = "cached " if cached else "missing"
            print(f"{entry.name:28s} {state} {entry.filename:40s} {entry.what}")
        return 0
    names = list(catalogue()) if args.names == ["all"] else args.names
    if args.url and len(names) != 1:
        parser.error("--url fetches one file: name exactly one")
    for name in names:
        try:
            path = download(name, url=args.url, sha256=args.sha256, progress=not args.no_progress)
        except (KeyError, DownloadError) as err:
            print(f"python -m lib weights: {err.args[0]}", file=sys.stderr)
            return 1
        print(f"{name}: {path}")
    return 0
