"""Self-checking exercises: the learner writes a function, :func:`check` tries it.

Every exercise in the course is a function with a fixed signature that the learner writes in a
"Your turn" cell. :func:`check` runs it on several inputs (random ones of varied shapes, and
values where plausible wrong formulas give different answers, such as ``logvar = log 9``
rather than 0) and compares each result with the reference, which lives in
:mod:`aae_utils.exercises` and not in the notebook. It prints one verdict:

- ``not done yet``: the function still raises the placeholder's ``NotImplementedError``;
- ``correct``: every case agrees with the reference within the exercise's tolerance;
- ``not quite``: the first case that disagrees (its inputs, what differs by name, expected
  against got) and a first hint that names the idea, not the formula. :func:`hint` gives the
  next hint on request, up to the last one.

A check never raises, so a notebook whose exercises are not done still runs top to bottom
(the student edition is tested that way); :func:`grade` is the same check as an assertion, for
nbgrader's graded cells. :func:`yours` hands the notebook the learner's function once it
passes, and the library's until then, under a name of the notebook's choosing (never the
learner's own, which a grader still reads).

Answers compare by kind: numbers accept Python, NumPy and torch scalars and 0-d tensors and
arrays, never ``bool`` (nor a number for a truth value); tensors must match in shape and values
(in dtype too where the exercise says so, and, where a case asks, in the gradients they pass
back); a training step must also leave the model as the reference does: its weights, the
gradients left on every part, which weights train, and a real run of
:func:`~aae_utils.engine.fit` with the step in it. The answer must be the learner's own: the
library's function (the exercise's ``forbidden`` ones, its reference, any of ``aae_utils``)
handed in as it is, in a ``functools.partial`` or inside a wrapper that reaches it by any route
is refused with its name (:func:`~aae_utils.answers.handed_over`,
:func:`~aae_utils.answers.watching`).
"""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from .answers import (  # noqa: F401 (answer_is_correct, as_number, as_truth, case_adam: this API)
    HandedOver,
    _describe,
    _mismatch,
    _Rules,
    _show,
    _tensor_mismatch,
    _unwrap,
    after_step,
    answer_is_correct,
    as_number,
    as_truth,
    case_adam,
    handed_over,
    model_state,
    through_fit,
    watching,
)

_UNSET = object()


# --- exercises ----------------------------------------------------------------------------------


def _snapshot(args: tuple) -> tuple:
    """A deep copy of a case's arguments: tensors detached, models, optimisers and containers
    copied together (an optimiser keeps pointing at its copied model)."""
    return copy.deepcopy(tuple(a.detach() if isinstance(a, Tensor) else a for a in args))


@dataclass
class Case:
    """One call of the learner's function and of the reference.

    ``args`` are copied when the case is made and again for each call, so cases share nothing
    and neither call sees the other's changes (a case built from a model that the next case
    changes still holds the model as it was); ``make`` instead builds fresh arguments for each
    call (a model and its optimiser). ``after``, given the arguments after the call, returns
    what else must agree (:func:`after_step`: the model's weights, gradients and flags).
    ``grads`` lists the positions of tensor arguments whose gradients must agree too.
    ``through`` runs the function in the setting the notebook then uses it in, as
    ``through(fn, args)`` (a real :func:`~aae_utils.engine.fit` step), and its result is what
    is compared. ``expected`` replaces the reference's result; ``show_inputs`` False hides the
    arguments (a step inside ``fit``); ``show_expected`` False hides the right result where it
    answers a question of the text (the learner's own experiment, the text's example).
    """

    args: tuple = ()
    label: str = ""
    make: Callable[[], tuple] | None = None
    after: Callable[[tuple], Any] | None = None
    grads: tuple[int, ...] = ()
    expected: Any = _UNSET
    through: Callable[[Callable, tuple], Any] | None = None
    show_inputs: bool = True
    show_expected: bool = True

    def __post_init__(self) -> None:
        self.args = _snapshot(self.args)

    def build(self) -> tuple:
        if self.make is not None:
            return tuple(self.make())
        return _snapshot(self.args)


