"""The checks themselves: each passes the notebook's own solution, fails every catalogued wrong
answer, and says "not done yet" to the student edition's placeholder.

The solution is taken from the instructor notebook (the "Your turn" cell, run on its own: such a
cell holds its imports and its function, nothing that needs the notebook's state); the student
placeholder is the same cell after nbgrader's ClearSolutions (tools/editions.py).
"""

import json
import re
import sys

import nbformat
import pytest

from aae_utils.checks import REGISTRY, evaluate, get_exercise
from aae_utils.config import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
from editions import student_edition  # noqa: E402

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
CHECK_CALL = re.compile(r"""\b(?:check|yours)\(\s*["'](\d\d\.\w+)["']\s*,\s*(\w+)""")
MARKER = "### BEGIN SOLUTION"


def _cells():
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code":
                yield path, i, "".join(cell["source"])


def _checked() -> dict[str, str]:
    """exercise name -> the function the notebook passes to its check."""
    found = {}
    for _, _, source in _cells():
        for name, fn in CHECK_CALL.findall(source):
            found.setdefault(name, fn)
    return found


CHECKED = _checked()
for _name in CHECKED:
    get_exercise(_name)  # import every notebook's exercise module
NUMBERS = {p.name[:2] for p in NOTEBOOKS}
NAMES = sorted(n for n in REGISTRY if n[:2] in NUMBERS)  # not the test-only exercises of test_checks


def _your_turn_cell(function: str) -> tuple[str, str]:
    """(instructor source, student source) of the solution cell that defines ``function``."""
    for _, _, source in _cells():
        if MARKER in source and re.search(rf"^def {function}\(", source, re.M):
            cell = {"cell_type": "code", "source": source, "id": "yourturn", "metadata": {},
                    "outputs": [], "execution_count": None}
            nb = nbformat.reads(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4,
                                            "nbformat_minor": 5}), as_version=4)
            return source, student_edition(nb).cells[0].source
    raise AssertionError(f"no cell with {MARKER!r} defines {function}()")


def _earlier_solutions(function: str) -> list[str]:
    """Instructor sources of the "Your turn" cells above the one that defines ``function``, in
    the same notebook: a later solution may call an earlier one (08's ``best_width`` scores
    with the learner's ``parzen_log_likelihood``), as it does when the notebook runs."""
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
        for i, source in enumerate(sources):
            if MARKER in source and re.search(rf"^def {function}\(", source, re.M):
                return [s for s in sources[:i] if MARKER in s]
    return []


def _define(source: str, function: str):
    namespace: dict = {}
    for earlier in _earlier_solutions(function):
        exec(compile(earlier, "<an earlier your-turn cell>", "exec"), namespace)  # noqa: S102
    exec(compile(source, f"<your turn: {function}>", "exec"), namespace)  # noqa: S102
    return namespace[function]


def test_every_exercise_is_checked_in_a_notebook_and_every_check_is_defined():
    assert set(CHECKED) == set(NAMES), (
        f"defined but not checked: {sorted(set(NAMES) - set(CHECKED))}; "
        f"checked but not defined: {sorted(set(CHECKED) - set(NAMES))}")


@pytest.mark.parametrize("name", NAMES)
def test_each_exercise_catalogues_at_least_two_wrong_answers(name):
    assert len(REGISTRY[name].wrong) >= 2


@pytest.mark.parametrize("name", NAMES)
def test_the_notebook_solution_passes(name):
    ex = REGISTRY[name]
    source, _ = _your_turn_cell(CHECKED[name])
    verdict = evaluate(name, _define(source, CHECKED[name]), **ex.demo())
    assert verdict.status == "correct", verdict.message


@pytest.mark.parametrize("name, wrong", [(n, w) for n in NAMES for w in REGISTRY[n].wrong])
def test_a_catalogued_wrong_answer_fails(name, wrong):
    ex = REGISTRY[name]
    verdict = evaluate(name, ex.wrong[wrong], **ex.demo())
    assert verdict.status == "wrong", f"{wrong!r} was judged {verdict.status}: {verdict.message}"
    assert "Hint:" in verdict.message


@pytest.mark.parametrize("name", NAMES)
def test_the_student_placeholder_is_not_done_yet(name):
    ex = REGISTRY[name]
    _, student = _your_turn_cell(CHECKED[name])
    assert MARKER not in student and "NotImplementedError" in student
    verdict = evaluate(name, _define(student, CHECKED[name]), **ex.demo())
    assert verdict.status == "not done", verdict.message
    assert "not done yet" in verdict.message
