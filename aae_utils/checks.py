"""Self-checking exercises: the learner writes a function, :func:`check` tries it.

Every exercise in the course is a function with a fixed signature that the learner writes in a
"Your turn" cell. :func:`check` runs it on several inputs (random ones of varied shapes, and
values where plausible wrong formulas give different answers, such as ``logvar = log 9``
rather than 0) and compares each result with the reference, which lives in
:mod:`aae_utils.exercises` and not in the notebook. It prints one verdict:

- ``not done yet``: the function still raises the placeholder's ``NotImplementedError``;
- ``correct``: every case agrees with the reference within the exercise's tolerance;
- ``not quite``: the first case that disagrees, what was expected and what came back, a hint.

A check never raises, so a notebook whose exercises are not done still runs top to bottom
(the student edition is tested that way). :func:`yours` hands the notebook the learner's
function once it passes, and the library's until then.

Answers compare by kind: numbers accept Python, NumPy and torch scalars and 0-d tensors and
arrays, never ``bool`` (nor a number for a truth value); tensors must match in shape and values
(and, where a case asks, in the gradients they pass back); text answers to a choice ignore case,
spaces, punctuation and brackets, and accept the option's letter or its words.
"""

from __future__ import annotations

import copy
import importlib
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

_UNSET = object()


# --- answers: numbers, truth values, text ---------------------------------------------------------


def as_number(value: Any) -> float | None:
    """``value`` as a float when it is a number (Python, NumPy or torch scalar, 0-d tensor or
    array); ``None`` for anything else, including ``bool`` and 1-element vectors."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, Tensor) and value.dim() == 0 and value.dtype != torch.bool:
        return float(value.detach().cpu())
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        return float(value)
    return None


def as_truth(value: Any) -> bool | None:
    """``value`` as a bool when it is one (``bool``, ``np.bool_``, 0-d bool tensor or array)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (Tensor, np.ndarray)) and value.ndim == 0 and value.dtype in (torch.bool, np.bool_):
        return bool(value)
    return None


_IGNORED_WORDS = {"the", "phase", "option", "answer"}


def _words(text: str) -> str:
    words = re.sub(r"[^a-z0-9]+", " ", text.lower()).split()
    return " ".join(w for w in words if w not in _IGNORED_WORDS)


def choice_of(answer: Any, options: dict[str, str | Iterable[str]]) -> str | None:
    """The option key that a text ``answer`` names, or ``None``.

    ``options`` maps each key (``"a"``) to its words or a list of accepted wordings. Case,
    spaces, punctuation, brackets and the words "the", "phase", "option", "answer" are ignored:
    ``"(A)"``, ``"a)"``, ``"Classification"`` and ``"the classification phase"`` all name the
    option whose words are "classification".
    """
    if not isinstance(answer, str):
        return None
    said = _words(answer)
    for key, wordings in options.items():
        wordings = [wordings] if isinstance(wordings, str) else list(wordings)
        accepted = {_words(key)} | {_words(w) for w in wordings}
        accepted |= {f"{_words(key)} {_words(w)}" for w in wordings}  # "(c) classification"
        if said in accepted:
            return key
    return None


def answer_is_correct(answer: Any, expected: Any, *, rel: float = 1e-3, abs: float = 1e-6) -> bool:
    """True when ``answer`` matches ``expected``: numbers within ``rel``/``abs`` (any numeric
    type, never ``bool``), truth values only as bools, tensors in shape and value, text by its
    normalised words (:func:`choice_of` with one option)."""
    return _mismatch(answer, expected, rel, abs) is None


def _mismatch(got: Any, expected: Any, rel: float, abs_: float, options=None,
              tensors: bool = False) -> str | None:
    """Why ``got`` is not ``expected`` (a short text), or None when it is."""
    if got is None or got is Ellipsis:
        return "got no answer (None or ...): return the value"
    if isinstance(expected, (bool, np.bool_)):
        truth = as_truth(got)
        if truth is None:
            return f"expected True or False, got {_show(got)}"
        return None if truth == bool(expected) else f"expected {bool(expected)}, got {truth}"
    if isinstance(expected, str):
        key = choice_of(got, options or {expected: expected})
        return None if key == expected else f"got {_show(got)}"
    if isinstance(expected, Tensor):
        return _tensor_mismatch(got, expected, rel, abs_, tensors)
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected {len(expected)} values (a tuple), got {_show(got)}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            why = _mismatch(g, e, rel, abs_, options, tensors)
            if why:
                return f"value {i}: {why}"
        return None
    number = as_number(expected)
    if number is not None:
        value = as_number(got)
        if value is None:
            return f"expected a number, got {_show(got)}"
        if math.isclose(value, number, rel_tol=rel, abs_tol=abs_):
            return None
        # The expected value is not shown: for a question without inputs it is the answer.
        return f"got {value:.6g}, which is not within the tolerance of the right value"
    return None if got == expected else f"expected {expected!r}, got {_show(got)}"


