"""bench/course_time.py: measures real notebook runs and never records a failed one."""

import json
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
