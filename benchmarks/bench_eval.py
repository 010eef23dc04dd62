"""Feature extraction at evaluation (Sec. 5): images/s of the forward ``lib.eval`` runs, under
``torch.no_grad`` (as :func:`lib.models.modes.evaluating` does) against ``torch.inference_mode``,
at batch 128 (``extract_features``' default) against 256, contiguous against channels_last.

Usage: python benchmarks/bench_eval.py [--json] [--images 512] [--repeats 5] [--threads 1]

For the trunks the cpu and market profiles evaluate (ResNet-10 at 64x32, MobileNetV2 at 128x64)
on random images (the data path is the same in every variant, so it is left out): each
variant's best of ``repeats`` passes over ``images`` images, the variants interleaved pass by
pass so that a load on the machine falls on all of them alike. Prints one JSON object with
``--json``: per network and variant, images/s and the ratio to the no_grad / 128 / contiguous
variant.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NETWORKS = {"resnet10": ("resnet10", (64, 32)), "mobilenetv2": ("mobilenetv2", (128, 64))}
# name: (autograd mode, batch size, memory format)
VARIANTS = {
    "no_grad_128": ("no_grad", 128, "contiguous"),
    "inference_mode_128": ("inference_mode", 128, "contiguous"),
    "no_grad_256": ("no_grad", 256, "contiguous"),
    "no_grad_128_channels_last": ("no_grad", 128, "channels_last"),
}


def _mode(name: str) -> AbstractContextManager:
    return torch.inference_mode() if name == "inference_mode" else torch.no_grad()


def one_pass(model: torch.nn.Module, images: torch.Tensor, variant: str) -> float:
    """Seconds of one forward pass over ``images`` in ``variant``'s batches and mode."""
    mode, batch, memory_format = VARIANTS[variant]
    fmt = torch.channels_last if memory_format == "channels_last" else torch.contiguous_format
    model.to(memory_format=fmt)
    start = time.perf_counter()
    with _mode(mode):
        for i in range(0, len(images), batch):
            model(images[i : i + batch].contiguous(memory_format=fmt))
    return time.perf_counter() - start


def measure(name: str, images: int, repeats: int) -> dict[str, float]:
    """Images/s of each variant for network ``name``: best of ``repeats`` interleaved passes."""
    from lib.models import build_model

    backbone, (height, width) = NETWORKS[name]
    torch.manual_seed(0)
    model = build_model("resnet", num_classes=100, backbone=backbone, pretrained=False).eval()
    data = torch.rand(images, 3, height, width)
    for variant in VARIANTS:  # warm-up
        one_pass(model, data[:128], variant)
    best = dict.fromkeys(VARIANTS, float("inf"))
    for _ in range(repeats):
        for variant in VARIANTS:
            best[variant] = min(best[variant], one_pass(model, data, variant))
    return {variant: images / seconds for variant, seconds in best.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for name in NETWORKS:
        speeds = measure(name, args.images, args.repeats)
        base = speeds["no_grad_128"]
        rows += [
            {"name": name, "variant": v, "images_per_s": round(s, 1), "ratio": round(s / base, 3)}
            for v, s in speeds.items()
        ]
    result = {"threads": args.threads, "images": args.images, "repeats": args.repeats, "rows": rows}
    if args.json:
        print(json.dumps(result))
    else:
        for r in rows:
            print(
                f"{r['name']:12s} {r['variant']:28s} {r['images_per_s']:8.1f}/s  x{r['ratio']:.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
