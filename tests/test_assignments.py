"""`make assignments` (tools/editions.py): an nbgrader course folder that nbgrader itself accepts,
releases and grades. nbgrader's own `generate_assignment` runs on every notebook, and its
`autograde` on three submissions of notebook 00: the solutions (full points), the solutions with
one wrong answer (all but one point) and the blank release (no points)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from aae_utils.config import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
from editions import MARKER, has_exercises, write_assignments  # noqa: E402

#: The notebooks with exercises; notebook 09 (an appendix to read) has none and is not released.
NOTEBOOKS = [p for p in sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
             if has_exercises(nbformat.read(p, as_version=4))]
GRADED = "00_setup"


def _env() -> dict:
    # nbgrader runs alembic (its database migrations) by name: the environment's bin comes first
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "AAE_FAST": "1",
            "AAE_PROGRESS": "0", "MPLBACKEND": "Agg"}


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=_env(),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}\n"
                                  f"{done.stderr[-3000:]}")
    return done


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("course")
    write_assignments(folder)
    for path in NOTEBOOKS:
        _nbgrader(folder, "generate_assignment", path.stem, "--force")
    return folder


def _graded(nb) -> list:
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_nbgrader_releases_every_notebook_with_graded_checks(course, path):
    source = nbformat.read(course / "source" / path.stem / path.name, as_version=4)
    release = nbformat.read(course / "release" / path.stem / path.name, as_version=4)
    checks = [c for c in nbformat.read(path, as_version=4).cells
              if c.cell_type == "code" and c.source.lstrip().startswith(("check(", "from aae_utils.checks"))
              and "check(" in c.source]
    assert len(_graded(release)) == len(checks) > 0
    for cell in _graded(release):
        meta = cell.metadata["nbgrader"]
        assert meta["locked"] and meta["points"] == 1
        assert "grade(" in cell.source
        assert "HIDDEN TESTS" not in cell.source and "own_work(" not in cell.source
    assert all("own_work(" in c.source for c in _graded(source))  # hidden, in the grader's copy only
    for cell in release.cells:
        assert MARKER not in cell.source and "solution" not in cell.metadata.get("tags", [])
    assert sum('raise NotImplementedError("Your turn' in c.source for c in release.cells) == len(checks)


def _submission(course: Path, student: str, nb) -> None:
    folder = course / "submitted" / student / GRADED
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{GRADED}.ipynb")


def _solutions_in(release, source, *, wrong: dict[str, str] | None = None):
    """The release with every "Your turn" cell answered from the source (or ``wrong``)."""
    nb = nbformat.from_dict(release)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = (wrong or {}).get(grade_id, answers[grade_id])
    return nb


def test_autograde_gives_full_partial_and_no_points(course):
    from nbgrader.api import Gradebook

    source = nbformat.read(course / "source" / GRADED / f"{GRADED}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / GRADED / f"{GRADED}.ipynb", as_version=4)
    wrong = {"your-turn-1": 'def count_digit(labels, digit):\n    return len(labels)\n'}
    _submission(course, "solutions", _solutions_in(release, source))
    _submission(course, "one-wrong", _solutions_in(release, source, wrong=wrong))
    _submission(course, "blank", release)
    library = _solutions_in(release, source, wrong={  # the library's function handed in as one's own
        "your-turn-2": "from aae_utils.exercises.nb00 import _zero_fraction as zero_fraction\n"})
    _submission(course, "library", library)
    _nbgrader(course, "autograde", GRADED, "--create", "--force")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s: gb.find_submission(GRADED, s).score
                  for s in ("solutions", "one-wrong", "blank", "library")}
        max_score = gb.find_assignment(GRADED).max_score
    assert max_score == 3
    assert scores == {"solutions": 3, "one-wrong": 2, "blank": 0, "library": 2}, scores
    shutil.rmtree(course / "autograded", ignore_errors=True)


def test_a_notebook_without_exercises_is_not_released(tmp_path):
    written = {p.name for p in write_assignments(tmp_path)}
    assert "09_reproducing_the_paper.ipynb" not in written and "00_setup.ipynb" in written
    assert written == {p.name for p in NOTEBOOKS}
