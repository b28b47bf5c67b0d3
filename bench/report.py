"""Regenerate bench/README.md's generated sections from the JSON files in bench/results/.

    python bench/report.py    # rewrites the blocks between the speed, tried, paper and parzen markers

- "Speed": ``speed-*.json`` (bench/speed.py), ``course-time.json`` (bench/course_time.py) and
  ``make-test.json`` (bench/make_test_time.py);
- "Tried and left out": ``alternatives-*.json`` (bench/alternatives.py);
- "Paper vs this course": ``reproduce-*.json`` (bench/reproduce.py);
- "Table 1": ``parzen-*.json`` (bench/reproduce.py parzen, bench/parzen_baselines.py).

It also refreshes ``aae_utils/recorded/``, the copies of the run records that travel with the
package (``aae_utils.reproduction.sync_recorded``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aae_utils.writes import atomic_write

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- speed:start -->", "<!-- speed:end -->"
PAPER_START, PAPER_END = "<!-- paper:start -->", "<!-- paper:end -->"
TRIED_START, TRIED_END = "<!-- tried:start -->", "<!-- tried:end -->"
PARZEN_START, PARZEN_END = "<!-- parzen:start -->", "<!-- parzen:end -->"


def speed_table(result: dict) -> list[str]:
    lines = [
        f"Seconds per MNIST epoch at the paper's size (784-1000-1000-8, batch 100, Adam) on "
        f"{result['device_name']} (`{result['device']}`), torch {result['torch']}, "
        f"{result['date']}; timed on {result['images_timed']:,} images and scaled to 60,000 "
        "(`python bench/speed.py`):",
        "",
        "| model | engine | textbook loop | matmul bound | engine vs textbook | share of bound "
        "| best possible vs textbook |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["results"]:
        lines.append(
            f"| {r['model'].upper()} | {r['engine_s_per_epoch']:.1f} s | "
            f"{r['textbook_s_per_epoch']:.1f} s | {r['bound_s_per_epoch']:.1f} s | "
            f"{r['speedup_vs_textbook']:.2f}x | {r['fraction_of_bound']:.0%} | {r['speedup_at_bound']:.2f}x |"
        )
    lines += [
        "",
        "\"Best possible\" is textbook loop / matmul bound: what an engine doing the same matrix "
        "products in float32 would gain if it ran at 100% of the bound. Where it is close to 2, "
        "a 2x gain over the textbook loop would leave no room for any work besides the matrix "
        "products (activations, losses, optimiser steps, drawing prior samples).",
    ]
    return lines


def course_table(result: dict) -> list[str]:
    modes = list(result["results"])
    names = list(next(iter(result["results"].values())))
    lines = [
        f"Each notebook executed by `python bench/course_time.py` on {result['machine']}, "
        f"{result['date']} (seconds, peak resident memory of the kernel's process tree):",
        "",
        "| notebook | " + " | ".join(modes) + " |",
        "|---|" + "---|" * len(modes),
    ]
    for name in names:
        cells = []
        for mode in modes:
            r = result["results"][mode].get(name)
            cells.append("" if r is None else f"{r['seconds']:.0f} s, {r['peak_rss_mib']} MiB"
                         + ("" if r["ok"] else " (failed)"))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    totals = [f"{sum(r['seconds'] for r in result['results'][m].values()):.0f} s" for m in modes]
    lines.append("| **all** | " + " | ".join(totals) + " |")
    return lines


def _span(values, unit: str = " s") -> str:
    low, high = min(values), max(values)
    return f"{low:.2f}{unit}" if low == high else f"{low:.2f}-{high:.2f}{unit}"


def alternatives_table(result: dict) -> list[str]:
    """What ``bench/alternatives.py`` measured: torch.compile, bfloat16, thread counts."""
    lines = [
        f"Measured by `python bench/alternatives.py` on {result['machine']} (`{result['device']}`), "
        f"torch {result['torch']}:",
        "",
        "| tried | measured | date |",
        "|---|---|---|",
    ]
    if "compile" in result:
        c = result["compile"]
        lines.append(
            f"| `torch.compile` of the AAE's encoder, decoder and discriminator (paper size, "
            f"{c['images']:,} images) | first epoch {c['first_compiled_epoch_s']:.1f} s (compiling), "
            f"then {_span(c['compiled_epoch_s'])} per epoch against {_span(c['eager_epoch_s'])} eager "
            f"({len(c['eager_epoch_s'])} interleaved timings each) | {c['date']} |")
    if "bfloat16" in result:
        b = result["bfloat16"]
        lines += [
            f"| bfloat16 instead of float32 for one {b['matmul']} product | "
            f"{b['matmul_speedup']:.1f}x faster (best of the timings) | {b['date']} |",
            f"| `torch.autocast` to bfloat16 around a whole `fit` (AAE, paper size, {b['images']:,} "
            f"images, one epoch) | {b['epoch_speedup']:.1f}x faster; reconstruction loss "
            f"{b['recon_autocast']:.1f} nats against {b['recon_float32']:.1f} in float32 | {b['date']} |",
        ]
    if "threads" in result:
        t = result["threads"]
        names = {"ae": "autoencoder (paper size)", "ssaae": "semi-supervised AAE (`ssaae-1000-quick`)"}
        for kind, runs in t["models"].items():
            diff = {r["run"]: r["max_weight_difference"] for r in runs}
            lines.append(
                f"| one epoch of the {names.get(kind, kind)} on {t['images']:,} images from the same "
                f"seed, on one thread twice and on two threads | largest weight difference from the "
                f"first run: {diff['one thread again']:.1e} (repeat), {diff['two threads']:.1e} "
                f"(two threads) | {t['date']} |")
    return lines


def generated_blocks(results: Path) -> dict[tuple[str, str], list[str]]:
    """bench/README.md's generated blocks, by their (start, end) markers, rendered from ``results``."""
    speed: list[str] = []
    for path in sorted(results.glob("speed-*.json")):
        speed += speed_table(json.loads(path.read_text())) + [""]
    course = results / "course-time.json"
    if course.exists():
        speed += course_table(json.loads(course.read_text())) + [""]
    parzen_timing = results / "timing-parzen-cpu.json"
    if parzen_timing.exists():
        t = json.loads(parzen_timing.read_text())
        speed += [f"Parzen-window estimator (`aae_utils.parzen`, `python bench/parzen_speed.py`, "
                  f"{t['machine']}, {t['threads']} threads, {t['date']}): {t['pairs']:,} pairs at "
                  f"{t['dimensions']} dimensions in {t['seconds_one_width']} s at one width, "
                  f"{t['seconds_width_grid']} s for the grid of {t['widths_in_grid']} widths; peak memory "
                  f"{t['peak_extra_mib']:.0f} MiB above the {t['inputs_mib']:.0f} MiB of inputs "
                  "(goal: seconds, under 2 GB).", ""]
    make_test = results / "make-test.json"
    if make_test.exists():
        m = json.loads(make_test.read_text())
        speed += [f"`make test` from a fresh clone of commit {m['commit'][:8]} "
                  f"(`python bench/make_test_time.py`, {m['machine']}, {m['date']}): {m['seconds']} s, "
                  "creating the virtual environment from pip's cache included; "
                  f"{m['passed']:,} tests passed, {m['skipped']} skipped.", ""]
    tried: list[str] = []
    for path in sorted(results.glob("alternatives-*.json")):
        tried += alternatives_table(json.loads(path.read_text())) + [""]
    sys.path.insert(0, str(ROOT))
    from aae_utils.reproduction import load_parzen, load_runs, paper_table, parzen_table

    paper = [
        "Test error in % on MNIST's 10,000 test images. Paper: Makhzani et al. (2015), Tables 2 "
        "and 3 (mean ± std over their runs). This course: one recorded run of `bench/reproduce.py` "
        "per row, with its length and device, and in bold the mean ± std (sample) of a setting's "
        "runs of one length; JSON in `bench/results/`. The paper's length is as reimplementations "
        "quote it (`aae_utils.reproduction.PAPER_EPOCHS`), not checked against the paper's text; "
        "our runs are far shorter because one paper-length semi-supervised run would take days on "
        "this course's two CPU cores.",
        "",
        *paper_table(load_runs(results)),
        "",
    ]
    parzen = [
        "Log-likelihood in nats of MNIST's 10,000 test images under a Parzen window on 10,000 "
        "samples of each model, its width chosen on the last 10,000 training images; mean ± "
        "standard error over the test images. Paper: Makhzani et al. (2015), Table 1. This course: "
        "`bench/reproduce.py parzen` (a model) or `bench/parzen_baselines.py` (samples that are "
        "training images or their k-means centroids); JSON in `bench/results/`. Notebook 08 explains "
        "why the last two rows make this metric hard to trust (Theis et al., 2016).",
        "",
        *parzen_table(load_parzen(results)),
        "",
    ]
    return {(START, END): speed, (TRIED_START, TRIED_END): tried, (PAPER_START, PAPER_END): paper,
            (PARZEN_START, PARZEN_END): parzen}


#: The page whose generated blocks this script writes.
PAGE = ROOT / "bench" / "README.md"


def main() -> int:
    readme = PAGE
    text = readme.read_text()
    for (start, end), lines in generated_blocks(ROOT / "bench" / "results").items():
        if start not in text or end not in text:
            print(f"bench/README.md has no {start} ... {end} block", file=sys.stderr)
            return 1
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + start + "\n" + "\n".join(lines) + end + tail
    atomic_write(readme, text)
    print("updated the generated sections of bench/README.md")
    from aae_utils.reproduction import PACKAGED, sync_recorded

    changed = sync_recorded(ROOT / "bench" / "results")
    if changed:
        print(f"refreshed {len(changed)} run record(s) in aae_utils/{PACKAGED.name}/ (the copies "
              "that travel with the package)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
