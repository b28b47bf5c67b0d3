"""How an exercise's answer is compared with the reference's, and how what differs is named.

Numbers accept Python, NumPy and torch scalars and 0-d tensors and arrays, never ``bool`` (nor
a number for a truth value); tensors must match in shape and values (in dtype where the
exercise asks, and a tensor of labels or counts is never one of floats: the next cell indexes
with it); tuples, lists and dicts are compared entry by entry, and a message names the entry
that differs (the second value returned, a model's layer). :func:`model_state` is what a
training step leaves behind, and :func:`through_fit` runs a learner's phase inside
:func:`~aae_utils.engine.fit`, so that a check compares a step where the notebook uses it.
:mod:`aae_utils.checks` runs the cases and prints the verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
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
