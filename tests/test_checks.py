"""The rules every check applies to an answer (numbers of any numeric type but never a bool,
truth values only as bools, tensors by shape and value) and how a check reports, hints and
grades."""

import functools
import importlib
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aae_utils import checks, losses, models, phases
from aae_utils.checks import Case, answer_is_correct, as_number, evaluate, exercise, get_exercise


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


# --- the library's own function is not the learner's answer ---------------------------------------

def _by_getattr(m, x, y, o):
    return getattr(phases, "classification_phase")(m, x, y, o)  # noqa: B009 (the route tried)


def _by_importlib(m, x, y, o):
    module = importlib.import_module("aae_utils." + "phases")
    return vars(module)["classification" + "_phase"](m, x, y, o)


def _from_the_registry(m, x, y, o):
    return phases.PHASE_NAMES["ssaae"]["classification"](m, x, y, o)


def _helper(m, x, y, o):
    return phases.classification_phase(m, x, y, o)


def _through_a_helper(m, x, y, o):
    return _helper(m, x, y, o)


HANDED_OVER = {
    "03 the library's discriminator phase": ("03.discriminator_phase", phases.discriminator_phase),
    "03 the library's generator phase": ("03.generator_phase", phases.generator_phase),
    "03 the library's discriminator loss": ("03.discriminator_loss", losses.discriminator_loss),
    "01 the library's reconstruction phase": ("01.training_step", phases.reconstruction_phase),
    "06 the library's classification phase": ("06.classification_phase", phases.classification_phase),
    "02 a partial of the library's KL": ("02.gaussian_kl", functools.partial(losses.gaussian_kl,
                                                                            reduction="none")),
    "01 a partial of the library's loss": ("01.bernoulli_nll", functools.partial(
        losses.reconstruction_loss, reduction="none")),
    "06 a wrapper that reaches it by getattr": ("06.classification_phase", _by_getattr),
    "06 a wrapper that reaches it by importlib": ("06.classification_phase", _by_importlib),
    "06 a wrapper that reaches it in the engine's registry": ("06.classification_phase",
                                                              _from_the_registry),
    "06 a wrapper that reaches it through a helper": ("06.classification_phase", _through_a_helper),
    "02 a lambda through the class": ("02.reparameterise", lambda mu, logvar, eps: (
        models.GaussianEncoder.reparameterise(mu, logvar))),
}


@pytest.mark.parametrize("case", sorted(HANDED_OVER))
def test_the_librarys_answer_handed_in_by_any_route_is_refused(case):
    name, fn = HANDED_OVER[case]
    verdict = evaluate(name, fn, **get_exercise(name).demo())
    assert verdict.status == "wrong", verdict.message
    assert "the library's" in verdict.message and "which is the answer itself" in verdict.message
    assert "Hint 1 of" in verdict.message and "On case" not in verdict.message


def test_the_checks_reference_and_any_library_function_are_refused_too():
    ex = get_exercise("01.bernoulli_nll")
    v = evaluate("01.bernoulli_nll", ex.reference)
    assert v.status == "wrong" and "the check's own reference, which is the answer itself" in v.message
    v = evaluate("03.discriminator_loss", losses.generator_loss)
    assert v.status == "wrong" and "is the library's losses.generator_loss, not one written" in v.message
    from aae_utils.phases import discriminator_phase

    with pytest.raises(AssertionError, match="aae_utils.phases"):
        checks.own_work("03.discriminator_phase", functools.partial(discriminator_phase))


def _generator_phase_with_the_librarys_helpers(model, x, opt):
    """frozen and the loss module's accuracy are the learner's to use (only the phase is not)."""
    with phases.frozen(model.discriminator):
        loss = F.softplus(-model.discriminator(model.code(x))).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.detach()


def _training_step_with_the_librarys_loss(model, x, opt):
    loss = losses.reconstruction_loss(model.decoder(model.code(x)), x)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.detach()


