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
    assert "Hint 1 of" in verdict.message


@pytest.mark.parametrize("name", NAMES)
def test_the_student_placeholder_is_not_done_yet(name):
    ex = REGISTRY[name]
    _, student = _your_turn_cell(CHECKED[name])
    assert MARKER not in student and "NotImplementedError" in student
    verdict = evaluate(name, _define(student, CHECKED[name]), **ex.demo())
    assert verdict.status == "not done", verdict.message
    assert "not done yet" in verdict.message


# --- hints that teach: the first miss never hands over the answer ---------------------------------


def _solution_lines(source: str) -> list[str]:
    """The code between the solution markers, each line without comments, ``return`` and an
    assignment's left-hand side, spaces removed: what a first hint must not hand over."""
    inside, found = False, []
    for line in source.splitlines():
        if MARKER in line or "### END SOLUTION" in line:
            inside = MARKER in line
            continue
        if inside:
            code = re.sub(r"^(return\s+|[A-Za-z_][\w, ]*=(?!=))", "", line.split("#", 1)[0].strip())
            code = re.sub(r"\s+", "", code)
            if len(code) >= 8 and not code.startswith(("withtorch.no_grad", "importtorch", "opt.")):
                found.append(code)
    return found


@pytest.mark.parametrize("name, wrong", [(n, w) for n in NAMES for w in REGISTRY[n].wrong])
def test_the_first_miss_names_the_idea_not_the_answer(name, wrong):
    ex = REGISTRY[name]
    message = evaluate(name, ex.wrong[wrong], **ex.demo()).message
    flat = re.sub(r"\s+", "", message)
    source, _ = _your_turn_cell(CHECKED[name])
    for line in _solution_lines(source):
        assert line not in flat, f"the first miss hands over {line!r}: {message}"
    assert ex.hints[-1] not in message and f"Hint 1 of {len(ex.hints)}: {ex.hints[0]}" in message
    assert f'hint("{name}")' in message  # and says where the next hint is
    if not ex.params:  # a question without inputs: its value is its answer
        value, said = ex.reference(), re.sub(r"(Hint 1 of|case 1 of) \d+|hint\(\"[^\"]*\"\)", "", message)
        for shown in {f"{value:.3g}", f"{value:.2f}"}:
            assert not re.search(rf"(?<![\d.]){re.escape(shown)}(?![\d])", said), message


@pytest.mark.parametrize("name", NAMES)
def test_hints_go_from_the_idea_to_the_step(name):
    ex = REGISTRY[name]
    source, _ = _your_turn_cell(CHECKED[name])
    assert len(ex.hints) >= 3
    flat_first = re.sub(r"\s+", "", ex.hints[0])
    for line in _solution_lines(source):
        assert line not in flat_first, f"the first hint holds the solution's {line!r}"


@pytest.mark.parametrize("name", NAMES)
def test_a_constant_or_a_letter_never_passes(name):
    ex = REGISTRY[name]
    for guess in (0, 1, 0.5, True, "a", "b", "c", None):
        verdict = evaluate(name, lambda *args, _g=guess, **kwargs: _g, **ex.demo())
        assert verdict.status != "correct", f"{name} accepts the constant {guess!r}"


# --- the cases the issue named (each was a wrong answer that passed) ------------------------------

NAMED_WRONG_ANSWERS = {
    "03.discriminator_phase": "codes computed with gradients (no torch.no_grad(): the encoder's "
                              "gradients are left dirty)",
    "06.categorical_discriminator_phase": "encoded with gradients (no torch.no_grad(): the encoder's "
                                          "gradients are left dirty)",
    "07.paper_cluster_labels": "the most confident image among the cluster's own members",
    "05.code_size_experiment": "the size of the gap, without its sign",
    "05.decoder_input": "a float32 one-hot, whatever z's dtype",
    "04.discriminator_condition": "integer rows (F.one_hot without .float())",
}


@pytest.mark.parametrize("name", sorted(NAMED_WRONG_ANSWERS))
def test_the_wrong_answers_the_review_found_are_catalogued(name):
    assert NAMED_WRONG_ANSWERS[name] in REGISTRY[name].wrong  # and so fail (the test above)
    assert "bool rows" in REGISTRY["04.discriminator_condition"].wrong


def test_codes_differ_cases_are_built_independently():
    """Case 5 ("another Gaussian-posterior AAE") once held the collapsed model of case 6, because
    building case 6 changed the shared model in place."""
    ex = REGISTRY["03.codes_differ"]
    cases = list(ex.cases(ex.demo()))
    assert "another Gaussian-posterior AAE" in cases[4].label and "shrunk" in cases[5].label
    assert ex.reference(*cases[4].build()) is True and ex.reference(*cases[5].build()) is False