@dataclass
class Exercise:
    """One exercise: what the learner writes, how it is tried, what counts as right.

    Attributes:
        name: ``"02.reparameterise"``: notebook number and a short name.
        signature: the function the learner writes, e.g. ``"reparameterise(mu, logvar, eps)"``.
        cases: ``cases(context)`` yields :class:`Case` objects; ``context`` holds what the
            notebook passes to :func:`check` (a trained model, the test images).
        reference: the right function (not shown in the notebook); ``None`` when every case
            carries its ``expected`` value.
        hints: from the idea to the last step. A miss shows the first, which names the idea and
            never the formula; :func:`hint` shows the next ones on request.
        wrong: catalogued plausible wrong answers, by what is wrong with them; the test of the
            checks feeds each one and requires it to fail.
        demo: a small context for that test (an untrained model, random images).
        rel, abs: tolerances for numbers and tensors.
        tensors: 0-d tensors must come back as tensors, not numbers (a training phase, whose
            results ``fit`` stacks); otherwise a number answers a 0-d tensor.
        dtype: tensors must come back in the reference's dtype (a decoder's input, a
            discriminator's condition: the next layer computes in it).
        outputs: names of the values a tuple result holds, for the message that says which
            one differs.
        forbidden: the library's functions that *are* the answer (``"aae_utils.phases.
            discriminator_phase"``): a function that is one of them, or calls one, by whatever
            route, is told to write it (as is any function of the library handed in itself).
        advice: what a raised error means in this exercise, by a pattern of the error's text
            (``"TypeError: ..."``) and the text that replaces the pattern's match (a tuple where
            codes are expected: the encoder's pair, not ``torch.tensor`` of it).
    """

    name: str
    signature: str
    cases: Callable[[dict], Iterable[Case]]
    reference: Callable | None
    hints: tuple[str, ...]
    wrong: dict[str, Callable] = field(default_factory=dict)
    demo: Callable[[], dict] = dict
    rel: float = 1e-4
    abs: float = 1e-5
    tensors: bool = False
    dtype: bool = False
    outputs: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    advice: dict[str, str] = field(default_factory=dict)

    @property
    def function(self) -> str:
        return self.signature.split("(")[0]

    @property
    def params(self) -> list[str]:
        """The argument names of the signature (``["mu", "logvar", "eps"]``)."""
        inside = self.signature.split("(", 1)[1].rsplit(")", 1)[0]
        return [p.split("=")[0].strip() for p in inside.split(",") if p.strip()]


REGISTRY: dict[str, Exercise] = {}


def exercise(name: str, signature: str, *, reference: Callable | None, hints: Iterable[str], **kwargs):
    """Register the decorated ``cases(context)`` generator as exercise ``name``."""
    hints = tuple(hints)
    if len(hints) < 2:
        raise ValueError(f"exercise {name!r} needs at least two hints: the idea, then more")

    def register(cases: Callable[[dict], Iterable[Case]]) -> Callable:
        if name in REGISTRY:
            raise ValueError(f"exercise {name!r} is defined twice")
        REGISTRY[name] = Exercise(name, signature, cases, reference, hints, **kwargs)
        return cases

    return register


