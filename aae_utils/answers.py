"""How an exercise's answer is compared with the reference's, and how what differs is named.

Numbers accept Python, NumPy and torch scalars and 0-d tensors and arrays, never ``bool`` (nor
a number for a truth value); tensors must match in shape and values (in dtype where the
exercise asks, and a tensor of labels or counts is never one of floats: the next cell indexes
with it); tuples, lists and dicts are compared entry by entry, and a message names the entry
that differs (the second value returned, a model's layer). :func:`model_state` is what a
training step leaves behind, and :func:`through_fit` runs a learner's phase inside
:func:`~aae_utils.engine.fit`, so that a check compares a step where the notebook uses it.
:func:`handed_over` and :func:`watching` tell an answer written by the learner from the
library's own function handed in (as it is, wrapped in ``functools.partial``, or called from a
wrapper by any route). :mod:`aae_utils.checks` runs the cases and prints the verdicts.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

# --- answers: numbers, truth values, tensors -----------------------------------------------------


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


def answer_is_correct(answer: Any, expected: Any, *, rel: float = 1e-3, abs: float = 1e-6) -> bool:
    """True when ``answer`` matches ``expected``: numbers within ``rel``/``abs`` (any numeric
    type, never ``bool``), truth values only as bools, tensors in shape and value."""
    return _mismatch(answer, expected, _Rules(rel, abs)) is None


@dataclass(frozen=True)
class _Rules:
    """How strictly a result is compared."""

    rel: float = 1e-4
    abs: float = 1e-5
    tensors: bool = False  # 0-d tensors must stay tensors (a training phase)
    dtype: bool = False  # tensors must have the reference's dtype
    show_expected: bool = True  # False where the value is the answer (a question, the learner's data)


def _ordinal(i: int) -> str:
    return {0: "first", 1: "second", 2: "third", 3: "fourth"}.get(i, f"value {i + 1}")


def _mismatch(got: Any, expected: Any, rules: _Rules, names: tuple[str, ...] = ()) -> str | None:
    """Why ``got`` is not ``expected`` (a short text naming what differs), or None when it is.

    ``names`` names the values of a tuple result (a phase's loss and accuracy)."""
    if got is None or got is Ellipsis:
        return "your function gave no answer (None or ...): return the value"
    if isinstance(expected, (bool, np.bool_)):
        truth = as_truth(got)
        if truth is None:
            return f"expected True or False, got {_show(got)}"
        return None if truth == bool(expected) else f"expected {bool(expected)}, got {truth}"
    if isinstance(expected, Tensor):
        return _tensor_mismatch(got, expected, rules)
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            return f"expected a dict with keys {sorted(map(str, expected))}, got {_show(got)}"
        for key, value in expected.items():
            why = _mismatch(got[key], value, rules)
            if why:
                return f"{key}: {why}"
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            what = f"{len(expected)} values (a tuple)" if isinstance(expected, tuple) else (
                f"a list of {len(expected)}")
            return f"expected {what}, got {_show(got)}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            why = _mismatch(g, e, rules)
            if why:
                if i < len(names):
                    return f"the {_ordinal(i)} value returned ({names[i]}): {why}"
                return f"entry {i}: {why}" if isinstance(expected, list) else (
                    f"the {_ordinal(i)} value returned: {why}")
        return None
    number = as_number(expected)
    if number is not None:
        value = as_number(got)
        if value is None:
            return f"expected a number, got {_show(got)}"
        if math.isclose(value, number, rel_tol=rules.rel, abs_tol=rules.abs):
            return None
        if not rules.show_expected:
            # a question without inputs: the expected value is the answer, so it is not shown
            return f"got {value:.6g}, which is not within the tolerance of the right value"
        return f"expected {number:.6g}, got {value:.6g}"
    if got == expected:
        return None
    if not rules.show_expected:
        return f"got {_show(got)}, which is not the right value"
    return f"expected {expected!r}, got {_show(got)}"


def _tensor_mismatch(got: Any, expected: Tensor, rules: _Rules) -> str | None:
    if expected.dim() == 0 and expected.is_floating_point() and as_number(got) is not None:
        if rules.tensors and not isinstance(got, Tensor):  # a training phase: fit stacks its tensors
            return f"expected a 0-d tensor (keep it a tensor, e.g. loss.detach()), got {_show(got)}"
        if rules.tensors and got.requires_grad:  # it would keep the step's whole graph alive
            return "the returned tensor still carries its graph: return loss.detach()"
        return _mismatch(got, float(expected.detach()), rules)  # a number is fine here
    if not isinstance(got, Tensor):
        if isinstance(got, np.ndarray):
            got = torch.from_numpy(got)
        else:
            return f"expected a tensor of shape {tuple(expected.shape)}, got {_show(got)}"
    if got.shape != expected.shape:
        return f"expected shape {tuple(expected.shape)}, got shape {tuple(got.shape)}"
    if rules.dtype and got.dtype != expected.dtype:
        return f"expected a tensor of {expected.dtype}, got {got.dtype}"
    if not expected.is_floating_point() and expected.dtype != torch.bool and got.is_floating_point():
        return f"expected whole numbers ({expected.dtype}: labels, counts, indices), got {got.dtype}"
    if expected.dtype == torch.bool or not expected.is_floating_point():
        same = torch.equal(got.detach().cpu().to(expected.dtype), expected.cpu())
        return None if same else f"values differ: {_first_difference(got, expected, rules.show_expected)}"
    g, e = got.detach().cpu().double(), expected.detach().cpu().double()
    if not torch.isfinite(g).all():
        return "your result holds NaN or inf values"
    if torch.allclose(g, e, rtol=rules.rel, atol=rules.abs):
        return None
    return f"values differ: {_first_difference(g, e, rules.show_expected)}"


def _first_difference(got: Tensor, expected: Tensor, show_expected: bool = True) -> str:
    g, e = got.detach().cpu().double().flatten(), expected.detach().cpu().double().flatten()
    i = int((g - e).abs().argmax())
    index = np.unravel_index(i, tuple(expected.shape)) if expected.dim() else ()
    where = f"at index {tuple(int(j) for j in index)} " if expected.dim() else ""
    if not show_expected:  # the learner's own data: the right values answer the notebook's question
        return f"{where}got {g[i].item():.6g}, which is not the right value"
    return f"{where}expected {e[i].item():.6g}, got {g[i].item():.6g}"


def _show(value: Any) -> str:
    if isinstance(value, Tensor):
        if value.dim() == 0:
            return f"tensor({value.item():.6g})"
        return f"a tensor of shape {tuple(value.shape)} ({value.dtype})"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def _describe(value: Any) -> str:
    """An input as a learner recognises it, in a few words."""
    if isinstance(value, Tensor):
        if value.dim() == 0:
            return f"tensor({value.item():.4g})"
        if value.numel() <= 6:
            values = [round(v, 4) for v in value.detach().flatten().tolist()]
            return f"tensor({values}) of shape {tuple(value.shape)}"
        return f"a {tuple(value.shape)} tensor of {str(value.dtype).replace('torch.', '')}"
    if isinstance(value, nn.Module):
        return _a(type(value).__name__)
    if isinstance(value, torch.optim.Optimizer):
        return _a(type(value).__name__) + " optimiser"
    if isinstance(value, dict):
        keys = list(value)
        shown = ", ".join(repr(k) for k in keys[:4]) + (", ..." if len(keys) > 4 else "")
        return f"a dict with keys {shown}"
    if isinstance(value, (list, tuple)) and len(value) > 4:
        return f"a {type(value).__name__} of {len(value)}"
    return _show(value)


# --- what a training step leaves behind ----------------------------------------------------------


def model_state(model: nn.Module, gradients: Iterable[str] | None = None) -> dict[str, dict]:
    """Everything a training step may change in ``model``, by part (``model.encoder``, ...):
    its weights, which of them train (``requires_grad``), whether it is in training mode (a
    step that switches dropout off, say) and, for the parts named in
    ``gradients`` (default: all), the gradients left on them (none counts as zero).

    A check compares this dict after the learner's step and after the reference's, so that a
    step that lands on the right weights but leaves the encoder's gradients dirty, or leaves a
    frozen layer frozen, is caught and named. Gradients are compared only where the exercise's
    text says what they must be (a discriminator frozen or not in the generator's step is the
    learner's choice: it changes the speed, not the result).
    """
    state: dict[str, dict] = {}
    parts = [(n, m) for n, m in model.named_children() if any(True for _ in m.parameters())]
    for part, module in parts:
        named = list(module.named_parameters())
        state[f"the weights of model.{part}"] = {n: p.detach().clone() for n, p in named}
        state[f"which weights of model.{part} train (requires_grad)"] = {
            n: bool(p.requires_grad) for n, p in named}
        state[f"whether model.{part} is in training mode (.train() / .eval())"] = module.training
        if gradients is None or part in gradients:
            state[f"the gradients left on model.{part}"] = {
                n: (p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p))
                for n, p in named}
    return state


