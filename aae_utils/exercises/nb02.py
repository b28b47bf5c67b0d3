"""Notebook 02's exercises: the reparameterisation trick, the closed-form KL, and beta."""

from __future__ import annotations

import math

import torch

from ..checks import Case, exercise, experiment_cases
from ..losses import gaussian_kl as _kl
from ..models import GaussianEncoder

_SHAPES = [(1, 2), (5, 3), (64, 8)]


def _gaussian_cases(seed: int, grads: tuple[int, ...]):
    """mu, logvar (and eps) of several shapes; one case with logvar = log 9 everywhere (sigma = 3,
    where sigma, sigma^2 and log sigma^2 all differ) and one with random logvar."""
    g = torch.Generator().manual_seed(seed)
    for shape in _SHAPES:
        mu = torch.randn(shape, generator=g)
        for name, logvar in [("log 9", torch.full(shape, math.log(9.0))),
                             ("random", torch.randn(shape, generator=g))]:
            eps = torch.randn(shape, generator=g)
            yield Case(args=(mu, logvar, eps), label=f"{shape}, logvar {name}", grads=grads)


def _reparameterise(mu, logvar, eps):
    return mu + torch.exp(0.5 * logvar) * eps


@exercise(
    "02.reparameterise", "reparameterise(mu, logvar, eps)",
    reference=_reparameterise,
    forbidden=("aae_utils.models.GaussianEncoder.reparameterise",),
    hints=(
        "make a sample of N(mu, sigma^2) from standard-normal noise: scale eps by the standard "
        "deviation and shift it by the mean, with torch operations, so that gradients reach mu "
        "and logvar.",
        "logvar is the log of the variance; the standard deviation is the square root of the "
        "variance, which one exponential of logvar gives.",
        "mu + torch.exp(0.5 * logvar) * eps.",
    ),
    wrong={
        "forgotten sigma": lambda mu, logvar, eps: mu + eps,
        "variance for sigma": lambda mu, logvar, eps: mu + torch.exp(logvar) * eps,
        "logvar for sigma": lambda mu, logvar, eps: mu + logvar * eps,
        "detached sample": lambda mu, logvar, eps: (mu + torch.exp(0.5 * logvar) * eps).detach(),
    },
)
def _reparameterise_cases(context):
    yield from _gaussian_cases(0, grads=(0, 1))


def _kl_per_example(mu, logvar):
    return _kl(mu, logvar, reduction="none")


@exercise(
    "02.gaussian_kl", "gaussian_kl(mu, logvar)",
    reference=_kl_per_example,
    forbidden=("aae_utils.losses.gaussian_kl",),
    hints=(
        "the KL between two diagonal Gaussians is a sum over the code's dimensions of one term "
        "per dimension (the text's formula), so one value per row.",
        "the term uses the variance, exp(logvar), and the log of the variance, which is logvar "
        "itself; mind the factor 1/2 and the -1.",
        "0.5 * (mu**2 + logvar.exp() - logvar - 1).sum(1).",
    ),
    wrong={
        "sign of the log term": lambda mu, logvar: 0.5 * (mu**2 + logvar.exp() + logvar - 1).sum(1),
        "sigma for sigma^2": lambda mu, logvar: 0.5 * (mu**2 + (0.5 * logvar).exp() - logvar - 1).sum(1),
        "no factor 1/2": lambda mu, logvar: (mu**2 + logvar.exp() - logvar - 1).sum(1),
        "mean over dimensions": lambda mu, logvar: 0.5 * (mu**2 + logvar.exp() - logvar - 1).mean(1),
        "batch mean": lambda mu, logvar: 0.5 * (mu**2 + logvar.exp() - logvar - 1).sum(1).mean(),
    },
)
def _kl_cases(context):
    for case in _gaussian_cases(1, grads=(0, 1)):
        case.args = case.args[:2]
        yield case


@exercise(
    "02.kl_by_hand", "kl_by_hand()",
    reference=lambda: 0.5 * (1 + 1 - math.log(1) - 1) + 0.5 * (0 + 4 - math.log(4) - 1),
    hints=(
        "work dimension by dimension with the closed-form KL term, then add the two dimensions; "
        "the answer is in nats.",
        "dimension 1 has mean 1 and variance 1; dimension 2 has mean 0 and variance 4 (so the log "
        "of its variance is log 4, a natural log).",
        "0.5 * (1 + 1 - log 1 - 1) + 0.5 * (0 + 4 - log 4 - 1).",
    ),
    rel=0, abs=0.005,  # the question asks for two decimals
    wrong={
        "no -1": lambda: 0.5 * (1 + 1 - 0) + 0.5 * (0 + 4 - math.log(4)),
        "log base 10": lambda: 0.5 * (1 + 1 - 0 - 1) + 0.5 * (0 + 4 - math.log10(4) - 1),
        "4 read as sigma": lambda: 0.5 * (1 + 1 - 0 - 1) + 0.5 * (0 + 16 - math.log(16) - 1),
    },
)
def _kl_by_hand_cases(context):
    yield Case()


