"""Figures of the course. Every function returns the matplotlib ``Figure`` it drew.

One palette and one look for all notebooks: :func:`set_style` once in the opening cell.
Digit colours use seaborn's colour-blind-safe 10-colour palette, so digit 3 has the same
colour in every figure of the course.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from . import inputs

DIGIT_PALETTE = "tab10"


def set_style() -> None:
    """The course's plot style: seaborn's white grid, compact figures, readable fonts."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 90, "figure.figsize": (5, 4), "axes.titlesize": 11})


def _np(t: Tensor | np.ndarray) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, Tensor) else np.asarray(t)


def image_grid(
    images: Tensor,
    nrow: int = 10,
    *,
    image_shape: tuple[int, int] = (28, 28),
    title: str | None = None,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    scale: float = 0.6,
) -> Figure:
    """Show a batch of images in a grid of ``nrow`` images per row.

    Args:
        images: ``(N, 784)``, ``(N, 28, 28)`` or ``(N, 1, 28, 28)`` pixel values in [0, 1] (or
            integers 0-255); a tensor or a NumPy array (:mod:`aae_utils.inputs`).
        nrow: images per row.
        row_labels, col_labels: optional text at the left of each row / above each column.
        scale: inches per image.
    """
    h, w = image_shape
    flat = inputs.images(images, "images", dim=h * w, device=torch.device("cpu"), check=True)
    if len(flat) == 0:
        raise ValueError("image_grid got no images")
    imgs = _np(flat).reshape(-1, *image_shape)
    n = len(imgs)
    rows = math.ceil(n / nrow)
    canvas = np.ones((rows * (h + 2), nrow * (w + 2)))
    for i, img in enumerate(imgs):
        r, c = divmod(i, nrow)
        canvas[r * (h + 2) + 1 : r * (h + 2) + 1 + h, c * (w + 2) + 1 : c * (w + 2) + 1 + w] = img
    fig, ax = plt.subplots(figsize=(scale * nrow, scale * rows + (0.4 if title else 0.1)))
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([] if col_labels is None else [(w + 2) * (i + 0.5) for i in range(nrow)])
    ax.set_yticks([] if row_labels is None else [(h + 2) * (i + 0.5) for i in range(rows)])
    if col_labels is not None:
        ax.set_xticklabels(col_labels)
        ax.xaxis.tick_top()
    if row_labels is not None:
        ax.set_yticklabels(row_labels)
    ax.grid(False)
    for s in ax.spines.values():
        s.set_visible(False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def _scatter(ax, z: np.ndarray, labels: np.ndarray | None, s: float = 3, alpha: float = 0.6):
    if labels is None:
        return ax.scatter(z[:, 0], z[:, 1], s=s, alpha=alpha, color="tab:blue", linewidths=0)
    unlabelled = labels < 0
    if unlabelled.any():  # -1: no label, drawn grey under the coloured points
        ax.scatter(z[unlabelled, 0], z[unlabelled, 1], s=s, alpha=alpha, color="0.6", linewidths=0)
    z, labels = z[~unlabelled], labels[~unlabelled]
    return ax.scatter(
        z[:, 0], z[:, 1], c=labels, cmap=DIGIT_PALETTE, vmin=-0.5, vmax=9.5,
        s=s, alpha=alpha, linewidths=0,
    )


def _codes_and_labels(z, labels, name: str = "z") -> tuple[np.ndarray, np.ndarray | None]:
    """Codes ``(N, >= 2)`` and their digits ``(N,)`` in [0, 9] (-1: no label, drawn grey)."""
    z = inputs.codes(z, name, device=torch.device("cpu"), check=True)
    if z.shape[1] < 2:
        raise ValueError(f"{name} must have shape (N, >=2) to scatter, got {tuple(z.shape)}")
    if labels is not None:
        labels = _np(inputs.labels(labels, "labels", classes=10, unlabelled=True, n=len(z), check=True))
    return _np(z), labels


def latent_scatter(
    z: Tensor,
    labels: Tensor | None = None,
    *,
    title: str | None = None,
    prior_samples: Tensor | None = None,
    ax: plt.Axes | None = None,
    lim: float | None = None,
    colorbar: bool = True,
    s: float = 3,
) -> Figure:
    """2-D codes coloured by digit, optionally over grey samples of the prior.

    Higher-dimensional codes are shown by their first two coordinates. Pass ``ax`` to draw
    into one panel of a larger figure (then ``colorbar=False`` keeps the panels aligned).
    ``labels``: one digit per code in [0, 9] (the course's ten colours), or -1 (no label, grey).
    """
    z, labels = _codes_and_labels(z, labels)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5, 4.5))
    if prior_samples is not None:
        p = _np(inputs.codes(prior_samples, "prior_samples", dim=z.shape[1], device=torch.device("cpu")))
        ax.scatter(p[:, 0], p[:, 1], s=2, color="0.75", alpha=0.5, linewidths=0, label="prior")
    sc = _scatter(ax, z, labels, s=s)
    if labels is not None and colorbar:
        cb = fig.colorbar(sc, ax=ax, ticks=range(10), fraction=0.046, pad=0.04)
        cb.set_label("digit")
        cb.solids.set_alpha(1)
    if lim is not None:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if title:
        ax.set_title(title)
    return fig


