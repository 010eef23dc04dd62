"""Write the cpu-profile results from figures/ into README.md (between the RESULTS markers).

Usage: python scripts/readme_results.py   (after `make reproduce`; run by `make readme`)
Reads the CSV tables the notebooks wrote and keeps, for each, the columns a reader compares:
ours, the paper's number where it applies, and the difference.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIGURES = ROOT / "figures"
BEGIN, END = "<!-- RESULTS:BEGIN -->", "<!-- RESULTS:END -->"


def _table(name: str, keep: list[str], header: list[int] | int = 0, index: int = 1) -> str:
    path = FIGURES / f"{name}.csv"
    frame = pd.read_csv(path, index_col=list(range(index)), header=header)
    caption = (FIGURES / f"{name}.md").read_text().split("\n", 1)[0]
    if isinstance(header, list):  # Table 3: (dataset, metric, kind) columns
        frame = frame[[c for c in frame.columns if c[2] in keep]]
        frame.columns = [
            " ".join(p for p in c if p and not p.startswith("Unnamed")) for c in frame.columns
        ]
    else:
        frame = frame[[c for c in frame.columns if c in keep]]
    frame = frame.dropna(axis=1, how="all")
    shown = frame.astype(object).where(frame.notna(), None)
    return f"*{caption}*\n\n{shown.to_markdown(floatfmt='.3g', missingval='–')}\n"


def _claims() -> str:
    """The claims table as notebook 11 wrote it (figures/claims.csv): both verdicts, the
    Holm-adjusted p-value and the seeds needed for power (the shared runs: figures/claims.md)."""
    from lib import claims

    frame = pd.read_csv(FIGURES / "claims.csv", keep_default_na=True)
    caption = (FIGURES / "claims.md").read_text().split("\n", 1)[0]
    columns = [c for c in claims.MARKDOWN_COLUMNS if c not in ("shared_runs", "family")]
    columns.insert(1, "dataset")  # without the family, the one column that tells rows apart
    return f"*{caption}*\n\n{claims.to_markdown(frame, columns)}\n"


MARKET_BEGIN, MARKET_END = "<!-- MARKET:BEGIN -->", "<!-- MARKET:END -->"


def _market() -> str:
    """The Market-1501 block: the setting's measurement (figures/market_setting.csv), Table 3
    and Tables 1-2 as notebook 12 wrote them, and the Market rows of the claims table."""
    from lib import claims

    parts = []
    setting = FIGURES / "market_setting.csv"
    if setting.is_file():
        frame = pd.read_csv(setting)
        grouped = frame.groupby("candidate", sort=False)
        shown = pd.DataFrame(
            {
                "Rank-1 mean": grouped["rank1"].mean().map("{:.1f}".format),
                "Rank-1 std": grouped["rank1"]
                .std(ddof=1)
                .map(lambda v: "–" if pd.isna(v) else f"{v:.1f}"),
                "mAP mean": grouped["mAP"].mean().map("{:.1f}".format),
                "seeds": grouped["seed"].apply(lambda s: ", ".join(map(str, sorted(s)))),
            }
        )
        parts.append(
            "*The baseline alone on VR-Market1501 (extractor stage of the market profile, 10 "
            "epochs), per candidate trunk, initialisation and input size: "
            "`figures/market_setting.csv` (`python scripts/market_setting.py`)*\n\n"
            + shown.to_markdown(disable_numparse=True)
            + "\n"
        )
    for name in ("market_table3", "market_table1", "market_table2", "market_cost"):
        path = FIGURES / f"{name}.md"
        if path.is_file():
            caption, table = path.read_text().split("\n", 1)
            parts.append(f"*{caption}*\n{table}")
    if (FIGURES / "claims.csv").is_file():
        frame = pd.read_csv(FIGURES / "claims.csv")
        frame = frame[frame["dataset"].str.contains("market1501")]
        if len(frame):
            columns = ["claim", "dataset", "paper", "ours", "baseline", "difference", "interval", "n",
                       "p_holm", "verdict", "magnitude_verdict", "n_for_power"]  # fmt: skip
            parts.append("*Claims on Market-1501 (from `figures/claims.csv`)*\n\n"
                         + claims.to_markdown(frame, columns) + "\n")  # fmt: skip
    return "\n".join(parts)


def _replace(readme: str, begin: str, end: str, body: str) -> str | None:
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if not pattern.search(readme):
        return None
    return pattern.sub(lambda _: f"{begin}\n{body}{end}", readme)


def main() -> int:
    parts = []
    if (FIGURES / "claims.csv").is_file():
        parts.append(_claims())
    for name, keep, index in (
        (
            "table1_vr_synthetic",
            ["rank1", "rank1_std", "n", "rank1_paper", "rank5", "mAP", "gmacs", "gmacs_paper"],
            1,
        ),
        ("table2_vr_synthetic", ["rank1", "rank1_std", "n", "rank1_paper", "rank5", "mAP"], 1),
        ("stage3_before_after", ["rank1", "rank5", "mAP"], 2),
        ("paper_vs_code", ["rank1", "rank5", "mAP"], 2),
        ("fig4_summary", ["O(1,1)", "O(0.125,0.125)", "O(0.125,1)", "rank1"], 2),
    ):
        if (FIGURES / f"{name}.csv").is_file():
            parts.append(_table(name, keep, 0, index))
    if (FIGURES / "table3.csv").is_file():
        parts.append(_table("table3", ["ours", "paper"], [0, 1, 2]))
    if not parts:
        print(f"no tables in {FIGURES}: run `make reproduce` first", file=sys.stderr)
        return 1
    readme = (ROOT / "README.md").read_text()
    updated = _replace(readme, BEGIN, END, "\n".join(parts))
    if updated is None:
        print(f"README.md has no {BEGIN} ... {END} block", file=sys.stderr)
        return 1
    market = _market()
    if market:
        with_market = _replace(updated, MARKET_BEGIN, MARKET_END, market)
        if with_market is None:
            print(f"README.md has no {MARKET_BEGIN} ... {MARKET_END} block", file=sys.stderr)
            return 1
        updated = with_market
    (ROOT / "README.md").write_text(updated)
    print(
        f"README.md: {len(parts)} tables from {FIGURES}"
        + (", and the Market block" if market else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
