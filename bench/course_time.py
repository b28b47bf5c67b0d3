"""Wall time and peak memory of every notebook, in fast mode and in default mode.

Default mode is run twice: first with an empty checkpoint cache (what a learner's first run
costs), then with the cache it left (a rerun). Each notebook runs in its own process with
``jupyter nbconvert --execute`` into a temporary copy, so the stored notebooks are not touched.
Peak memory is the largest resident set of that process tree (kernel included).

    python bench/course_time.py                     # fast, default (cold), default (warm)
    python bench/course_time.py --modes fast        # only the quick pass
    python bench/course_time.py --merge --notebooks notebooks/05_*.ipynb   # add/refresh rows

Writes ``bench/results/course-time.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
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
MEASURE = r"""
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
print(done.returncode, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
if done.returncode:  # say why, for the failure line
    sys.stderr.write(done.stderr.decode(errors="replace")[-4000:])
"""


def run_notebook(path: Path, env: dict, out_dir: Path) -> dict:
    cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
           "--ExecutePreprocessor.timeout=3600", "--output-dir", str(out_dir), str(path)]
    done = subprocess.run([sys.executable, "-c", MEASURE, *cmd], env=env, capture_output=True,
                          text=True, check=True)
    rc, wall, rss_kib = done.stdout.split()
    row = {"ok": rc == "0", "seconds": round(float(wall), 1), "peak_rss_mib": round(int(rss_kib) / 1024)}
    if not row["ok"]:
        text = re.sub(r"\x1b\[[0-9;]*m", "", done.stderr)  # the traceback's colours
        lines = [ln for ln in text.splitlines() if "Error" in ln] or text.splitlines()
        row["error"] = lines[-1:] or ["(no message)"]
    return row


def resolve_notebook(name: Path) -> Path:
    """A notebook path, or a name in notebooks/ with or without ``.ipynb``."""
    for candidate in (name, ROOT / "notebooks" / name, ROOT / "notebooks" / f"{name}.ipynb"):
        if candidate.is_file() and candidate.suffix == ".ipynb":
            return candidate.resolve()
    raise SystemExit(f"no notebook {str(name)!r}: give a path or a name from notebooks/, e.g. "
                     "03_adversarial_autoencoder")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["fast", "default-cold", "default-warm"],
                        choices=["fast", "default-cold", "default-warm"])
    parser.add_argument("--notebooks", nargs="*", type=Path,
                        default=sorted((ROOT / "notebooks").glob("*.ipynb")))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "course-time.json")
    parser.add_argument("--default-cache", type=Path, default=None,
                        help="checkpoint folder for default mode (default: a temporary one); it "
                             "must be empty for default-cold to measure a first run")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other notebooks' rows of an existing --out file and "
                             "replace only the notebooks measured now")
    args = parser.parse_args(argv)
    args.notebooks = [resolve_notebook(nb) for nb in args.notebooks]

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        default_cache = args.default_cache.resolve() if args.default_cache else tmp / "default-cache"
        caches = {"fast": tmp / "fast-cache", "default": default_cache}  # kernels run in notebooks/
        if "default-cold" in args.modes and caches["default"].exists() and any(
            caches["default"].glob("*.pt")
        ):
            parser.error(f"{caches['default']} already holds checkpoints; default-cold needs it empty")
        for mode in args.modes:
            # Downloads off: a cold run measures training, not the network.
            env = {**os.environ, "AAE_PROGRESS": "0", "AAE_PRETRAINED_URL": "off",
                   "AAE_FAST": "1" if mode == "fast" else "0",
                   "AAE_CHECKPOINT_DIR": str(caches["fast" if mode == "fast" else "default"])}
            results[mode] = {}
            for nb in args.notebooks:
                row = run_notebook(nb, env, tmp / "executed")
                results[mode][nb.name] = row
                print(f"{mode:13} {nb.name:38} {row['seconds']:7.1f} s {row['peak_rss_mib']:6d} MiB"
                      + ("" if row["ok"] else f"  FAILED: {row['error'][0]}"), flush=True)
    for mode, rows in results.items():
        total = sum(r["seconds"] for r in rows.values())
        print(f"{mode}: {total:.0f} s in all, peak {max(r['peak_rss_mib'] for r in rows.values())} MiB")
    failed = [f"{mode} {name}" for mode, rows in results.items() for name, r in rows.items()
              if not r["ok"]]
    if failed:  # a failed run has no meaningful time: keep the recorded file as it was
        print(f"not written: {len(failed)} run(s) failed ({', '.join(failed)}); {args.out} unchanged")
        return 1
    if args.merge and args.out.exists():
        old = json.loads(args.out.read_text())["results"]
        # Every mode of the recorded file stays; only the notebooks measured now are replaced.
        results = {mode: dict(sorted({**old.get(mode, {}), **results.get(mode, {})}.items()))
                   for mode in dict.fromkeys([*old, *results])}
    report = {
        "benchmark": "course_time", "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"), "results": results,
    }
    if not save_record(args.out, report):  # printed instead: the timings are not lost
        return 1
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
