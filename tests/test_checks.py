"""The rules every check applies to an answer: numbers of any numeric type but never a bool,
truth values only as bools, tensors by shape and value, text by its words."""

import math

import numpy as np
import pytest
import torch

from aae_utils.checks import Case, answer_is_correct, as_number, choice_of, evaluate, exercise


@pytest.mark.parametrize("answer", [1028, 1028.0, np.int64(1028), np.int32(1028), np.float32(1028),
                                    np.float64(1028), torch.tensor(1028), torch.tensor(1028.0),
                                    np.array(1028)])
def test_a_right_number_passes_in_any_numeric_type(answer):
    assert answer_is_correct(answer, 1028)


@pytest.mark.parametrize("answer", [True, np.bool_(True), torch.tensor(True), torch.tensor([1.0]),
                                    np.array([1.0]), "1", [1.0]])
def test_a_bool_or_a_vector_is_not_a_number(answer):
    assert not answer_is_correct(answer, 1.0)
    if not isinstance(answer, (list, str)) and getattr(answer, "ndim", 0) == 0:
        assert as_number(answer) is None


@pytest.mark.parametrize("answer", [1, 1.0, 0, np.int64(1), torch.tensor(1.0), "True"])
def test_a_number_is_not_a_truth_value(answer):
    assert not answer_is_correct(answer, True)
    assert not answer_is_correct(answer, False)


@pytest.mark.parametrize("answer", [True, np.bool_(True), torch.tensor(True)])
def test_a_truth_value_passes_as_any_bool(answer):
    assert answer_is_correct(answer, True) and not answer_is_correct(answer, False)


def test_tolerances_are_the_checks():
    assert answer_is_correct(2.3, math.log(10), rel=0, abs=0.001) is False  # asked to 3 decimals
    assert answer_is_correct(2.3, math.log(10), rel=0, abs=0.005)  # asked to 2 decimals
    assert not answer_is_correct(3.9, 4.0)
    assert answer_is_correct(torch.ones(2), torch.ones(2))
    assert not answer_is_correct(torch.ones(3), torch.ones(2))
    assert not answer_is_correct(None, 4) and not answer_is_correct(..., 4)


OPTIONS = {"a": "reconstruction", "b": ["regularisation", "regularization"], "c": "classification"}


@pytest.mark.parametrize("said, key", [
    ("c", "c"), ("C", "c"), ("(c)", "c"), ("c)", "c"), (" c. ", "c"), ("classification", "c"),
    ("Classification", "c"), ("the classification phase", "c"), ("(c) classification", "c"),
    ("regularization", "b"), ("Reconstruction!", "a"),
])
def test_text_answers_are_normalised(said, key):
    assert choice_of(said, OPTIONS) == key


@pytest.mark.parametrize("said", ["d", "classify", "a c", "", 3, None])
def test_text_that_names_no_option_is_refused(said):
    assert choice_of(said, OPTIONS) is None


@exercise("99.double", "double(x)", reference=lambda x: 2 * x, hint="multiply by two",
          wrong={"plus two": lambda x: x + 2, "square": lambda x: x * x})
def _double_cases(context):
    yield Case(args=(torch.tensor([2.0]),), label="x = 2, where x + 2 = 2x", grads=(0,))
    yield Case(args=(torch.ones(4, 3),), label="(4, 3)", grads=(0,))


def test_a_check_reports_the_first_mismatch_with_its_case_and_hint():
    v = evaluate("99.double", lambda x: x + 2)  # right value at x = 2, caught by its gradient
    assert v.status == "wrong" and "case 1 of 2 (x = 2, where x + 2 = 2x), the gradient differs" in v.message
    assert "Hint: multiply by two" in v.message
    v = evaluate("99.double", lambda x: 2 * x if x.numel() == 1 else x + 2)
    assert "case 2 of 2 ((4, 3)), values differ" in v.message


def test_a_check_compares_gradients():
    v = evaluate("99.double", lambda x: (2 * x).detach())
    assert v.status == "wrong" and "no gradient flows back" in v.message


def test_a_placeholder_is_not_done_and_a_crash_is_reported_not_raised():
    def placeholder(x):
        raise NotImplementedError("Your turn")

    assert evaluate("99.double", placeholder).status == "not done"
    crash = evaluate("99.double", lambda x: x.nonexistent)
    assert crash.status == "wrong" and "AttributeError" in crash.message
    assert evaluate("99.double", 4.0).status == "wrong"  # a value where a function is asked for
    assert evaluate("99.double", lambda x: 2 * x).passed


@exercise("99.phase", "phase(x)", reference=lambda x: (x * 2).sum(), hint="a 0-d tensor",
          tensors=True, wrong={"a float": lambda x: float((x * 2).sum()), "off": lambda x: x.sum()})
def _phase_cases(context):
    yield Case(args=(torch.ones(3),))


def test_a_training_phase_must_return_tensors_but_a_question_may_return_numbers():
    assert "expected a 0-d tensor" in evaluate("99.phase", lambda x: float((x * 2).sum())).message
    assert evaluate("99.phase", lambda x: (x * 2).sum()).passed
    assert evaluate("99.double", lambda x: 2 * x).passed
    assert answer_is_correct(6.0, torch.tensor(6.0))


@pytest.mark.parametrize("name, runs, says", [
    ("02.beta_experiment", None, "the check needs runs="),
    ("02.beta_experiment", {1.0: {"kl": 5.0, "recon": 150.0}}, "runs has no run with beta [4.0]"),
    ("04.labels_experiment", {10: {"share": 0.1, "labelled": 100}}, "at least two runs"),
    ("07.noise_experiment", {0.0: {"error": 0.9, "used": 2}}, "runs has no run with noise [0.3]"),
])
def test_an_experiment_not_yet_run_is_not_done_and_says_what_is_missing(name, runs, says):
    from aae_utils.checks import get_exercise
    ex = get_exercise(name)
    context = {} if runs is None else {"runs": runs}
    verdict = evaluate(name, ex.reference, **context)
    assert verdict.status == "not done" and says in verdict.message
    assert "run the experiment first" in verdict.message
