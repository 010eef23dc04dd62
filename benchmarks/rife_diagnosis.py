"""RIFE against its single-stream baseline in the first steps of training, on real batches.

Usage: python benchmarks/rife_diagnosis.py [--profile market] [--dataset vr_market1501]
       [--data-root ../shared/datasets] [--steps 150] [--json]

Both networks are built as ``python -m lib train --stage extractor`` builds them (the profile's
trunk and initialisation, seed 0) and trained with the stage's optimiser on the same batches
(the run's first epoch order). Printed per network: the cross-entropy (Eq. 8) averaged over
the first and the last 20 steps, the Eq. 7 term, and for RIFE the fusion weights of each DSB
(w_L, w_H and their sum) at the start and the end, and how far one optimiser step moves the
feature ``f`` of a fixed probe batch (relative to its norm). With both streams of a DSB started
from the same weights, each stream's gradient is scaled by its own weight (d m / d theta_L =
w_L d m^L / d theta_L), so at one learning rate the fused output moves by about
(w_L^2 + w_H^2) of the single network's step: the last figure measures that.
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


def main(argv: list[str] | None = None) -> int:
    from lib import losses, profiles
    from lib.data.prepare import prepare
    from lib.train import build_network, epoch_loader, train_dataset
    from lib.train.engine import optimizer_for
    from lib.train.runs import stage_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="market")
    parser.add_argument("--dataset", default="vr_market1501")
    parser.add_argument("--data-root", default=str(ROOT.parent / "shared" / "datasets"))
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    profile = profiles.get(args.profile)
    split = prepare(args.dataset, data_root=args.data_root, seed=0)
    out = {"profile": args.profile, "dataset": args.dataset, "steps": args.steps, "networks": {}}
    probe = None
    for name in ("resnet", "rife"):
        config = stage_config(profile, "extractor", name, args.dataset, data_root=args.data_root)
        torch.manual_seed(config.seed)
        model = build_network(config, split.num_train_pids)
        optimizer = optimizer_for(config.optim, list(model.parameters()))
        for group in optimizer.param_groups:
            group["lr"] = config.optim.lr_at(0)
        torch.manual_seed(1_000_003 * config.seed)
        batches = epoch_loader(train_dataset(config, split), config, 0)
        ce, eq7, weights, moves = [], [], [], []
        model.train()
        for step, batch in enumerate(batches):
            if step == args.steps:
                break
            if probe is None:
                probe = batch["img"][:16].clone()
            output = model(batch["img"])
            reid = losses.reid_loss(output["logits"], batch["pid"])
            terms = [
                losses.resolution_weight_loss(wl, wh, batch["r"]) for wl, wh in output["weights"]
            ]
            loss = reid + config.beta * sum(terms, torch.zeros(()))
            if step in (0, args.steps - 1) and output["weights"]:
                weights.append(
                    [[float(wl.mean()), float(wh.mean())] for wl, wh in output["weights"]]
                )
            if step in (0, args.steps - 1):  # how far one step moves f on the probe batch
                model.eval()
                with torch.no_grad():
                    before = model(probe)["f"]
                model.train()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step in (0, args.steps - 1):
                model.eval()
                with torch.no_grad():
                    after = model(probe)["f"]
                model.train()
                moves.append(float((after - before).norm() / before.norm()))
            ce.append(float(reid))
            eq7.append(float(sum(terms, torch.zeros(()))))
        out["networks"][name] = {
            "ce_first20": float(np.mean(ce[:20])),
            "ce_last20": float(np.mean(ce[-20:])),
            "eq7_last20": float(np.mean(eq7[-20:])),
            "feature_step_first": moves[0],
            "feature_step_last": moves[-1],
            "weights_first_last": weights,
        }
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