def _tensor_mismatch(got: Any, expected: Tensor, rel: float, abs_: float,
                     tensors: bool = False) -> str | None:
    if expected.dim() == 0 and expected.is_floating_point() and as_number(got) is not None:
        if tensors and not isinstance(got, Tensor):  # a training phase: fit stacks its tensors
            return f"expected a 0-d tensor (keep it a tensor, e.g. loss.detach()), got {_show(got)}"
        if tensors and got.requires_grad:  # it would keep the step's whole graph alive
            return "the returned tensor still carries its graph: return loss.detach()"
        return _mismatch(got, float(expected.detach()), rel, abs_)  # a number is fine here
    if not isinstance(got, Tensor):
        if isinstance(got, np.ndarray):
            got = torch.from_numpy(got)
        else:
            return f"expected a tensor of shape {tuple(expected.shape)}, got {_show(got)}"
    if got.shape != expected.shape:
        return f"expected shape {tuple(expected.shape)}, got shape {tuple(got.shape)}"
    if expected.dtype == torch.bool or not expected.is_floating_point():
        same = torch.equal(got.detach().cpu().to(expected.dtype), expected.cpu())
        return None if same else f"values differ, e.g. {_first_difference(got, expected)}"
    g, e = got.detach().cpu().double(), expected.detach().cpu().double()
    if not torch.isfinite(g).all():
        return "your result holds NaN or inf values"
    if torch.allclose(g, e, rtol=rel, atol=abs_):
        return None
    return f"values differ, e.g. {_first_difference(g, e)}"


def _first_difference(got: Tensor, expected: Tensor) -> str:
    g, e = got.detach().cpu().double().flatten(), expected.detach().cpu().double().flatten()
    i = int((g - e).abs().argmax())
    index = np.unravel_index(i, tuple(expected.shape)) if expected.dim() else ()
    return f"at index {tuple(int(j) for j in index)} expected {e[i].item():.6g}, got {g[i].item():.6g}"


def _show(value: Any) -> str:
    if isinstance(value, Tensor):
        if value.dim() == 0:
            return f"tensor({value.item():.6g})"
        return f"a tensor of shape {tuple(value.shape)} ({value.dtype})"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- exercises ----------------------------------------------------------------------------------