def get_exercise(name: str) -> Exercise:
    """The exercise called ``name`` (its notebook's module is imported on first use)."""
    if name not in REGISTRY:
        notebook = name.split(".")[0]
        try:
            importlib.import_module(f"aae_utils.exercises.nb{notebook}")
        except ModuleNotFoundError:
            pass
    if name not in REGISTRY:
        raise KeyError(f"no exercise called {name!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[name]


def experiment_cases(context: dict, *, needs: Iterable | int, missing: str,
                     made_up: Iterable[dict] | dict, made_up_label: str = "made-up runs",
                     label: str = "your runs") -> Iterator[Case]:
    """The cases of an experiment exercise: the learner's own ``context["runs"]`` and runs
    made up so that a constant, a number copied from an output, a formula that fits one run or
    one that loses the sign cannot pass (several made-up sets, one of them going the other way).

    ``needs``: the keys ``runs`` must hold, or how many runs at least. ``missing``: what is
    missing, with ``{}`` for the missing keys (``"runs has no run with beta {}"``).
    Raises ValueError (shown as "not done yet") while the experiment has not been run.
    """
    runs = context.get("runs")
    if runs is None:
        raise ValueError("the check needs runs=: run the experiment first")
    if isinstance(needs, int):
        if len(runs) < needs:
            raise ValueError(f"{missing}: run the experiment first")
    else:
        absent = set(needs) - set(runs)
        if absent:
            raise ValueError(f"{missing.format(sorted(absent))}: run the experiment first")
    # The learner's own runs hide the right ratio (it is the question's answer); every set is
    # also tried with its keys in another order, so an answer that reads the runs by position
    # (the first run, the last run) cannot pass for one that reads them by their setting.
    yield Case(args=(runs,), label=label, show_expected=False)
    yield Case(args=(dict(reversed(list(runs.items()))),), label=label + ", in another order",
               show_expected=False)
    for i, runs_made_up in enumerate([made_up] if isinstance(made_up, dict) else made_up):
        name = made_up_label + (f" {i + 1}" if i else "")
        yield Case(args=(runs_made_up,), label=name)
        yield Case(args=(dict(reversed(list(runs_made_up.items()))),), label=name + ", in another order")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: ``status`` is "correct", "wrong" or "not done"."""

    name: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "correct"


#: How many hints of each exercise have been shown in this session.
_HINTS_SHOWN: dict[str, int] = {}


def _first_hint(ex: Exercise) -> str:
    _HINTS_SHOWN[ex.name] = max(_HINTS_SHOWN.get(ex.name, 0), 1)
    more = f'\nA further hint: hint("{ex.name}")' if len(ex.hints) > 1 else ""
    return f"Hint 1 of {len(ex.hints)}: {ex.hints[0]}{more}"


def hint(name: str) -> None:
    """Print the next hint of exercise ``name`` (the first if none was shown yet); the last one
    stays the last. Hints go from the idea to the step that completes it."""
    ex = get_exercise(name)
    level = min(_HINTS_SHOWN.get(name, 0) + 1, len(ex.hints))
    _HINTS_SHOWN[name] = level
    last = " (the last)" if level == len(ex.hints) else ""
    print(f"[{name.replace('.', ' ', 1)}] hint {level} of {len(ex.hints)}{last}: {ex.hints[level - 1]}")


def _inputs(ex: Exercise, case: Case, args: tuple) -> str:
    if not args or not case.show_inputs:
        return ""
    names = ex.params + [f"argument {i + 1}" for i in range(len(ex.params), len(args))]
    return "\n  inputs: " + ", ".join(f"{n} = {_describe(a)}" for n, a in zip(names, args, strict=False))


def evaluate(name: str, fn: Any, **context: Any) -> Verdict:
    """Try the learner's ``fn`` on every case of exercise ``name``; never raises for the
    learner's mistakes (only for an unknown exercise name)."""
    ex = get_exercise(name)
    title = f"[{name.replace('.', ' ', 1)}]"
    if fn is None or fn is Ellipsis:
        return Verdict(name, "not done", f"{title} not done yet: write {ex.signature} above.")
    if not callable(fn):
        return Verdict(name, "wrong", f"{title} not quite: give the function {ex.signature}, "
                                      f"not a value ({_show(fn)}).\n{_first_hint(ex)}")
    try:
        cases = list(ex.cases(context))
    except ValueError as err:  # the notebook has not made what the check needs yet
        return Verdict(name, "not done", f"{title} not done yet: {err}.")
    why = handed_over(fn, ex.reference, ex.forbidden)
    if why:
        return _not_yours(ex, title, why)
    hidden = None  # the first failure whose right value is not shown
    for i, case in enumerate(cases, 1):
        args = case.build()
        where = f"case {i} of {len(cases)}" + (f" ({case.label})" if case.label else "")
        where += _inputs(ex, case, args)
        rules = _Rules(ex.rel, ex.abs, ex.tensors, ex.dtype,
                       show_expected=bool(args) and case.show_inputs and case.show_expected)
        try:
            got, got_grads, got_after = _call(fn, args, case, watch=ex.forbidden)
        except HandedOver as err:
            return _not_yours(ex, title, f"calls the library's {err}, which is the answer itself")
        except NotImplementedError as err:
            where = _raised_in(err) or ex.function
            return Verdict(name, "not done", f"{title} not done yet: {where}() still raises "
                                             "NotImplementedError; write it and run its cell again.")
        except Exception as err:  # the learner's code: report it, do not stop the notebook
            return Verdict(name, "wrong", f"{title} not quite.\n  On {where}\n  your function raised "
                                          f"{_explain(ex, err)}\n{_first_hint(ex)}")
        if case.expected is not _UNSET:
            expected, exp_grads, exp_after = case.expected, None, None
        else:
            expected, exp_grads, exp_after = _call(ex.reference, case.build(), case)
        why = _changed_inputs(ex, case, args)
        if why is None:
            why = _mismatch(got, expected, rules, ex.outputs)
            if why and case.through is None and not ex.outputs and not why.startswith(("the ", "your ")):
                why = f"your result: {why}"
        if why is None and case.grads:
            why = _grads_mismatch(got_grads, exp_grads, [ex.params[j] if j < len(ex.params) else
                                                         f"argument {j + 1}" for j in case.grads], rules)
        if why is None and case.after is not None:
            why = _mismatch(got_after, exp_after, rules)
            why = why and f"after the call, {why}"
        if why:
            verdict = Verdict(name, "wrong", f"{title} not quite.\n  On {where}\n  {why}.\n{_first_hint(ex)}")
            if rules.show_expected:
                return verdict
            # This case hides its right value (it answers the notebook's question, or is the
            # learner's own data); a later case that also fails may show one, so try on.
            hidden = hidden or verdict
    if hidden is not None:
        return hidden
    labels = "; ".join(c.label for c in cases if c.label)
    return Verdict(name, "correct", f"{title} correct" + (
        f": agrees with the reference on {len(cases)} cases ({labels})." if len(cases) > 1 else "."))


def _not_yours(ex: Exercise, title: str, why: str) -> Verdict:
    return Verdict(ex.name, "wrong", f"{title} not quite: your function {why}; write it from the "
                                     f"pieces the text gives.\n{_first_hint(ex)}")


def _explain(ex: Exercise, err: Exception) -> str:
    """The error the learner's function raised, with the exercise's ``advice`` in place of a
    library fix that does not apply here."""
    text = f"{type(err).__name__}: {err}"
    for pattern, advice in ex.advice.items():
        text = re.sub(pattern, advice, text)
    return text


def tuple_advice(explain: str) -> dict[str, str]:
    """An exercise's ``advice`` for a tuple passed where a tensor goes (the library's error
    suggests ``torch.tensor(...)``, torch's names the tuple): ``explain`` says where such a
    tuple comes from in this exercise (an encoder's pair) and what to use instead."""
    explain = explain.replace("\\", r"\\")  # a replacement of re.sub
    return {r"got a tuple; wrap it with torch\.tensor\(\w+\)": "got a tuple: " + explain,
            r"must be Tensor, not tuple|but got tuple|'tuple' object has no attribute '\w+'":
                r"\g<0>: " + explain}


def _raised_in(err: BaseException) -> str | None:
    """The function whose placeholder raised ``err`` (the innermost frame): the learner's
    ``best_width`` may be waiting for their ``parzen_log_likelihood``."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    name = tb.tb_frame.f_code.co_name if tb is not None else ""
    return name if name.isidentifier() else None


#: Every call of a case starts from this random state, the learner's and the reference's alike:
#: a Gaussian posterior's codes, dropout and noise are then the same draws in both.
CALL_SEED = 1234


def _call(fn: Callable, args: tuple, case: Case, watch: tuple[str, ...] = ()):
    """Call ``fn``; return its result, the gradients the case asks for, what ``after`` sees.
    ``watch``: the forbidden functions; calling one raises :class:`HandedOver` (after the call)."""
    args = tuple(a.requires_grad_(True) if i in case.grads else a for i, a in enumerate(args))
    # the notebook's own random state is left alone
    with torch.random.fork_rng(devices=[]), watching(watch) as called:
        torch.manual_seed(CALL_SEED)
        out = case.through(fn, args) if case.through is not None else fn(*args)
    if called:
        raise HandedOver(called[0])
    grads = None
    if case.grads:
        if not isinstance(out, Tensor) or not out.requires_grad:
            return out, [None] * len(case.grads), None
        weights = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).view_as(out)
        grads = torch.autograd.grad((out * weights).sum(), [args[i] for i in case.grads],
                                    allow_unused=True)
    after = case.after(args) if case.after is not None else None
    return out, grads, after


def _changed_inputs(ex: Exercise, case: Case, args: tuple) -> str | None:
    """Which input the learner's function changed in place (a tensor, a dict, a list: what a
    notebook passes in and reads again afterwards), or None. Models and optimisers are meant to
    change in a training step; their state is compared by the case's ``after``."""
    if case.through is not None:
        return None
    fresh = case.build()
    names = ex.params + [f"argument {i + 1}" for i in range(len(ex.params), len(args))]
    for name, used, before in zip(names, args, fresh, strict=False):
        if isinstance(used, (Tensor, dict, list)):
            why = _mismatch(used.detach() if isinstance(used, Tensor) else used,
                            before.detach() if isinstance(before, Tensor) else before, _Rules(0.0, 0.0))
            if why:
                return f"your function changed its input {name} in place ({why}); work on a copy"
    return None


