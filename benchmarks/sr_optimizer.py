"""Does the SR module train under the paper's optimiser? (Sec. 5.2, step 1)

Trains a profile's SR steps (MSE pre-training, then Eq. 5 fine-tuning) for FFSR twice: with
the profile's own optimiser settings and with the paper's (SGD, lr 0.01, momentum 0.9, the
same epochs), and prints the PSNR gain over bilinear up-sampling on the test images, inside
the foreground (mask > 0.5) and outside it, after each step; and a third time with the
paper's SGD and the fine-tuning's gradient norm clipped, as the paper profile does (Eq. 5
summed diverges under plain SGD at lr 0.01). Runs are reused from ``runs/``.

    python benchmarks/sr_optimizer.py --profile cpu
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import pandas as pd

from lib import profiles
from lib.train.pipeline import Data, train_sr

CLIP = 5.0  # the paper profile's clipping of Eq. 5 summed under SGD (lib/profiles.py)


def gains(run) -> dict:
    m = run.metrics
    return {
        "step": "fine-tune" if run.config.init else "pre-train",
        "gain_all_db": m["psnr_sr"] - m["psnr_bilinear"],
        "gain_fg_db": m["psnr_sr_fg"] - m["psnr_bilinear_fg"],
        "gain_bg_db": m["psnr_sr_bg"] - m["psnr_bilinear_bg"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="cpu", choices=sorted(profiles.PROFILES))
    parser.add_argument("--dataset", default="vr_synthetic")
    parser.add_argument("--sr", default="ffsr")
    args = parser.parse_args()
    profile = profiles.get(args.profile)
    paper_sgd = {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4}
    variants = {
        f"{profile.name} ({profile.sr_finetune.optimizer} {profile.sr_finetune.lr:g})": profile,
        "paper's SGD (lr 0.01)": replace(
            profile,
            sr_pretrain=replace(profile.sr_pretrain, **paper_sgd),
            sr_finetune=replace(profile.sr_finetune, **paper_sgd),
        ),
        f"paper's SGD, gradient norm clipped at {CLIP:g}": replace(
            profile,
            sr_pretrain=replace(profile.sr_pretrain, **paper_sgd),
            sr_finetune=replace(profile.sr_finetune, **paper_sgd, grad_clip=CLIP),
        ),
    }
    rows = []
    for label, p in variants.items():
        try:
            for run in train_sr(p, args.sr, Data(args.dataset)):
                rows.append({"optimiser": label, **gains(run), "loss_form": run.config.loss_form})
        except FloatingPointError as error:  # a diverged run keeps its last good checkpoint
            rows.append({"optimiser": label, "step": f"diverged: {str(error)[:120]}"})
    print(f"PSNR gain of {args.sr} over bilinear (dB), {args.dataset}, profile {profile.name}")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:+.2f}"))


if __name__ == "__main__":
    main()
