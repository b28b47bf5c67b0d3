"""Figures of the course. Every function returns the matplotlib ``Figure`` it drew.

One look for all notebooks: :func:`set_style` once in the opening cell.

Digit colours (:data:`DIGIT_COLORS`) are M. A. Petroff's 10-colour qualitative sequence
("Accessible Color Sequences for Data Visualization", 2021, arXiv:2107.02270; matplotlib 3.10
ships it as the style ``"petroff10"``), in its published order: digit ``d`` has colour ``d`` in
every figure and in the latent explorer. Petroff chose the ten colours to stay apart under
simulated red-green (protanopia, deuteranopia) and blue-yellow (tritanopia) colour blindness.
Checked with the Machado et al. (2009) simulation at full severity: its closest pair of colours
is 11.9, 12.6 and 13.3 CIEDE2000 units apart (protanopia, deuteranopia, tritanopia), against
1.3, 3.3 and 9.5 for matplotlib's ``tab10`` (whose orange/green and green/red pairs merge for
a red-green colour-blind reader) and 5.7, 9.0 and 5.5 for seaborn's ``"colorblind"``. Ten
colours cannot all be far apart: two of these are greyish (3 grey-green, 8 slate), so every
labelled scatter carries a key (a colour bar or a legend).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from torch import Tensor

from . import inputs

#: Colour of digit ``d`` is ``DIGIT_COLORS[d]``: Petroff's 10-colour sequence (module docstring).
DIGIT_COLORS: tuple[str, ...] = (
    "#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6",
    "#a96b59", "#e76300", "#b9ac70", "#717581", "#92dadd",
)
#: The same ten colours as a colormap for ``scatter(c=digits, vmin=-0.5, vmax=9.5)``.
DIGIT_PALETTE = ListedColormap(DIGIT_COLORS, name="aae_digits")
#: Codes without a label (-1) are drawn in this grey, underneath the coloured ones.
UNLABELLED_COLOR = "0.6"
#: Prior samples drawn under the codes.
PRIOR_COLOR, PRIOR_ALPHA = "0.75", 0.5


def set_style() -> None:
    """The course's plot style: seaborn's white grid, compact figures, readable fonts.

    Lines and bars cycle through seaborn's ``"colorblind"`` palette; digits always use
    :data:`DIGIT_COLORS`, with or without this style.
    """
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
    inputs.nonempty(flat, "images")
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
        return ax.scatter(z[:, 0], z[:, 1], s=s, alpha=alpha, color=PRIOR_COLOR, linewidths=0)
    unlabelled = labels < 0
    if unlabelled.any():  # -1: no label, drawn grey under the coloured points
        ax.scatter(z[unlabelled, 0], z[unlabelled, 1], s=s, alpha=alpha, color=UNLABELLED_COLOR,
                   linewidths=0)
    z, labels = z[~unlabelled], labels[~unlabelled]
    return ax.scatter(
        z[:, 0], z[:, 1], c=labels, cmap=DIGIT_PALETTE, vmin=-0.5, vmax=9.5,
        s=s, alpha=alpha, linewidths=0,
    )


def _dot(color, label: str, alpha: float = 1.0) -> Line2D:
    return Line2D([], [], ls="", marker="o", ms=5, mfc=color, mec="none", alpha=alpha, label=label)


def digit_legend(
    ax: plt.Axes,
    *,
    title: str | None = "digit",
    unlabelled: bool = False,
    prior: bool = False,
    fontsize: float = 7,
) -> Legend:
    """A compact key of the ten digit colours in one column to the right of ``ax``.

    ``unlabelled`` / ``prior`` add entries for grey codes without a label and grey prior
    samples. Outside the axes, so it hides no points; ``fig.tight_layout()`` makes room for it.
    """
    handles = [_dot(c, str(d)) for d, c in enumerate(DIGIT_COLORS)]
    if unlabelled:
        handles.append(_dot(UNLABELLED_COLOR, "no label"))
    if prior:
        handles.append(_dot(PRIOR_COLOR, "prior", PRIOR_ALPHA))
    return ax.legend(
        handles=handles, title=title, loc="center left", bbox_to_anchor=(1.01, 0.5),
        frameon=False, fontsize=fontsize, title_fontsize=fontsize, handletextpad=0.1,
        handlelength=1.0, labelspacing=0.25, borderaxespad=0.0, borderpad=0.2,
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
    legend: bool | None = None,
    key_title: str = "digit",
) -> Figure:
    """2-D codes coloured by digit, optionally over grey samples of the prior.

    Higher-dimensional codes are shown by their first two coordinates. Pass ``ax`` to draw
    into one panel of a larger figure (then ``colorbar=False`` keeps the panels aligned).
    ``labels``: one digit per code in [0, 9] (colour ``d`` of :data:`DIGIT_COLORS`), or -1 (no
    label, grey).

    With labels the panel always gets a key: a discrete colour bar (ticks 0-9), or, with
    ``colorbar=False``, a compact legend (:func:`digit_legend`) beside the panel, which leaves
    the panels of a row the same size. ``legend=True`` asks for the legend instead of the colour
    bar, ``legend=False`` (with ``colorbar=False``) for no key at all, e.g. when another panel
    of the figure carries it. ``key_title`` names what the colours are (``"component"``, ...).
    """
    z, labels = _codes_and_labels(z, labels)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5, 4.5))
    if prior_samples is not None:
        p = _np(inputs.codes(prior_samples, "prior_samples", dim=z.shape[1], device=torch.device("cpu")))
        ax.scatter(p[:, 0], p[:, 1], s=2, color=PRIOR_COLOR, alpha=PRIOR_ALPHA, linewidths=0,
                   label="prior")
    sc = _scatter(ax, z, labels, s=s)
    if labels is not None and (legend or (legend is None and not colorbar)):
        digit_legend(ax, title=key_title, unlabelled=bool((labels < 0).any()),
                     prior=prior_samples is not None)
    elif labels is not None and colorbar:
        cb = fig.colorbar(sc, ax=ax, ticks=range(10), fraction=0.046, pad=0.04)
        cb.set_label(key_title)
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
    :func:`latent_scatter`; with labels a colour bar (ticks 0-9) keys the digits.
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
        cb = fig.colorbar(sc, ax=axes, ticks=range(10), fraction=0.03, pad=0.02)
        cb.set_label("digit")
        cb.solids.set_alpha(1)
    if title:
        fig.suptitle(title)
    return fig


def _minus(v: float) -> str:
    return f"{round(v, 6):g}".replace("-", "\u2212")


def _sweep_ticks(ax, values: np.ndarray, positions: np.ndarray, axis: str) -> None:
    """Ticks at round code values, placed by interpolating between the images' centres."""
    order = np.argsort(values)
    v, p = values[order], positions[order]
    ticks = [t for t in MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(v[0], v[-1])
             if v[0] - 1e-9 <= t <= v[-1] + 1e-9]
    where = np.interp(ticks, v, p)
    labels = [_minus(t) for t in ticks]
    if axis == "x":
        ax.set_xticks(where, labels=labels)
    else:
        ax.set_yticks(where, labels=labels)


