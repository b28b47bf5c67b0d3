"""Notebook 08's exercises: the Parzen-window log-likelihood, why a memoriser scores well, and
the experiment with the number of samples in the window."""

from __future__ import annotations

import math

import torch

from ..checks import Case, exercise, experiment_cases
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
    hint="squared distances between every x and every sample: torch.cdist(x, samples) ** 2, shape "
         "(N, S); then torch.logsumexp(-d2 / (2 * sigma**2), dim=1) - log(S) - D/2 * log(2 pi sigma^2).",
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
    if "x" in context and "samples" in context:
        yield Case(args=(context["x"][:200], context["samples"][:2000], 0.2),
                   label="200 test images, 2,000 of the AAE's samples")


# --- exercise 1: why the memoriser scores well ------------------------------------------------


@exercise(
    "08.why_memoriser", "why_the_memoriser_scores()",
    reference=lambda: "c",
    hint="the window only asks how close each test image is to some sample; what makes training "
         "images close to test images?",
    options={
        "a": ["it has more parameters than the AAE"],
        "b": ["it was trained longer"],
        "c": ["the test images look like training images, so every test image has a sample nearby, "
              "and the window rewards nothing else",
              "every test image has a sample nearby",
              "the window rewards samples close to the test images"],
    },
    wrong={"more parameters": lambda: "a", "trained longer": lambda: "(b) it was trained longer"},
)
def _memoriser_cases(context):
    yield Case()


# --- exercise 2: the experiment with the number of samples -----------------------------------


def _gain(runs):
    return runs[10_000] - runs[1_000]


@exercise(
    "08.samples_experiment", "gain_from_more_samples(runs)",
    reference=_gain,
    hint="runs[S] is the mean test log-likelihood (nats) with S samples in the window: subtract "
         "the value at 1,000 from the value at 10,000.",
    rel=1e-6, abs=1e-6,
    demo=lambda: {"runs": {1_000: 180.0, 3_000: 200.0, 10_000: 215.0}},
    wrong={
        "the other way round": lambda runs: runs[1_000] - runs[10_000],
        "ratio": lambda runs: runs[10_000] / runs[1_000],
        "log 10 (the log-sum-exp's gain alone, cancelled by - log S)": lambda runs: math.log(10),
        "from 3,000": lambda runs: runs[10_000] - runs[3_000],
    },
)
def _samples_cases(context):
    yield from experiment_cases(
        context, needs={1_000, 10_000}, missing="runs has no score with {} samples",
        made_up={1_000: 151.5, 3_000: 170.25, 10_000: 190.0})
