"""The generated parts of the instructors' page (``site/instructors.md``).

    python tools/instructors.py           # rewrite the blocks between the page's markers
    python tools/instructors.py --check   # exit 1 if a block is out of date

Two blocks come from the course itself, so that the page cannot drift from it:

- ``time``: minutes per notebook from the recorded ``bench/results/course-time.json``
  (``python bench/course_time.py`` measures them), in fast mode, a first default-mode run (it
  trains every model) and a rerun from the cached models;
- ``exercises``: every checked exercise (``aae_utils.exercises``): what the learner writes, how
  many catalogued wrong answers its check is tested to refuse, and three of them.

``tests/test_instructors.py`` fails while a block is out of date.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "site" / "instructors.md"
COURSE_TIME = REPO / "bench" / "results" / "course-time.json"
MODES = {"fast": "fast mode", "default-cold": "first run (trains)", "default-warm": "rerun (cached)"}


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def time_block(record: dict) -> list[str]:
    """Minutes per notebook in each recorded mode, and the whole course."""
    results = record["results"]
    missing = [m for m in MODES if m not in results]
    if missing:
        raise ValueError(f"{COURSE_TIME.name} has no {missing} results; run python bench/course_time.py")
    names = sorted(results["default-cold"])
    lines = [
        f"Minutes per notebook, measured by `python bench/course_time.py` on {record['machine']} "
        f"(CPU), {record['date']}:",
        "",
        "| notebook | " + " | ".join(MODES.values()) + " |",
        "|---|" + "---:|" * len(MODES),
    ]
    for name in names:
        cells = [_minutes(results[m][name]["seconds"]) if name in results[m] else "" for m in MODES]
        lines.append(f"| {name.removesuffix('.ipynb')} | " + " | ".join(cells) + " |")
    totals = [_minutes(sum(r["seconds"] for r in results[m].values())) for m in MODES]
    lines.append("| **all** | " + " | ".join(f"**{t}**" for t in totals) + " |")
    return lines


def _registry() -> dict:
    from aae_utils.checks import REGISTRY

    numbers = sorted({p.stem[2:] for p in (REPO / "aae_utils" / "exercises").glob("nb*.py")})
    for number in numbers:
        importlib.import_module(f"aae_utils.exercises.nb{number}")
    # Only the notebooks' exercises: tests register made-up ones ("99.double") in the same registry.
    return {name: ex for name, ex in REGISTRY.items() if name[:2] in numbers}


def exercise_block() -> list[str]:
    """One row per checked exercise, in course order."""
    exercises = _registry()
    lines = [
        f"{len(exercises)} checked exercises. Each check compares the learner's function with a "
        "reference in `aae_utils/exercises/` on several cases. *Refused* counts the plausible "
        "wrong answers `tests/test_exercises.py` feeds the check, each of which must fail.",
        "",
        "| exercise | refused | for example |",
        "|---|---:|---|",
    ]
    for name in sorted(exercises):
        ex = exercises[name]
        examples = "; ".join(list(ex.wrong)[:3]).replace("|", "/")
        lines.append(f"| `{name}` | {len(ex.wrong)} | {examples} |")
    return lines


def own_run_block(records: list[dict]) -> list[str]:
    """How long a full-length run of ``bench/reproduce.py`` took, from its finished one-thread
    records: for each experiment, the range of wall times at its most recorded length."""
    names = {"cluster": "clustering", "semi": "semi-supervised"}
    spans = []
    for experiment, name in names.items():
        groups: dict[int, list[float]] = {}
        for r in records:
            if r.get("experiment") == experiment and not r.get("partial") and r.get("threads") == 1:
                groups.setdefault(r["epochs"], []).append(r["wall_s"] / 60)
        if groups:
            epochs = max(groups, key=lambda e: (len(groups[e]), e))
            low, high = min(groups[epochs]), max(groups[epochs])
            spans.append((name, epochs, f"{low:.0f} to {high:.0f} minutes"))
    if not spans:
        raise ValueError("no finished one-thread run in bench/results; run python bench/reproduce.py")
    (name, epochs, span), *rest = spans
    text = f"on one CPU core a recorded {name} run of {epochs} epochs took {span}"
    text += "".join(f", a {n} run of {e} epochs {s}" for n, e, s in rest)
    return [f"A student's own full-length run (notebook 09, `bench/reproduce.py`) is not a lab's "
            f"work: {text}. Start it at the beginning of lab 9, or on a GPU."]


def blocks() -> dict[str, list[str]]:
    records = [json.loads(p.read_text()) for p in sorted(COURSE_TIME.parent.glob("reproduce-*.json"))]
    return {"time": time_block(json.loads(COURSE_TIME.read_text())), "exercises": exercise_block(),
            "own-run": own_run_block(records)}


def render(text: str, generated: dict[str, list[str]]) -> str:
    """``text`` with each ``<!-- name:start -->`` ... ``<!-- name:end -->`` block replaced."""
    for name, lines in generated.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"{PAGE.name} has no <!-- {name}:start --> / <!-- {name}:end --> markers")
        body = "\n".join(lines) + "\n"
        text = pattern.sub(lambda m, body=body: m.group(1) + body + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report (exit 1 when out of date)")
    args = parser.parse_args(argv)
    old = PAGE.read_text(encoding="utf-8")
    new = render(old, blocks())
    if args.check:
        print("site/instructors.md is " + ("up to date" if new == old else "out of date: run "
                                          "python tools/instructors.py"))
        return 0 if new == old else 1
    if new != old:
        from aae_utils.writes import atomic_write

        atomic_write(PAGE, new)
        print("rewrote the generated blocks of site/instructors.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