@pytest.mark.parametrize("name, fn", [
    ("03.generator_phase", _generator_phase_with_the_librarys_helpers),
    ("01.training_step", _training_step_with_the_librarys_loss),
    ("01.training_step", functools.partial(_training_step_with_the_librarys_loss)),
])
def test_the_library_helpers_the_text_allows_stay_allowed(name, fn):
    verdict = evaluate(name, fn, **get_exercise(name).demo())
    assert verdict.passed, verdict.message


def test_only_the_learners_calls_of_a_forbidden_function_are_caught():
    """The library may call a forbidden function itself (the discriminator phase computes its
    loss with discriminator_loss): only a call from the learner's code is the answer handed in."""
    from aae_utils.answers import watching
    from aae_utils.models import build_model

    torch.manual_seed(0)
    model = build_model("aae", latent_dim=2, hidden=[8], disc_hidden=[8])
    opt = torch.optim.Adam(model.discriminator.parameters())
    with watching(("aae_utils.losses.discriminator_loss",)) as called:
        phases.discriminator_phase(model, torch.rand(4, 784), torch.randn(4, 2), opt)
    assert called == []
    with watching(("aae_utils.losses.discriminator_loss",)) as called:
        losses.discriminator_loss(torch.zeros(3), torch.zeros(3))
    assert called == ["losses.discriminator_loss"]


# --- a right step written with other (equally right) rounding passes ------------------------------


def _step(opt, loss):
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.detach()


def _classification_by_softmax(model, x, y, opt):  # the text's own formula, -log q(y|x)
    logits = model.encoder(x)[0]
    return _step(opt, -torch.log(F.softmax(logits, 1)[torch.arange(len(y)), y]).mean())


def _classification_by_logsumexp(model, x, y, opt):
    logits = model.encoder(x)[0]
    return _step(opt, (torch.logsumexp(logits, 1) - logits.gather(1, y[:, None])[:, 0]).mean())


def _generator_by_logsigmoid(model, x, opt):
    return _step(opt, -F.logsigmoid(model.discriminator(model.code(x))).mean())


def _discriminator_by_bce(model, x, prior_samples, opt):
    with torch.no_grad():
        codes = model.code(x)
    real, fake = model.discriminator(prior_samples), model.discriminator(codes)
    loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    return _step(opt, loss), losses.discriminator_accuracy(real, fake)


def _categorical_by_logsigmoid(model, x, y_prior, opt):
    with torch.no_grad():
        logits, _ = model.encoder(x)
    both = model.class_discriminator(torch.cat([y_prior, F.log_softmax(logits, 1).exp()]))
    real, fake = both[:len(y_prior)], both[len(y_prior):]
    loss = -(F.logsigmoid(real).mean() + F.logsigmoid(-fake).mean())
    return _step(opt, loss), losses.discriminator_accuracy(real, fake)


def _training_step_by_softplus(model, x, opt):
    logits = model.decoder(model.code(x))
    return _step(opt, (F.softplus(logits) - x * logits).sum(1).mean())


EQUIVALENT = {
    "06.classification_phase": (_classification_by_softmax, _classification_by_logsumexp),
    "03.generator_phase": (_generator_by_logsigmoid,),
    "03.discriminator_phase": (_discriminator_by_bce,),
    "06.categorical_discriminator_phase": (_categorical_by_logsigmoid,),
    "01.training_step": (_training_step_by_softplus,),
}


@pytest.mark.parametrize("name, fn", [(n, f) for n, fs in EQUIVALENT.items() for f in fs],
                         ids=lambda v: getattr(v, "__name__", v))
def test_an_equivalent_formula_passes_though_it_rounds_differently(name, fn):
    """Adam's first step once turned a 1e-9 rounding difference of a near-zero gradient entry
    into a weight difference of 1e-4 ("weights of model.encoder differ")."""
    verdict = evaluate(name, fn, **get_exercise(name).demo())
    assert verdict.passed, verdict.message


