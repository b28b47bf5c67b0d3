r"""Numbers that say how well codes match a prior (used to compare the VAE and the AAE).

Both compare two samples, so they work for any prior the course can sample, including the
swiss roll, which has no density.

Every function takes tensors or NumPy arrays: codes ``(N, d)``, images ``(N, 784)`` and labels
``(N,)`` as described in :mod:`aae_utils.inputs` (int32 labels, float64 codes and 0-255 pixels
are converted; NaN values, labels out of range and other shapes are refused, naming the
argument).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from . import inputs


def _check_pair(x, y, names: tuple[str, str] = ("x", "y"), least: int = 2) -> tuple[Tensor, Tensor]:
    """Two samples of codes, ``(N, d)`` and ``(M, d)`` with at least ``least`` points each, as
    float32 tensors on the CPU."""
    x = inputs.codes(x, names[0], device=torch.device("cpu"), check=True)
    y = inputs.codes(y, names[1], dim=x.shape[1], device=torch.device("cpu"), check=True)
    for t, name in ((x, names[0]), (y, names[1])):
        if len(t) < least:
            raise ValueError(f"{name} needs at least {least} point{'s' if least > 1 else ''}, got {len(t)}")
    return x, y


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
    x, y = _check_pair(x, y)
    x, y = x.double(), y.double()

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

    Between two *finite samples* it is above 0 even when both come from one distribution
    (each cell's count is noisy): read a model's value against :func:`reference_distances`'s
    "fresh prior sample" row, never against 0.
    """
    x, y = _check_pair(x, y, least=1)
    if x.shape[1] != 2:
        raise ValueError(f"x must be 2-D codes (N, 2) for histogram_distance, got {tuple(x.shape)}")
    if not lim > 0 or not isinstance(bins, int) or bins < 1:
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
    queries, reference = _check_pair(queries, reference, ("queries", "reference"), least=1)
    out = [torch.cdist(q, reference).min(1).values for q in queries.split(chunk)]
    return torch.cat(out)


