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
    hint="z = mu + sigma * eps with sigma = exp(logvar / 2); use torch operations so gradients "
         "reach mu and logvar.",
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
    hint="one value per row: 0.5 * sum over the code's dimensions of "
         "(mu^2 + sigma^2 - log sigma^2 - 1), with sigma^2 = exp(logvar).",
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
    hint="per dimension (mu^2 + sigma^2 - log sigma^2 - 1) / 2, natural log, then add the two.",
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
    hint="sigma = exp(logvar / 2), so d sigma / d logvar = sigma / 2; here sigma = 3. "
         "Multiply by eps.",
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
    hint="encoder(images) returns (mu, logvar); their KL per image, averaged over the images, "
         "as a float.",
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
    yield Case(args=(encoder, images), label=f"{len(images)} test images")
    yield Case(args=(encoder, images[:137]), label="the first 137")
    g = torch.Generator().manual_seed(2)
    yield Case(args=(encoder, torch.rand(50, images.shape[1], generator=g).to(images.device)),
               label="50 random images")


@exercise(
    "02.beta_experiment", "kl_ratio(runs)",
    reference=lambda runs: runs[1.0]["kl"] / runs[4.0]["kl"],
    hint="runs[beta]['kl'] is the test KL of the run with that beta: how many times smaller is "
         "it at beta = 4 than at beta = 1?",
    rel=0.1,
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
        made_up={1.0: {"kl": 6.0, "recon": 150.0}, 4.0: {"kl": 1.5, "recon": 170.0},
                 8.0: {"kl": 0.5, "recon": 190.0}})