def _grads_mismatch(got, expected, names: list[str], rules: _Rules) -> str | None:
    for g, e, name in zip(got, expected, names, strict=True):
        if g is None:
            return (f"no gradient flows back to {name} (was something detached, or computed "
                    "outside torch?)")
        why = _tensor_mismatch(g, e, _Rules(rules.rel, rules.abs))
        if why:
            return f"the gradient with respect to {name} differs: {why}"
    return None


def check(name: str, fn: Any, **context: Any) -> None:
    """Print the verdict of exercise ``name`` on the learner's function ``fn``.

    ``context`` passes what the cases need from the notebook (see each exercise's ``cases``).
    Returns nothing, so the cell shows only the verdict.
    """
    print(evaluate(name, fn, **context).message)


def grade(name: str, fn: Any, **context: Any) -> None:
    """:func:`check` as an assertion: prints the verdict, and raises ``AssertionError`` with it
    unless the function is correct. nbgrader's graded cells call this (``make assignments``)."""
    verdict = evaluate(name, fn, **context)
    print(verdict.message)
    if not verdict.passed:
        raise AssertionError(verdict.message)


def own_work(name: str, fn: Any) -> None:
    """nbgrader's hidden test beside :func:`grade`: the graded function is the learner's own,
    not the library's (its reference, or any function of ``aae_utils`` or ``torch``) handed in
    under the exercise's name, which the check itself would pass.

    Raises:
        AssertionError: naming where the function comes from.
    """
    ex = get_exercise(name)
    fn = _unwrap(fn)  # a functools.partial of the library's function is the library's
    module = getattr(fn, "__module__", None) or ""
    if fn is ex.reference or module.split(".")[0] in {"aae_utils", "torch"}:
        raise AssertionError(f"{ex.function} is a function of {module or 'the library'}, not one "
                             "written in the notebook")


