r"""What the course's public functions accept: converted here, in one place, or refused with the fix.

Every public function that takes images, codes or labels (models, losses, metrics, ``fit``,
:class:`~aae_utils.data.ImageData`, priors, figures, the explorer) passes them through the
functions below, so one set of rules holds everywhere:

**Images** ``(N, D)``: a torch tensor or a NumPy array; ``(N, H, W)`` and ``(N, 1, H, W)`` are
flattened to ``(N, H*W)``. Floats must lie in [0, 1] (float64 and float16 become float32);
integer pixels (``uint8`` as MNIST stores them, or any integer type) are grey levels 0-255 and
are divided by 255. NaN or infinite values, floats outside [0, 1] and other shapes are refused.

**Codes** ``(N, d)``: a tensor or an array of finite numbers; integers and float64 become
float32. ``(N,)`` is refused rather than guessed (one 1-D code or N scalars?).

**Labels** ``(N,)``: a tensor or an array of integers (int32, uint8, ... become int64) in the
valid range ``[0, classes - 1]``; ``-1`` marks "unlabelled" only where a function says it
accepts it. Floats, even whole ones, are refused (``y.long()`` is the fix).

**Discriminator logits**: ``(B,)`` or ``(B, 1)``, one per example.

Losses compute one value per example of a batch ``(B, ...)``, reducing every dimension but the
first, then reduce over the batch (``reduction``: mean, sum or none). Metrics compare whole
samples or label vectors and return one number.

Every refusal is a ``ValueError`` (a ``TypeError`` when the argument is not a tensor or an array
at all) that names the argument, says what it found and how to fix it. Value checks (NaN,
range) need the data on the host; :func:`~aae_utils.engine.fit` checks its data once up front
and then runs its loop inside :func:`trusted`, which skips the per-batch value checks so that a
GPU is never made to wait. Conversions of type, dtype, shape and device always happen.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

_CHECK_VALUES: contextvars.ContextVar[bool] = contextvars.ContextVar("aae_check_values", default=True)


@contextlib.contextmanager
def trusted() -> Iterator[None]:
    """Inside the block, skip value checks (NaN, range): the caller has checked the data."""
    token = _CHECK_VALUES.set(False)
    try:
        yield
    finally:
        _CHECK_VALUES.reset(token)


def checking(check: bool | None = None) -> bool:
    """Whether to check values: ``check`` if given, else False inside :func:`trusted`."""
    return check if check is not None else _CHECK_VALUES.get()


def _shape(t) -> tuple:
    return tuple(t.shape)


#: Half-precision inputs are computed in float32: sums over 784 pixels in bfloat16 lose digits.
_HALF = (torch.float16, torch.bfloat16)


def as_tensor(value, name: str) -> Tensor:
    """A tensor from a tensor or a NumPy array (or NumPy scalar), without a copy where possible.

    Raises:
        TypeError: anything else (a list, a number, None), naming ``name`` and the fix.
        ValueError: an array of complex numbers, strings or objects.
    """
    if isinstance(value, Tensor):
        t = value
    elif isinstance(value, np.ndarray | np.generic):
        arr = np.asarray(value)  # a NumPy scalar becomes a 0-d array, not a 1-element one
        if arr.dtype == object or arr.dtype.kind in "USOMmV":
            raise ValueError(f"{name} must hold numbers, got a NumPy array of {arr.dtype}")
        if not arr.flags.c_contiguous or not arr.flags.writeable:
            arr = arr.copy(order="C")
        t = torch.from_numpy(arr)
    elif isinstance(value, list | tuple):
        raise TypeError(
            f"{name} must be a torch tensor or a NumPy array, got a {type(value).__name__}; "
            f"wrap it with torch.tensor({name})"
        )
    else:
        raise TypeError(f"{name} must be a torch tensor or a NumPy array, got {type(value).__name__}")
    if t.is_complex():
        raise ValueError(f"{name} must hold real numbers, got {t.dtype}")
    return t


def _check_finite(t: Tensor, name: str) -> None:
    t = t.detach()
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        nan, inf = int(torch.isnan(t).sum()), int(torch.isinf(t).sum())
        first = [int(i) for i in torch.nonzero(~torch.isfinite(t))[0]]
        parts = [f"{nan} NaN" if nan else "", f"{inf} infinite" if inf else ""]
        raise ValueError(
            f"{name} holds {' and '.join(p for p in parts if p)} value(s) (the first at index "
            f"{tuple(first)}); every value must be a finite number. Find where they came from "
            "(a division by zero, a log of 0, a diverged model) and remove or replace them"
        )


def nonempty(t: Tensor, name: str) -> Tensor:
    """``t`` if it holds at least one example; a ValueError naming ``name`` otherwise."""
    if len(t) == 0:
        raise ValueError(f"{name} is empty (0 examples); pass at least one")
    return t


def images(
    x, name: str = "x", *, dim: int | None = None, dtype: torch.dtype = torch.float32,
    device: torch.device | None = None, check: bool | None = None,
) -> Tensor:
    """Images as a float ``(N, D)`` tensor in [0, 1] (see the module's rules).

    Args:
        x: tensor or array ``(N, D)``, ``(N, H, W)`` or ``(N, 1, H, W)``; floats in [0, 1] or
            integer grey levels 0-255.
        name: the argument's name, for error messages.
        dim: the required ``D`` (e.g. a model's ``in_dim``); None accepts any.
        dtype, device: what the result must be (a model passes its weights').
        check: check the values (NaN, range); default: unless inside :func:`trusted`.

    Raises:
        TypeError: not a tensor or an array.
        ValueError: wrong dtype or shape, NaN or infinite values, floats outside [0, 1], or
            integers outside 0-255 or only 0 and 1 (binarised images: use ``x.float()``).
    """
    if (type(x) is Tensor and x.dtype == dtype and x.ndim == 2 and (dim is None or x.shape[1] == dim)
            and (device is None or x.device == device)):
        if checking(check):
            _check_pixels(x, name)
        return x  # the common case, untouched: no copy, no conversion
    x = as_tensor(x, name)
    if x.dtype == torch.bool:
        raise ValueError(f"{name} is a bool tensor; use {name}.float() for 0/1 pixels")
    if x.ndim in (3, 4) and (x.ndim == 3 or x.shape[1] == 1):
        x = x.flatten(1)  # (N, H, W) / (N, 1, H, W): flattened as ImageData stores them
    if x.ndim != 2 or (dim is not None and x.shape[1] != dim):
        want = f"(N, {dim})" if dim is not None else "(N, D)"
        raise ValueError(
            f"{name} must be a batch of images of shape {want} (or (N, 28, 28) / (N, 1, 28, 28) for "
            f"28x28 images), got {_shape(x)}"
            + (f"; for one image use {name.split('.')[-1]}[None]" if x.ndim == 1 else "")
        )
    integer = not x.is_floating_point()
    if integer and checking(check) and x.numel():
        low, high = int(x.min()), int(x.max())
        if low < 0 or high > 255:
            raise ValueError(
                f"{name} holds integers in [{low}, {high}]; integer pixels are grey levels 0-255"
            )
        if high == 1:
            raise ValueError(
                f"{name} holds integers 0 and 1 only: binarised images? Integer pixels are grey levels "
                f"0-255 (1 would be almost white); for 0/1 pixels use {name}.float()"
            )
    x = x.to(device=device if device is not None else x.device, dtype=dtype)
    if integer:
        return x / 255
    if checking(check):
        _check_pixels(x, name)
    return x


def _check_pixels(x: Tensor, name: str) -> None:
    _check_finite(x, name)
    if x.numel():
        low, high = float(x.detach().min()), float(x.detach().max())
        if low < 0 or high > 1:
            hint = (
                "divide 0-255 pixels by 255 (load_dataset does)" if high > 1 and high <= 255 and low >= 0
                else "pixels must be probabilities of ink in [0, 1]; for decoder outputs use "
                     "torch.sigmoid(logits), and undo any normalisation (x * std + mean)"
            )
            raise ValueError(
                f"{name} must have pixel values in [0, 1], got values in [{low:.3g}, {high:.3g}]; {hint}"
            )


def codes(
    z, name: str = "z", *, dim: int | None = None, dtype: torch.dtype = torch.float32,
    device: torch.device | None = None, check: bool | None = None,
) -> Tensor:
    """Codes (or any batch of feature vectors) as a float ``(N, d)`` tensor of finite numbers.

    Raises:
        TypeError: not a tensor or an array.
        ValueError: not real numbers, not 2-D, ``d`` differs from ``dim``, or NaN / infinite
            values.
    """
    if not (type(z) is Tensor and z.dtype == dtype and (device is None or z.device == device)):
        z = as_tensor(z, name)
        if z.dtype == torch.bool:
            raise ValueError(f"{name} must hold real numbers, got {z.dtype}; use {name}.float()")
        z = z.to(device=device if device is not None else z.device, dtype=dtype)
    if z.ndim != 2 or (dim is not None and z.shape[1] != dim):
        want = f"(N, {dim})" if dim is not None else "(N, d)"
        raise ValueError(
            f"{name} must be a batch of shape {want}, one row per example, got {_shape(z)}"
            + ("; for one code use z[None], for N scalars z[:, None]" if z.ndim == 1 else "")
            + ("; flatten images with x.reshape(len(x), -1)" if z.ndim > 2 else "")
        )
    if checking(check):
        _check_finite(z, name)
    return z


def labels(
    y, name: str = "labels", *, classes: int | None = None, unlabelled: bool = False,
    n: int | None = None, device: torch.device | None = None, check: bool | None = None,
) -> Tensor:
    """Class labels as an int64 ``(N,)`` tensor, each in ``[0, classes - 1]`` (or -1 if allowed).

    Args:
        y: tensor or array of integers, shape ``(N,)``.
        classes: number of classes (None: any non-negative label).
        unlabelled: accept -1 as "unlabelled".
        n: the required length (the number of images they belong to).

    Raises:
        TypeError: not a tensor or an array.
        ValueError: floats or bools instead of integers, wrong shape or length, or a label
            outside the valid range.
    """
    if not (type(y) is Tensor and y.dtype == torch.int64 and (device is None or y.device == device)):
        y = as_tensor(y, name)
        if y.is_floating_point() or y.dtype == torch.bool:
            raise ValueError(
                f"{name} must be integer class indices, got {y.dtype}; use {name}.long() (or "
                f"{name}.argmax(1) for one-hot rows or probabilities)"
            )
        y = y.to(device=device if device is not None else y.device, dtype=torch.int64)
    if y.ndim != 1 or (n is not None and len(y) != n):
        want = f"({n},)" if n is not None else "(N,)"
        same = ", the same length as the examples it labels" if n is not None else ""
        raise ValueError(
            f"{name} must be 1-D, shape {want}: one label per row{same}; got {_shape(y)}"
            + ("; use .argmax(1) for one-hot rows or probabilities" if y.ndim == 2 and y.shape[1] > 1
               else "; use .flatten()" if y.ndim == 2 else "")
        )
    if checking(check) and y.numel():
        low, high = int(y.min()), int(y.max())
        bottom = -1 if unlabelled else 0
        if low < bottom or (classes is not None and high >= classes):
            if classes is not None:
                valid = f"lie in [0, {classes - 1}]" + (" or -1 (unlabelled)" if unlabelled else "")
            else:
                valid = "be class indices >= 0" + (", or -1 (unlabelled)" if unlabelled else "")
            extra = (
                "; -1 (unlabelled) is not accepted here: leave those examples out"
                if low == -1 and not unlabelled else ""
            )
            raise ValueError(f"{name} must {valid}, got values in [{low}, {high}]{extra}")
    return y


def one_hot_or_labels(
    cond, name: str, *, classes: int, n: int, dtype: torch.dtype = torch.float32,
    device: torch.device | None = None,
) -> Tensor:
    """A condition given as one-hot rows (or probabilities) ``(N, classes)``, or as class
    indices ``(N,)`` that are turned into one-hot rows."""
    if (type(cond) is Tensor and cond.ndim == 2 and cond.dtype == dtype
            and (device is None or cond.device == device)):
        pass  # one-hot rows as the engine passes them: only the shape is checked below
    else:
        cond = as_tensor(cond, name)
        if cond.ndim == 1:
            if cond.is_floating_point() or cond.dtype == torch.bool:
                raise ValueError(
                    f"{name} must be one-hot rows ({n}, {classes}) or integer class indices ({n},), "
                    f"got {cond.dtype} of shape {_shape(cond)}; use {name}.long() for indices"
                )
            idx = labels(cond, name, classes=classes, n=n, device=device)
            return torch.nn.functional.one_hot(idx, classes).to(dtype)
        cond = cond.to(device=device if device is not None else cond.device, dtype=dtype)
    if cond.shape != (n, classes):
        raise ValueError(f"{name} must have shape ({n}, {classes}) (one-hot rows) or ({n},) "
                         f"(class indices), got {_shape(cond)}")
    if checking():
        _check_finite(cond, name)
    return cond


def logits(t, name: str) -> Tensor:
    """Discriminator logits as ``(B,)``: one per example; ``(B, 1)`` is squeezed. Integers and
    half precision become float32; bools and empty batches are refused."""
    if type(t) is not Tensor:
        t = as_tensor(t, name)
    if t.dtype == torch.bool:
        raise ValueError(f"{name} must be logits (real numbers), got {t.dtype}")
    if not t.is_floating_point() or t.dtype in _HALF:
        t = t.float()
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 1:
        raise ValueError(
            f"{name} must be one logit per example, shape (B,) or (B, 1), got {_shape(t)}"
        )
    nonempty(t, name)
    if checking():
        _check_finite(t, name)
    return t


def batch(value, name: str, *, dtype: torch.dtype | None = None) -> Tensor:
    """A batch ``(B, ...)`` of real numbers, one example per row (a loss's input): integers and
    half precision become float32 (or ``dtype``); empty batches are refused, and so are NaN and
    infinite values unless inside :func:`trusted`."""
    t = value if type(value) is Tensor else as_tensor(value, name)
    if not t.is_floating_point() or t.dtype in _HALF or (dtype is not None and t.dtype != dtype):
        if t.dtype == torch.bool:
            raise ValueError(f"{name} must hold real numbers, got {t.dtype}")
        t = t.to(dtype if dtype is not None else torch.float32)
    if t.ndim < 2:
        raise ValueError(
            f"{name} must be a batch with one example per row, shape (B, ...), got {_shape(t)}; "
            "for one example use [None]"
        )
    nonempty(t, name)
    if checking():
        _check_finite(t, name)
    return t


def batch_pair(a, b, name_a: str, name_b: str) -> tuple[Tensor, Tensor]:
    """``a`` (real numbers, see :func:`batch`) and ``b`` (as it is, a tensor) with one example
    per row each, flattened to ``(B, -1)`` when their shapes differ but their batch size and
    number of values per example agree."""
    a = batch(a, name_a)
    b = b if isinstance(b, Tensor) else as_tensor(b, name_b)
    if b.ndim < 2:
        raise ValueError(
            f"{name_b} must be a batch with one example per row, shape (B, ...), got {_shape(b)}; "
            "for one example use [None]"
        )
    if a.shape != b.shape:
        if len(a) != len(b) or a[0].numel() != b[0].numel():
            raise ValueError(
                f"{name_b} must have the same shape as {name_a}, {_shape(a)} (or the same batch "
                f"size and number of values per example), got {_shape(b)}"
            )
        a, b = a.flatten(1), b.flatten(1)
    return a, b
