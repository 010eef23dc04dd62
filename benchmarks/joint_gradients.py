"""Joint learning's step by module and by term: how much of Eq. 4's gradient reaches the extractor.

Usage: python benchmarks/joint_gradients.py RUN_DIR [--steps 20] [--clip 5] [--json]

``RUN_DIR``: a joint run's folder (``runs/<profile>/joint-...``): its ``config.json`` names the
network, the data and the runs it starts from. For two states of the network, the start of
joint learning (the weights its ``init`` runs give) and its end (the run's ``model.pt``, or
the last epoch's checkpoint while it trains), over ``--steps`` training batches of the first
resp. last epoch (the run's own data order, augmentation and precision), in training mode:

- ``sr_from_ffsr``: the norm of the gradient on the SR module's parameters from the SR term
  of Eq. 4 (Eq. 5, weighted as the run's loss form says);
- ``sr_from_reid``: on the SR module from the ReID term, ``alpha * (L_X + beta * sum L_R)``;
- ``extractor_from_reid``: on the extractor from the ReID term (the only term that reaches it);
- ``global``: the norm of the whole gradient, what ``Optim.grad_clip`` clips;
- ``extractor_step``: the extractor's step against plain SGD's at the same lr, i.e. the factor
  ``min(1, clip / global)`` a global clip at ``--clip`` scales every gradient by (1: the
  paper's step); ``clipped``: the fraction of steps where that factor is below 1.

Medians over the steps (and min/max). No parameter is changed. Prints a table, or one JSON
object with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIGURES = ("sr_from_ffsr", "sr_from_reid", "extractor_from_reid", "global", "extractor_step")


def _norm(grads) -> torch.Tensor:
    return torch.sqrt(sum(g.double().pow(2).sum() for g in grads if g is not None))


def step_gradients(model, batch: dict, config, clip: float) -> dict[str, float]:
    """The figures of the module doc for one batch (``model`` in training mode)."""
    from lib import losses
    from lib.train.precision import step_precision

    cpu = torch.device("cpu")
    sr = [p for p in model.sr.parameters() if p.requires_grad]
    extractor = [p for p in model.extractor.parameters() if p.requires_grad]
    amp, context = step_precision(config, model, cpu)
    with context:
        terms = config.spec.loss(model, batch, config, cpu, amp)
    form = losses.loss_form(config.loss_form)
    sr_term = form.sr_weight * terms["ffsr"]  # Eq. 5 as it enters Eq. 4
    reid_term = terms["total"] - sr_term
    g_sr_ffsr = torch.autograd.grad(sr_term, sr, retain_graph=True, allow_unused=True)
    g_sr_reid = torch.autograd.grad(reid_term, sr, retain_graph=True, allow_unused=True)
    g_ext = torch.autograd.grad(reid_term, extractor, allow_unused=True)
    zeros = [torch.zeros_like(p) for p in sr]
    g_sr = [
        (a if a is not None else z) + (b if b is not None else z)
        for a, b, z in zip(g_sr_ffsr, g_sr_reid, zeros, strict=True)
    ]
    sr_total, ext = _norm(g_sr), _norm(g_ext)
    total = float(torch.sqrt(sr_total**2 + ext**2))
    return {
        "sr_from_ffsr": float(_norm(g_sr_ffsr)),
        "sr_from_reid": float(_norm(g_sr_reid)),
        "extractor_from_reid": float(ext),
        "global": total,
        "extractor_step": min(1.0, clip / total) if clip > 0 else 1.0,
        "loss_ffsr": float(terms["ffsr"].detach()),
        "loss_reid": float(reid_term.detach()),
    }


def measure(folder: Path, steps: int, clip: float) -> list[dict]:
    """One row per state (``start``, ``end``): medians, mins and maxes of the figures."""
    from lib.data.person_masks import with_person_masks
    from lib.data.prepare import prepare
    from lib.train import build_network, train_dataset
    from lib.train.loading import TrainingBatches, epoch_seed
    from lib.train.runs import init_model, load_weights, read_config

    config = read_config(folder)
    if config.stage != "joint":
        raise SystemExit(f"{folder}: a run of stage {config.stage!r}, not a joint run")
    split = prepare(config.dataset, data_root=config.data_root or None, trial=config.trial,
                    seed=config.seed)  # fmt: skip
    if config.mask == "person":
        split = with_person_masks(split, config.dataset, config.data_root)
    runs = folder.parent.parent
    batches = TrainingBatches(train_dataset(config, split), config, device=torch.device("cpu"))
    rows = []
    for state, epoch in (("start", 0), ("end", config.optim.epochs - 1)):
        torch.manual_seed(config.seed)
        model = build_network(config, split.num_train_pids)
        init_model(model, config, runs)
        if state == "end":  # the final weights, or the last epoch's while the run trains
            final = folder / "model.pt"
            model.load_state_dict(load_weights(final) if final.is_file()
                                  else load_weights(folder / "checkpoint.pt")["model"])  # fmt: skip
        if config.memory_format == "channels_last":
            model.to(memory_format=torch.channels_last)
        config.spec.train_mode(model)
        torch.manual_seed(epoch_seed(config.seed, epoch))  # the epoch's augmentation, as fit's
        values = []
        for k, batch in enumerate(batches.epoch(epoch)):
            if k == steps:
                break
            if config.memory_format == "channels_last":
                batch["img"] = batch["img"].contiguous(memory_format=torch.channels_last)
            values.append(step_gradients(model, batch, config, clip))
        row = {"state": state, "epoch": epoch + 1, "steps": len(values)}
        for name in (*FIGURES, "loss_ffsr", "loss_reid"):
            v = np.array([x[name] for x in values])
            row |= {name: float(np.median(v)), f"{name}_min": float(v.min()),
                    f"{name}_max": float(v.max())}  # fmt: skip
        row["clipped"] = float(np.mean([x["extractor_step"] < 1 for x in values]))
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a joint run's folder")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--clip", type=float, default=5.0, help="the global clip to judge")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (args.run / "config.json").is_file():
        raise SystemExit(
            f"{args.run}: no config.json (expected a run folder runs/<profile>/joint-...)"
        )
    rows = measure(args.run, args.steps, args.clip)
    if args.json:
        print(json.dumps({"run": args.run.name, "clip": args.clip, "states": rows}))
        return 0
    print(f"{args.run.name}: gradient norms, median [min, max] over {args.steps} steps")
    for row in rows:
        print(f"  {row['state']} (epoch {row['epoch']}):")
        for name in FIGURES:
            print(f"    {name:22s} {row[name]:10.4g} [{row[name + '_min']:.4g}, "
                  f"{row[name + '_max']:.4g}]")  # fmt: skip
        print(f"    {'clipped':22s} {row['clipped']:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