@pytest.mark.parametrize("name", sorted(EQUIVALENT))
def test_a_step_passes_with_its_gradients_changed_at_ten_times_the_rounding_level(name):
    """Every gradient entry moved by about 1e-6 of its size (and of its tensor's mean size),
    just before each optimiser step: ten times what float32 rounding does to a sum."""
    g = torch.Generator().manual_seed(0)

    def jitter(opt, args, kwargs):
        for group in opt.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    size = p.grad.abs() + p.grad.abs().mean()
                    p.grad.add_(torch.randn(p.grad.shape, generator=g) * 1e-6 * size * (p.grad != 0))

    def jittered(*args):
        handle = args[-1].register_step_pre_hook(jitter)
        try:
            return EQUIVALENT[name][0](*args)
        finally:
            handle.remove()

    verdict = evaluate(name, jittered, **get_exercise(name).demo())
    assert verdict.passed, verdict.message


# --- what the learner trial found: each hole has a case of its own -------------------------------

TRIAL = {
    ("03.discriminator_phase", "log(sigmoid) by hand (log(0) once the discriminator is sure)"):
        "logits near +60",
    ("03.generator_phase", "log(sigmoid) by hand (log(0) once the discriminator is sure)"):
        "logits near -120",
    ("03.discriminator_loss", "log(sigmoid) by hand (log(0) for confident logits)"): "confident logits",
    ("06.categorical_discriminator_phase", "log(sigmoid) by hand (log(0) once the discriminator is "
                                           "sure)"): "logits near +60",
    ("01.loss_per_digit", "log(sigmoid) by hand (log(0) for a confident decoder)"): "a confident decoder",
    ("01.widest_digit", "spread divided by the digit's number of codes"): "very unequal counts",
    ("00.count_digit", "read from torch.bincount(labels) (no entry for a digit above the largest "
                       "label)"): "none at all",
    ("06.labels_experiment", "the fewest labels over the most (min and max of the keys)"):
        "made-up runs 4",
    ("03.generator_phase", "the posterior's pair model.encoder(x) for the codes"): "Gaussian-posterior",
}


@pytest.mark.parametrize("name, wrong", sorted(TRIAL))
def test_a_wrong_answer_of_the_learner_trial_fails_on_its_own_case(name, wrong, monkeypatch):
    ex = get_exercise(name)
    assert wrong in ex.wrong
    case = next(c for c in ex.cases(ex.demo()) if TRIAL[name, wrong] in c.label)
    monkeypatch.setattr(ex, "cases", lambda context: iter([case]))
    verdict = evaluate(name, ex.wrong[wrong], **ex.demo())
    assert verdict.status == "wrong" and TRIAL[name, wrong] in verdict.message, verdict.message


@pytest.mark.parametrize("name", ["03.generator_phase", "03.discriminator_phase"])
def test_the_encoders_pair_where_codes_go_is_explained_not_wrapped(name):
    ex = get_exercise(name)
    message = evaluate(name, ex.wrong["the posterior's pair model.encoder(x) for the codes"]).message
    assert "got a tuple" in message and "(mu, logvar)" in message and "model.code gives" in message
    assert "torch.tensor(" not in message, message


def test_yours_withholds_an_answer_until_the_learner_finds_it(capsys):
    from aae_utils.checks import yours

    def not_yet(x):
        raise NotImplementedError("Your turn: write this part")

    def mine(x):
        return 2 * x

    stand_in = yours("99.double", not_yet)
    assert stand_in(torch.ones(1)).item() == 2  # the library's, so later cells run
    assert "the cells below use the library's" in capsys.readouterr().out
    assert yours("99.double", not_yet, withhold=True) is None
    assert capsys.readouterr().out.strip() == (
        "Your double() is not written yet: this cell shows its answer once yours passes.")
    assert yours("99.double", lambda x: x + 2, withhold=True) is None
    assert "does not pass its check yet" in capsys.readouterr().out
    assert yours("99.double", mine, withhold=True) is mine
