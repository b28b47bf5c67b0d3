"""Notebook 08's exercises: the Parzen-window log-likelihood, choosing its width on validation
images, and why a k-means of the training images scores so well."""

from __future__ import annotations

import math

import torch

from ..checks import Case, exercise
from ..parzen import log_likelihood


def _rand(n: int, d: int, seed: int) -> torch.Tensor:
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed))


# --- Your turn: the Parzen log-likelihood ------------------------------------------------------


def _log_mean_naive(x, samples, sigma):
    """log(mean(exp(...))) without the log-sum-exp trick: -inf once every kernel underflows."""
    d2 = torch.cdist(x.double(), samples.double()) ** 2
    dim = x.shape[1]
    return (torch.exp(-d2 / (2 * sigma**2)).mean(1).log()
            - 0.5 * dim * math.log(2 * math.pi * sigma**2))


def _wrong_lse(transform):
    """The right formula with one piece changed by ``transform(d2, sigma, dim, n) -> values``."""
    def fn(x, samples, sigma):
        d2 = torch.cdist(x.double(), samples.double()) ** 2
        return transform(d2, sigma, x.shape[1], len(samples))
    return fn


def _lse(d2, sigma):
    return torch.logsumexp(-d2 / (2 * sigma**2), dim=1)


@exercise(
    "08.parzen_log_likelihood", "parzen_log_likelihood(x, samples, sigma)",
    reference=lambda x, samples, sigma: log_likelihood(x, samples, sigma),
    forbidden=("aae_utils.parzen.log_likelihood", "aae_utils.parzen.parzen_score"),
    hints=(
        "the window's density at a point is the average of S Gaussians, one centred on each "
        "sample; in logs that is the log of an average of exponentials, which must be computed "
        "without underflowing (a log-sum-exp).",
        "you need every squared distance between a point and a sample, (N, S); each Gaussian's "
        "log-density has a normaliser that depends on D and sigma, and the average over the "
        "samples brings a -log S.",
        "with d2 = torch.cdist(x, samples) ** 2: torch.logsumexp(-d2 / (2 * sigma**2), dim=1) - "
        "math.log(S) - D / 2 * math.log(2 * math.pi * sigma**2).",
    ),
    rel=1e-5, abs=0.05,
    wrong={
        "sum over the samples, not the mean (no - log S)": _wrong_lse(
            lambda d2, s, dim, n: _lse(d2, s) - 0.5 * dim * math.log(2 * math.pi * s**2)),
        "sigma, not sigma^2, in the normaliser": _wrong_lse(
            lambda d2, s, dim, n: _lse(d2, s) - math.log(n) - 0.5 * dim * math.log(2 * math.pi * s)),
        "no 1/2 in the exponent": _wrong_lse(
            lambda d2, s, dim, n: torch.logsumexp(-d2 / s**2, dim=1) - math.log(n)
            - 0.5 * dim * math.log(2 * math.pi * s**2)),
        "normaliser of one dimension": _wrong_lse(
            lambda d2, s, dim, n: _lse(d2, s) - math.log(n) - 0.5 * math.log(2 * math.pi * s**2)),
        "mean of the log-kernels (log of a geometric mean)": _wrong_lse(
            lambda d2, s, dim, n: (-d2 / (2 * s**2)).mean(1) - 0.5 * dim * math.log(2 * math.pi * s**2)),
        "distances, not squared distances": _wrong_lse(
            lambda d2, s, dim, n: torch.logsumexp(-d2.sqrt() / (2 * s**2), dim=1) - math.log(n)
            - 0.5 * dim * math.log(2 * math.pi * s**2)),
        "log(mean(exp)) without log-sum-exp": _log_mean_naive,
        "the nearest sample only": _wrong_lse(
            lambda d2, s, dim, n: -d2.min(1).values / (2 * s**2) - math.log(n)
            - 0.5 * dim * math.log(2 * math.pi * s**2)),
    },
)
def _parzen_cases(context):
    yield Case(args=(_rand(7, 3, 0), _rand(11, 3, 1), 0.3), label="7 points, 11 samples, 3-D")
    yield Case(args=(_rand(5, 784, 2), _rand(1, 784, 3), 0.2), label="one sample, 784-D")
    yield Case(args=(_rand(20, 784, 4), _rand(300, 784, 5), 0.05),
               label="784-D, a narrow window (every exp() underflows)")
    samples = _rand(40, 784, 6)
    yield Case(args=(samples[:6], samples, 0.1), label="points that are samples (a memoriser)")


# --- Your turn: the width -----------------------------------------------------------------------


def _per_width(val_x, samples, sigmas, statistic: str = "mean") -> torch.Tensor:
    """``statistic`` ("mean", "median", "max") of the validation log-likelihoods, one per width."""
    ll = log_likelihood(val_x, samples, [float(s) for s in sigmas])
    return ll.mean(1) if statistic == "mean" else getattr(ll, statistic)(1).values


def _best_width(val_x, samples, sigmas):
    return float(sigmas[int(_per_width(val_x, samples, sigmas).argmax())])


