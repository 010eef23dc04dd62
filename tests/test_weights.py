"""lib.weights against a small HTTP server on the loopback address (no network needed)."""

from __future__ import annotations

import hashlib
import http.server
from collections.abc import Iterator

import pytest

from lib import weights
from lib.__main__ import main as cli
from lib.models import build_model
from tests.layouts import loopback_server

PAYLOAD = bytes(range(256)) * 64  # 16 kB stands in for a weights file
PREFIX = hashlib.sha256(PAYLOAD).hexdigest()[:8]


class Handler(http.server.BaseHTTPRequestHandler):
    """``/good/<name>``: PAYLOAD; ``/corrupt/<name>``: PAYLOAD with one byte changed;
    ``/truncated/<name>``: announces PAYLOAD's length, sends half and closes."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        kind = self.path.split("/")[1]
        if kind not in ("good", "corrupt", "truncated"):
            self.send_error(404)
            return
        body = PAYLOAD if kind != "corrupt" else b"\xff" + PAYLOAD[1:]
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(body if kind != "truncated" else body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    with loopback_server(Handler) as url:
        yield url


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache (TORCH_HOME) for the test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_a_good_download_lands_verified(tmp_path, server):
    dest = tmp_path / "cache" / f"tiny-{PREFIX}.pth"
    path = weights.download_file(
        f"{server}/good/x", dest, hash_prefix=PREFIX, sha256=None, progress=False
    )
    assert path == dest and dest.read_bytes() == PAYLOAD
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]


def test_a_full_sha256_is_checked_too(tmp_path, server):
    dest = tmp_path / f"tiny-{PREFIX}.pth"
    full = hashlib.sha256(PAYLOAD).hexdigest()
    weights.download_file(f"{server}/good/x", dest, sha256=full, progress=False)
    assert dest.read_bytes() == PAYLOAD
    other = tmp_path / "other.pth"
    with pytest.raises(weights.DownloadError, match="is not the expected"):
        weights.download_file(f"{server}/good/x", other, sha256="0" * 64, progress=False)
    assert not other.exists()


@pytest.mark.parametrize(
    ("kind", "message"), [("corrupt", "checksum mismatch"), ("truncated", "download")]
)
def test_a_bad_download_leaves_nothing_behind(tmp_path, server, kind, message):
    folder = tmp_path / "cache"
    folder.mkdir()
    dest = folder / f"tiny-{PREFIX}.pth"
    with pytest.raises(weights.DownloadError, match=message) as info:
        weights.download_file(f"{server}/{kind}/x", dest, hash_prefix=PREFIX, progress=False)
    text = str(info.value)
    assert "\n" not in text and f"{server}/{kind}/x" in text
    assert list(folder.iterdir()) == [], "no partial or temporary file"


def test_a_bad_download_keeps_the_file_it_would_have_replaced(tmp_path, server):
    dest = tmp_path / f"tiny-{PREFIX}.pth"
    dest.write_bytes(b"an older file")
    with pytest.raises(weights.DownloadError):
        weights.download_file(f"{server}/corrupt/x", dest, hash_prefix=PREFIX, progress=False)
    assert dest.read_bytes() == b"an older file"
    assert [p.name for p in tmp_path.iterdir()] == [dest.name]


def test_a_missing_url_is_one_line(tmp_path, server):
    with pytest.raises(weights.DownloadError, match="download failed") as info:
        weights.download_file(f"{server}/nothing", tmp_path / "f-00000000.pth", hash_prefix="0")
    assert "404" in str(info.value) and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_catalogue_covers_the_backbones_with_hashes_in_their_names(hub):
    files = weights.catalogue()
    for name in ("resnet18", "resnet34", "resnet50", "densenet121", "seresnet50"):
        assert name in files
        assert files[name].hash_prefix, f"{files[name].filename} has a hash in its name"
    assert files["resnet50"].url == "https://download.pytorch.org/models/resnet50-0676ba61.pth"
    assert files["resnet50"].hash_prefix == "0676ba61"
    assert "mobilenetv2" not in files


def test_cli_lists_and_rejects_a_wrong_file_without_writing(hub, server, capsys):
    assert cli(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert str(hub) in out
    assert any(line.startswith("resnet50") and "missing" in line for line in out.splitlines())
    # the loopback server's file is not resnet50-0676ba61.pth: its hash must not pass
    code = cli(["weights", "download", "resnet50", "--url", f"{server}/good/r", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("python -m lib weights: ") and "0676ba61" in err
    assert len(err.splitlines()) == 1
    assert not hub.exists() or list(hub.iterdir()) == []
    assert cli(["weights", "download", "resnet1000"]) == 1
    assert "no weights named 'resnet1000'" in capsys.readouterr().err


def test_cli_download_lands_in_the_torch_cache(hub, server, monkeypatch, capsys):
    tiny = weights.WeightsFile("tiny", f"{server}/good/tiny-{PREFIX}.pth", "a test file")
    monkeypatch.setattr(weights, "catalogue", lambda: {"tiny": tiny})
    assert cli(["weights", "download", "tiny", "--no-progress"]) == 0
    assert (hub / f"tiny-{PREFIX}.pth").read_bytes() == PAYLOAD
    assert cli(["weights", "list"]) == 0
    assert "cached" in capsys.readouterr().out


def test_missing_weights_error_names_the_download_command(hub):
    with pytest.raises(FileNotFoundError) as info:
        build_model("resnet", 5, backbone="resnet50", pretrained=True)
    assert "python -m lib weights download resnet50" in str(info.value)
    assert str(hub / "resnet50-0676ba61.pth") in str(info.value)
