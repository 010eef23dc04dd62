"""scripts/env.sh (``make env``) against a temporary environment root, with a stub install.

The script runs for real (bash, venv, its cache and pruning logic, the per-clone .venv), but
the interpreter it builds with is a stub: ``PYTHON -m venv DIR`` makes a real venv without
pip and puts stub ``pip``, ``nbstripout`` and ``torch`` packages and one console script in it,
so a run takes about a second instead of a 5 GB install. ``RIPR_VENV_ROOT`` points at a
temporary folder, so the user's own environments are never touched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "env.sh"

STUB_PYTHON = """#!/usr/bin/env bash
# stub interpreter: `-m venv DIR` makes a real venv without pip, with stub packages in it
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  dir="${@: -1}"
  echo "venv $dir" >>"$RIPR_STUB_LOG"
  "$REAL_PYTHON" -m venv --without-pip "$dir" || exit
  site=$("$dir/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  cp -r "$RIPR_STUB_PACKAGES"/. "$site/"
  printf '#!%s\\nimport lib\\nprint(lib.__file__)\\n' "$dir/bin/python" >"$dir/bin/which-lib"
  chmod +x "$dir/bin/which-lib"
  exit 0
fi
exec "$REAL_PYTHON" "$@"
"""

STUB_PIP = """import os, sys
args = sys.argv[1:]
with open(os.environ["RIPR_STUB_LOG"], "a") as log:
    log.write("pip " + " ".join(args) + "\\n")
installed = os.path.join(os.path.dirname(os.path.dirname(__file__)), "ripr-installed")
if args[0] == "show":
    sys.exit(0 if os.path.exists(installed) else 1)
if args[0] == "install" and "-e" in args and os.environ.get("RIPR_STUB_FAIL"):
    print("Collecting torch==99.0", file=sys.stderr)
    print("ERROR: Could not find a version that satisfies the requirement torch==99.0", file=sys.stderr)
    print("ERROR: No matching distribution found for torch==99.0", file=sys.stderr)
    sys.exit(1)
if args[0] == "install" and "-e" in args:
    open(installed, "w").close()
if args[0] == "uninstall" and os.path.exists(installed):
    os.remove(installed)
"""

pytestmark = pytest.mark.skipif(
    shutil.which("bash") is None or shutil.which("git") is None, reason="needs bash and git"
)


@pytest.fixture
def stub(tmp_path: Path) -> dict[str, str]:
    """Environment variables that make env.sh build with the stub interpreter."""
    packages = tmp_path / "stub-packages"
    (packages / "pip").mkdir(parents=True)
    (packages / "pip" / "__init__.py").write_text("")
    (packages / "pip" / "__main__.py").write_text(STUB_PIP)
    (packages / "nbstripout").mkdir()
    (packages / "nbstripout" / "__init__.py").write_text("")
    (packages / "nbstripout" / "__main__.py").write_text("print('nbstripout stub')\n")
    (packages / "torch").mkdir()
    (packages / "torch" / "__init__.py").write_text("__version__ = '0.0+stub'\n")
    python = tmp_path / "stub-python"
    python.write_text(STUB_PYTHON)
    python.chmod(0o755)
    real = getattr(sys, "_base_executable", None) or sys.executable
    keep = ("PATH", "HOME", "LANG", "LC_ALL")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        PYTHON=str(python),
        REAL_PYTHON=real,
        RIPR_STUB_PACKAGES=str(packages),
        RIPR_STUB_LOG=str(tmp_path / "stub.log"),
        RIPR_VENV_ROOT=str(tmp_path / "envs"),
        TMPDIR=str(tmp_path),
    )
    return env


def make_clone(tmp_path: Path, name: str) -> Path:
    """A git clone of this repository with the working tree's env.sh in it."""
    clone = tmp_path / name
    subprocess.run(
        ["git", "clone", "-q", "--no-checkout", str(ROOT), str(clone)], check=True, timeout=120
    )
    subprocess.run(
        ["git", "-C", str(clone), "checkout", "-q", "HEAD", "--", "lib", "scripts"],
        check=True,
        timeout=120,
    )
    for name_ in ("pyproject.toml", "constraints.txt"):  # the hash of the working tree's
        shutil.copy(ROOT / name_, clone / name_)
    shutil.copy(SCRIPT, clone / "scripts" / "env.sh")
    return clone


def env_hash(clone: Path) -> str:
    data = (clone / "pyproject.toml").read_bytes() + (clone / "constraints.txt").read_bytes()
    return hashlib.sha256(data).hexdigest()[:16]


def run_env(clone: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(clone / "scripts" / "env.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def which_lib(python: Path, cwd: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import lib; print(lib.__file__)"],
        cwd=cwd,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return Path(out.stdout.strip()).resolve()


def test_first_run_on_an_empty_cache(tmp_path, stub):
    clone = make_clone(tmp_path, "a")
    (tmp_path / "envs").mkdir()  # an empty cache folder: nothing to prune
    out = run_env(clone, stub)
    assert out.returncode == 0, out.stderr
    assert "make env: ready" in out.stdout
    shared = tmp_path / "envs" / env_hash(clone)
    assert sorted(p.name for p in (tmp_path / "envs").iterdir()) == [shared.name]
    assert (shared / ".complete").is_file()
    assert (clone / ".venv" / "bin" / "python").exists()
    assert not (clone / ".venv").is_symlink()
    log = (tmp_path / "stub.log").read_text()
    assert "pip uninstall -q -y resolution-invariant-reid" in log  # deps only, not the project
    assert not list(tmp_path.glob("ripr-env.*")), "the log of a run that passed is removed"


def test_first_run_without_a_cache_folder(tmp_path, stub):
    clone = make_clone(tmp_path, "a")
    out = run_env(clone, stub)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "envs" / env_hash(clone) / ".complete").is_file()


def test_keeps_the_newest_other_environment_and_prunes_the_rest(tmp_path, stub):
    clone = make_clone(tmp_path, "a")
    envs = tmp_path / "envs"
    for age, name in enumerate(["old-newest", "old-middle", "old-oldest"]):
        (envs / name / "bin").mkdir(parents=True)
        (envs / name / ".complete").touch()
        stamp = 1_700_000_000 - 3600 * age
        os.utime(envs / name, (stamp, stamp))
    out = run_env(clone, stub)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in envs.iterdir()) == sorted([env_hash(clone), "old-newest"])


