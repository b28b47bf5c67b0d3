"""What the engine was tried with and does not use, measured: torch.compile, bfloat16, threads.

bench/README.md's "Speed and memory" section says why the engine stays an eager float32 loop,
and CONTRIBUTING.md's "Reproducibility" section why a run's numbers depend on the number of CPU
threads. This script measures each of those statements on the machine it runs on and writes
``bench/results/alternatives-<device>.json``, which ``bench/report.py`` renders into bench/README.md:

- ``compile``: one epoch of the paper-size AAE (784-1000-1000-8, batch 100, Adam) with its
  encoder, decoder and discriminator wrapped in :func:`torch.compile`, against the same epoch
  eager, interleaved (``--repeats`` timings of each; the first compiled call, which compiles,
  is timed apart);
- ``bfloat16``: a 100x1000 by 1000x1000 matrix product in float32 and in bfloat16, then the
  same AAE epoch inside ``torch.autocast(..., dtype=torch.bfloat16)``, timed and with the
  reconstruction loss it ends at, beside the float32 run's;
- ``threads``: one epoch from the same seed on one thread, on one thread again, and on two, for
  the paper-size autoencoder and for notebook 06's semi-supervised AAE (``ssaae-1000-quick``):
  the reconstruction loss each ends at and the largest weight difference from the first run.
  The repeat must give zero (a run on a CPU is deterministic); where two threads do not, some
  operation summed its floats in another order.

    python bench/alternatives.py                     # all three, 3,000 images, 3 repeats
    python bench/alternatives.py --only threads --images 1000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import time
from pathlib import Path

import torch

from aae_utils.config import get_device
from aae_utils.data import load_mnist
from aae_utils.engine import fit
from aae_utils.models import build_model
from aae_utils.priors import GaussianPrior
from aae_utils.train_config import TrainConfig
from aae_utils.writes import save_record

PAPER = {"latent_dim": 8, "hidden": [1000, 1000]}
SECTIONS = ("compile", "bfloat16", "threads")


def _epoch(kind: str, data, *, compiled: bool = False, autocast: bool = False, seed: int = 0):
    """(seconds, history, model) of one epoch of a paper-size ``kind`` from seed ``seed``."""
    torch.manual_seed(seed)
    model = build_model(kind, **PAPER).to(data.x.device)
    if compiled:
        for name in ("encoder", "decoder", "discriminator"):
            if hasattr(model, name):
                setattr(model, name, torch.compile(getattr(model, name)))
    prior = GaussianPrior(8) if kind == "aae" else None
    context = (torch.autocast(data.x.device.type, dtype=torch.bfloat16) if autocast
               else contextlib.nullcontext())
    start = time.perf_counter()
    with context:
        history = fit(model, data, TrainConfig(epochs=1, seed=seed), prior=prior, progress=False)
    return time.perf_counter() - start, history, model


def measure_compile(data, repeats: int) -> dict:
    # One compiled call first: it pays for tracing and code generation, and later calls with the
    # same shapes reuse the result (measured apart, as "first call").
    first, _, _ = _epoch("aae", data, compiled=True)
    eager, compiled = [], []
    for _ in range(repeats):  # interleaved, so that a busy moment of the machine hits both
        eager.append(_epoch("aae", data)[0])
        compiled.append(_epoch("aae", data, compiled=True)[0])
    return {"model": "aae", "images": len(data), "first_compiled_epoch_s": round(first, 2),
            "eager_epoch_s": [round(t, 2) for t in eager],
            "compiled_epoch_s": [round(t, 2) for t in compiled]}


def _best_matmul_seconds(dtype, repeats: int, steps: int = 200) -> float:
    a, w = torch.randn(100, 1000, dtype=dtype), torch.randn(1000, 1000, dtype=dtype)
    torch.mm(a, w)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            torch.mm(a, w)
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def measure_bfloat16(data, repeats: int) -> dict:
    f32, bf16 = _best_matmul_seconds(torch.float32, repeats), _best_matmul_seconds(torch.bfloat16, repeats)
    plain_s, plain, _ = _epoch("aae", data)
    auto_s, auto, _ = _epoch("aae", data, autocast=True)
    return {"matmul": "100x1000 @ 1000x1000", "matmul_float32_s": f32, "matmul_bfloat16_s": bf16,
            "matmul_speedup": round(f32 / bf16, 2),
            "model": "aae", "images": len(data),
            "epoch_float32_s": round(plain_s, 2), "epoch_autocast_s": round(auto_s, 2),
            "epoch_speedup": round(plain_s / auto_s, 2),
            "recon_float32": round(plain["recon"][-1], 1), "recon_autocast": round(auto["recon"][-1], 1)}


def _ssaae_epoch(data, seed: int = 0):
    """One epoch of notebook 06's semi-supervised AAE (recipe ssaae-1000-quick) on ``data``."""
    from dataclasses import replace

    from aae_utils.recipes import recipe

    r = recipe("ssaae-1000-quick")
    # 100 labelled images per digit, as the recipe; fewer where ``data`` is too small for that.
    smallest = int(torch.bincount(data.y.cpu(), minlength=10).min())
    r = replace(r, labelled_per_class=min(r.labelled_per_class, smallest))
    torch.manual_seed(seed)
    model = build_model(**r.model).to(data.x.device)
    history = fit(model, data, replace(r.train, epochs=1, seed=seed), labels=r.labels_for(data),
                  progress=False)
    return history, model


def measure_threads(data) -> dict:
    before = torch.get_num_threads()
    out = {"images": len(data), "models": {}}
    try:
        for kind in ("ae", "ssaae"):
            runs = {}
            for label, threads in (("one thread", 1), ("one thread again", 1), ("two threads", 2)):
                torch.set_num_threads(threads)
                history, model = _ssaae_epoch(data) if kind == "ssaae" else _epoch(kind, data)[1:]
                runs[label] = (history["recon"][-1],
                               torch.cat([p.detach().flatten() for p in model.parameters()]))
            reference = runs["one thread"][1]
            out["models"][kind] = [
                {"run": label, "recon": repr(loss),
                 "max_weight_difference": float((w - reference).abs().max())}
                for label, (loss, w) in runs.items()]
    finally:
        torch.set_num_threads(before)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--images", type=int, default=3000, help="training images per epoch")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timings of each variant")
    parser.add_argument("--device", default="cpu", help="cpu (bfloat16 and threads are CPU questions)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    if args.images < 100 or args.images % 100:
        parser.error(f"--images must be a positive multiple of the batch size 100, got {args.images}")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    device = get_device(args.device)
    data = load_mnist(train=True, device=device, limit=args.images)
    path = args.out / f"alternatives-{device.type}.json"
    # Sections measured earlier are kept, so that one section can be re-measured on its own.
    result = json.loads(path.read_text()) if path.exists() else {}
    result.update({"benchmark": "alternatives", "device": str(device),
                   "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
                   "torch": torch.__version__, "python": platform.python_version()})
    for section in args.only:
        print(f"measuring {section} ...", flush=True)
        if section == "compile":
            value = measure_compile(data, args.repeats)
        elif section == "bfloat16":
            value = measure_bfloat16(data, args.repeats)
        else:
            value = measure_threads(data)
        result[section] = {**value, "date": time.strftime("%Y-%m-%d")}
        print(json.dumps(result[section], indent=1))
        # Written after each section, so that a run cut short keeps what it measured; if it
        # cannot be, the whole record is printed at the end instead.
        written = save_record(path, result, final=section == args.only[-1])
    if written:
        print(f"wrote {path}")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