def after_step(gradients: Iterable[str] | None = None) -> Callable[[tuple], dict[str, dict]]:
    """A case's ``after``: the :func:`model_state` of the model a training step was given (its
    first argument), with the gradients of the parts named in ``gradients``."""
    parts = tuple(gradients) if gradients is not None else None
    return lambda args: model_state(args[0], parts)


def through_fit(phase: str, wrap: Callable[[Callable], Callable] | None = None) -> Callable:
    """A case's ``through``: one real run of :func:`~aae_utils.engine.fit` with the function in
    place of the engine's ``phase`` (``wrap(fn)`` where the engine's phase has another
    signature), as the notebook then trains with it.

    The case's arguments are ``(model, data, config)`` and optionally a dict of further ``fit``
    arguments (the prior, the labels). The result compared is the training history (without
    timings) and the model's weights and flags afterwards.
    """

    def run(fn: Callable, args: tuple) -> dict:
        from .engine import fit

        model, data, config, *rest = args
        history = fit(model, data, config, phases={phase: wrap(fn) if wrap else fn}, progress=False,
                      **(rest[0] if rest else {}))
        return {"the training history": {k: v for k, v in history.items() if k != "seconds"},
                **model_state(model, gradients=())}

    return run


def case_adam(params: Iterable[nn.Parameter], lr: float) -> torch.optim.Adam:
    """The Adam optimiser a phase exercise's case hands the learner's step.

    Its ``eps`` is 1e-3, not 1e-8: Adam's first step moves a weight by about
    ``lr * g / (|g| + eps)``, so with a tiny ``eps`` a gradient entry that happens to be near 0
    (one in some thousands of a 784-input layer's) turns a rounding difference of 1e-9, which an
    equivalent formula (a log of a softmax for a cross-entropy) leaves, into a weight difference
    of a good part of ``lr``. With 1e-3 the same rounding moves the weights by less than 1e-7,
    while a missing step, a missing ``zero_grad`` or a wrong sign still moves them by up to ``lr``.
    """
    return torch.optim.Adam(params, lr=lr, eps=1e-3)