def test_a_complete_environment_is_reused_and_an_interrupted_one_rebuilt(tmp_path, stub):
    clone = make_clone(tmp_path, "a")
    shared = tmp_path / "envs" / env_hash(clone)
    shared.mkdir(parents=True)
    (shared / "half-written").touch()  # no .complete: an interrupted build
    assert run_env(clone, stub).returncode == 0
    assert not (shared / "half-written").exists()
    assert run_env(clone, stub).returncode == 0
    log = (tmp_path / "stub.log").read_text()
    assert log.count(f"venv {shared}\n") == 1, "the second run reuses the environment"


def test_a_failed_install_says_in_one_line_what_failed(tmp_path, stub):
    clone = make_clone(tmp_path, "a")
    out = run_env(clone, {**stub, "RIPR_STUB_FAIL": "1"})
    assert out.returncode != 0
    failed = [line for line in out.stderr.splitlines() if "FAILED" in line]
    assert len(failed) == 1, out.stderr
    line = failed[0]
    assert line.startswith("make env: FAILED installing the dependencies")
    assert "pip install" in line and "torch==99.0" in line
    log = Path(line.rsplit("full log: ", 1)[1])
    assert "No matching distribution found for torch==99.0" in log.read_text()
    assert not (tmp_path / "envs" / env_hash(clone) / ".complete").exists()
    assert not (clone / ".venv").exists()


def test_an_unexpected_failure_names_the_command(tmp_path, stub):
    clone = make_clone(tmp_path, "a")
    (tmp_path / "envs").write_text("a file where the cache folder should be")
    out = run_env(clone, stub)
    assert out.returncode != 0
    failed = [line for line in out.stderr.splitlines() if "FAILED" in line]
    assert len(failed) == 1, out.stderr
    assert failed[0].startswith("make env: FAILED at scripts/env.sh line ")
    assert "mkdir" in failed[0]


def test_two_clones_on_one_environment_each_import_their_own_lib(tmp_path, stub):
    a, b = make_clone(tmp_path, "a"), make_clone(tmp_path, "b")
    for clone in (a, b, a, b):  # whichever ran last
        assert run_env(clone, stub).returncode == 0
    assert len(list((tmp_path / "envs").iterdir())) == 1, "one shared environment"
    for clone in (a, b):
        python = clone / ".venv" / "bin" / "python"
        expected = (clone / "lib" / "__init__.py").resolve()
        assert which_lib(python, clone) == expected
        assert which_lib(python, clone / "lib") == expected  # notebooks run in a subfolder
        assert which_lib(python, tmp_path) == expected
        script = subprocess.run(  # a shared console script (jupyter, pytest) runs on .venv
            [str(clone / ".venv" / "bin" / "which-lib")], capture_output=True, text=True
        )
        assert Path(script.stdout.strip()).resolve() == expected, script.stderr
        torch = subprocess.run(
            [str(python), "-c", "import torch; print(torch.__version__)"],
            capture_output=True,
            text=True,
        )
        assert torch.stdout.strip() == "0.0+stub", "the dependencies come from the shared env"


def test_an_old_link_and_an_old_editable_install_are_replaced(tmp_path, stub):
    clone = make_clone(tmp_path, "a")
    assert run_env(clone, stub).returncode == 0
    shared = tmp_path / "envs" / env_hash(clone)
    shutil.rmtree(clone / ".venv")
    (clone / ".venv").symlink_to(shared)  # the layout before clones had their own .venv
    site = next(shared.glob("lib/python*/site-packages"))
    (site / "ripr-installed").touch()  # the stub pip's record of an editable install
    out = run_env(clone, stub)
    assert out.returncode == 0, out.stderr
    assert not (clone / ".venv").is_symlink() and (clone / ".venv" / "bin" / "python").exists()
    assert (shared / ".complete").is_file() and (shared / "bin").is_dir(), "shared env intact"
    assert not (site / "ripr-installed").exists(), "the old editable install is removed"
    expected = (clone / "lib" / "__init__.py").resolve()
    assert which_lib(clone / ".venv" / "bin" / "python", clone) == expected
