r"""Numbers that say how well codes match a prior (used to compare the VAE and the AAE).

Both compare two samples, so they work for any prior the course can sample, including the
swiss roll, which has no density.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def _check_pair(x: Tensor, y: Tensor) -> None:
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(
            f"expected two samples of shape (N, d) and (M, d), got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if len(x) < 2 or len(y) < 2:
        raise ValueError("each sample needs at least two points")


@torch.no_grad()
def mmd(x: Tensor, y: Tensor, bandwidths: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0)) -> float:
    r"""Squared maximum mean discrepancy between samples ``x`` and ``y`` (unbiased estimate).

    .. math::
        \mathrm{MMD}^2 = \mathbb{E}[k(x, x')] + \mathbb{E}[k(y, y')] - 2\,\mathbb{E}[k(x, y)],
        \qquad k(a, b) = \sum_{h} \exp\!\big(-\lVert a-b\rVert^2 / (2h^2)\big)

    It is 0 (up to noise; the unbiased estimate can dip below 0) when the two distributions
    are equal and grows as they differ. Bandwidths are in code units, so compare codes and
    prior samples on the same scale.
    """
    _check_pair(x, y)
    x, y = x.double().cpu(), y.double().cpu()

    def k(a: Tensor, b: Tensor) -> Tensor:
        d2 = torch.cdist(a, b).pow(2)
        return sum(torch.exp(-d2 / (2 * h * h)) for h in bandwidths)

    n, m = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    term_x = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    term_y = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return float(term_x + term_y - 2 * kxy.mean())


@torch.no_grad()
def histogram_distance(x: Tensor, y: Tensor, *, lim: float, bins: int = 20) -> float:
    r"""Total-variation distance between the 2-D histograms of ``x`` and ``y`` on ``[-lim, lim]^2``.

    .. math:: \mathrm{TV} = \tfrac12 \sum_{\text{cells}} |p_x(\text{cell}) - p_y(\text{cell})|

    0 means the same share of points in every cell; 1 means no overlap at all. Points outside
    the square count in an extra "outside" cell, so codes that drift away are not ignored.
    It reads as "the fraction of codes that would have to move to match the prior".
    """
    _check_pair(x, y)
    if x.shape[1] != 2:
        raise ValueError(f"histogram_distance compares 2-D codes, got dimension {x.shape[1]}")
    if lim <= 0 or bins < 1:
        raise ValueError(f"lim must be positive and bins >= 1, got lim={lim}, bins={bins}")

    def hist(a: Tensor) -> Tensor:
        a = a.double().cpu()
        inside = (a.abs() < lim).all(1)
        cells = ((a[inside] + lim) / (2 * lim) * bins).long().clamp(0, bins - 1)
        flat = torch.bincount(cells[:, 0] * bins + cells[:, 1], minlength=bins * bins).double()
        counts = torch.cat([flat, (~inside).sum().double().view(1)])
        return counts / len(a)

    return float(0.5 * (hist(x) - hist(y)).abs().sum())


@torch.no_grad()
def nearest_distance(queries: Tensor, reference: Tensor, chunk: int = 2048) -> Tensor:
    """Distance from each query point to its nearest point in ``reference`` (shape ``(N,)``).

    Large values mark "holes": places in code space that no training image maps to.
    """
    _check_pair(queries, reference)
    ref = reference.float().cpu()
    out = [torch.cdist(q.float().cpu(), ref).min(1).values for q in queries.split(chunk)]
    return torch.cat(out)