@exercise(
    "02.dz_dlogvar", "dz_dlogvar()",
    reference=lambda: 2.0 * 3.0 / 2,
    hints=(
        "z depends on logvar only through sigma: use the chain rule, dz/dlogvar = dz/dsigma times "
        "dsigma/dlogvar.",
        "dz/dsigma is eps; sigma = exp(logvar / 2), whose derivative with respect to logvar is "
        "half of sigma itself.",
        "eps * sigma / 2, with eps = 2 and sigma = exp(log(9) / 2).",
    ),
    rel=1e-3,
    wrong={
        "forgotten sigma (eps / 2)": lambda: 1.0,
        "sigma^2 for sigma": lambda: 2.0 * 9.0 / 2,
        "d z / d sigma": lambda: 2.0,
    },
)
def _dz_dlogvar_cases(context):
    yield Case()


def _demo_encoder_context():
    torch.manual_seed(0)
    return {"encoder": GaussianEncoder(784, 2, [32]).eval(), "images": torch.rand(300, 784)}


def _average_kl(encoder, images):
    with torch.no_grad():
        return _kl(*encoder(images)).item()


@exercise(
    "02.average_kl", "average_kl(encoder, images)",
    reference=_average_kl,
    hints=(
        "the encoder gives every image its own Gaussian: compute each one's KL from N(0, I), then "
        "average over the images, with no gradients needed.",
        "encoder(images) returns (mu, logvar); your gaussian_kl (or the library's, with "
        "reduction='none') gives one KL per row.",
        "with torch.no_grad(): mu, logvar = encoder(images); the mean of the per-row KL, as a "
        "float (.item()).",
    ),
    rel=1e-4,
    demo=_demo_encoder_context,
    wrong={
        "sum over images": lambda encoder, images: _kl(*encoder(images), reduction="sum").item(),
        "KL of the means only": lambda encoder, images: (
            0.5 * encoder(images)[0].pow(2).sum(1).mean().item()),
        "first image only": lambda encoder, images: _kl(*encoder(images[:1])).item(),
    },
)
def _average_kl_cases(context):
    encoder, images = context["encoder"], context["images"]
    yield Case(args=(encoder, images), label=f"{len(images)} test images",
               show_expected=False)
    yield Case(args=(encoder, images[:137]), label="the first 137")
    g = torch.Generator().manual_seed(2)
    yield Case(args=(encoder, torch.rand(50, images.shape[1], generator=g).to(images.device)),
               label="50 random images")


@exercise(
    "02.beta_experiment", "kl_ratio(runs)",
    reference=lambda runs: runs[1.0]["kl"] / runs[4.0]["kl"],
    hints=(
        "the question is a ratio of your two measured KLs: how many times smaller the KL is with "
        "beta = 4 than with beta = 1.",
        "runs[beta] holds that run's numbers; its 'kl' is the test KL.",
        "runs[1.0]['kl'] / runs[4.0]['kl'].",
    ),
    rel=1e-6,  # the reference reads the same runs: nothing to tolerate
    demo=lambda: {"runs": {1.0: {"kl": 6.1, "recon": 140.0}, 4.0: {"kl": 2.3, "recon": 158.0}}},
    wrong={
        "inverse ratio": lambda runs: runs[4.0]["kl"] / runs[1.0]["kl"],
        "difference": lambda runs: runs[1.0]["kl"] - runs[4.0]["kl"],
        "reconstruction ratio": lambda runs: runs[4.0]["recon"] / runs[1.0]["recon"],
    },
)
def _beta_cases(context):
    yield from experiment_cases(
        context, needs={1.0, 4.0}, missing="runs has no run with beta {}",
        made_up=[{1.0: {"kl": 6.0, "recon": 150.0}, 4.0: {"kl": 1.5, "recon": 170.0},
                  8.0: {"kl": 0.5, "recon": 190.0}},
                 # the other way round, with a third beta: only runs[1.0] / runs[4.0] passes
                 {0.5: {"kl": 3.0, "recon": 150.0}, 1.0: {"kl": 2.0, "recon": 160.0},
                  4.0: {"kl": 2.5, "recon": 150.0}}])
