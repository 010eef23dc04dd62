"""Fetch a public dataset archive into a data root, verified, in its official layout.

::

    python -m lib download viper --root DATA_ROOT
    python -m lib download caviar --root DATA_ROOT --archive CAVIAR4REID.zip
    python -m lib download caviar --root DATA_ROOT --url URL --sha256 HEX

This is the only code in the project that writes into a user's dataset folders, and only into
the root named on its command line: the archive is downloaded into a temporary folder inside
that root, its checksum checked, unpacked there with every member checked (no absolute path,
no ``..``, no link that points outside, no device file), the dataset's folder found in it and
moved to the place :func:`lib.data.datasets.load` reads (``viper/VIPeR/{cam_a,cam_b}``,
``caviar/CAVIARa``), parsed once, and the temporary folder removed. Any failure removes what
this command wrote and is one line naming what failed. An existing dataset folder is never
replaced.

Sources (:data:`SOURCES`):

- ``viper``: the URL torchreid and open-reid download from, with the MD5 open-reid checks
  (``reid/datasets/viper.py`` of Cysu/open-reid; no SHA-256 is published).
- ``caviar``: CAVIAR4REID is linked from its authors' page without a stable direct URL or a
  published checksum, so it takes the archive you downloaded (``--archive``; its SHA-256 is
  printed so you can record it) or a URL with the checksum you trust (``--url`` and
  ``--sha256``). Nothing is downloaded without a checksum.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lib.data.datasets import CAVIAR_EXPECTED, CAVIAR_PATTERN, VIPER_EXPECTED, load
from lib.data.samples import LayoutError
from lib.weights import DownloadError, download_file, sha256_of


class UnsafeArchive(DownloadError):
    """An archive member would land outside the folder it is unpacked into."""


@dataclass(frozen=True)
class Source:
    """Where dataset ``name`` comes from and where its folder goes under the data root.

    ``official``: the folder's path under the root (what ``datasets.load`` reads);
    ``find``: locates that folder in an unpacked archive; ``url`` and its checksum
    (``sha256`` or, where that is all that is published, ``md5``) when the archive has a
    stable public URL; ``page``: where a user gets it by hand.
    """

    name: str
    official: str
    expected: str
    find: Callable[[Path], Path | None]
    page: str
    url: str | None = None
    sha256: str | None = None
    md5: str | None = None


def _dirs(top: Path, depth: int = 4) -> list[Path]:
    """Folders under ``top`` (itself included), shallowest first, not following links."""
    found, level = [top], [top]
    for _ in range(depth):
        level = [d for p in level for d in sorted(p.iterdir()) if d.is_dir() and not d.is_symlink()]
        found += level
    return found


def _find_viper(top: Path) -> Path | None:
    """The folder holding cam_a/ and cam_b/ (``VIPeR/`` in the official archive)."""
    return next((d for d in _dirs(top) if (d / "cam_a").is_dir() and (d / "cam_b").is_dir()), None)


def _find_caviar(top: Path) -> Path | None:
    """The folder of CAVIAR4REID's PPPPNNN.jpg images (``CAVIARa/`` in the official archive)."""
    for d in _dirs(top):
        if d.name.lower() == "caviara":
            return d
    for d in _dirs(top):
        if any(CAVIAR_PATTERN.match(p.name) for p in d.iterdir() if p.is_file()):
            return d
    return None


SOURCES: dict[str, Source] = {
    "viper": Source(
        name="viper",
        official="viper/VIPeR",
        expected=VIPER_EXPECTED,
        find=_find_viper,
        page="https://vision.soe.ucsc.edu/node/178",
        url="http://users.soe.ucsc.edu/~manduchi/VIPeR.v1.0.zip",
        md5="1c2d9fc1cc800332567a0da25a1ce68c",
    ),
    "caviar": Source(
        name="caviar",
        official="caviar/CAVIARa",
        expected=CAVIAR_EXPECTED,
        find=_find_caviar,
        page="http://www.lorisbazzani.info/caviar4reid.html",
    ),
}


# --- unpacking ----------------------------------------------------------------------------


def _member_target(dest: Path, name: str, archive: Path) -> Path:
    """Where member ``name`` goes under ``dest``; :class:`UnsafeArchive` if it is absolute,
    climbs with ``..`` or resolves (through links already unpacked) outside ``dest``."""
    clean = name.replace("\\", "/")
    if clean.startswith("/") or re.match(r"^[A-Za-z]:", clean):
        raise UnsafeArchive(f"{archive}: member {name!r} has an absolute path; nothing was kept")
    parts = [p for p in PurePosixPath(clean).parts if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"{archive}: member {name!r} climbs out with '..'; nothing was kept")
    target = dest.joinpath(*parts) if parts else dest
    if not target.parent.resolve().is_relative_to(dest.resolve()):
        raise UnsafeArchive(f"{archive}: member {name!r} goes through a link out of the archive")
    return target


def _check_link(dest: Path, target: Path, link: str, archive: Path, name: str) -> None:
    """A link ``target -> link`` must resolve inside ``dest`` (relative to its folder)."""
    if link.startswith("/") or not (target.parent / link).resolve().is_relative_to(dest.resolve()):
        raise UnsafeArchive(
            f"{archive}: member {name!r} links to {link!r}, outside the archive; nothing was kept"
        )


