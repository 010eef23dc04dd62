"""The layer order stated in lib/__init__.py holds for every import, and every module of lib
imports alone in a fresh interpreter (no import works only because of an import order)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from lib import LAYERS

ROOT = Path(__file__).resolve().parents[1]


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    for index, names in enumerate(LAYERS):
        if any(module == n or module.startswith(n + ".") for n in names):
            return index
    raise AssertionError(f"{module} is in no layer of lib.LAYERS")


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every ``lib`` module ``path`` imports, at any depth (deferred imports too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "lib":
            if node.module == "lib":
                found += [(f"lib.{a.name}", node.lineno) for a in node.names if a.name != "LAYERS"]
            else:
                found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "lib"]
    return found


def _modules() -> list[str]:
    return sorted(_module(p) for p in (ROOT / "lib").rglob("*.py"))


def test_no_module_imports_from_a_higher_layer():
    wrong = []
    for path in sorted((ROOT / "lib").rglob("*.py")):
        me = _module(path)
        if me == "lib":
            continue
        for target, line in _imports(path):
            if _layer(target) > _layer(me):
                wrong.append(f"{path.relative_to(ROOT)}:{line} {me} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_the_layer_check_sees_a_wrong_import(tmp_path):
    bad = tmp_path / "lib" / "data" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("def f():\n    from lib.train import fit\n")
    assert _imports(bad) == [("lib.train", 2)]
    assert _layer("lib.train") > _layer("lib.data.bad")


# The third-party packages are imported once in the parent; each lib module is then imported
# in a forked child that has imported no lib module yet.
IMPORT_ALONE = """
import importlib, os, sys
import numpy, pandas, PIL.Image, scipy.stats, torch, torchvision, tqdm  # third-party, once
failed = []
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
        except BaseException as error:
            print(f"{name}: {type(error).__name__}: {error}", flush=True)
            os._exit(1)
        os._exit(0)
    if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0:
        failed.append(name)
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_alone_in_a_fresh_interpreter():
    modules = [m for m in _modules() if m != "lib.__main__"] + ["lib.__main__"]
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALONE, *modules],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert len(modules) > 40