#: Gaussian points N(0.3, 0.04^2 I): inside [0, 1], as pixels must be (5 stds from either end).
_CENTRE, _SPREAD = 0.3, 0.04


def _gaussian(n: int, d: int, seed: int) -> torch.Tensor:
    return _CENTRE + _SPREAD * torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


@exercise(
    "08.best_width", "best_width(val_x, samples, sigmas)",
    reference=_best_width,
    forbidden=("aae_utils.parzen.choose_sigma", "aae_utils.parzen.parzen_score"),
    hints=(
        "score the validation images under each width, average the scores over the images, and "
        "return the width (a number from sigmas) whose average is highest.",
        "your parzen_log_likelihood(val_x, samples, s) gives one score per validation image for "
        "the width s: one mean per width, then the best.",
        "means = [parzen_log_likelihood(val_x, samples, s).mean() for s in sigmas]; return "
        "float(sigmas[int(torch.stack(means).argmax())]).",
    ),
    rel=1e-4, abs=1e-12,  # a float32 width passes; neighbouring widths differ by 10% or more
    wrong={
        "the median over the images, not the mean": lambda val_x, samples, sigmas: float(
            sigmas[int(_per_width(val_x, samples, sigmas, "median").argmax())]),
        "the lowest mean": lambda val_x, samples, sigmas: float(
            sigmas[int(_per_width(val_x, samples, sigmas).argmin())]),
        "the best single image, not the mean": lambda val_x, samples, sigmas: float(
            sigmas[int(_per_width(val_x, samples, sigmas, "max").argmax())]),
        "scored on the samples themselves": lambda val_x, samples, sigmas: _best_width(
            samples, samples, sigmas),
        "the index, not the width": lambda val_x, samples, sigmas: int(
            _per_width(val_x, samples, sigmas).argmax()),
        "the best mean log-likelihood, not its width": lambda val_x, samples, sigmas: float(
            _per_width(val_x, samples, sigmas).max()),
    },
)
def _width_cases(context):
    grid = [_SPREAD * 0.01 * 1.5**k for k in range(12)]  # 0.01 .. 0.86 spreads
    yield Case(args=(_gaussian(300, 2, 10), _gaussian(500, 2, 11), grid), label="2-D Gaussian points")
    yield Case(args=(_rand(200, 784, 12), _rand(400, 784, 13), [0.2, 0.3, 0.4, 0.5, 0.6]),
               label="784-D uniform noise, five widths")
    # A few validation points far from every sample: they pull the mean, not the median, toward
    # wide windows.
    near = _gaussian(200, 2, 14)
    far = _gaussian(20, 2, 15) + 8 * _SPREAD  # 8 spreads away
    yield Case(args=(torch.cat([near, far]), _gaussian(400, 2, 16), grid),
               label="2-D points, a tenth of them far from every sample")
    if "val_x" in context and "samples" in context:
        yield Case(args=(context["val_x"][:300], context["samples"][:3000], list(context["sigmas"])[::3]),
                   label="300 validation images, 3,000 of the AAE's samples")


# --- exercise 1: what the window rewards ----------------------------------------------------------


def _median_nearest(x, samples):
    return float(torch.cdist(x.double(), samples.double()).min(1).values.median())


@exercise(
    "08.median_nearest", "median_nearest_distance(x, samples)",
    reference=_median_nearest,
    forbidden=("aae_utils.metrics.nearest_distance",),
    hints=(
        "for each image of x, the distance (Euclidean, in pixel units) to the sample nearest to "
        "it; then the median of those distances over the images of x.",
        "torch.cdist(x, samples) gives every distance at once, one row per image of x; the "
        "nearest sample is the smallest entry of a row.",
        "float(torch.cdist(x, samples).min(1).values.median()).",
    ),
    # torch.cdist in float32 computes |x|^2 + |s|^2 - 2 x.s: a point's distance to itself comes
    # out near 0.005, not 0, so the tolerance is 0.02 pixel units (distances here are 4 to 10)
    rel=1e-3, abs=0.02,
    wrong={
        "the mean, not the median": lambda x, samples: float(
            torch.cdist(x, samples).min(1).values.mean()),
        "the median of every distance, not the nearest": lambda x, samples: float(
            torch.cdist(x, samples).median()),
        "nearest image of x for each sample": lambda x, samples: float(
            torch.cdist(x, samples).min(0).values.median()),
        "squared distances": lambda x, samples: float((torch.cdist(x, samples) ** 2).min(1).values.median()),
    },
)
def _median_nearest_cases(context):
    yield Case(args=(_rand(7, 3, 20), _rand(11, 3, 21)), label="7 points, 11 samples, 3-D")
    yield Case(args=(_rand(40, 784, 22), _rand(300, 784, 23)), label="40 images, 300 samples")
    samples = _rand(60, 784, 24)
    yield Case(args=(samples[:9], samples), label="points that are samples (distance 0)")
    yield Case(args=(_rand(30, 784, 25), _rand(5, 784, 26)), label="30 images, 5 samples")
    if "x" in context and "samples" in context:
        yield Case(args=(context["x"][:500], context["samples"][:3000]),
                   label="500 test images, 3,000 of the k-means's centroids",
                   show_expected=False)