def prior_vs_posterior(
    prior_samples: Tensor,
    codes: Tensor,
    labels: Tensor | None = None,
    *,
    title: str | None = None,
    lim: float | None = None,
) -> Figure:
    """Two panels: samples of the prior p(z), and the aggregate posterior q(z) (test codes).

    If the AAE has done its job the two clouds have the same shape. ``labels`` as for
    :func:`latent_scatter`.
    """
    q, labels = _codes_and_labels(codes, labels, "codes")
    p, _ = _codes_and_labels(prior_samples, None, "prior_samples")
    lim = lim if lim is not None else float(np.percentile(np.abs(np.vstack([p, q])[:, :2]), 99.5))
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.3), sharex=True, sharey=True)
    _scatter(axes[0], p, None)
    axes[0].set_title("prior samples $z' \\sim p(z)$")
    sc = _scatter(axes[1], q, labels)
    axes[1].set_title("codes of test images, $q(z)$")
    for ax in axes:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel("$z_1$")
    axes[0].set_ylabel("$z_2$")
    if labels is not None:
        fig.colorbar(sc, ax=axes, ticks=range(10), fraction=0.03, pad=0.02).solids.set_alpha(1)
    if title:
        fig.suptitle(title)
    return fig


@torch.no_grad()
def manifold_sweep(
    decoder: torch.nn.Module,
    *,
    lim: float = 2.0,
    n: int = 15,
    grid: Tensor | None = None,
    title: str | None = None,
) -> Figure:
    """Decode an ``n x n`` grid of 2-D codes spanning ``[-lim, lim]^2``.

    Row 0 is the top of the plane (largest :math:`z_2`), matching a scatter plot's layout.
    Pass ``grid`` (``(n*n, 2)`` codes) to sweep other points, e.g. Gaussian quantiles.
    """
    if getattr(decoder, "latent_dim", 2) != 2:
        raise ValueError("manifold_sweep needs a decoder with a 2-D code")
    if grid is None:
        ticks = torch.linspace(-lim, lim, n)
        z2, z1 = torch.meshgrid(ticks.flip(0), ticks, indexing="ij")
        grid = torch.stack([z1.flatten(), z2.flatten()], 1)
    grid = inputs.codes(grid, "grid", dim=2)
    device = next(decoder.parameters()).device
    was_training = decoder.training
    decoder.eval()
    images = torch.sigmoid(decoder(grid.to(device))).cpu()
    decoder.train(was_training)
    return image_grid(images, nrow=n, title=title, scale=0.4)


def loss_curves(
    history: dict[str, list[float]],
    keys: Sequence[str] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """One panel per quantity in ``history`` (default: every number except ``seconds``)."""
    keys = [k for k in (keys or history) if k not in ("seconds", "warnings")]
    missing = [k for k in keys if k not in history]
    if missing:
        raise ValueError(f"history has no {missing}; it has {sorted(history)}")
    if not keys:
        raise ValueError("loss_curves got an empty history")
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.8), squeeze=False)
    for ax, k in zip(axes[0], keys, strict=True):
        values = history[k]
        ax.plot(range(1, len(values) + 1), values, marker="o", ms=3)
        ax.set_title(k)
        ax.set_xlabel("epoch")
        if k == "disc_acc":
            ax.axhline(0.5, color="0.5", ls="--", lw=1)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
