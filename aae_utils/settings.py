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
        return f"the text {value!r} (write the value without quotes)"
    if isinstance(value, bool):
        return f"{value!r} (a bool)"
    return repr(value)


def _plain_number(value):
    """Python's own int or float for a NumPy scalar (so configs stay JSON); others unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def whole_setting(value, name: str, what: str, ok, example) -> int:
    """``value`` as an int if it is a whole number (not a bool) for which ``ok(value)`` holds.

    Raises:
        ValueError: ``"<name> must be <what> (e.g. <name>=<example>), got ..."``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not ok(int(value)):
        raise ValueError(f"{name} must be {what} (e.g. {name}={example!r}), got {shown(value)}")
    return _plain_number(value)


def number_setting(value, name: str, what: str, ok, example, *, optional: bool = False):
    """``value`` if it is a finite real number (not a bool) for which ``ok(value)`` holds; None
    passes where ``optional``.

    Raises:
        ValueError: ``"<name> must be <what> (e.g. <name>=<example>), got ..."``.
    """
    if value is None and optional:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(float(value)) or not ok(float(value))):
        none = " or None" if optional else ""
        raise ValueError(f"{name} must be {what}{none} (e.g. {name}={example!r}), got {shown(value)}")
    return _plain_number(value)


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
    if (not isinstance(value, list | tuple) or not value
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in value)):
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
}


def check_model_settings(kind: str, settings: dict) -> None:
    """Refuse a setting :func:`build_model` does not know for ``kind``, or a value it cannot
    take, with a ValueError that names the setting, what it must be and the settings there are."""
    from .models import MODELS

    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {sorted(MODELS)}")
    known = list(inspect.signature(MODELS[kind]).parameters)
    for name, value in settings.items():
        if name not in known:
            raise ValueError(f"{name!r} is not a setting of a {kind!r} model; its settings are "
                             f"{', '.join(known)}")
        rule = _MODEL_SETTINGS.get(name)
        if rule is None:  # a name checked by the model itself (posterior)
            continue
        how = rule[0]
        if how == "whole":
            whole_setting(value, name, *rule[1:])
        elif how.endswith("number"):
            number_setting(value, name, *rule[1:], optional=how.startswith("optional"))
        else:
            sizes_setting(value, name, rule[1], optional=how.startswith("optional"))