# --- the learner's own answer, not the library's -------------------------------------------------


class HandedOver(Exception):
    """The learner's function called a forbidden library function (found while it ran)."""


def library_module(name: str) -> bool:
    """Whether module ``name`` is the library's. The exercises' modules are not: they hold the
    references and the catalogued wrong answers, which stand for a learner's code."""
    return (name == "aae_utils" or name.startswith("aae_utils.")) and not name.startswith(
        "aae_utils.exercises")


def _unwrap(obj: Any) -> Any:
    """The function behind a ``functools.partial``, a bound method, a static or class method."""
    for _ in range(20):
        if isinstance(obj, functools.partial):
            obj = obj.func
        elif isinstance(obj, (staticmethod, classmethod)) or inspect.ismethod(obj):
            obj = obj.__func__
        else:
            break
    return obj


def resolve(path: str) -> Any:
    """``"aae_utils.models.GaussianEncoder.reparameterise"`` -> that object."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ValueError(f"no such object: {path}")


def _targets(forbidden: Iterable[str]) -> dict[int, str]:
    """id of each forbidden function -> its name without ``aae_utils.``."""
    return {id(_unwrap(resolve(path))): path.split(".", 1)[1] for path in forbidden}


def handed_over(fn: Any, reference: Callable | None, forbidden: Iterable[str]) -> str | None:
    """Why ``fn`` is not the learner's own answer, as the rest of "your function ...", or None.

    Caught: a forbidden function (the library's answer) or the exercise's reference handed in
    as it is or in a ``functools.partial`` (``partial(losses.gaussian_kl, reduction="none")``);
    any other function of the library (its ``__module__``); and a function whose code reaches
    a forbidden one: by name, under another name, through its module or class
    (``phases.classification_phase``), by ``getattr`` with the name as a string, or in a helper
    function of the learner's it calls. Reads the code; :func:`watching` catches the routes
    only a run shows. Other library functions called inside (``reconstruction_loss`` where the
    text allows it, ``frozen``) are the learner's to use.
    """
    targets = _targets(forbidden)
    inner = _unwrap(fn)
    if id(inner) in targets:
        return f"is the library's {targets[id(inner)]}, which is the answer itself"
    if reference is not None and inner is _unwrap(reference):
        return "is the check's own reference, which is the answer itself"
    module = getattr(inner, "__module__", None)
    module = module if isinstance(module, str) else ""
    if library_module(module):
        name = getattr(inner, "__qualname__", None) or type(inner).__qualname__
        return f"is the library's {module.removeprefix('aae_utils.')}.{name}, not one written here"
    called = _reaches(inner, targets)
    return f"calls the library's {called}, which is the answer itself" if called else None


_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def _names(code) -> tuple[set[str], set[str]]:
    """The names a code object (and the code nested in it) loads, and the attribute names it
    may reach: those names and its string constants that read as names (``"classification_phase"``
    in a ``getattr``, ``"aae_utils.phases"``)."""
    codes, names, strings = [code], set(), set()
    while codes:
        c = codes.pop()
        names |= set(c.co_names) | set(c.co_freevars)
        for const in c.co_consts:
            if hasattr(const, "co_names"):
                codes.append(const)
            elif isinstance(const, str) and _PATH.fullmatch(const):
                strings |= set(const.split("."))
    return names, names | strings


def _static(obj: Any, attr: str) -> Any:
    """``obj.attr`` for a module or a class, without running a module's ``__getattr__`` (which
    imports lazily) or a descriptor."""
    try:
        if inspect.ismodule(obj):
            return vars(obj).get(attr)
        return inspect.getattr_static(obj, attr, None)
    except Exception:  # a class that will not say: the run (watching) still sees the call
        return None


def _reaches(fn: Any, targets: dict[int, str]) -> str | None:
    """The name of the forbidden function (``targets``) that ``fn``'s code reaches, or None."""
    todo, read = [fn], set()
    while todo and len(read) < 100:
        f = todo.pop()
        if id(f) in read or not inspect.isfunction(f):  # a callable object: watching() sees it
            continue
        read.add(id(f))
        names, attrs = _names(f.__code__)
        reachable = dict(getattr(f, "__globals__", {}))
        for var, cell in zip(f.__code__.co_freevars, f.__closure__ or (), strict=False):
            with contextlib.suppress(ValueError):  # an empty cell
                reachable[var] = cell.cell_contents
        frontier, seen = [reachable[n] for n in names if n in reachable], set()
        for _ in range(4):  # aae_utils.phases.classification_phase: three steps from a name
            following = []
            for obj in frontier:
                inner = _unwrap(obj)
                if inner is None or id(inner) in seen:
                    continue
                seen.add(id(inner))
                if id(inner) in targets:
                    return targets[id(inner)]
                if inspect.isfunction(inner) and not library_module(str(inner.__module__)):
                    todo.append(inner)  # a helper of the learner's: read it too
                elif inspect.ismodule(inner) or inspect.isclass(inner):
                    following += [_static(inner, a) for a in attrs]
            frontier = following
    return None


@contextlib.contextmanager
def watching(forbidden: Iterable[str]) -> Iterator[list[str]]:
    """Inside the block, every call of a forbidden function from code that is not the
    library's is recorded (its name) in the list yielded: whatever route the learner's function
    took to it (``importlib``, ``sys.modules``, a registry of phases), which :func:`handed_over`
    cannot read. The library's own calls (the engine's phases) are not recorded. Where a
    profiler already runs (``%prun``), it is left alone and nothing is recorded."""
    codes = {}
    for path in forbidden:
        f = _unwrap(resolve(path))
        if hasattr(f, "__code__"):
            codes[f.__code__] = path.split(".", 1)[1]
    hits: list[str] = []
    if not codes or sys.getprofile() is not None:
        yield hits
        return

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            caller = frame.f_back
            if caller is None or not library_module(str(caller.f_globals.get("__name__", ""))):
                hits.append(codes[frame.f_code])

    sys.setprofile(profile)
    try:
        yield hits
    finally:
        sys.setprofile(None)
