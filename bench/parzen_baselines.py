"""Table 1's metric on two "models" that learn nothing: the memoriser and a k-means.

    python bench/parzen_baselines.py            # both, 10,000 "samples" each
    python bench/parzen_baselines.py --only kmeans --kmeans-iterations 20

The memoriser's samples are 10,000 of the 50,000 training images that ``bench/reproduce.py
parzen`` trains on; the k-means's are the 10,000 centroids of those 50,000 images (Theis, van
den Oord and Bethge, 2016, section on Parzen window estimates). Both are scored exactly as the
AAE is: the Parzen window's width chosen on the last 10,000 training images, the mean
log-likelihood of the 10,000 test images with its standard error. One JSON each in ``bench/results/``
(``parzen-memoriser-seed<k>-cpu.json``, ``parzen-kmeans-seed<k>-cpu.json``), read by bench/README.md's
Table 1 rows and notebook 08.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

from aae_utils.data import load_mnist
from aae_utils.parzen import kmeans_centroids, memoriser, parzen_score
from aae_utils.recipes import SEMI_TRAIN_SIZE
from aae_utils.writes import save_record

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["memoriser", "kmeans"], default=None)
    ap.add_argument("--samples", type=int, default=10_000, help="images (or centroids) in the window")
    ap.add_argument("--kmeans-iterations", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--data", default=None, help="MNIST root (default: AAE_DATA_DIR or data/)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    kwargs = {"root": args.data} if args.data else {}
    full, test = load_mnist(train=True, **kwargs), load_mnist(train=False, **kwargs)
    train, val = full.x[:SEMI_TRAIN_SIZE], full.x[SEMI_TRAIN_SIZE:]
    makers = {
        "memoriser": (lambda: memoriser(train, args.samples, seed=args.seed),
                      f"{args.samples:,} training images drawn at random (seed {args.seed})"),
        "kmeans": (lambda: kmeans_centroids(train, args.samples, iterations=args.kmeans_iterations,
                                            seed=args.seed),
                   f"the {args.samples:,} centroids of a k-means of the {len(train):,} training images "
                   f"({args.kmeans_iterations} Lloyd iterations from random images, seed {args.seed}; "
                   "scikit-learn)"),
    }
    unwritten = 0
    for name, (make, description) in makers.items():
        if args.only and name != args.only:
            continue
        start = time.perf_counter()
        samples = make()
        made = time.perf_counter() - start
        score = parzen_score(samples, val, test.x)
        record = {
            "experiment": "parzen",
            "recipe": name,
            "description": description,
            "seed": args.seed,
            "fast": False,
            "device": "cpu",
            "device_name": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d"),
            "parzen_samples": len(samples),
            "settings": {"n_train": len(train), "validation": len(val), "samples": args.samples,
                         **({"iterations": args.kmeans_iterations} if name == "kmeans" else {})},
            "wall_s": round(time.perf_counter() - start, 1),
            "make_seconds": round(made, 1),
            "partial": False,
            "final_parzen_ll": score.mean,
            "final_parzen_stderr": score.stderr,
            "final_sigma": score.sigma,
            "validation_curve": {"sigmas": score.bandwidth.sigmas, "mean_ll": score.bandwidth.validation_ll},
        }
        path = args.out / f"parzen-{name}-seed{args.seed}-cpu.json"
        written = save_record(path, record)  # if not, it is printed: the score is never lost
        unwritten += not written
        print(f"{name}: {score} ({record['wall_s']:.0f} s)" + (f"; wrote {path.name}" if written else ""),
              flush=True)
    return 1 if unwritten else 0


if __name__ == "__main__":
    sys.exit(main())
