"""The rules every check applies to an answer (numbers of any numeric type but never a bool,
truth values only as bools, tensors by shape and value) and how a check reports, hints and
grades."""

import math

import numpy as np
import pytest
import torch

from aae_utils import checks
from aae_utils.checks import Case, answer_is_correct, as_number, evaluate, exercise


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


@exercise("99.double", "double(x)", reference=lambda x: 2 * x,
          hints=("twice the input", "multiply by two", "return 2 * x"),
          wrong={"plus two": lambda x: x + 2, "square": lambda x: x * x})
def _double_cases(context):
    yield Case(args=(torch.tensor([2.0]),), label="x = 2, where x + 2 = 2x", grads=(0,))
    yield Case(args=(torch.ones(4, 3),), label="(4, 3)", grads=(0,))


def test_a_check_reports_the_first_mismatch_with_its_case_and_hint():
    v = evaluate("99.double", lambda x: x + 2)  # right value at x = 2, caught by its gradient
    assert v.status == "wrong" and "case 1 of 2 (x = 2, where x + 2 = 2x)" in v.message
    assert "the gradient with respect to x differs" in v.message and "x = tensor([2.0])" in v.message
    assert "Hint 1 of 3: twice the input" in v.message and "multiply" not in v.message
    v = evaluate("99.double", lambda x: 2 * x if x.numel() == 1 else x + 2)
    assert "case 2 of 2 ((4, 3))" in v.message and "your result: values differ" in v.message


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


@exercise("99.phase", "phase(x)", reference=lambda x: (x * 2).sum(), hints=("a 0-d tensor", "a sum"),
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


def test_hints_come_one_level_at_a_time_on_request(capsys):
    checks._HINTS_SHOWN.pop("99.double", None)
    evaluate("99.double", lambda x: x + 2)  # a miss shows the first
    checks.hint("99.double")
    checks.hint("99.double")
    checks.hint("99.double")
    out = capsys.readouterr().out.splitlines()
    assert out == ["[99 double] hint 2 of 3: multiply by two",
                   "[99 double] hint 3 of 3 (the last): return 2 * x",
                   "[99 double] hint 3 of 3 (the last): return 2 * x"]


@exercise("99.pair", "pair(x)", reference=lambda x: (x.sum(), x.mean()), hints=("two numbers", "sum, mean"),
          outputs=("the sum", "the mean"))
def _pair_cases(context):
    yield Case(args=(torch.arange(4.0),), label="0, 1, 2, 3")


def test_a_tuple_result_names_the_value_that_differs():
    v = evaluate("99.pair", lambda x: (x.sum(), x.median()))
    assert "the second value returned (the mean): expected 1.5, got 1" in v.message


def test_a_question_without_inputs_never_shows_its_answer():
    @exercise("99.answer", "answer()", reference=lambda: 1.234, hints=("think", "harder"))
    def _cases(context):
        yield Case()

    v = evaluate("99.answer", lambda: 2.0)
    assert "got 2, which is not within the tolerance" in v.message and "1.23" not in v.message


def test_cases_share_nothing_and_keep_what_they_were_given():
    """A case made from a model that is changed afterwards still holds the model as it was."""
    model = torch.nn.Linear(2, 1)
    case = Case(args=(model,))
    with torch.no_grad():
        model.weight.fill_(7.0)
    first, second = case.build()[0], case.build()[0]
    assert not torch.equal(first.weight, model.weight) and first is not second


def test_a_step_is_compared_by_the_state_it_leaves():
    model = torch.nn.Sequential()
    model.add_module("encoder", torch.nn.Linear(2, 2))
    model.add_module("decoder", torch.nn.Linear(2, 2))
    model.encoder(torch.ones(1, 2)).sum().backward()
    state = checks.model_state(model, gradients=("encoder",))
    assert set(state) == {"the weights of model.encoder", "the gradients left on model.encoder",
                          "which weights of model.encoder train (requires_grad)",
                          "whether model.encoder is in training mode (.train() / .eval())",
                          "the weights of model.decoder",
                          "which weights of model.decoder train (requires_grad)",
                          "whether model.decoder is in training mode (.train() / .eval())"}
    clean = checks.model_state(torch.nn.Sequential(model.encoder.__class__(2, 2)), gradients=())
    assert not any(k.startswith("the gradients") for k in clean)


def test_a_placeholder_deep_inside_is_named(capsys):
    def helper(x):
        raise NotImplementedError("Your turn")

    v = evaluate("99.double", lambda x: helper(x))
    assert v.status == "not done" and "helper() still raises NotImplementedError" in v.message


def test_grade_asserts_and_own_work_refuses_the_librarys_function():
    checks.grade("99.double", lambda x: 2 * x)
    with pytest.raises(AssertionError, match=r"\[99 double\] not quite"):
        checks.grade("99.double", lambda x: x + 2)
    with pytest.raises(AssertionError, match="not done yet"):
        checks.grade("99.double", None)
    from aae_utils.phases import discriminator_phase

    with pytest.raises(AssertionError, match="aae_utils.phases"):
        checks.own_work("03.discriminator_phase", discriminator_phase)
    checks.own_work("99.double", lambda x: 2 * x)  # written here: fine
