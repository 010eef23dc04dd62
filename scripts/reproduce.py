"""Run every numbered notebook in order with papermill (what `make reproduce` calls).

Executed copies go to ``<runs>/<profile>/`` and the notebooks write their figures and tables to
the profile's figures folder (``figures/``; ``runs/smoke/figures/`` for smoke), both from
:mod:`lib.settings` (``RIPR_RUNS``, ``RIPR_OUTPUT``). Prints each notebook's name and time,
stops at the first failure naming the notebook and the failing cell, and lists the files
this run wrote in the figures folder.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    import papermill as pm

    from lib import profiles, report
    from lib.settings import from_environment

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu", choices=sorted(profiles.PROFILES))
    parser.add_argument("--data-root", default="data", help="folder holding real datasets")
    parser.add_argument("--only", nargs="*", help="notebook name prefixes to run (e.g. 00 03)")
    args = parser.parse_args(argv)

    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        notebooks = [nb for nb in notebooks if nb.name[:2] in args.only]
    out_dir = from_environment().runs / args.profile
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = report.figures_dir(args.profile)
    params = {"PROFILE": args.profile, "DATA_ROOT": str(Path(args.data_root).resolve())}
    start = time.time()
    for nb in notebooks:
        t0 = time.time()
        print(f"{nb.name:<32}", end="", flush=True)
        try:
            pm.execute_notebook(
                str(nb),
                str(out_dir / nb.name),
                parameters=params,
                kernel_name="python3",
                language="python",
                cwd=str(ROOT / "notebooks"),
                progress_bar=False,
            )
        except pm.PapermillExecutionError as error:
            print(f"FAILED after {time.time() - t0:.0f} s")
            print(f"  {nb.name}, cell {error.cell_index} (execution count {error.exec_count}):")
            print(f"  {error.ename}: {error.evalue}")
            print(f"  executed copy with the traceback: {out_dir / nb.name}")
            return 1
        print(f"{time.time() - t0:7.1f} s")
    print(f"{'total':<32}{time.time() - start:7.1f} s")
    written = sorted(
        p for p in figures.rglob("*") if p.is_file() and p.stat().st_mtime >= start
    ) if figures.is_dir() else []  # fmt: skip
    print(f"\n{len(written)} figures and tables written in {figures}:")
    for p in written:
        print(f"  {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
