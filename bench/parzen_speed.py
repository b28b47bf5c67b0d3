"""Time and memory of the Parzen-window estimator at Table 1's size (``aae_utils.parzen``).

    python bench/parzen_speed.py

Scores 10,000 random 784-D points against 10,000 samples at one width, then chooses the width
among 31 on the same pairs (what ``choose_sigma`` does with a 10,000-image validation set), in
a fresh process so that its peak memory is the estimator's alone. Writes
``bench/results/timing-parzen-cpu.json``; bench/README.md's speed section shows it. The goal (issue 19):
seconds, and under 2 GB beyond the inputs.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aae_utils.parzen import DEFAULT_SIGMAS, choose_sigma, log_likelihood  # noqa: E402
from aae_utils.writes import save_record  # noqa: E402


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> int:
    n, dim = 10_000, 784
    gen = torch.Generator().manual_seed(0)
    x, samples = torch.rand(n, dim, generator=gen), torch.rand(n, dim, generator=gen)
    log_likelihood(x[:10], samples[:10], 0.2)  # load the kernels before measuring memory
    before = _peak_mib()
    start = time.perf_counter()
    log_likelihood(x, samples, 0.2)
    one = time.perf_counter() - start
    start = time.perf_counter()
    choose_sigma(x, samples, DEFAULT_SIGMAS)
    grid = time.perf_counter() - start
    record = {
        "pairs": n * n, "dimensions": dim, "widths_in_grid": len(DEFAULT_SIGMAS),
        "seconds_one_width": round(one, 2), "seconds_width_grid": round(grid, 2),
        "peak_extra_mib": round(_peak_mib() - before, 1),
        "inputs_mib": round(2 * n * dim * 4 / 2**20, 1),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
    }
    out = ROOT / "bench" / "results" / "timing-parzen-cpu.json"
    written = save_record(out, record, show=False)
    print(json.dumps(record, indent=1))
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
