"""lib.data.download against a loopback HTTP server serving small hand-made archives."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from lib.__main__ import main as cli
from lib.data import download
from lib.data.datasets import load
from lib.weights import DownloadError
from tests.layouts import loopback_server


def image_bytes(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 8), (200, 30, 30)).save(buf, format=fmt)
    return buf.getvalue()


def make_zip(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16  # a symlink entry, as `zip -y` writes it
            zf.writestr(info, target)
    return buf.getvalue()


def make_tar(members: dict[str, bytes], links: dict[str, tuple[bytes, str]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, (kind, target) in links.items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            tf.addfile(info)
    return buf.getvalue()


BMP, JPG = image_bytes("BMP"), image_bytes("JPEG")
VIPER = {f"VIPeR/cam_{c}/{i:03d}_{a}.bmp": BMP for c, a in (("a", 0), ("b", 90)) for i in range(4)}
CAVIAR = {
    f"CAVIAR4REID/CAVIARa/{pid:04d}{n:03d}.jpg": JPG
    for pid in (1, 2, 3)
    for n in ((1, 2, 11, 12) if pid < 3 else (1, 2))
}
FILES = {
    "/VIPeR.v1.0.zip": make_zip(VIPER),
    "/CAVIAR4REID.zip": make_zip(CAVIAR),
    "/nolayout.zip": make_zip({"README.txt": b"no images here"}),
}


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves FILES; ``/truncated/...`` announces the whole file and sends half of it."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        truncated = self.path.startswith("/truncated/")
        body = FILES.get(self.path.removeprefix("/truncated"))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncated else body)
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    with loopback_server(Handler) as url:
        yield url


@pytest.fixture
def viper_source(server, monkeypatch):
    """VIPeR's source pointed at the loopback server, with the tiny archive's MD5."""
    md5 = hashlib.md5(FILES["/VIPeR.v1.0.zip"]).hexdigest()
    source = dataclasses.replace(download.SOURCES["viper"], url=f"{server}/VIPeR.v1.0.zip", md5=md5)
    monkeypatch.setitem(download.SOURCES, "viper", source)
    return source


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def sha(name: str) -> str:
    return hashlib.sha256(FILES[name]).hexdigest()


def test_viper_lands_in_the_layout_the_parser_reads(tmp_path, viper_source):
    root = tmp_path / "data"
    (root / "market1501").mkdir(parents=True)  # the user's other data stays as it is
    final = download.fetch("viper", root, progress=False)
    assert final == root / "viper" / "VIPeR"
    assert sorted(p.name for p in (final / "cam_a").iterdir()) == [
        f"{i:03d}_0.bmp" for i in range(4)
    ]
    assert sorted(p.name for p in root.iterdir()) == ["market1501", "viper"], "no temporary left"
    split = load("viper", root)
    assert len(split.query) == len(split.gallery) == 2


def test_a_checksum_mismatch_leaves_the_root_as_it_was(tmp_path, viper_source, monkeypatch):
    monkeypatch.setitem(download.SOURCES, "viper", dataclasses.replace(viper_source, md5="0" * 32))
    root = tmp_path / "data"
    (root / "market1501").mkdir(parents=True)
    with pytest.raises(DownloadError, match="checksum mismatch") as info:
        download.fetch("viper", root, progress=False)
    assert "\n" not in str(info.value) and "MD5" in str(info.value)
    assert tree(root) == ["market1501"]


def test_an_interrupted_download_leaves_nothing(tmp_path, viper_source, monkeypatch, server):
    url = f"{server}/truncated/VIPeR.v1.0.zip"
    monkeypatch.setitem(download.SOURCES, "viper", dataclasses.replace(viper_source, url=url))
    with pytest.raises(DownloadError, match="truncated"):
        download.fetch("viper", tmp_path / "data", progress=False)
    assert not (tmp_path / "data").exists(), "the root this command made is removed again"


def test_an_existing_dataset_folder_is_never_replaced(tmp_path, viper_source):
    mine = tmp_path / "data" / "viper" / "VIPeR"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(DownloadError, match="already exists"):
        download.fetch("viper", tmp_path / "data", progress=False)
    assert tree(tmp_path / "data") == ["viper", "viper/VIPeR", "viper/VIPeR/notes.txt"]


def test_caviar_from_a_url_with_its_checksum_via_the_command(tmp_path, server, capsys):
    root = tmp_path / "data"
    argv = ["caviar", "--root", str(root), "--url", f"{server}/CAVIAR4REID.zip", "--no-progress"]
    assert cli(["download", *argv, "--sha256", sha("/CAVIAR4REID.zip")]) == 0
    assert "ready at" in capsys.readouterr().out
    assert (root / "caviar" / "CAVIARa" / "0001011.jpg").is_file()
    split = load("caviar", root)
    assert split.meta["camera_a_only_ids"] == 1
    assert sorted(p.name for p in root.iterdir()) == ["caviar"]


def test_caviar_needs_a_checksum_or_an_archive(tmp_path, server, capsys):
    root = tmp_path / "data"
    assert cli(["download", "caviar", "--root", str(root)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--archive" in err and "lorisbazzani" in err
    url = f"{server}/CAVIAR4REID.zip"
    assert cli(["download", "caviar", "--root", str(root), "--url", url]) == 1
    assert "give --sha256" in capsys.readouterr().err
    assert not root.exists()


def test_caviar_from_an_archive_you_downloaded(tmp_path, capsys):
    archive = tmp_path / "CAVIAR4REID.zip"
    archive.write_bytes(FILES["/CAVIAR4REID.zip"])
    root = tmp_path / "data"
    assert cli(["download", "caviar", "--root", str(root), "--archive", str(archive)]) == 0
    assert sha("/CAVIAR4REID.zip") in capsys.readouterr().out
    assert len(list((root / "caviar" / "CAVIARa").iterdir())) == len(CAVIAR)
    assert archive.is_file(), "the user's archive is left where it was"


def test_an_archive_without_the_layout_is_refused(tmp_path, server):
    root = tmp_path / "data"
    with pytest.raises(DownloadError, match="holds no viper/VIPeR/cam_a"):
        url, digest = f"{server}/nolayout.zip", sha("/nolayout.zip")
        download.fetch("viper", root, url=url, sha256=digest, progress=False)
    assert not root.exists()


UNSAFE = {
    "parent": make_zip({**VIPER, "../escaped.txt": b"x"}),
    "absolute": make_zip({**VIPER, "/tmp/ripr-escaped.txt": b"x"}),
    "zip-link": make_zip(VIPER, links={"VIPeR/cam_a/link.bmp": "../../../../escaped.txt"}),
    "tar-symlink": make_tar(VIPER, {"VIPeR/out": (tarfile.SYMTYPE, "/etc")}),
    "tar-hardlink": make_tar(VIPER, {"VIPeR/h.bmp": (tarfile.LNKTYPE, "../../escaped.txt")}),
    "tar-relative-symlink": make_tar(VIPER, {"VIPeR/up": (tarfile.SYMTYPE, "../..")}),
}


WHY = {
    "parent": "climbs out with '..'",
    "absolute": "has an absolute path",
    "zip-link": "outside the archive",
    "tar-symlink": "links to '/etc'",
    "tar-hardlink": "outside the archive",
    "tar-relative-symlink": "links to '../..'",
}


@pytest.mark.parametrize("kind", sorted(UNSAFE))
def test_an_unsafe_archive_is_refused_and_nothing_is_kept(tmp_path, kind):
    outside = tmp_path / "outside"
    outside.mkdir()
    archive = outside / f"VIPeR-{kind}.archive"
    archive.write_bytes(UNSAFE[kind])
    root = outside / "data"
    root.mkdir()
    with pytest.raises(download.UnsafeArchive) as info:
        download.fetch("viper", root, archive=archive)
    assert "\n" not in str(info.value) and str(archive) in str(info.value)
    assert WHY[kind] in str(info.value)
    assert tree(outside) == [archive.name, "data"], "nothing written, inside or outside"
    assert not Path("/tmp/ripr-escaped.txt").exists()
