"""The cpu profile's Table 3 and claims in two precisions, side by side (issue "Speed per step").

Usage: python scripts/precision_comparison.py --before REV [--after figures]

``--before``: a git revision whose ``figures/`` holds the float32 run's ``table3_seeds.csv``
and ``claims.csv`` (the committed results of the last float32 ``make reproduce``), or a folder
holding them; ``--after``: the folder of the bf16 run (default ``figures/``). Writes
``precision_table3.{csv,md}`` (per row: both series' mean and seed std, the paired difference
bf16 - float32 over the seeds with its 95% interval, and whether it moved beyond the seed
spread) and ``precision_claims.{csv,md}`` (each claim's verdicts in both) into ``--after``;
prints how many rows moved beyond their spread and how many verdicts changed.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _read(source: str, name: str) -> pd.DataFrame:
    """``name`` from folder ``source``, or from ``figures/`` at git revision ``source``."""
    folder = Path(source)
    if folder.is_dir():
        return pd.read_csv(folder / name)
    text = subprocess.run(
        ["git", "show", f"{source}:figures/{name}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return pd.read_csv(io.StringIO(text))


def main(argv: list[str] | None = None) -> int:
    from lib.eval.series_compare import paired_rows, verdict_changes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision or folder (float32)")
    parser.add_argument("--after", default=str(ROOT / "figures"), help="folder (bf16)")
    args = parser.parse_args(argv)
    after = Path(args.after)
    rows = paired_rows(
        _read(args.before, "table3_seeds.csv"), _read(str(after), "table3_seeds.csv")
    )
    claims = verdict_changes(_read(args.before, "claims.csv"), _read(str(after), "claims.csv"))
    for frame, stem in ((rows, "precision_table3"), (claims, "precision_claims")):
        frame.to_csv(after / f"{stem}.csv", index=False)
        (after / f"{stem}.md").write_text(frame.to_markdown(index=False, floatfmt=".2f") + "\n")
    moved = int(rows["beyond_seed_spread"].sum())
    changed = claims[claims["changed"]]
    print(
        f"Table 3 rows (Rank-1 %, bf16 - float32): {moved} of {len(rows)} beyond their seed spread"
    )
    print(rows.to_string(index=False))
    print(f"claims: {len(changed)} of {len(claims)} changed a verdict")
    if len(changed):
        print(changed.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
