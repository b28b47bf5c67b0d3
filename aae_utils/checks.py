"""Self-checking exercises: notebooks call :func:`check_answer` on the learner's answer.

A check never raises, so a notebook with unanswered exercises still runs top to bottom
(and passes the test suite); it prints what is right, what is off, and a hint.
"""

from __future__ import annotations

import math
from typing import Any

import torch


def _close(answer: Any, expected: Any, rel: float, abs_: float) -> bool:
    if isinstance(expected, torch.Tensor) or isinstance(answer, torch.Tensor):
        a, e = torch.as_tensor(answer, dtype=torch.float64), torch.as_tensor(expected, dtype=torch.float64)
        return a.shape == e.shape and bool(torch.allclose(a, e, rtol=rel, atol=abs_))
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return isinstance(answer, (int, float)) and math.isclose(answer, expected, rel_tol=rel, abs_tol=abs_)
    return answer == expected


def answer_is_correct(answer: Any, expected: Any, *, rel: float = 1e-3, abs: float = 1e-6) -> bool:
    """True when ``answer`` matches ``expected`` (numbers and tensors within tolerances)."""
    if answer is None or answer is Ellipsis:
        return False
    try:
        return _close(answer, expected, rel, abs)
    except (TypeError, ValueError, RuntimeError):
        return False


def check_answer(
    name: str, answer: Any, expected: Any, *, hint: str = "", rel: float = 1e-3, abs: float = 1e-6
) -> None:
    """Compare a learner's ``answer`` with ``expected`` and print the verdict.

    Args:
        name: the exercise's name, shown in the message.
        answer: the learner's value; ``None`` or ``...`` means "not answered yet".
        expected: the reference value (numbers and tensors compare with tolerances).
        hint: printed when the answer is wrong.

    Returns nothing, so the notebook shows only the printed verdict.
    """
    if answer is None or answer is Ellipsis:
        print(f"[{name}] not answered yet: replace the ... and run the cell again.")
        return
    if answer_is_correct(answer, expected, rel=rel, abs=abs):
        print(f"[{name}] correct.")
    else:
        shown = answer if not isinstance(answer, torch.Tensor) else f"tensor of shape {tuple(answer.shape)}"
        print(f"[{name}] not quite: got {shown}." + (f" Hint: {hint}" if hint else ""))