def yours(name: str, fn: Any, library: Callable | None = None, *, withhold: bool = False,
          **context: Any) -> Callable | None:
    """The learner's ``fn`` once it passes exercise ``name``, else ``library`` (default: the
    exercise's reference), with a note, so the cells after an unfinished exercise still run.

    Assign it to a name of its own (``sample = yours("02.reparameterise", reparameterise)``):
    the learner's function keeps its name, so a later check or grader reads what they wrote.

    ``withhold=True`` is for a cell that prints the answer to the exercise's own question (how
    many sevens, which digit spreads widest): until ``fn`` passes it returns ``None`` instead of
    the library's function, and the cell prints only under ``if <name>:``, so the answer is
    not shown before the learner has found it.
    """
    # evaluated again rather than reusing check()'s verdict: every check runs in about a second
    # at most, and a remembered verdict goes stale when the function reads a global changed since
    verdict = evaluate(name, fn, **context)
    if verdict.passed:
        return fn
    why = "is not written yet" if verdict.status == "not done" else "does not pass its check yet"
    if withhold:
        print(f"Your {get_exercise(name).function}() {why}: this cell shows its answer once yours "
              "passes.")
        return None
    library = library if library is not None else get_exercise(name).reference
    print(f"Your {get_exercise(name).function}() {why}: the cells below use the library's.")
    return library
