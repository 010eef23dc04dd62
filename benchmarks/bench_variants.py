"""Benchmark: images/s for building a VR variant of a Market-1501-sized set.

Generates (once, cached under data/derived/bench-synthetic) a synthetic set of about the
size of Market-1501 (32,217 images), then builds VR-Synthetic (every image down-sampled to
a width in [8, 32), PNG) into a fresh folder with 1 and with 2 worker processes.

    python benchmarks/bench_variants.py            # ~32k images
    python benchmarks/bench_variants.py --quick    # ~3k images
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time

from lib.data import variants
from lib.data.paths import derived_root
from lib.data.synthetic import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 3k images instead of 32k")
    args = parser.parse_args()
    ids = 300 if args.quick else 3000  # ~10.7 images per identity with the defaults
    root = derived_root() / f"bench-synthetic-{ids}"
    t0 = time.perf_counter()
    generate(root, seed=0, num_train_ids=ids // 2, num_test_ids=ids // 2)
    print(f"synthetic data ready in {time.perf_counter() - t0:.1f} s ({root})")
    for workers in (1, 2):
        out = tempfile.mkdtemp(dir=derived_root(), prefix="bench-variants-")
        try:
            t0 = time.perf_counter()
            split = variants.build("vr_synthetic", root, out, workers=workers)
            seconds = time.perf_counter() - t0
        finally:
            shutil.rmtree(out, ignore_errors=True)
        n = len({s.path for s in split.train + split.query + split.gallery})
        print(f"workers={workers}: {n} images in {seconds:.1f} s = {n / seconds:.0f} images/s")


if __name__ == "__main__":
    main()