@dataclass
class Case:
    """One call of the learner's function and of the reference.

    ``args`` are passed to both (tensors cloned, so neither sees the other's changes); ``make``
    instead builds fresh arguments for each call (a model and its optimiser). ``after``, given
    the arguments after the call, returns what else must agree (the weights after a training
    step). ``grads`` lists the positions of tensor arguments whose gradients must agree too.
    """

    args: tuple = ()
    label: str = ""
    make: Callable[[], tuple] | None = None
    after: Callable[[tuple], Any] | None = None
    grads: tuple[int, ...] = ()
    expected: Any = _UNSET

    def build(self) -> tuple:
        if self.make is not None:
            return tuple(self.make())
        # Containers are copied too: a function that changed the learner's own dict of runs
        # would otherwise change what the reference then sees (and the notebook's results).
        return tuple(a.detach().clone() if isinstance(a, Tensor)
                     else copy.deepcopy(a) if isinstance(a, (dict, list, set)) else a
                     for a in self.args)


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
        hint: printed with a wrong answer.
        wrong: catalogued plausible wrong answers, by what is wrong with them; the test of the
            checks feeds each one and requires it to fail.
        demo: a small context for that test (an untrained model, random images).
        rel, abs: tolerances for numbers and tensors.
        options: for a choice, option key -> its words (see :func:`choice_of`).
        tensors: 0-d tensors must come back as tensors, not numbers (a training phase, whose
            results ``fit`` stacks); otherwise a number answers a 0-d tensor.
    """

    name: str
    signature: str
    cases: Callable[[dict], Iterable[Case]]
    reference: Callable | None
    hint: str
    wrong: dict[str, Callable] = field(default_factory=dict)
    demo: Callable[[], dict] = dict
    rel: float = 1e-4
    abs: float = 1e-5
    options: dict | None = None
    tensors: bool = False

    @property
    def function(self) -> str:
        return self.signature.split("(")[0]


REGISTRY: dict[str, Exercise] = {}


def exercise(name: str, signature: str, *, reference: Callable | None, hint: str, **kwargs):
    """Register the decorated ``cases(context)`` generator as exercise ``name``."""

    def register(cases: Callable[[dict], Iterable[Case]]) -> Callable:
        if name in REGISTRY:
            raise ValueError(f"exercise {name!r} is defined twice")
        REGISTRY[name] = Exercise(name, signature, cases, reference, hint, **kwargs)
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
                     made_up: dict, made_up_label: str = "made-up runs",
                     label: str = "your runs, within 10%") -> Iterator[Case]:
    """The two cases of an experiment exercise: the learner's own ``context["runs"]`` and runs
    made up so that a constant, a number copied from an output or a formula that fits one run
    cannot pass.

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
    yield Case(args=(runs,), label=label)
    yield Case(args=(made_up,), label=made_up_label)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: ``status`` is "correct", "wrong" or "not done"."""

    name: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "correct"


def evaluate(name: str, fn: Any, **context: Any) -> Verdict:
    """Try the learner's ``fn`` on every case of exercise ``name``; never raises for the
    learner's mistakes (only for an unknown exercise name)."""
    ex = get_exercise(name)
    title = f"[{name.replace('.', ' ', 1)}]"
    if fn is None or fn is Ellipsis:
        return Verdict(name, "not done", f"{title} not done yet: write {ex.signature} above.")
    if not callable(fn):
        return Verdict(name, "wrong", f"{title} not quite: give the function {ex.signature}, "
                                      f"not a value ({_show(fn)}).")
    try:
        cases = list(ex.cases(context))
    except ValueError as err:  # the notebook has not made what the check needs yet
        return Verdict(name, "not done", f"{title} not done yet: {err}.")
    for i, case in enumerate(cases, 1):
        where = f"case {i} of {len(cases)}" + (f" ({case.label})" if case.label else "")
        args = case.build()
        try:
            got, got_grads, got_after = _call(fn, args, case)
        except NotImplementedError:
            return Verdict(name, "not done", f"{title} not done yet: {ex.function}() still raises "
                                             "NotImplementedError; write it and run this cell again.")
        except Exception as err:  # the learner's code: report it, do not stop the notebook
            return Verdict(name, "wrong", f"{title} not quite: on {where} your function raised "
                                          f"{type(err).__name__}: {err}. Hint: {ex.hint}")
        if case.expected is not _UNSET:
            expected, exp_grads, exp_after = case.expected, None, None
        else:
            expected, exp_grads, exp_after = _call(ex.reference, case.build(), case)
        why = _mismatch(got, expected, ex.rel, ex.abs, ex.options, ex.tensors)
        if why is None and case.grads:
            why = _grads_mismatch(got_grads, exp_grads, ex.rel, ex.abs)
        if why is None and case.after is not None:
            why = _mismatch(got_after, exp_after, ex.rel, ex.abs)
            why = why and f"after the call, {why}"
        if why:
            return Verdict(name, "wrong", f"{title} not quite: on {where}, {why}. Hint: {ex.hint}")
    labels = "; ".join(c.label for c in cases if c.label)
    return Verdict(name, "correct", f"{title} correct" + (
        f": agrees with the reference on {len(cases)} cases ({labels})." if len(cases) > 1 else "."))


def _call(fn: Callable, args: tuple, case: Case):
    """Call ``fn``; return its result, the gradients the case asks for, what ``after`` sees."""
    args = tuple(a.requires_grad_(True) if i in case.grads else a for i, a in enumerate(args))
    out = fn(*args)
    grads = None
    if case.grads:
        if not isinstance(out, Tensor) or not out.requires_grad:
            return out, [None] * len(case.grads), None
        weights = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).view_as(out)
        grads = torch.autograd.grad((out * weights).sum(), [args[i] for i in case.grads],
                                    allow_unused=True)
    after = case.after(args) if case.after is not None else None
    return out, grads, after


def _grads_mismatch(got, expected, rel, abs_) -> str | None:
    for g, e in zip(got, expected, strict=True):
        if g is None:
            return ("no gradient flows back to an input (was something detached, or computed "
                    "outside torch?)")
        why = _tensor_mismatch(g, e, rel, abs_)
        if why:
            return f"the gradient differs: {why}"
    return None


def check(name: str, fn: Any, **context: Any) -> None:
    """Print the verdict of exercise ``name`` on the learner's function ``fn``.

    ``context`` passes what the cases need from the notebook (see each exercise's ``cases``).
    Returns nothing, so the cell shows only the verdict.
    """
    print(evaluate(name, fn, **context).message)


def yours(name: str, fn: Any, library: Callable | None = None, **context: Any) -> Callable:
    """The learner's ``fn`` once it passes exercise ``name``, else ``library`` (default: the
    exercise's reference), with a note, so the cells after an unfinished exercise still run."""
    # evaluated again rather than reusing check()'s verdict: every check runs in about a second
    # at most, and a remembered verdict goes stale when the function reads a global changed since
    verdict = evaluate(name, fn, **context)
    if verdict.passed:
        return fn
    library = library if library is not None else get_exercise(name).reference
    why = "is not written yet" if verdict.status == "not done" else "does not pass its check yet"
    print(f"Your {get_exercise(name).function}() {why}: the cells below use the library's.")
    return library
