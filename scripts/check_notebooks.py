"""Check that notebooks are committed clean: outputs stripped, kernelspec and language_info
present (papermill needs them), and exactly one cell tagged `parameters`.

Usage: python scripts/check_notebooks.py notebooks/*.ipynb   (exit 1 on any problem)
"""

from __future__ import annotations

import json
import sys


def problems(path: str) -> list[str]:
    nb = json.load(open(path))
    found = []
    meta = nb.get("metadata", {})
    if meta.get("kernelspec", {}).get("name") != "python3":
        found.append("metadata.kernelspec.name is not 'python3'")
    if meta.get("language_info", {}).get("name") != "python":
        found.append("metadata.language_info.name is not 'python'")
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    if any(c.get("outputs") or c.get("execution_count") is not None for c in code):
        found.append("has outputs or execution counts (run `make format` to strip them)")
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        found.append(f"has {len(tagged)} cells tagged 'parameters' (expected 1)")
    return found


def main(paths: list[str]) -> int:
    bad = 0
    for path in paths:
        for problem in problems(path):
            print(f"{path}: {problem}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