def _unpack_zip(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = _member_target(dest, info.filename, archive)
            mode = info.external_attr >> 16
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            elif stat.S_ISLNK(mode):
                link = zf.read(info).decode()
                _check_link(dest, target, link, archive, info.filename)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(link)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "xb") as out:
                    shutil.copyfileobj(src, out)


def _unpack_tar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tf:
        for member in tf:
            target = _member_target(dest, member.name, archive)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.issym() or member.islnk():
                # a hard link names another member (relative to the archive's top)
                link = member.linkname
                if member.islnk():
                    link = os.path.relpath(dest / member.linkname, target.parent)
                _check_link(dest, target, link, archive, member.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(link)
            elif member.isfile():
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tf.extractfile(member)
                assert src is not None
                with src, open(target, "xb") as out:
                    shutil.copyfileobj(src, out)
            else:
                raise UnsafeArchive(
                    f"{archive}: member {member.name!r} is a device or fifo; nothing was kept"
                )


def safe_unpack(archive: Path, dest: Path) -> None:
    """Unpack a .zip or a tar archive (any compression) into ``dest``, member by member,
    refusing absolute paths, ``..``, links that point outside ``dest`` and device files."""
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            _unpack_zip(archive, dest)
        elif tarfile.is_tarfile(archive):
            _unpack_tar(archive, dest)
        else:
            raise DownloadError(f"{archive}: neither a zip nor a tar archive")
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as err:
        raise DownloadError(f"{archive}: cannot be unpacked ({err}); nothing was kept") from err


# --- the command --------------------------------------------------------------------------


def fetch(
    name: str,
    root: str | Path,
    *,
    url: str | None = None,
    sha256: str | None = None,
    archive: str | Path | None = None,
    progress: bool = True,
) -> Path:
    """Put dataset ``name`` into the data root ``root`` in its official layout; returns the
    dataset's folder. From ``archive`` (a file you have; checked against ``sha256`` when
    given) or downloaded from ``url`` / the source's URL, checked against ``sha256`` / the
    source's checksum. Raises :class:`DownloadError` (one line) and leaves ``root`` as it was.
    """
    if name not in SOURCES:
        raise DownloadError(f"no download for dataset {name!r}; valid: {', '.join(SOURCES)}")
    source = SOURCES[name]
    root = Path(root).expanduser()
    final = root / source.official
    if final.exists():
        raise DownloadError(f"{name}: {final} already exists; nothing was changed")
    if archive is None:
        url = url or source.url
        if url is None:
            raise DownloadError(
                f"{name}: no direct URL with a published checksum is known; get the archive "
                f"from {source.page}, then: python -m lib download {name} --root {root} "
                "--archive FILE (or give --url and --sha256)"
            )
        checks = {"sha256": sha256} if sha256 else {}
        if not checks and url == source.url:
            checks = {"sha256": source.sha256, "md5": source.md5}
        if not any(checks.values()):
            raise DownloadError(f"{name}: {url} has no known checksum; give --sha256 HEX")
    created = [p for p in (final.parent, *final.parent.parents) if not p.exists()]
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-download-", dir=root))
    done = False
    try:
        if archive is None:
            assert url is not None
            path = work / url.rsplit("/", 1)[-1].split("?")[0]
            download_file(url, path, progress=progress, **checks)
        else:
            path = Path(archive).expanduser()
            if not path.is_file():
                raise DownloadError(f"{name}: archive {path} not found")
            digest = sha256_of(path)
            if sha256 and digest != sha256.lower():
                raise DownloadError(
                    f"{path}: checksum mismatch, SHA-256 {digest} is not the expected {sha256}"
                )
            print(f"{path}: SHA-256 {digest}")
        unpacked = work / "unpacked"
        safe_unpack(path, unpacked)
        found = source.find(unpacked)
        if found is None:
            raise DownloadError(f"{name}: the archive holds no {source.expected}")
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(found, final)
        try:
            load(name, root)
        except LayoutError as err:
            shutil.rmtree(final)
            raise DownloadError(f"{name}: unpacked, but {err}") from err
        done = True
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not done:  # the folders this command made, when they are empty again
            for folder in sorted(created, key=lambda p: len(p.parts), reverse=True):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
    return final


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m lib download NAME --root DIR [--url URL --sha256 HEX |
    --archive F]``."""
    parser.add_argument("name", choices=sorted(SOURCES), help="the dataset")
    parser.add_argument("--root", required=True, help="the data root (e.g. data/)")
    parser.add_argument("--url", help="download from this URL (a mirror); needs --sha256")
    parser.add_argument("--sha256", help="the archive's SHA-256 (required with --url)")
    parser.add_argument("--archive", help="an archive you downloaded, instead of a download")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``python -m lib download``: fetch, verify and unpack one dataset into a data root."""
    if args.url and args.archive:
        parser.error("give --url or --archive, not both")
    try:
        final = fetch(
            args.name,
            args.root,
            url=args.url,
            sha256=args.sha256,
            archive=args.archive,
            progress=not args.no_progress,
        )
    except DownloadError as err:
        print(f"python -m lib download: {err}", file=sys.stderr)
        return 1
    print(f"{args.name}: ready at {final}")
    return 0
