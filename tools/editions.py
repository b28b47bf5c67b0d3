"""The course's other editions: ``make student`` and ``make assignments``.

    python tools/editions.py student [FOLDER]      # default folder: student/
    python tools/editions.py assignments [FOLDER]  # default folder: assignments/

The notebooks in ``notebooks/`` are the instructor edition: every "Your turn" cell holds its
solution between nbgrader's markers, ``### BEGIN SOLUTION`` and ``### END SOLUTION``, every check
sits alone in the cell after it (``check("02.reparameterise", reparameterise)``), and every
markdown cell that explains a solution carries the cell tag ``solution`` (what a learner must
read after an exercise sits in an untagged "What to notice" cell, which every edition keeps).
The editions are made with the tools those conventions belong to, not with our own text surgery.

**Student edition** (for self-learners; ``student/notebooks/``, committed so that its Colab and
Binder badges open it at :data:`aae_utils.links.REF`; a test fails while it is out of step):

- nbgrader's ``ClearSolutions`` replaces each marked region with a placeholder that raises
  ``NotImplementedError("Your turn: ...")`` (the checks report "not done yet", and the cells that
  use the learner's function fall back to the library's, so the notebook still runs through);
- nbconvert's ``TagRemovePreprocessor`` drops the cells tagged ``solution``;
- nbconvert's ``ClearOutputPreprocessor`` drops the stored outputs (they show the solutions'
  results).

**Assignments** (for lecturers who grade; ``assignments/``, ignored by git): an nbgrader course
folder, ``source/<notebook>/<notebook>.ipynb`` and ``nbgrader_config.py``. Every "Your turn" cell
is an nbgrader solution cell; every check cell is a graded, locked test cell worth one point that
asserts on the learner's own function (``grade(...)``, the check as an assertion, and a hidden
test, ``own_work(...)``, that the function was written in the notebook rather than taken from
the library); the solution-tagged cells are left out. Then, in that folder::

    nbgrader generate_assignment 02_vae_kl        # release/: what learners get
    nbgrader autograde 02_vae_kl --create         # submitted/<student>/02_vae_kl/*.ipynb
    nbgrader export                               # grades.csv

Autograding runs every notebook top to bottom: set ``AAE_FAST=1`` for the quick version, and
point ``AAE_DATA_DIR`` at MNIST.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor, TagRemovePreprocessor
from nbgrader.preprocessors import ClearSolutions

from aae_utils import links
from aae_utils.writes import atomic_write

REPO = Path(__file__).resolve().parents[1]
STUB = ('# YOUR CODE HERE\nraise NotImplementedError("Your turn: write this part, '
        'then run the check below.")')
SOLUTION_TAG = "solution"
MARKER = "### BEGIN SOLUTION"
#: A check cell: optional imports, then one check("NN.name", function, ...) call.
CHECK_CELL = re.compile(r'^(?P<imports>(?:from aae_utils\.checks import [^\n]+\n\n?)?)'
                        r'check\("(?P<name>\d\d\.\w+)", (?P<fn>\w+)(?P<rest>[^\n]*(?:\n[ \t]+[^\n]*)*)$')
#: What nbgrader needs in every edition it reads.
NBGRADER_CONFIG = f'''"""nbgrader's settings for the course's assignments (written by tools/editions.py)."""

c = get_config()  # noqa: F821 (nbgrader defines it)
c.CourseDirectory.course_id = "aae-course"
# The course's own placeholder: the checks say "not done yet" to it.
c.ClearSolutions.code_stub = {{"python": {STUB!r}}}
# Autograding runs whole notebooks; a training cell takes longer than nbgrader's 30 s default.
c.Execute.timeout = 1800
'''


def student_edition(nb: nbformat.NotebookNode, name: str | None = None) -> nbformat.NotebookNode:
    """The student edition of one instructor notebook (a new notebook; ``nb`` is unchanged).

    With ``name`` (the notebook's file name), its Colab badge opens the student edition
    (``student/notebooks/<name>`` at :data:`aae_utils.links.REF`), not the solutions."""
    nb = nbformat.from_dict(nb)  # a deep copy
    resources: dict = {}
    nb, resources = ClearSolutions(code_stub={"python": STUB}, enforce_metadata=False).preprocess(
        nb, resources)
    remove = TagRemovePreprocessor(remove_cell_tags={SOLUTION_TAG}, enabled=True)
    nb, resources = remove.preprocess(nb, resources)
    nb, resources = ClearOutputPreprocessor().preprocess(nb, resources)
    if name is not None:
        links.stamp_cells(nb.cells, name, edition="student")
    return nb


def _nbgrader(**fields) -> dict:
    return {"schema_version": 3, "task": False, **fields}


def assignment_source(nb: nbformat.NotebookNode, name: str | None = None) -> nbformat.NotebookNode:
    """One instructor notebook as an nbgrader source notebook (a new notebook). With ``name``
    (its file name), its Colab badge opens the student edition, not the solutions.

    Raises:
        ValueError: a solution cell without a check cell after it, or a check cell that holds
            more than the check (a graded cell must assert on the learner's function only).
    """
    nb = nbformat.from_dict(nb)
    nb, _ = ClearOutputPreprocessor().preprocess(nb, {})
    if name is not None:
        links.stamp_cells(nb.cells, name, edition="student")
    cells, solutions, checks = [], 0, set()
    for cell in nb.cells:
        if SOLUTION_TAG in cell.metadata.get("tags", []):
            continue  # the instructor's explanations stay out of every learner's copy
        if cell.cell_type == "code" and MARKER in cell.source:
            solutions += 1
            cell.metadata["nbgrader"] = _nbgrader(solution=True, grade=False, locked=False,
                                                  grade_id=f"your-turn-{solutions}")
        elif cell.cell_type == "code" and re.match(r"(from aae_utils\.checks import [^\n]+\n\n?)?check\(",
                                                   cell.source):
            found = CHECK_CELL.match(cell.source)
            if found is None:
                raise ValueError(f"a check cell must hold its check call only: {cell.source[:120]!r}")
            name, fn = found["name"], found["fn"]
            checks.add(name)
            imported = found["imports"].split("#", 1)[0].partition("import")[2]
            names = {"grade", "own_work"} | set(re.findall(r"\w+", imported))
            cell.source = (f"from aae_utils.checks import {', '.join(sorted(names))}\n\n"
                           f'grade("{name}", {fn}{found["rest"]}\n'
                           "### BEGIN HIDDEN TESTS\n"
                           f'own_work("{name}", {fn})\n'
                           "### END HIDDEN TESTS")
            cell.metadata["nbgrader"] = _nbgrader(solution=False, grade=True, locked=True, points=1,
                                                  grade_id=f"check-{name.replace('.', '-')}")
        cells.append(cell)
    if solutions != len(checks):
        raise ValueError(f"{solutions} solution cells but {len(checks)} check cells")
    nb.cells = cells
    return nb


def _write_notebook(path: Path, nb: nbformat.NotebookNode) -> None:
    text = nbformat.writes(nb)
    atomic_write(path, text if text.endswith("\n") else text + "\n")  # as nbformat.write


def write_student_edition(out: Path, notebooks: Path = REPO / "notebooks") -> list[Path]:
    """Write the student edition of every notebook in ``notebooks`` into ``out/notebooks``."""
    written = []
    for path in sorted(notebooks.glob("*.ipynb")):
        dest = out / "notebooks" / path.name
        _write_notebook(dest, student_edition(nbformat.read(path, as_version=4), path.name))
        written.append(dest)
    return written


def has_exercises(nb: nbformat.NotebookNode) -> bool:
    """Whether a notebook has a "Your turn" cell (notebook 09, an appendix to read, has none)."""
    return any(c.cell_type == "code" and MARKER in c.source for c in nb.cells)


def write_assignments(out: Path, notebooks: Path = REPO / "notebooks") -> list[Path]:
    """Write an nbgrader course folder: ``out/source/<stem>/<stem>.ipynb`` for every notebook
    with exercises (:func:`has_exercises`), and ``out/nbgrader_config.py``. Returns the
    notebooks written."""
    written = []
    for path in sorted(notebooks.glob("*.ipynb")):
        if not has_exercises(nbformat.read(path, as_version=4)):
            continue  # nothing to grade
        dest = out / "source" / path.stem / path.name
        _write_notebook(dest, assignment_source(nbformat.read(path, as_version=4), path.name))
        written.append(dest)
    atomic_write(out / "nbgrader_config.py", NBGRADER_CONFIG)
    return written


def _shown(folder: Path) -> Path:
    folder = folder.resolve()
    return folder.relative_to(REPO) if folder.is_relative_to(REPO) else folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the student edition or the nbgrader "
                                                 "assignments of the course's notebooks.")
    parser.add_argument("edition", choices=["student", "assignments"])
    parser.add_argument("folder", nargs="?", type=Path, default=None,
                        help="where to write (default: student/ or assignments/ in the repository)")
    args = parser.parse_args(argv)
    folder = args.folder or REPO / args.edition
    if args.edition == "student":
        written = write_student_edition(folder)
        print(f"student edition: {len(written)} notebooks in {_shown(folder) / 'notebooks'}")
    else:
        written = write_assignments(folder)
        print(f"assignments: {len(written)} notebooks in {_shown(folder) / 'source'}; in "
              f"{_shown(folder)}: nbgrader generate_assignment <name>, then nbgrader autograde "
              "<name> --create (AAE_FAST=1 for the quick run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
