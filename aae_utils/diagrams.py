"""Figures that show a mechanism rather than a result: what the discriminator sees in the code
plane (notebook 03), what the label-conditioned game matches, class by class (04), and a Parzen
window in one dimension before the 784-dimensional one (08).

Each function returns a matplotlib ``Figure``; codes and labels follow the rules of
:mod:`aae_utils.inputs`.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from . import inputs


def discriminator_map(
    discriminator: nn.Module,
    codes: Tensor,
    prior_samples: Tensor,
    *,
    lim: float = 3.5,
    resolution: int = 150,
    title: str | None = None,
    ax: plt.Axes | None = None,
) -> Figure:
    """The discriminator's verdict :math:`D(z) = \\sigma(\\text{logit})` over the 2-D code plane
    (red: "a prior sample", blue: "a code"), with the line :math:`D = \\tfrac12`, the prior
    samples (yellow) and the codes (black) on top.

    Where the codes and the prior overlap, an optimal discriminator can only say 1/2 (notebook
    03's exercise 2: :math:`D^* = p / (p + q)`); red patches are places the prior fills and the
    codes do not reach, blue ones places the codes crowd. The picture is of this discriminator
    at this moment of training, not of :math:`D^*`.

    Args:
        discriminator: ``discriminator(z)`` gives one logit per row of a ``(N, 2)`` batch.
        codes, prior_samples: ``(N, 2)`` and ``(M, 2)``.
        lim: the plane shown is ``[-lim, lim]^2``.
        resolution: grid points per axis.
    """
    q = inputs.codes(codes, "codes", dim=2, device=torch.device("cpu"), check=True)
    p = inputs.codes(prior_samples, "prior_samples", dim=2, device=torch.device("cpu"), check=True)
    if not (isinstance(lim, int | float) and lim > 0 and math.isfinite(lim)):
        raise ValueError(f"lim must be a positive number, got {lim!r}")
    axis = torch.linspace(-lim, lim, resolution)
    grid = torch.stack(torch.meshgrid(axis, axis.flip(0), indexing="xy"), -1).reshape(-1, 2)
    device = next(discriminator.parameters()).device
    with torch.no_grad():
        d = torch.sigmoid(discriminator(grid.to(device)).reshape(-1)).cpu().reshape(resolution, resolution)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5.6, 4.8))
    im = ax.imshow(d.numpy(), extent=(-lim, lim, -lim, lim), cmap="RdBu_r", vmin=0, vmax=1,
                   interpolation="bilinear")
    ax.contour(axis.numpy(), axis.flip(0).numpy(), d.numpy(), levels=[0.5], colors="k",
               linewidths=0.8, linestyles="--")
    ax.scatter(p[:, 0], p[:, 1], s=2, c="gold", alpha=0.8, linewidths=0, label="prior samples")
    ax.scatter(q[:, 0], q[:, 1], s=2, c="black", alpha=0.5, linewidths=0, label="codes")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    leg = ax.legend(loc="upper right", fontsize=7, markerscale=4, framealpha=0.8)
    leg.get_frame().set_facecolor("0.8")
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    cb.set_label("D(z): how sure it is that z is a prior sample")
    if title:
        ax.set_title(title)
    return fig


def class_match(
    codes: Tensor,
    labels: Tensor,
    prior,
    *,
    lim: float = 8.0,
    per_class: int = 300,
    seed: int = 0,
    title: str | None = None,
) -> Figure:
    """What the label-conditioned game matches: for each class :math:`k`, samples of
    :math:`p(z \\mid y = k)` (grey) beside the codes of that class, :math:`q(z \\mid y = k)`
    (black), one panel per class.

    The discriminator that sees the label judges each pair :math:`(z, y)`, so it pushes every
    class's codes onto that class's own part of the prior, not only the codes as a whole onto
    the prior.

    Args:
        codes: ``(N, 2)`` codes; labels: their classes ``(N,)``.
        prior: a prior split by label (``prior.sample(labels)``), such as the mixture or the roll.
        per_class: codes and prior samples drawn per panel.
    """
    z = inputs.codes(codes, "codes", dim=2, device=torch.device("cpu"), check=True)
    y = inputs.labels(labels, "labels", n=len(z), device=torch.device("cpu"), check=True)
    classes = int(getattr(prior, "num_classes", int(y.max()) + 1))
    g = torch.Generator().manual_seed(seed)
    cols = 5
    rows = math.ceil(classes / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.4 * rows), sharex=True, sharey=True)
    for k, ax in enumerate(np.ravel(axes)):
        if k >= classes:
            ax.axis("off")
            continue
        mine = z[y == k]
        mine = mine[torch.randperm(len(mine), generator=g)[:per_class]]
        drawn = prior.sample(torch.full((per_class,), k), generator=g)
        ax.scatter(drawn[:, 0], drawn[:, 1], s=3, c="0.78", linewidths=0)
        ax.scatter(mine[:, 0], mine[:, 1], s=2, c="black", alpha=0.7, linewidths=0)
        ax.set_title(f"y = {k}", fontsize=9)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
    fig.suptitle(title or "each class: prior samples p(z | y = k) in grey, test codes q(z | y = k) "
                          "in black", fontsize=10)
    fig.tight_layout()
    return fig


def parzen_window_1d(
    samples: Tensor,
    sigmas: tuple[float, ...],
    *,
    points: Tensor | None = None,
    x_range: tuple[float, float] = (0.0, 1.0),
    title: str | None = None,
) -> Figure:
    """A Parzen window in one dimension, one panel per width: a Gaussian of width
    :math:`\\sigma` on each sample (thin lines, each weighted :math:`1/S`) and their average, the
    window's density (thick); optional ``points`` are marked with :math:`\\log \\hat p(x)`.

    Args:
        samples: ``(S,)`` or ``(S, 1)`` sample positions.
        sigmas: the widths to show, one panel each.
        points: ``(N,)`` positions to score.
        x_range: the stretch of the axis shown.
    """
    s = torch.as_tensor(inputs.as_tensor(samples, "samples"), dtype=torch.float64).reshape(-1)
    if len(s) == 0 or not bool(torch.isfinite(s).all()):
        raise ValueError("samples must hold at least one finite position")
    if not sigmas or any(not (isinstance(v, int | float) and v > 0) for v in sigmas):
        raise ValueError(f"sigmas must be positive widths, got {sigmas!r}")
    xs = torch.linspace(*x_range, 600, dtype=torch.float64)
    fig, axes = plt.subplots(1, len(sigmas), figsize=(4.6 * len(sigmas), 3.2), sharey=False)
    for ax, sigma in zip(np.atleast_1d(axes), sigmas, strict=True):
        kernels = torch.exp(-0.5 * ((xs[:, None] - s[None]) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
        for j in range(len(s)):
            ax.plot(xs, kernels[:, j] / len(s), color="0.6", lw=0.7)
        ax.plot(xs, kernels.mean(1), color="C0", lw=2, label="window density")
        ax.plot(s, np.zeros(len(s)), "|", color="k", ms=12, label="samples")
        if points is not None:
            pts = torch.as_tensor(inputs.as_tensor(points, "points"), dtype=torch.float64).reshape(-1)
            norm = sigma * math.sqrt(2 * math.pi)
            dens = torch.exp(-0.5 * ((pts[:, None] - s[None]) / sigma) ** 2).mean(1) / norm
            ax.plot(pts, dens, "o", color="C3", ms=5, label="test points")
            for x, d in zip(pts.tolist(), dens.tolist(), strict=True):
                ax.annotate(f"{math.log(d) if d > 0 else -math.inf:.1f}", (x, d), textcoords="offset points",
                            xytext=(0, 6), ha="center", fontsize=7, color="C3")
        ax.set_title(f"width $\\sigma$ = {sigma:g}", fontsize=10)
        ax.set_xlim(*x_range)
        ax.set_xlabel("x")
    np.atleast_1d(axes)[0].set_ylabel("density")
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="upper left")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
