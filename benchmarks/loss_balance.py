"""Does the foreground-focus loss matter in joint training? (Eq. 4, 5; Sec. 5.2, step 3)

At the first batch of stage 3, after stages 1 (SR pre-training and fine-tuning) and 2 (the
extractor) of a profile, prints for each loss form of ``lib.losses.LOSS_FORMS`` the norms of
the gradients of the SR term and of the cross-entropy on the SR module's parameters, and
their ratio. Then trains ``--steps`` joint steps from that state under each form at the
profile's joint learning rate (SGD as the profile says) and reports whether the loss stayed
finite, its terms at the end and the PSNR of the SR output against the HR images on that
last batch. Stages 1 and 2 are reused from ``runs/`` when finished (else trained).

``--random-extractor BACKBONE --input H W`` measures instead at a freshly built network
(pre-trained-free SR, random extractor) at another input size, e.g. the paper's 256x128.

    python benchmarks/loss_balance.py --profile cpu --model ffsr_resnet
    python benchmarks/loss_balance.py --random-extractor resnet50 --input 256 128
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace

import pandas as pd
import torch

from lib import losses, profiles
from lib.data.prepare import prepare
from lib.eval import psnr
from lib.eval.loss_balance import sr_gradient_norms
from lib.models import MODELS, build_model
from lib.train import epoch_loader, load_model, train_dataset
from lib.train.engine import optimizer_for
from lib.train.pipeline import Data, sr_loss_of, train_model
from lib.train.runs import stage_config


def start_of_joint(profile, model_name: str, data: Data):
    """The network at the start of stage 3 (the composed run) and the joint run's config."""
    runs = train_model(profile, model_name, data, joint=False, progress=True)
    joint = stage_config(
        profile, "joint", model_name, data.dataset, data_root=data.data_root, trial=data.trial,
        seed=data.seed, init=runs["composed"].config.init,
        sr_loss=sr_loss_of(MODELS[model_name].sr),
    )  # fmt: skip
    return load_model(runs["composed"]).train(), joint


def short_joint(model, config, form: str, batches: list[dict]) -> dict:
    """``len(batches)`` joint steps under ``form`` (clipping the gradient's global norm to
    ``config.optim.grad_clip`` when > 0): finite?, last terms, last-batch PSNR, largest norm."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = optimizer_for(replace(config.optim, lr=config.optim.lr_at(0)), params)
    row = {"loss_form": form, "finite": True, "steps": 0, "max_grad_norm": 0.0}
    for batch in batches:
        out = model(batch["img"])
        mask = batch["mask"] if config.sr_loss == "ffsr" else None
        terms = losses.total_loss(
            out, batch["hr"], mask, batch["pid"], batch["r"],
            alpha=config.alpha, beta=config.beta, form=form,
        )  # fmt: skip
        if not torch.isfinite(terms["total"]):
            row["finite"] = False
            break
        optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        norm = torch.nn.utils.clip_grad_norm_(params, config.optim.grad_clip or float("inf"))
        row["max_grad_norm"] = max(row["max_grad_norm"], float(norm))
        optimizer.step()
        row["steps"] += 1
    row.update({f"last_{k}": float(v.detach()) for k, v in terms.items()})
    with torch.no_grad():
        row["psnr_sr"] = float(psnr(model.sr(batch["img"]).clamp(0, 1), batch["hr"]).mean())
        row["psnr_bilinear"] = float(psnr(batch["img"], batch["hr"]).mean())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="cpu", choices=sorted(profiles.PROFILES))
    parser.add_argument("--model", default="ffsr_resnet")
    parser.add_argument("--dataset", default="vr_synthetic")
    parser.add_argument("--steps", type=int, default=38, help="joint steps per form (0: none)")
    parser.add_argument("--random-extractor", metavar="BACKBONE")
    parser.add_argument("--input", type=int, nargs=2, metavar=("H", "W"))
    parser.add_argument("--batch-size", type=int, help="with --random-extractor")
    parser.add_argument("--lr", type=float, help="joint lr of the short runs (default: profile's)")
    parser.add_argument(
        "--grad-clip", type=float, help="clip the global gradient norm (short runs)"
    )
    args = parser.parse_args()
    torch.manual_seed(0)
    profile = profiles.get(args.profile)
    data = Data(args.dataset)
    if args.random_extractor:
        size = tuple(args.input or profile.input_size_for(args.dataset))
        config = stage_config(
            profile, "joint", args.model, args.dataset, input_size=size,
            **({"batch_size": args.batch_size} if args.batch_size else {}),
        )  # fmt: skip
        split = prepare(args.dataset, synthetic=config.synthetic)
        model = build_model(args.model, split.num_train_pids, backbone=args.random_extractor)
        where = f"fresh {args.model} ({args.random_extractor}, random init) at {size[0]}x{size[1]}"
    else:
        model, config = start_of_joint(profile, args.model, data)
        split = prepare(args.dataset, synthetic=config.synthetic)
        where = f"{args.model} after stages 1 and 2 of profile {profile.name}"
    dataset = train_dataset(config, split)
    loader = iter(epoch_loader(dataset, config, 0))
    first = next(loader)
    mask = first["mask"] if config.sr_loss == "ffsr" else None
    norms = sr_gradient_norms(model, first, mask=mask, alpha=config.alpha)
    print(f"Gradient norms on the SR parameters, first batch of stage 3: {where}")
    print(norms.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.steps <= 0:
        return
    batches = [first] + [b for _, b in zip(range(args.steps - 1), loader, strict=False)]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    overrides = {"lr": args.lr, "grad_clip": args.grad_clip}
    optim = replace(config.optim, **{k: v for k, v in overrides.items() if v is not None})
    config = replace(config, optim=optim)
    rows = []
    for form in losses.LOSS_FORMS:
        model.load_state_dict(state)
        torch.manual_seed(0)
        rows.append(short_joint(model, config, form, batches))
    clip = f", gradient norm clipped at {optim.grad_clip:g}" if optim.grad_clip else ""
    print(f"\n{len(batches)} joint steps at lr {optim.lr_at(0):g} ({optim.optimizer}{clip}):")
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if not all(math.isfinite(v) for v in table["last_total"]):
        print("a form diverged: see the rows with finite = False")


if __name__ == "__main__":
    main()
