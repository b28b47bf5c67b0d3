"""Regenerate README's generated sections from the JSON files in bench/results/.

    python bench/report.py    # rewrites the blocks between the speed and paper markers in README.md

- "Speed": ``speed-*.json`` (bench/speed.py) and ``course-time.json`` (bench/course_time.py);
- "Paper vs this course": ``reproduce-*.json`` (bench/reproduce.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- speed:start -->", "<!-- speed:end -->"
PAPER_START, PAPER_END = "<!-- paper:start -->", "<!-- paper:end -->"


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


def main() -> int:
    results = ROOT / "bench" / "results"
    block: list[str] = []
    for path in sorted(results.glob("speed-*.json")):
        block += speed_table(json.loads(path.read_text())) + [""]
    course = results / "course-time.json"
    if course.exists():
        block += course_table(json.loads(course.read_text())) + [""]
    readme = ROOT / "README.md"
    text = readme.read_text()
    sys.path.insert(0, str(ROOT))
    from aae_utils.reproduction import load_runs, paper_table

    paper = [
        "Test error in % on MNIST's 10,000 test images. Paper: Makhzani et al. (2015), Tables 2 "
        "and 3 (mean ± std over their runs). This course: one recorded run of `bench/reproduce.py` "
        "per row, with its length and device, and in bold the mean ± std (sample) of a setting's "
        "runs of one length; JSON in `bench/results/`.",
        "",
        *paper_table(load_runs(results)),
        "",
    ]
    for start, end, lines in ((START, END, block), (PAPER_START, PAPER_END, paper)):
        if start not in text or end not in text:
            print(f"README.md has no {start} ... {end} block", file=sys.stderr)
            return 1
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + start + "\n" + "\n".join(lines) + end + tail
    readme.write_text(text)
    print(f"updated the speed and paper sections of {readme.name}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
