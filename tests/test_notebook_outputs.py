"""The stored outputs (what GitHub and the site show) are clean: no machine paths, no warnings,
no progress-bar spam, no stale widget state, and every code cell was run in order."""

import json
import re

import pytest

from aae_utils.config import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
# Paths that would leak the machine a notebook was run on.
ABSOLUTE_PATH = re.compile(r"(/(?:home|Users|work|tmp|root|content|opt)/[\w.-]+|[A-Za-z]:\\\\[\w])")
PROGRESS_BAR = re.compile(r"\d+%\|.*\|\s*\d+/\d+|it/s\]")


def _texts(output: dict) -> list[str]:
    if output["output_type"] == "stream":
        return ["".join(output["text"])]
    if output["output_type"] == "error":
        return ["\n".join(output.get("traceback", []))]
    data = output.get("data", {})
    return ["".join(v) if isinstance(v, list) else v
            for k, v in data.items() if k.startswith("text/")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_clean(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in nb["metadata"], "stale widget state: rerun with `make course`"
    counts = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        counts.append(cell["execution_count"])
        for out in cell["outputs"]:
            where = f"{path.name}, cell {i}"
            assert out["output_type"] != "error", f"{where}: stored an error"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), (
                f"{where}: stderr output (a warning or a progress bar): "
                + "".join(out["text"])[:200]
            )
            for text in _texts(out):
                assert not ABSOLUTE_PATH.search(text), f"{where}: absolute path in {text[:200]!r}"
                assert "Warning" not in text, f"{where}: warning in {text[:200]!r}"
                assert not PROGRESS_BAR.search(text), f"{where}: progress bar in {text[:200]!r}"
    assert all(c is not None for c in counts), f"{path.name}: some code cells were not run"
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: cells not run top to bottom"


_MATH = re.compile(r"\$\$.*?\$\$|\$[^$]+?\$", re.S)
#: A line that markdown reads as a block of its own: a list item, a heading, a quote.
_BLOCK_START = re.compile(r"\n[ \t]*([-+*]|\d+[.)]|#+|>)[ \t]")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_equation_line_starts_a_markdown_block(path):
    """An equation broken before "+ x" or "- x" is a bullet to markdown: the page then shows raw
    TeX around a stray list item (notebook 03's exercise-1 solution did). Break after the sign."""
    for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        if cell["cell_type"] == "markdown":
            for math in _MATH.finditer("".join(cell["source"])):
                bad = _BLOCK_START.search(math.group(0))
                assert bad is None, (
                    f"{path.name} cell {i}: a line of {math.group(0)[:60]!r} starts with {bad[1]!r}")
