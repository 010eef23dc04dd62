"""Which trunk should the cpu profile use? ResNet-10 from scratch against the offline ImageNet
MobileNetV2 (issue 11, item 2; Sec. 5.2: the paper fine-tunes ImageNet weights).

Trains the extractor stage (Eq. 9, behind bilinear up-sampling) of each model on each trunk
with the cpu profile's settings, one run per identity-split trial (seed = trial), and prints
Rank-1 and mAP (mean, std, n), each trunk's paired difference to the first trunk (same trial,
same split, same seed) with a 95% t-interval, and the training time per epoch. A trunk is
``backbone:init[@lr]`` with init ``scratch`` or ``imagenet`` (``Profile.pretrained``) and
an optional extractor learning rate in place of the profile's.

Runs go to their own folder (default ``runs/trunk_comparison``; a finished run is reused, so
a second call with more trials only trains the new ones). ``torch.set_num_threads(1)`` by
default: the per-epoch times are single-thread times, measured while the machine does
whatever else it does; ``step_ms`` (the fastest of a few forward/backward steps on one
batch, measured before training) is less sensitive to other load.

    python benchmarks/trunk_comparison.py --dataset caviar --trials 0 1 2 --json out.json
    python benchmarks/trunk_comparison.py --dataset vr_synthetic --trials 0 1 2
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from lib import profiles
from lib.data.paths import PROJECT_ROOT
from lib.models import build_model
from lib.train import fit
from lib.train.runs import stage_config

DEFAULT_TRUNKS = ("resnet10:scratch", "mobilenetv2:imagenet", "mobilenetv2:scratch")
METRICS = ("rank1", "mAP")


@dataclass(frozen=True)
class Trunk:
    """A backbone, whether it starts from ImageNet weights, and optionally an extractor lr
    other than the profile's (``mobilenetv2:imagenet@0.01``: the paper's fine-tuning lr)."""

    backbone: str
    pretrained: bool
    lr: float | None = None

    @classmethod
    def parse(cls, text: str) -> Trunk:
        spec, _, lr = text.partition("@")
        backbone, _, init = spec.partition(":")
        if init not in ("scratch", "imagenet"):
            raise ValueError(f"trunk must be backbone:scratch|imagenet[@lr], got {text!r}")
        return cls(backbone, init == "imagenet", float(lr) if lr else None)

    @property
    def label(self) -> str:
        init = "imagenet" if self.pretrained else "scratch"
        return f"{self.backbone}:{init}" + (f"@{self.lr:g}" if self.lr is not None else "")


def paired(a: list[float], b: list[float], level: float = 0.95) -> dict:
    """Mean of b - a over pairs, its sample std, n and the two-sided t-interval."""
    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    n = int(d.size)
    mean = float(d.mean()) if n else math.nan
    if n < 2:
        return {"mean": mean, "std": math.nan, "n": n, "ci_low": math.nan, "ci_high": math.nan}
    std = float(d.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "n": n, "ci_low": mean - half, "ci_high": mean + half}


def summary(values: list[float]) -> dict:
    """Mean, sample std (ddof 1) and n."""
    x = np.asarray(values, dtype=float)
    std = float(x.std(ddof=1)) if x.size > 1 else math.nan
    return {"mean": float(x.mean()), "std": std, "n": int(x.size)}


def step_ms(model_name: str, trunk: Trunk, input_size: tuple[int, int], batch: int) -> float:
    """Fastest of 5 SGD steps (forward, cross-entropy, backward, update) on one batch, in ms,
    after one warm-up step."""
    torch.manual_seed(0)
    model = build_model(model_name, 25, backbone=trunk.backbone, pretrained=trunk.pretrained)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x = torch.rand(batch, 3, *input_size)
    y = torch.arange(batch) % 25
    times = []
    for _ in range(6):
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x)["logits"], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return 1000 * min(times[1:])


def data_version() -> dict:
    """The commit measured and whether the data code had uncommitted changes."""

    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True)
        return out.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "lib_data_uncommitted": git("status", "--short", "--", "lib/data", "lib/profiles.py"),
    }


def measure(args: argparse.Namespace) -> dict:
    trunks = [Trunk.parse(t) for t in args.trunks]
    data_root = args.data_root if args.dataset != "vr_synthetic" else ""
    results: dict = {"settings": {**vars(args), "runs": str(args.runs)}, "runs": []}
    results["settings"].update(data_version())
    for model in args.models:
        for trunk in trunks:
            profile = profiles.get(
                args.profile, backbone=trunk.backbone, pretrained=trunk.pretrained
            )
            size = profile.input_size_for(args.dataset)
            ms = step_ms(model, trunk, size, profile.extractor.batch_size)
            for trial in args.trials:
                overrides = {"epochs": args.epochs} if args.epochs is not None else {}
                if trunk.lr is not None:
                    overrides["lr"] = trunk.lr
                config = stage_config(
                    profile, "extractor", model, args.dataset, data_root=data_root,
                    trial=trial, seed=trial, **overrides,
                )  # fmt: skip
                run = fit(config, device="cpu", runs=args.runs, progress=False)
                m = run.metrics
                row = {
                    "model": model,
                    "trunk": trunk.label,
                    "trial": trial,
                    "rank1": m["rank1"],
                    "mAP": m["mAP"],
                    "epochs": m["epochs"],
                    "seconds_per_epoch": m["train_seconds"] / max(m["epochs"], 1),
                    "step_ms": ms,
                    "input_size": list(size),
                    "lr": config.optim.lr,
                    "run": run.dir.name,
                }
                results["runs"].append(row)
                print(
                    f"  {model:6s} {trunk.label:22s} trial {trial}: Rank-1 {100 * row['rank1']:.1f}"
                    f" mAP {100 * row['mAP']:.1f}, {row['seconds_per_epoch']:.1f} s/epoch",
                    file=sys.stderr,
                    flush=True,
                )
                if args.json:
                    Path(args.json).write_text(json.dumps(tabulate(results), indent=2))
    return tabulate(results)


def tabulate(results: dict) -> dict:
    """Per (model, trunk): mean/std/n of each metric and of s/epoch; paired difference to the
    first trunk of the same model over the trials both have."""
    rows = results["runs"]
    table = []
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        trunks = list(dict.fromkeys(r["trunk"] for r in mine))
        base = {r["trial"]: r for r in mine if r["trunk"] == trunks[0]}
        for trunk in trunks:
            runs = {r["trial"]: r for r in mine if r["trunk"] == trunk}
            entry = {"model": model, "trunk": trunk, "trials": sorted(runs)}
            for metric in (*METRICS, "seconds_per_epoch"):
                entry[metric] = summary([r[metric] for r in runs.values()])
            entry["step_ms"] = next(iter(runs.values()))["step_ms"]
            common = sorted(set(runs) & set(base))
            for metric in METRICS:
                entry[f"{metric}_diff_vs_{trunks[0]}"] = paired(
                    [base[t][metric] for t in common], [runs[t][metric] for t in common]
                )
            table.append(entry)
    return {**results, "table": table}


def print_table(results: dict) -> None:
    s = results["settings"]
    print(
        f"dataset {s['dataset']}, profile {s['profile']} extractor stage, trials {s['trials']}, "
        f"commit {s['commit']}{' (+ uncommitted data/profile changes)' if s['lib_data_uncommitted'] else ''}"
    )
    print(
        "| model | trunk | n | Rank-1 % (mean +- std) | mAP % | Rank-1 diff [95% CI] | "
        "mAP diff [95% CI] | s/epoch | step ms (batch) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for e in results["table"]:
        diffs = [v for k, v in e.items() if "_diff_vs_" in k]
        cells = []
        for d in diffs:
            if d["n"] >= 2 and not math.isnan(d["ci_low"]):
                cells.append(
                    f"{100 * d['mean']:+.1f} [{100 * d['ci_low']:+.1f}, {100 * d['ci_high']:+.1f}]"
                )
            else:
                cells.append("-")
        r1, ap, sec = e["rank1"], e["mAP"], e["seconds_per_epoch"]
        print(
            f"| {e['model']} | {e['trunk']} | {r1['n']} | {100 * r1['mean']:.1f} +- "
            f"{100 * r1['std']:.1f} | {100 * ap['mean']:.1f} +- {100 * ap['std']:.1f} | "
            f"{cells[0]} | {cells[1]} | {sec['mean']:.1f} +- {sec['std']:.1f} | {e['step_ms']:.0f} |"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="cpu", choices=sorted(profiles.PROFILES))
    parser.add_argument("--dataset", default="caviar", help="caviar or vr_synthetic, ...")
    parser.add_argument("--data-root", default=str(PROJECT_ROOT.parent / "shared" / "datasets"))
    parser.add_argument("--trials", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trunks", nargs="+", default=list(DEFAULT_TRUNKS))
    parser.add_argument("--models", nargs="+", default=["resnet"], help="e.g. resnet rife")
    parser.add_argument("--epochs", type=int, help="override the profile's extractor epochs")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=Path, default=PROJECT_ROOT / "runs" / "trunk_comparison")
    parser.add_argument("--json", help="also write every run and the table to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = measure(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print_table(results)


if __name__ == "__main__":
    main()
