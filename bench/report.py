"""Regenerate README's "Speed" section from the JSON files in bench/results/.

    python bench/report.py          # rewrites the block between the speed markers in README.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- speed:start -->", "<!-- speed:end -->"


def speed_table(result: dict) -> list[str]:
    lines = [
        f"Seconds per MNIST epoch at the paper's size (784-1000-1000-8, batch 100, Adam) on "
        f"{result['device_name']} (`{result['device']}`), torch {result['torch']}, "
        f"{result['date']}; timed on {result['images_timed']:,} images and scaled to 60,000 "
        "(`python bench/speed.py`):",
        "",
        "| model | engine | textbook loop | matmul bound | engine vs textbook | share of bound |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["results"]:
        lines.append(
            f"| {r['model'].upper()} | {r['engine_s_per_epoch']:.1f} s | "
            f"{r['textbook_s_per_epoch']:.1f} s | {r['bound_s_per_epoch']:.1f} s | "
            f"{r['speedup_vs_textbook']:.2f}x | {r['fraction_of_bound']:.0%} |"
        )
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
    if START not in text or END not in text:
        print(f"README.md has no {START} ... {END} block", file=sys.stderr)
        return 1
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + START + "\n" + "\n".join(block) + END + tail)
    print(f"updated the speed section of {readme.name} from {len(block)} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