def reference_distances(
    sample_prior: Callable[[int], Tensor], n: int, *, lim: float, shrink: float = 0.8,
    mmd_points: int = 2000, seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """The two rows every table of distances to the prior needs, to read the others against.

    - ``"fresh prior sample"``: a second, independent sample of the prior against the first,
      the floor that sampling noise alone gives (a model cannot do better than this);
    - ``f"prior scaled by {shrink}"``: prior samples multiplied by ``shrink`` against the
      prior, a known, visible mismatch (for N(0, I): N(0, 0.8^2 I)) to calibrate the scale.

    Args:
        sample_prior: ``sample_prior(n)`` returns ``(n, 2)`` prior samples (a prior's
            ``sample``).
        n: sample size, the same as the codes compared (histogram distance depends on it).
        lim: the histogram's square, as for :func:`histogram_distance`.
        mmd_points: how many points :func:`mmd` uses (as the notebooks do, 2000).

    Returns:
        ``{row name: (MMD^2, histogram distance)}``, the prior sample compared is drawn first
        with ``seed``.
    """
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be a whole number >= 2, got {n!r}")
    if not 0 < shrink:
        raise ValueError(f"shrink must be positive, got {shrink!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        first, second, third = (sample_prior(n).cpu() for _ in range(3))
    m = min(mmd_points, n)
    rows = {}
    for name, other in (("fresh prior sample", second), (f"prior scaled by {shrink:g}", shrink * third)):
        rows[name] = (mmd(other[:m], first[:m]), histogram_distance(other, first, lim=lim))
    return rows


@dataclass(frozen=True)
class ElboSurgery:
    r"""The VAE's average KL term split in two (Hoffman and Johnson, 2016, "ELBO surgery"),
    all in nats per image:

    .. math::
        \underbrace{\mathbb{E}_{x}\,\mathrm{KL}\big(q(z|x)\,\|\,p(z)\big)}_{\texttt{average\_kl}}
        = \underbrace{I_q(x; z)}_{\texttt{mutual\_information}}
        + \underbrace{\mathrm{KL}\big(q(z)\,\|\,p(z)\big)}_{\texttt{marginal\_kl}}

    ``average_kl`` is exact (the closed form averaged over the images); the two parts are Monte
    Carlo estimates from one code per image, with ``q(z)`` the mixture of the N posteriors, so
    their sum matches ``average_kl`` only up to ``standard_error``. ``mutual_information``
    cannot exceed ``log N`` (``log_n``): N images carry at most log N nats about which one
    was encoded.
    """

    average_kl: float
    mutual_information: float
    marginal_kl: float
    standard_error: float
    log_n: float


@torch.no_grad()
def elbo_surgery(mu: Tensor, logvar: Tensor, *, seed: int = 0, chunk: int = 512) -> ElboSurgery:
    """Split a Gaussian encoder's average KL to N(0, I) into mutual information and the KL of
    the aggregated posterior ``q(z) = (1/N) sum_n q(z|x_n)`` to the prior.

    Args:
        mu, logvar: the posterior parameters of N images, ``(N, d)`` each (a VAE's encoder
            on the test set). Costs N x N density evaluations, in chunks of ``chunk`` codes.
        seed: for the one code drawn per image.
    """
    mu = inputs.codes(mu, "mu", device=torch.device("cpu"), check=True).double()
    logvar = inputs.codes(logvar, "logvar", dim=mu.shape[1], device=torch.device("cpu"),
                          check=True).double()
    if len(logvar) != len(mu) or len(mu) < 2:
        raise ValueError(f"mu and logvar need the same number (>= 2) of rows, got {len(mu)} "
                         f"and {len(logvar)}")
    n, d = mu.shape
    average_kl = float(0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1).mean())
    std = (0.5 * logvar).exp()
    z = mu + std * torch.randn(mu.shape, generator=torch.Generator().manual_seed(seed),
                               dtype=mu.dtype)
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    own, marginal, prior = [], [], []
    for zc, mc, lc in zip(z.split(chunk), mu.split(chunk), logvar.split(chunk), strict=True):
        # log q(z_m | x_n) for the chunk's codes m against every image n: (chunk, N)
        pair = -0.5 * (((zc[:, None] - mu[None]) / std[None]).pow(2) + logvar[None]).sum(2) \
            - d * half_log_2pi
        marginal.append(pair.logsumexp(1) - math.log(n))
        own.append(-0.5 * (((zc - mc) / (0.5 * lc).exp()).pow(2) + lc).sum(1) - d * half_log_2pi)
        prior.append(-0.5 * zc.pow(2).sum(1) - d * half_log_2pi)
    own, marginal, prior = torch.cat(own), torch.cat(marginal), torch.cat(prior)
    total = own - prior  # one-sample estimate of each image's KL; its mean estimates average_kl
    return ElboSurgery(
        average_kl=average_kl,
        mutual_information=float((own - marginal).mean()),
        marginal_kl=float((marginal - prior).mean()),
        standard_error=float(total.std() / math.sqrt(n)),
        log_n=math.log(n),
    )


# --- classification and clustering (notebooks 06 and 07) -------------------------------------


def error_rate(predicted: Tensor, labels: Tensor) -> float:
    """Fraction of ``predicted`` classes that differ from ``labels``: class indices ``(N,)``
    each, non-negative (-1, "unlabelled", has no error to count)."""
    cpu = torch.device("cpu")
    predicted = inputs.labels(predicted, "predicted", device=cpu, check=True)
    labels = inputs.labels(labels, "labels", n=len(predicted), device=cpu, check=True)
    if len(labels) == 0:
        raise ValueError("error_rate needs at least one prediction")
    return float((predicted != labels).float().mean())


def cluster_labels(
    val_proba: Tensor, val_labels: Tensor, *, rule: str = "paper", num_classes: int = 10
) -> Tensor:
    r"""The digit each cluster stands for, decided on labelled validation data.

    ``rule="paper"`` (Makhzani et al., Section 6): cluster :math:`i` takes the label of the one
    validation example that maximises :math:`q(y=i|x)`. ``rule="majority"``: the most common
    label among the validation examples assigned to cluster :math:`i` (a cluster with no
    examples falls back to the paper's rule).

    Args:
        val_proba: :math:`q(y|x)` of the validation images, shape ``(N, K)``.
        val_labels: their true labels, shape ``(N,)``.

    Returns:
        A tensor of ``K`` labels: ``labels_of_cluster[k]``.
    """
    if rule not in {"paper", "majority"}:
        raise ValueError(f"rule must be 'paper' or 'majority', got {rule!r}")
    cpu = torch.device("cpu")
    val_proba = inputs.nonempty(inputs.codes(val_proba, "val_proba", device=cpu, check=True), "val_proba")
    val_labels = inputs.labels(val_labels, "val_labels", classes=num_classes, n=len(val_proba),
                               device=cpu, check=True)
    best = val_labels[val_proba.argmax(0)]  # paper: label of each column's top example
    if rule == "paper":
        return best
    assigned = val_proba.argmax(1)
    out = best.clone()
    for k in range(val_proba.shape[1]):
        members = val_labels[assigned == k]
        if len(members):
            out[k] = torch.bincount(members, minlength=num_classes).argmax()
    return out


def cluster_error(
    test_proba: Tensor, test_labels: Tensor, val_proba: Tensor, val_labels: Tensor,
    *, rule: str = "paper",
) -> float:
    """Test error of a clustering once every cluster carries the label :func:`cluster_labels`
    gives it from the validation data. ``*_proba``: :math:`q(y|x)`, ``(N, K)``; ``*_labels``:
    digits ``(N,)`` in [0, 9]."""
    mapping = cluster_labels(val_proba, val_labels, rule=rule)
    test_proba = inputs.codes(test_proba, "test_proba", dim=len(mapping), device=torch.device("cpu"),
                              check=True)
    test_labels = inputs.labels(test_labels, "test_labels", classes=10, n=len(test_proba), check=True)
    return error_rate(mapping[test_proba.argmax(1)], test_labels)


def _labelled_codes(train_codes, train_labels, test_codes, test_labels):
    """Codes ``(N, d)`` / ``(M, d)`` and their labels ``(N,)`` / ``(M,)``, checked, on the CPU."""
    cpu = torch.device("cpu")
    xtr = inputs.nonempty(inputs.codes(train_codes, "train_codes", device=cpu, check=True), "train_codes")
    xte = inputs.codes(test_codes, "test_codes", dim=xtr.shape[1], device=cpu, check=True)
    xtr, xte = xtr.detach(), inputs.nonempty(xte, "test_codes").detach()
    ytr = inputs.labels(train_labels, "train_labels", n=len(xtr), device=cpu, check=True)
    yte = inputs.labels(test_labels, "test_labels", n=len(xte), device=cpu, check=True)
    return xtr, ytr, xte, yte


def linear_probe_accuracy(
    train_codes: Tensor, train_labels: Tensor, test_codes: Tensor, test_labels: Tensor,
    *, steps: int = 300, seed: int = 0,
) -> float:
    """Test accuracy of a logistic regression trained on codes: how much label information a
    code carries in linearly readable form (notebook 05 uses it to show that a supervised
    AAE's style code holds little about the digit).

    The codes are standardised with the training codes' mean and std; the classifier is fit
    by full-batch L-BFGS for ``steps`` iterations.
    """
    xtr, ytr, xte, yte = _labelled_codes(train_codes, train_labels, test_codes, test_labels)
    mean, std = xtr.mean(0), xtr.std(0).clamp_min(1e-6)
    xtr, xte = (xtr - mean) / std, (xte - mean) / std
    classes = int(max(ytr.max(), yte.max())) + 1
    torch.manual_seed(seed)
    with torch.enable_grad():
        layer = torch.nn.Linear(xtr.shape[1], classes)
        opt = torch.optim.LBFGS(layer.parameters(), max_iter=steps, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(layer(xtr), ytr)
            loss.backward()
            return loss

        opt.step(closure)
    with torch.no_grad():
        return float((layer(xte).argmax(1) == yte).float().mean())


@torch.no_grad()
def knn_accuracy(
    train_codes: Tensor, train_labels: Tensor, test_codes: Tensor, test_labels: Tensor,
    *, k: int = 5, chunk: int = 2048,
) -> float:
    """Accuracy of a ``k``-nearest-neighbour vote in code space: how well a low-dimensional
    map keeps images of the same digit together (notebook 07's 2-D maps)."""
    ref, ref_y, test_codes, test_labels = _labelled_codes(train_codes, train_labels, test_codes,
                                                          test_labels)
    if not 0 < k <= len(ref):
        raise ValueError(f"k must be between 1 and the {len(ref)} training codes, got {k}")
    classes = int(ref_y.max()) + 1
    correct = 0
    for q, y in zip(test_codes.split(chunk), test_labels.split(chunk), strict=True):
        idx = torch.cdist(q, ref).topk(k, largest=False).indices
        votes = torch.nn.functional.one_hot(ref_y[idx], classes).sum(1)
        correct += int((votes.argmax(1) == y).sum())
    return correct / len(test_codes)


@torch.no_grad()
def label_influence(model: torch.nn.Module, x: Tensor, *, shift: int = 1) -> float:
    r"""How much a semi-supervised AAE's decoder listens to its categorical input.

    Each image is encoded to its predicted class :math:`k` and style :math:`z`, then decoded
    twice with the same :math:`z`: once as class :math:`k`, once as class :math:`k + `
    ``shift`` (mod K). The result is the mean absolute pixel difference between the two. Near 0:
    the decoder ignores :math:`y` and draws the digit from :math:`z`; MNIST digits of different
    classes differ by about 0.1-0.2 per pixel. ``x``: images ``(N, 784)``.
    """
    k = model.num_classes
    proba, z = model.evaluate(x)
    pred = proba.argmax(1)
    same = model.images(torch.nn.functional.one_hot(pred, k).float(), z)
    other = model.images(torch.nn.functional.one_hot((pred + shift) % k, k).float(), z)
    return float((same - other).abs().mean())
