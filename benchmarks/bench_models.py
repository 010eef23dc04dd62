"""Training throughput of ResNet, RIFE and FFSR+RIFE (Sec. 5.2), and the complexity table.

Forward + backward images/s at 384x128 and 128x64 for the networks ``resnet``, ``rife`` and
``ffsr_rife`` (ResNet-50 backbone unless --backbone), and the RIFE/ResNet cost ratio
(Sec. 5.2 duplicates every stage, so about 2x is the expectation). On CUDA the step runs
under bf16 autocast with channels_last tensors. Then prints the GMACs table of Table 1 (SR
modules) and of the three networks at 3x384x128.

    python benchmarks/bench_models.py --device cpu --batch-size 8 --iters 1 --repeats 3
    python benchmarks/bench_models.py --device cuda --batch-size 32 --iters 20
"""

from __future__ import annotations

import argparse
import contextlib
import time

import pandas as pd
import torch
import torch.nn.functional as F

from lib.models import build_model, complexity

NETWORKS = ("resnet", "rife", "ffsr_rife")
SIZES = ((384, 128), (128, 64))
NUM_CLASSES = 751


def images_per_second(
    name: str,
    size: tuple[int, int],
    device: torch.device,
    batch: int,
    iters: int,
    backbone: str,
    repeats: int = 1,
) -> float:
    """Forward + backward + SGD step throughput of one network (train mode): the best of
    ``repeats`` timings of ``iters`` steps each, after one warm-up step."""
    torch.manual_seed(0)
    model = build_model(name, NUM_CLASSES, backbone=backbone).to(device).train()
    cuda = device.type == "cuda"
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, 3, *size, device=device)
    if cuda:
        x = x.contiguous(memory_format=torch.channels_last)
    pids = torch.randint(0, NUM_CLASSES, (batch,), device=device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else contextlib.nullcontext()

    def step() -> None:
        with autocast:
            out = model(x)
            loss = F.cross_entropy(out["logits"], pids)
            for w_low, w_high in out["weights"]:
                loss = loss + 0.1 * ((w_low - 0.5) ** 2 + (w_high - 0.5) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up (allocations, cuDNN autotuning)
    if cuda:
        torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iters):
            step()
        if cuda:
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return batch * iters / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1, help="report the best of N timings")
    parser.add_argument("--backbone", default="resnet50")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        print(f"device: {torch.cuda.get_device_name(device)}, bf16 autocast, channels_last")
    else:
        print(f"device: cpu, {torch.get_num_threads()} threads, fp32")
    print(
        f"backbone {args.backbone}, batch {args.batch_size}, "
        f"best of {args.repeats} x {args.iters} timed iterations\n"
    )

    rows = []
    for h, w in SIZES:
        speed = {
            n: images_per_second(
                n, (h, w), device, args.batch_size, args.iters, args.backbone, args.repeats
            )
            for n in NETWORKS
        }
        rows.append(
            {
                "input": f"{h}x{w}",
                **{f"{n} img/s": round(v, 1) for n, v in speed.items()},
                "rife/resnet cost": round(speed["resnet"] / speed["rife"], 2),
                "ffsr_rife/resnet cost": round(speed["resnet"] / speed["ffsr_rife"], 2),
            }
        )
    print("forward+backward throughput")
    print(pd.DataFrame(rows).set_index("input").to_string(), "\n")

    table = complexity(
        ["bilinear", "srcnn", "vdsr", "ae", "ffsr", "ffsr_code", *NETWORKS],
        (384, 128),
        num_classes=NUM_CLASSES,
        backbone=args.backbone,
    )
    table["gmacs"] = table["gmacs"].round(3)
    print("complexity at 3x384x128 (GMACs: 1 multiply-add = 1 MAC)")
    print(table.to_string())
    macs = table["gmacs"]
    print(f"\nRIFE/ResNet GMACs ratio: {macs['rife'] / macs['resnet']:.2f}")


if __name__ == "__main__":
    main()