@torch.no_grad()
def manifold_sweep(
    decoder: torch.nn.Module,
    *,
    lim: float = 2.0,
    n: int = 15,
    grid: Tensor | None = None,
    title: str | None = None,
    axes: bool = True,
) -> Figure:
    """Decode an ``n x n`` grid of 2-D codes spanning ``[-lim, lim]^2``.

    Row 0 is the top of the plane (largest :math:`z_2`), matching a scatter plot's layout.
    Pass ``grid`` (``(n*n, 2)`` codes) to sweep other points, e.g. Gaussian quantiles.
    With ``axes`` (the default) the edges carry :math:`z_1` (bottom) and :math:`z_2` (left)
    ticks at round values, placed between the images' centres by interpolation, so a
    non-uniform grid (quantiles) shows unevenly spaced ticks. A ``grid`` that is not a
    product of one :math:`z_1` per column and one :math:`z_2` per row gets no ticks.
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
    fig = image_grid(images, nrow=n, title=title, scale=0.4)
    if axes and len(grid) == n * n:
        g = _np(grid.float().cpu()).reshape(n, n, 2)
        z1, z2 = g[0, :, 0], g[:, 0, 1]
        product = np.allclose(g[:, :, 0], z1[None, :]) and np.allclose(g[:, :, 1], z2[:, None])
        if product and len(np.unique(z1)) == n and len(np.unique(z2)) == n:
            ax = fig.axes[0]
            centres = np.arange(n) * 30 + 14.5  # image_grid: 28 pixels + 2 of margin each
            _sweep_ticks(ax, z1, centres, "x")
            _sweep_ticks(ax, z2, centres, "y")
            ax.xaxis.tick_bottom()
            ax.tick_params(labelsize=9, length=2, pad=1)
            ax.set_xlabel("$z_1$", labelpad=1)
            ax.set_ylabel("$z_2$", labelpad=1)
            fig.tight_layout()
    return fig


#: y-axis label of each quantity of a training history (nats: natural-log units).
LOSS_LABELS = {
    "recon": "loss (nats per image)",
    "kl": "KL (nats per image)",
    "loss": "loss (nats per image)",
    "disc": "loss (nats)",
    "gen": "loss (nats)",
    "class": "loss (nats per image)",
}


def _references(history: dict[str, list[float]], key: str) -> list[tuple[float, str]]:
    """Reference levels for one panel: what the loss is when the discriminator answers 1/2."""
    both = any(k.startswith("disc_acc_") for k in history)  # semi-supervised: D_y + D_z
    n, two = (2, r"2\,") if both else (1, "")
    if key == "disc":
        return [(n * math.log(4), rf"${two}\log 4 \approx {n * math.log(4):.2f}$ (D = 1/2)")]
    if key == "gen":
        values = np.asarray(history[key], dtype=float)
        if len(values) and np.nanmax(values) <= 0:  # minimax generator: log(1 - D) <= 0
            return [(-n * math.log(2), rf"$-{two}\log 2 \approx {{{-n * math.log(2):.2f}}}$ (D = 1/2)")]
        return [(n * math.log(2), rf"${two}\log 2 \approx {n * math.log(2):.2f}$ (D = 1/2)")]
    if key.startswith("disc_acc"):
        return [(0.5, "0.5 (chance)")]
    if key == "class":
        return [(math.log(10), r"$\log 10 \approx 2.30$ (chance)")]
    return []


def loss_curves(
    history: dict[str, list[float]],
    keys: Sequence[str] | None = None,
    *,
    title: str | None = None,
    references: bool = True,
    ylabels: dict[str, str] | None = None,
) -> Figure:
    r"""One panel per quantity in ``history`` (default: every number except ``seconds``).

    x: the epoch (each value is the mean over one epoch). y-labels from :data:`LOSS_LABELS`
    (``ylabels`` overrides them, e.g. ``{"recon": "squared error per image"}`` for an MSE run).
    With ``references`` dashed lines mark the value of a discriminator that answers 1/2
    everywhere: :math:`\log 4 \approx 1.39` on ``disc`` (:math:`-\log\frac12 - \log\frac12`),
    :math:`\log 2 \approx 0.69` on ``gen`` (:math:`-\log\frac12`; :math:`-\log 2` for the
    minimax generator loss, whose values are negative), twice those for the semi-supervised
    AAE's two discriminators, 0.5 on ``disc_acc``, and :math:`\log 10` (a uniform guess) on
    ``class``.
    """
    keys = [k for k in (keys or history) if k not in ("seconds", "warnings")]
    missing = [k for k in keys if k not in history]
    if missing:
        raise ValueError(f"history has no {missing}; it has {sorted(history)}")
    if not keys:
        raise ValueError("loss_curves got an empty history")
    labels = {**LOSS_LABELS, **(ylabels or {})}
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.8), squeeze=False)
    for ax, k in zip(axes[0], keys, strict=True):
        values = history[k]
        ax.plot(range(1, len(values) + 1), values, marker="o", ms=3)
        ax.set_title(k)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if k in labels:
            ax.set_ylabel(labels[k])
        elif k.startswith("disc_acc"):
            ax.set_ylabel("accuracy")
        levels = _references(history, k) if references else []
        for level, text in levels:
            ax.axhline(level, color="0.4", ls="--", lw=1, label=text)
        if levels:
            ax.legend(fontsize=7.5, loc="best", frameon=False, handlelength=1.5)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