PHASES = {"01.training_step", "03.discriminator_phase", "03.generator_phase",
          "06.categorical_discriminator_phase", "06.classification_phase"}


@pytest.mark.parametrize("name", sorted(PHASES))
def test_a_phase_is_checked_in_a_real_fit_run_and_by_the_state_it_leaves(name):
    ex = REGISTRY[name]
    cases = list(ex.cases(ex.demo()))
    assert any(c.through is not None for c in cases), "no case runs fit() with the learner's phase"
    assert all(c.after is not None for c in cases if c.through is None)


def test_every_phase_exercise_is_in_the_list():
    takes_opt = {n for n in NAMES if "opt" in REGISTRY[n].params}
    assert takes_opt == PHASES


# --- the student edition keeps every lesson -------------------------------------------------------

#: Exercises whose lesson goes beyond their code: a "What to notice" cell after the check, kept
#: in the student edition (the solution-tagged cells hold only the solution).
WITH_LESSONS = {"00.zero_fraction", "00.mean_distance", "01.loss_per_digit", "01.widest_digit",
                "01.count_params", "03.optimal_discriminator", "03.codes_differ", "04.mc_kl",
                "05.sq_length", "05.best_probe", "06.uniform_cross_entropy", "06.labelled_fraction",
                "07.labels_used", "07.largest_cluster", "07.majority_labels", "08.median_nearest",
                *(n for n in NAMES if n.endswith("experiment"))}


@pytest.mark.parametrize("name", sorted(WITH_LESSONS))
def test_the_student_edition_ends_the_exercise_with_its_lesson(name):
    path = next(p for p in NOTEBOOKS if p.name.startswith(name[:2]))
    cells = student_edition(nbformat.read(path, as_version=4)).cells
    at = next(i for i, c in enumerate(cells) if c.cell_type == "code" and f'check("{name}"' in c.source)
    following = []
    for cell in cells[at + 1:]:
        if 'raise NotImplementedError("Your turn' in cell.source or cell.source.startswith("#"):
            break  # the next exercise's "Your turn", or the next section
        following.append(cell)
    assert any(c.cell_type == "markdown" and c.source.startswith("**What to notice")
               for c in following), f"{name}: no lesson after its check in the student edition"


# --- a miss on the notebook's own data never prints the notebook's answer --------------------------


def _hidden_cases(name):
    ex = REGISTRY[name]
    return [c for c in ex.cases(ex.demo()) if not c.show_expected and c.args]


HIDING = [n for n in NAMES if _hidden_cases(n)]


def test_the_cases_on_the_notebooks_own_data_hide_their_answer():
    """A case on the learner's data computes what the next cell prints as the answer to the
    notebook's question (1,028 sevens, 80.9% background, the widest digit, ...)."""
    for name in ("00.count_digit", "00.zero_fraction", "01.widest_digit", "02.average_kl",
                 "06.labelled_fraction", "07.labels_used", "07.largest_cluster"):
        assert name in HIDING, f"{name}: its case on the notebook's data shows the right value"


@pytest.mark.parametrize("name, wrong", [(n, w) for n in HIDING for w in REGISTRY[n].wrong])
def test_a_miss_on_the_notebooks_own_data_keeps_its_answer(name, wrong):
    from aae_utils.checks import _call, as_number

    ex = REGISTRY[name]
    message = evaluate(name, ex.wrong[wrong], **ex.demo()).message
    for case in _hidden_cases(name):
        if f"({case.label})" not in message:
            continue
        assert not re.search(r"expected -?\d", message), message
        number = as_number(_call(ex.reference, case.build(), case)[0])
        if number is not None and len(shown := f"{number:.6g}") >= 3:
            assert not re.search(rf"(?<![\d.]){re.escape(shown)}(?!\d)", message), message


def test_a_later_made_up_case_that_fails_is_reported_with_its_right_value():
    """The first case is the learner's data (hidden); a made-up case failing too says more."""
    ex = REGISTRY["00.count_digit"]
    verdict = evaluate("00.count_digit", lambda labels, digit: int((labels == digit).sum()) + 1,
                       **ex.demo())
    assert verdict.status == "wrong" and "case 1 of" not in verdict.message
    assert re.search(r"expected \d+, got \d+", verdict.message), verdict.message
    mine = len(ex.demo()["labels"])  # wrong only on the question itself: the sevens of these labels
    only_mine = evaluate("00.count_digit", lambda labels, digit: int((labels == digit).sum())
                         + (len(labels) == mine and digit == 7), **ex.demo())
    assert only_mine.status == "wrong" and "the right value" in only_mine.message
    assert "expected" not in only_mine.message and "case 1 of" in only_mine.message
