"""The student edition (tools/editions.py, what `make student` writes) runs top to bottom in fast
mode, and every check in it says "not done yet": no error, no "correct", no "not quite".

Executed here with nbclient rather than nbval so that the verdicts can be read: nbval only
reports whether a cell raised.
"""

import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from aae_utils.config import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
from editions import SOLUTION_TAG, student_edition  # noqa: E402

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
CHECK = re.compile(r"^check\(", re.M)


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_committed_student_edition_is_in_step(path, tmp_path):
    """student/notebooks/ is what `make student` writes now (its badges open it, so it is committed)."""
    from editions import write_student_edition

    committed = REPO_ROOT / "student" / "notebooks" / path.name
    assert committed.exists(), "run `make student` and commit student/notebooks/"
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / path.name).write_bytes(path.read_bytes())
    fresh = write_student_edition(tmp_path / "student", folder)[0]
    assert fresh.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8"), (
        f"student/notebooks/{path.name} is out of step with notebooks/{path.name}: run `make student`")


def test_handed_out_assignments_open_the_student_edition():
    from editions import assignment_source

    from aae_utils import links

    path = REPO_ROOT / "notebooks" / "02_vae_kl.ipynb"
    title = assignment_source(nbformat.read(path, as_version=4), path.name).cells[0].source
    assert f"]({links.colab_url(path.name, 'student')})" in title
    assert f"]({links.colab_url(path.name)})" not in title


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_student_edition_hides_every_solution(path):
    nb = student_edition(nbformat.read(path, as_version=4))
    for cell in nb.cells:
        assert "BEGIN SOLUTION" not in cell.source and "END SOLUTION" not in cell.source
        assert SOLUTION_TAG not in cell.metadata.get("tags", [])
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_student_edition_runs_and_no_check_is_done(path, tmp_path, monkeypatch):
    monkeypatch.setenv("AAE_FAST", "1")
    monkeypatch.setenv("AAE_PROGRESS", "0")
    # The kernel is the python of this environment, whatever PATH says.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = student_edition(nbformat.read(path, as_version=4))
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()  # raises on any error
    checks = [c for c in nb.cells if c.cell_type == "code" and CHECK.search(c.source)]
    for cell in checks:
        out = _text(cell)
        assert "not done yet" in out, f"{path.name}: {cell.source[:80]!r} printed {out[:300]!r}"
        assert "] correct" not in out and "not quite" not in out, out[:300]
    # A cell that prints the answer to an exercise's own question shows only the note until the
    # learner's function passes (yours(..., withhold=True)): no answer before the learner's.
    for cell in (c for c in nb.cells if c.cell_type == "code" and "withhold=True" in c.source):
        out = _text(cell).strip()
        assert out.startswith("Your ") and out.endswith("this cell shows its answer once yours passes."), (
            f"{path.name}: {cell.source[:80]!r} printed {out[:300]!r}")
        assert "\n" not in out and not any(o.output_type != "stream" for o in cell.outputs)
