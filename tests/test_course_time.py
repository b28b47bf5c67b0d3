"""bench/course_time.py: measures real notebook runs and never records a failed one."""

import json
import re
import subprocess
import sys

import pytest

from aae_utils.config import REPO_ROOT

SCRIPT = REPO_ROOT / "bench" / "course_time.py"


def _notebook(path, source: str) -> None:
    path.write_text(json.dumps({
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                   "source": [source]}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }))


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), "--modes", "fast", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    d = tmp_path_factory.mktemp("nbs")
    _notebook(d / "ok.ipynb", "import time; time.sleep(0.2); print('ran')")
    _notebook(d / "broken.ipynb", "raise RuntimeError('boom')")
    return d


def test_records_time_and_memory(notebooks, tmp_path):
    out = tmp_path / "ct.json"
    done = _run("--notebooks", notebooks / "ok.ipynb", "--out", out)
    assert done.returncode == 0, done.stdout + done.stderr
    row = json.loads(out.read_text())["results"]["fast"]["ok.ipynb"]
    assert row["ok"] and row["seconds"] >= 0.2 and row["peak_rss_mib"] > 10


def test_failed_run_leaves_the_record_untouched(notebooks, tmp_path):
    out = tmp_path / "ct.json"
    out.write_text('{"recorded": "before"}\n')
    done = _run("--notebooks", notebooks / "ok.ipynb", notebooks / "broken.ipynb", "--out", out)
    assert done.returncode == 1
    assert "FAILED" in done.stdout and "boom" in done.stdout and "unchanged" in done.stdout
    assert out.read_text() == '{"recorded": "before"}\n'


def test_unknown_notebook_is_named():
    done = _run("--notebooks", "99_nothing")
    assert done.returncode != 0 and "no notebook '99_nothing'" in done.stderr


# What a header says a learner's first default-mode run costs, in minutes.
_FIRST_RUN = re.compile(r"Default mode: (?P<said>[^.(]*?) on a 2-core CPU the first time")
_SAID_MINUTES = {"about a minute": 1.0, "a little over a minute": 1.25}


def _said_minutes(said: str) -> float:
    if said in _SAID_MINUTES:
        return _SAID_MINUTES[said]
    number = re.fullmatch(r"about (\d+) minutes", said)
    assert number, f"unreadable run-time estimate {said!r}: write 'about N minutes'"
    return float(number.group(1))


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_header_run_time_matches_the_recorded_first_run(path):
    """The header's "about N minutes the first time" is within a factor 1.5 of the first run
    that bench/course_time.py recorded (default mode, empty checkpoint cache)."""
    header = "".join(json.loads(path.read_text())["cells"][0]["source"]).replace("\n", " ")
    said = _FIRST_RUN.search(header)
    if said is None:
        pytest.skip("no first-run estimate in the header")
    recorded = json.loads((REPO_ROOT / "bench" / "results" / "course-time.json").read_text())
    seconds = recorded["results"]["default-cold"][path.name]["seconds"]
    minutes = _said_minutes(said.group("said"))
    assert 1 / 1.5 <= minutes * 60 / seconds <= 1.5, (
        f"{path.name} says {said.group('said')!r} for a first run; bench/course_time.py recorded "
        f"{seconds:.0f} s ({recorded['date']}): correct the header or rerun the benchmark")


def test_merge_keeps_the_other_modes_and_notebooks(notebooks, tmp_path):
    out = tmp_path / "ct.json"
    out.write_text(json.dumps({"results": {
        "fast": {"old.ipynb": {"ok": True, "seconds": 1.0, "peak_rss_mib": 1}},
        "default-cold": {"old.ipynb": {"ok": True, "seconds": 9.0, "peak_rss_mib": 1}}}}))
    done = _run("--notebooks", notebooks / "ok.ipynb", "--out", out, "--merge")
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text())["results"]
    assert set(results["fast"]) == {"old.ipynb", "ok.ipynb"}
    assert results["default-cold"] == {"old.ipynb": {"ok": True, "seconds": 9.0, "peak_rss_mib": 1}}
