"""Settings of a model or a training run, checked by name: what ``TrainConfig``, ``build_model``
and the harness's ``--set`` accept.

A setting is one number, name or list of layer widths. Every refusal is a ValueError that
starts with the setting's name, says what it must be (with an example) and what it got, so a
typo in a notebook cell or on a command line is fixed from the message alone. NumPy numbers are
accepted and kept as Python's own (a checkpoint's config must stay JSON).
"""

from __future__ import annotations

import inspect
import math
import numbers

import numpy as np


def shown(value) -> str:
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, bool):
        return f"{value!r} (a bool)"
    return repr(value)


def _plain_number(value, whole: bool):
    """Python's own int or float for any other kind of number (NumPy scalars, Fraction,
    longdouble), so that a config stays JSON; Python ints and floats unchanged."""
    if type(value) in (int, float):
        return value
    return int(value) if whole else float(value)


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an int too large for a float
        return False


def whole_setting(value, name: str, what: str, ok, example) -> int:
    """``value`` as an int if it is a whole number (not a bool) for which ``ok(value)`` holds.

    Raises:
        ValueError: ``"<name> must be <what> (e.g. <name>=<example>), got ..."``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not ok(int(value)):
        raise ValueError(f"{name} must be {what} (e.g. {name}={example!r}), got {shown(value)}")
    return _plain_number(value, whole=True)


def number_setting(value, name: str, what: str, ok, example, *, optional: bool = False):
    """``value`` if it is a finite real number (not a bool) for which ``ok(value)`` holds; None
    passes where ``optional``.

    Raises:
        ValueError: ``"<name> must be <what> (e.g. <name>=<example>), got ..."``.
    """
    if value is None and optional:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not _finite(value) or not ok(float(value))):
        none = " or None" if optional else ""
        raise ValueError(f"{name} must be {what}{none} (e.g. {name}={example!r}), got {shown(value)}")
    return _plain_number(value, whole=False)


def choice_setting(value, name: str, options) -> str:
    """``value`` if it is one of ``options`` (strings)."""
    if not isinstance(value, str) or value not in options:
        allowed = " or ".join(repr(o) for o in options)
        got = repr(value) if isinstance(value, str) else shown(value)
        raise ValueError(f"{name} must be {allowed}, got {got}")
    return value


def sizes_setting(value, name: str, example, *, optional: bool = False) -> tuple[int, ...] | None:
    """``value`` as a tuple of layer widths: a non-empty list or tuple of positive whole numbers."""
    if value is None and optional:
        return None
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()
    if (not isinstance(value, list | tuple) or not value
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and 0 < v < 2**31
                       for v in value)):
        none = " or None" if optional else ""
        raise ValueError(f"{name} must be a non-empty list of positive whole numbers (layer widths)"
                         f"{none} (e.g. {name}={list(example)!r}), got {shown(value)}")
    return tuple(int(v) for v in value)


#: How each of build_model's settings is checked: (what it must be, the test, an example).
_SIZE = ("a positive int", lambda v: v > 0)
_COUNT = ("an int >= 0 (0: off)", lambda v: v >= 0)
_MODEL_SETTINGS = {
    "in_dim": ("whole", *_SIZE, 784),
    "latent_dim": ("whole", *_SIZE, 2),
    "style_dim": ("whole", *_SIZE, 10),
    "num_classes": ("whole", "an int >= 2", lambda v: v >= 2, 10),
    "head_dim": ("whole", *_COUNT, 5),
    "disc_cond_dim": ("whole", *_COUNT, 10),
    "decoder_cond_dim": ("whole", *_COUNT, 10),
    "input_noise": ("number", "a std >= 0", lambda v: v >= 0, 0.3),
    "encoder_noise": ("number", "a std >= 0", lambda v: v >= 0, 0.3),
    "encoder_dropout": ("number", "a rate in [0, 1)", lambda v: 0 <= v < 1, 0.2),
    "encoder_input_dropout": ("number", "a rate in [0, 1)", lambda v: 0 <= v < 1, 0.2),
    "init_std": ("optional number", "a positive std", lambda v: v > 0, 0.01),
    "hidden": ("sizes", [1000, 1000]),
    "disc_hidden": ("optional sizes", [1000, 1000]),
    "posterior": ("choice", ("deterministic", "gaussian")),
}


def check_model_settings(kind: str, settings: dict) -> dict:
    """``settings`` as :func:`~aae_utils.models.build_model` takes them for ``kind``, NumPy
    numbers made Python's own; a ValueError names a setting the kind does not have (listing the
    ones it has) or a value it cannot take (what it must be, with an example)."""
    from .models import MODELS

    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {sorted(MODELS)}")
    known = list(inspect.signature(MODELS[kind]).parameters)
    checked = {}
    for name, value in settings.items():
        if name not in known:
            raise ValueError(f"{name!r} is not a setting of a {kind!r} model; its settings are "
                             f"{', '.join(known)}")
        how, *rule = _MODEL_SETTINGS[name]
        if how == "whole":
            value = whole_setting(value, name, *rule)
        elif how.endswith("number"):
            value = number_setting(value, name, *rule, optional=how.startswith("optional"))
        elif how == "choice":
            value = choice_setting(value, name, rule[0])
        else:
            value = sizes_setting(value, name, rule[0], optional=how.startswith("optional"))
        checked[name] = value
    return checked
