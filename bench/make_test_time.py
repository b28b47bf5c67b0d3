"""How long README's ``make test`` takes from a fresh clone, and how many tests it runs.

Clones the current commit (``git clone`` of this checkout, so uncommitted changes are not
included) into a temporary folder and runs ``make test`` there, as CI does: creating the virtual
environment (from pip's cache where it has the packages), linting, the unit tests, every
notebook in fast mode. Writes ``bench/results/make-test.json`` (wall seconds, tests passed,
skipped and failed, the commit, the machine), which ``bench/report.py`` renders into bench/README.md.

    AAE_DATA_DIR=../shared/data python bench/make_test_time.py
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aae_utils.writes import save_record

ROOT = Path(__file__).resolve().parent.parent
SUMMARY = re.compile(r"=+ (?P<body>.*\d+ passed.*?) in [\d.]+s")


def count(summary: str, what: str) -> int:
    """The number before ``what`` in pytest's last line ("1939 passed, 2 skipped ...")."""
    found = re.search(rf"(\d+) {what}", summary)
    return int(found.group(1)) if found else 0


def main(argv=None) -> int:
    if not os.environ.get("AAE_DATA_DIR"):
        print("set AAE_DATA_DIR to a folder holding MNIST/raw/ (as for make test)", file=sys.stderr)
        return 2
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "course"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        print(f"make test in a fresh clone of {commit[:8]} ...", flush=True)
        start = time.perf_counter()
        done = subprocess.run(["make", "test"], cwd=clone, capture_output=True, text=True)
        wall = time.perf_counter() - start
    lines = (done.stdout + done.stderr).splitlines()
    summary = next((m.group("body") for line in reversed(lines) if (m := SUMMARY.search(line))), "")
    result = {
        "benchmark": "make_test", "commit": commit, "seconds": round(wall),
        "ok": done.returncode == 0, "summary": summary,
        "passed": count(summary, "passed"), "skipped": count(summary, "skipped"),
        "failed": count(summary, "failed"), "xfailed": count(summary, "xfailed"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"),
    }
    print(f"make test: {'ok' if result['ok'] else 'FAILED'} in {wall:.0f} s ({summary or 'no summary'})")
    if not result["ok"]:
        print("\n".join(lines[-40:]), file=sys.stderr)
        print("not recorded: a failed run has no meaningful time", file=sys.stderr)
        return 1
    out = ROOT / "bench" / "results" / "make-test.json"
    if not save_record(out, result):  # printed instead: the timing is not lost
        return 1
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
