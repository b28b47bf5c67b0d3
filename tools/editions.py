"""The student edition of the course: ``make student`` (``python tools/editions.py [FOLDER]``).

The notebooks in ``notebooks/`` are the instructor edition: every "Your turn" cell holds its
solution between nbgrader's markers, ``### BEGIN SOLUTION`` and ``### END SOLUTION``, and every
markdown cell that explains a solution carries the cell tag ``solution``. The student edition is
made with the tools those conventions belong to, not with our own text surgery:

- nbgrader's ``ClearSolutions`` replaces each marked region with a placeholder that raises
  ``NotImplementedError("Your turn: ...")`` (the checks report "not done yet", and the cells that
  use the learner's function fall back to the library's, so the notebook still runs through);
- nbconvert's ``TagRemovePreprocessor`` drops the cells tagged ``solution``;
- nbconvert's ``ClearOutputPreprocessor`` drops the stored outputs (they show the solutions'
  results).

Lecturers hand out the folder this writes (``student/`` by default, ignored by git).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor, TagRemovePreprocessor
from nbgrader.preprocessors import ClearSolutions

from aae_utils.writes import atomic_write

REPO = Path(__file__).resolve().parents[1]
STUB = ('# YOUR CODE HERE\nraise NotImplementedError("Your turn: write this part, '
        'then run the check below.")')
SOLUTION_TAG = "solution"


def student_edition(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student edition of one instructor notebook (a new notebook; ``nb`` is unchanged)."""
    nb = nbformat.from_dict(nb)  # a deep copy
    resources: dict = {}
    nb, resources = ClearSolutions(code_stub={"python": STUB}, enforce_metadata=False).preprocess(
        nb, resources)
    remove = TagRemovePreprocessor(remove_cell_tags={SOLUTION_TAG}, enabled=True)
    nb, resources = remove.preprocess(nb, resources)
    nb, resources = ClearOutputPreprocessor().preprocess(nb, resources)
    return nb


def write_student_edition(out: Path, notebooks: Path = REPO / "notebooks") -> list[Path]:
    """Write the student edition of every notebook in ``notebooks`` into ``out/notebooks``."""
    target = out / "notebooks"
    written = []
    for path in sorted(notebooks.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        dest = target / path.name
        text = nbformat.writes(student_edition(nb))
        atomic_write(dest, text if text.endswith("\n") else text + "\n")  # as nbformat.write
        written.append(dest)
    return written


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "student"
    written = write_student_edition(folder)
    shown = folder.resolve().relative_to(REPO) if folder.resolve().is_relative_to(REPO) else folder
    print(f"student edition: {len(written)} notebooks in {shown / 'notebooks'}")
