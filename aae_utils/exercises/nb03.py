"""Notebook 03's exercises: the AAE's discriminator and generator phases, the discriminator's
loss, the optimal discriminator, stochastic codes, and the generator-loss experiment."""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from .. import phases
from ..checks import (
    Case,
    after_step,
    case_adam,
    exercise,
    experiment_cases,
    through_fit,
    tuple_advice,
)
from ..data import ImageData
from ..losses import discriminator_accuracy, discriminator_loss
from ..models import build_model
from ..priors import GaussianPrior
from ..train_config import TrainConfig

# --- the two adversarial phases -----------------------------------------------------------------


def _tiny_aae(seed: int, latent_dim: int, posterior: str = "deterministic"):
    """A small untrained AAE, the same for the same seed; the notebook's random state is left
    as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model("aae", latent_dim=latent_dim, hidden=[32], disc_hidden=[16],
                           posterior=posterior)


def _images(seed: int, n: int) -> torch.Tensor:
    return torch.rand(n, 784, generator=torch.Generator().manual_seed(seed))


def _fit_args(seed: int, latent_dim: int = 2, posterior: str = "deterministic"):
    """A tiny AAE, 1,600 random black-and-white images and one epoch of batches of 100 (the
    notebook's size): sixteen steps of the engine with the learner's phase in it."""
    g = torch.Generator().manual_seed(seed)
    images = (torch.rand(1600, 784, generator=g) > 0.7).float()
    data = ImageData(images, torch.randint(10, (1600,), generator=g))
    config = TrainConfig(epochs=1, batch_size=100, lr=1e-3, seed=seed)
    return _tiny_aae(seed, latent_dim, posterior), data, config, {"prior": GaussianPrior(latent_dim)}


def _sure(discriminator, logit: float):
    """``discriminator`` sure of its answer: its last layer's weights ten times larger and its
    bias ``logit``, so that its logits lie near ``logit`` (+60, -120), where sigmoid(logit) is
    exactly 1 or 0 in float32: a loss written as log(sigmoid(...)) meets log(0) (inf), one
    written in logits (a softplus) stays finite."""
    with torch.no_grad():
        discriminator.net[-1].weight.mul_(10.0)
        discriminator.net[-1].bias.fill_(logit)
    return discriminator


#: A step that passed the pair model.encoder(x) where codes go: what the error it raised means.
_PAIR_ADVICE = tuple_advice("for a Gaussian posterior, model.encoder(x) returns the pair (mu, logvar), "
                            "not codes; model.code gives the codes (a sample of q(z|x))")


def _disc_args(seed: int, latent_dim: int, n: int, n_prior: int, second_step: bool = False,
               posterior: str = "deterministic", confident: bool = False, scale: float = 1.5,
               sgd: bool = False, sure: float | None = None):
    """A small AAE, images, prior samples and an Adam (or, with ``sgd``, plain SGD, whose step
    grows with the gradient) over the discriminator. ``confident``: the discriminator has
    already learnt to tell the prior (moved to 3) from the codes, so it is right about almost
    every sample; ``scale``: the prior samples' spread (large: large gradients); ``sure``: the
    discriminator's logits are near this value (:func:`_sure`)."""
    model = _tiny_aae(seed, latent_dim, posterior)
    if sure is not None:
        _sure(model.discriminator, sure)
    params = model.discriminator.parameters()
    opt = torch.optim.SGD(params, lr=0.01) if sgd else case_adam(params, lr=0.01)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.rand(n, 784, generator=g)
    shift = 3.0 if confident else 0.0
    prior_samples = shift + scale * torch.randn(n_prior, latent_dim, generator=g)
    if confident:
        with torch.random.fork_rng(devices=[]):
            for _ in range(40):
                phases.discriminator_phase(model, torch.rand(n, 784, generator=g),
                                           shift + scale * torch.randn(n_prior, latent_dim, generator=g), opt)
    if second_step:
        # One step taken before (Adam has a state), then a generator step that did not freeze
        # the discriminator: its weights hold gradients that this phase must not add to its own.
        x0, z0 = torch.rand(n, 784, generator=g), torch.randn(n_prior, latent_dim, generator=g)
        phases.discriminator_phase(model, x0, z0, opt)
        F.softplus(-model.discriminator(model.code(x0))).mean().backward()
    return model, x, prior_samples, opt


def _bad_disc_phase(loss_fn, *, step=True, zero=True, accuracy=discriminator_accuracy,
                    no_grad=True, codes_of="code", skip_above=None, clip=None):
    """A discriminator phase with one thing wrong (for the catalogue of wrong answers)."""

    def phase(model, x, prior_samples, opt):
        with torch.no_grad() if no_grad else contextlib.nullcontext():
            codes = getattr(model, codes_of)(x)
        real, fake = model.discriminator(prior_samples), model.discriminator(codes)
        loss = loss_fn(real, fake)
        if zero:
            opt.zero_grad()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.discriminator.parameters(), clip)
        right = accuracy(real, fake)
        if step and (skip_above is None or right < skip_above):
            opt.step()
        return loss.detach(), right

    return phase


def _ok_d_loss(real, fake):
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def _log_sigmoid_loss(real, fake):
    """L_D through sigmoid and log: right on paper, log(0) once sigmoid rounds to 0 or 1."""
    return -(torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean())


@exercise(
    "03.discriminator_phase", "discriminator_phase(model, x, prior_samples, opt)",
    tensors=True,
    reference=phases.discriminator_phase,
    forbidden=("aae_utils.phases.discriminator_phase",),
    hints=(
        "the discriminator learns to tell prior samples (real) from codes (fake); in this phase "
        "only the discriminator moves, so the encoder must neither change nor collect gradients, "
        "and the step is one optimiser step on the discriminator's loss.",
        "compute the codes under torch.no_grad(); the loss is the text's L_D on the "
        "discriminator's logits of the prior samples and of the codes (in logits, a softplus per "
        "sample); clear the stored gradients before backward; return the detached loss and "
        "discriminator_accuracy(real, fake).",
        "with torch.no_grad(): codes = model.code(x); real = model.discriminator(prior_samples); "
        "fake = model.discriminator(codes); loss = F.softplus(-real).mean() + "
        "F.softplus(fake).mean(); opt.zero_grad(); loss.backward(); opt.step(); return "
        "loss.detach(), discriminator_accuracy(real, fake).",
    ),
    wrong={
        "real and fake labels swapped": _bad_disc_phase(
            lambda r, f: F.softplus(r).mean() + F.softplus(-f).mean()),
        "sign error (maximises the loss)": _bad_disc_phase(lambda r, f: -_ok_d_loss(r, f)),
        "sum instead of mean": _bad_disc_phase(
            lambda r, f: F.softplus(-r).sum() + F.softplus(f).sum()),
        "one mean over both batches": _bad_disc_phase(
            lambda r, f: F.binary_cross_entropy_with_logits(
                torch.cat([r, f]), torch.cat([torch.ones_like(r), torch.zeros_like(f)]))),
        "log of the logits (logits taken for probabilities)": _bad_disc_phase(
            lambda r, f: -(torch.log(r).mean() + torch.log(1 - f).mean())),
        "forgot opt.step()": _bad_disc_phase(_ok_d_loss, step=False),
        "forgot opt.zero_grad()": _bad_disc_phase(_ok_d_loss, zero=False),
        "accuracy with real and fake swapped": _bad_disc_phase(
            _ok_d_loss, accuracy=lambda r, f: discriminator_accuracy(f, r)),
        "codes computed with gradients (no torch.no_grad(): the encoder's gradients are left "
        "dirty)": _bad_disc_phase(_ok_d_loss, no_grad=False),
        "no step once the discriminator is right about 70% of the samples": _bad_disc_phase(
            _ok_d_loss, skip_above=0.7),
        "gradients clipped to norm 1": _bad_disc_phase(_ok_d_loss, clip=1.0),
        "the posterior means (model.encode) for the codes": _bad_disc_phase(_ok_d_loss, codes_of="encode"),
        "the model left in eval mode": lambda model, x, prior_samples, opt: _bad_disc_phase(_ok_d_loss)(
            model.eval(), x, prior_samples, opt),
        "log(sigmoid) by hand (log(0) once the discriminator is sure)": _bad_disc_phase(_log_sigmoid_loss),
        "the posterior's pair model.encoder(x) for the codes": _bad_disc_phase(
            _ok_d_loss, codes_of="encoder"),
    },
    advice=_PAIR_ADVICE,
)
def _disc_phase_cases(context):
    after = after_step(gradients=("encoder",))  # the encoder must not collect gradients here
    yield Case(make=lambda: _disc_args(10, 2, 16, 16), after=after,
               label="2-D codes, 16 images, 16 prior samples")
    yield Case(make=lambda: _disc_args(11, 3, 37, 23), after=after,
               label="3-D codes, 37 images, 23 prior samples")
    yield Case(make=lambda: _disc_args(12, 2, 24, 40, second_step=True), after=after,
               label="a second step, with gradients left on the discriminator by an earlier phase")
    yield Case(make=lambda: _disc_args(14, 2, 100, 100), after=after, label="the notebook's batch of 100")
    yield Case(make=lambda: _disc_args(15, 2, 100, 100, confident=True), after=after,
               label="a discriminator that is already right about almost every sample")
    yield Case(make=lambda: _disc_args(16, 2, 32, 32, scale=40.0, sgd=True), after=after,
               label="prior samples 40 times wider than the codes (large gradients), plain SGD")
    yield Case(make=lambda: _disc_args(17, 2, 20, 20, posterior="gaussian"), after=after,
               label="a Gaussian-posterior AAE (its codes are samples)")
    yield Case(make=lambda: _disc_args(18, 2, 24, 24, sure=60.0), after=after,
               label="a discriminator sure that everything is a prior sample (logits near +60, "
                     "where sigmoid rounds to 1)")
    yield Case(make=lambda: _fit_args(13), through=through_fit("discriminator"), show_inputs=False,
               label="one epoch of fit() with your phase in it (16 steps of 100 images)")


def _gen_args(seed: int, latent_dim: int, n: int, second_step: bool = False,
              posterior: str = "deterministic", sure: float | None = None):
    model = _tiny_aae(seed, latent_dim, posterior)
    if sure is not None:
        _sure(model.discriminator, sure)
    opt = case_adam(model.encoder.parameters(), lr=0.01)
    x = _images(seed + 1, n)
    if second_step:
        # One generator step taken before (Adam has a state), then a reconstruction step: the
        # encoder holds the reconstruction loss's gradients when this phase starts.
        x0 = _images(seed + 2, n)
        phases.generator_phase(model, x0, opt)
        opt_rec = torch.optim.Adam([*model.encoder.parameters(), *model.decoder.parameters()])
        phases.reconstruction_phase(model, x0, opt_rec)
    return model, x, opt


def _bad_gen_phase(loss_fn, *, step=True, zero=True, freeze_for_good=False, codes_of="code"):
    def phase(model, x, opt):
        if freeze_for_good:
            for p in model.discriminator.parameters():
                p.requires_grad_(False)
        loss = loss_fn(model.discriminator(getattr(model, codes_of)(x)))
        if zero:
            opt.zero_grad()
        loss.backward()
        if step:
            opt.step()
        return loss.detach()

    return phase


def _ok_g_loss(fake):
    return F.softplus(-fake).mean()


@exercise(
    "03.generator_phase", "generator_phase(model, x, opt)",
    tensors=True,
    reference=phases.generator_phase,
    forbidden=("aae_utils.phases.generator_phase",),
    hints=(
        "the encoder learns to make its codes pass for prior samples: the discriminator should "
        "call them real, and the gradient must reach the encoder through the codes.",
        "the non-saturating loss is -log D of the codes, which in logits is a softplus, averaged "
        "over the batch; only the encoder's optimiser steps, after its stored gradients are "
        "cleared.",
        "logits = model.discriminator(model.code(x)); loss = F.softplus(-logits).mean(); "
        "opt.zero_grad(); loss.backward(); opt.step(); return loss.detach().",
    ),
    wrong={
        "minimax loss log(1 - D)": _bad_gen_phase(lambda f: -F.softplus(f).mean()),
        "sign error": _bad_gen_phase(lambda f: -_ok_g_loss(f)),
        "codes labelled fake (helps the discriminator)": _bad_gen_phase(
            lambda f: F.softplus(f).mean()),
        "sum instead of mean": _bad_gen_phase(lambda f: F.softplus(-f).sum()),
        "log of the logits (logits taken for probabilities)": _bad_gen_phase(
            lambda f: -torch.log(f).mean()),
        "forgot opt.step()": _bad_gen_phase(_ok_g_loss, step=False),
        "forgot opt.zero_grad()": _bad_gen_phase(_ok_g_loss, zero=False),
        "codes detached (the encoder gets no gradient)": lambda model, x, opt: _bad_gen_phase(
            _ok_g_loss)(_Detached(model), x, opt),
        "the discriminator frozen and never unfrozen": _bad_gen_phase(_ok_g_loss, freeze_for_good=True),
        "log(sigmoid) by hand (log(0) once the discriminator is sure)": _bad_gen_phase(
            lambda f: -torch.log(torch.sigmoid(f)).mean()),
        "the posterior's pair model.encoder(x) for the codes": _bad_gen_phase(_ok_g_loss, codes_of="encoder"),
    },
    advice=_PAIR_ADVICE,
)
def _gen_phase_cases(context):
    # the discriminator's gradients are not compared: freezing it or not is the learner's choice
    after = after_step(gradients=())
    yield Case(make=lambda: _gen_args(20, 2, 16), after=after, label="2-D codes, 16 images")
    yield Case(make=lambda: _gen_args(21, 3, 41), after=after, label="3-D codes, 41 images")
    yield Case(make=lambda: _gen_args(22, 2, 24, second_step=True), after=after,
               label="a second step, with the reconstruction phase's gradients on the encoder")
    yield Case(make=lambda: _gen_args(24, 2, 100), after=after, label="the notebook's batch of 100")
    yield Case(make=lambda: _gen_args(25, 2, 20, posterior="gaussian"), after=after,
               label="a Gaussian-posterior AAE (its codes are samples)")
    yield Case(make=lambda: _gen_args(26, 2, 20, sure=-120.0), after=after,
               label="a discriminator sure that every code is fake (logits near -120, where "
                     "sigmoid rounds to 0)")
    yield Case(make=lambda: _fit_args(23, 3), through=through_fit("generator"), show_inputs=False,
               label="one epoch of fit() with your phase in it (16 steps of 100 images)")


class _Detached:
    """The model seen through ``model.code(x).detach()`` (a catalogued wrong answer)."""

    def __init__(self, model):
        self.discriminator = model.discriminator
        self._model = model

    def code(self, x):
        return self._model.code(x).detach()


# --- exercise 1: the discriminator's loss ---------------------------------------------------------


def _d_loss(real_logits, fake_logits):
    return discriminator_loss(real_logits, fake_logits)


@exercise(
    "03.discriminator_loss", "discriminator_loss(real_logits, fake_logits)",
    reference=_d_loss,
    forbidden=("aae_utils.losses.discriminator_loss",),
    hints=(
        "two averages, one per batch: the loss of calling each prior sample real, plus the loss "
        "of calling each code fake (the two batches may differ in size).",
        "in logits, -log D is a softplus of minus the logit, and -log(1 - D) a softplus of the "
        "logit.",
        "F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean().",
    ),
    wrong={
        "real and fake labels swapped": lambda r, f: F.softplus(r).mean() + F.softplus(-f).mean(),
        "missing minus sign": lambda r, f: -(F.softplus(-r).mean() + F.softplus(f).mean()),
        "log of the logits": lambda r, f: -(torch.log(r).mean() + torch.log(1 - f).mean()),
        "sum instead of mean": lambda r, f: F.softplus(-r).sum() + F.softplus(f).sum(),
        "one mean over both batches": lambda r, f: torch.cat(
            [F.softplus(-r), F.softplus(f)]).mean(),
        "a Python float (.item(): nothing can be trained with it)": lambda r, f: (
            F.softplus(-r).mean() + F.softplus(f).mean()).item(),
        "a detached loss": lambda r, f: (F.softplus(-r).mean() + F.softplus(f).mean()).detach(),
        "log(sigmoid) by hand (log(0) for confident logits)": _log_sigmoid_loss,
    },
)
def _d_loss_cases(context):
    # a loss must pass gradients back to the logits: a float, .item() or a detached loss
    # cannot train anything
    yield Case(args=(torch.tensor([2.0, -1.0]), torch.tensor([0.0, -3.0])),
               label="the logits of the question", grads=(0, 1), show_expected=False)
    g = torch.Generator().manual_seed(3)
    for n_real, n_fake in [(5, 5), (7, 3), (1, 4), (64, 100)]:
        yield Case(args=(2 * torch.randn(n_real, generator=g), 2 * torch.randn(n_fake, generator=g)),
                   label=f"{n_real} and {n_fake} random logits", grads=(0, 1))
    yield Case(args=(torch.tensor([-30.0, 4.0, 50.0, -2.5]), torch.tensor([45.0, -60.0, 1.5])),
               label="confident logits, up to +-60 (sigmoid rounds to 0 or 1)", grads=(0, 1))


# --- exercise 2: the optimal discriminator --------------------------------------------------------


@exercise(
    "03.optimal_discriminator", "optimal_discriminator(p, q)",
    reference=lambda p, q: p / (p + q),
    hints=(
        "at one z the discriminator's objective, p log D + q log(1 - D), is a function of the "
        "number D alone: find where its derivative is zero.",
        "the derivative with respect to D is p / D - q / (1 - D).",
        "setting it to zero gives D (p + q) = p; solve for D.",
    ),
    wrong={
        "the codes' share q / (p + q)": lambda p, q: q / (p + q),
        "the density ratio p / q": lambda p, q: p / q,
        "always 1/2 (a fooled discriminator)": lambda p, q: 0.5,
        "kept within [0.01, 0.99]": lambda p, q: (p / (p + q)).clamp(0.01, 0.99) if torch.is_tensor(p)
        else min(max(p / (p + q), 0.01), 0.99),
    },
)
def _optimal_cases(context):
    yield Case(args=(0.3, 0.1), label="p = 0.3, q = 0.1: the text's question", show_expected=False)
    yield Case(args=(0.02, 0.5), label="p = 0.02, q = 0.5")
    yield Case(args=(1e-4, 0.8), label="p = 0.0001, q = 0.8: almost surely a code")
    yield Case(args=(0.9, 1e-5), label="p = 0.9, q = 0.00001: almost surely a prior sample")
    g = torch.Generator().manual_seed(4)
    yield Case(args=(torch.rand(6, generator=g) + 0.01, torch.rand(6, generator=g) + 0.01),
               label="tensors of 6 densities")


# --- exercise 3: stochastic codes -----------------------------------------------------------------


@torch.no_grad()
def _codes_differ(model, x):
    return bool((model.code(x) != model.code(x)).any())


def _demo_models():
    return {"gaussian_model": _tiny_aae(30, 2, "gaussian").eval(),
            "model": _tiny_aae(31, 2).eval(), "images": _images(32, 60)}


@exercise(
    "03.codes_differ", "codes_differ(model, x)",
    reference=_codes_differ,
    hints=(
        "do not read the model's settings: ask the model twice for the codes of the same images "
        "and compare the two answers.",
        "model.code(x) draws the codes (with fresh noise when the posterior is Gaussian); if any "
        "entry differs the answer is True; answer with a bool.",
        "bool((model.code(x) != model.code(x)).any()), under torch.no_grad().",
    ),
    demo=_demo_models,
    wrong={
        "always True": lambda model, x: True,
        "posterior means compared (model.encode)": lambda model, x: bool(
            (model.encode(x) != model.encode(x)).any()),
        "codes of two different images compared": lambda model, x: bool(
            (model.code(x[:1]) != model.code(x[-1:])).any()),
        "the posterior's name read, codes never compared": lambda model, x: (
            model.posterior == "gaussian"),
        "every entry must differ (all, not any)": lambda model, x: bool(
            (model.code(x) != model.code(x)).all()),
        "a difference above 0.1 counted": lambda model, x: bool(
            ((model.code(x) - model.code(x)).abs() > 0.1).any()),
    },
)
def _codes_differ_cases(context):
    missing = {"gaussian_model", "model", "images"} - set(context)
    if missing:
        raise ValueError(f"the check needs {sorted(missing)}")
    gauss, det, images = context["gaussian_model"], context["model"], context["images"]
    yield Case(args=(gauss, images[:1]), label="the Gaussian-posterior AAE, one image")
    yield Case(args=(det, images[:1]), label="the deterministic AAE, one image")
    yield Case(args=(gauss, images[:50]), label="the Gaussian-posterior AAE, 50 images")
    yield Case(args=(det, images[:50]), label="the deterministic AAE, 50 images")
    # each case builds its own model: the collapsed one must not change the one before it
    yield Case(args=(_tiny_aae(33, 2, "gaussian").eval(), _images(34, 7)),
               label="another Gaussian-posterior AAE, 7 random images")
    yield Case(args=(_collapsed(_tiny_aae(35, 2, "gaussian").eval()), _images(36, 7)),
               label="a Gaussian-posterior AAE whose variances have shrunk to 0")
    yield Case(args=(_collapsed(_tiny_aae(37, 3, "gaussian").eval(), dims=[0]), _images(38, 7)),
               label="a Gaussian-posterior AAE with one of its 3 variances shrunk to 0")
    yield Case(args=(_collapsed(_tiny_aae(39, 2, "gaussian").eval(), logvar=-18.0), _images(40, 7)),
               label="a Gaussian-posterior AAE with tiny variances (sigma 0.0001)")


def _collapsed(model, dims=None, logvar: float = -200.0):
    """The same Gaussian-posterior AAE with log-variance ``logvar`` in the code dimensions
    ``dims`` (default: all). At -200, sigma = exp(-100) is too small to change mu in float32, so
    those coordinates are deterministic though the posterior is called "gaussian" (nothing in an
    AAE's losses stops its variances shrinking towards 0); at -18, sigma = 0.0001, small but
    still seen."""
    rows = slice(None) if dims is None else dims
    with torch.no_grad():
        model.encoder.logvar.weight[rows] = 0.0
        model.encoder.logvar.bias[rows] = logvar
    return model


# --- exercise 4: the experiment ---------------------------------------------------------------------


@exercise(
    "03.generator_experiment", "distance_ratio(runs)",
    reference=lambda runs: runs["minimax"]["hist"] / runs["non_saturating"]["hist"],
    hints=(
        "a ratio of two measured distances: how many times farther from the prior the minimax "
        "run's codes are than the non-saturating run's.",
        "runs[loss]['hist'] is that run's histogram distance of its test codes to the prior.",
        "runs['minimax']['hist'] / runs['non_saturating']['hist'].",
    ),
    rel=1e-6,  # the reference reads the same runs: nothing to tolerate
    demo=lambda: {"runs": {"non_saturating": {"hist": 0.25, "disc_acc": 0.54},
                           "minimax": {"hist": 0.46, "disc_acc": 0.67}}},
    wrong={
        "inverse ratio": lambda runs: runs["non_saturating"]["hist"] / runs["minimax"]["hist"],
        "difference": lambda runs: runs["minimax"]["hist"] - runs["non_saturating"]["hist"],
        "ratio of the discriminator's accuracies": lambda runs: (
            runs["minimax"]["disc_acc"] / runs["non_saturating"]["disc_acc"]),
        "the larger distance over the smaller": lambda runs: (
            max(r["hist"] for r in runs.values()) / min(r["hist"] for r in runs.values())),
        "the second run over the first, by position": lambda runs: (
            list(runs.values())[1]["hist"] / list(runs.values())[0]["hist"]),
    },
)
def _experiment_cases(context):
    yield from experiment_cases(
        context, needs={"non_saturating", "minimax"}, missing="runs has no {} run",
        made_up=[{"non_saturating": {"hist": 0.2, "disc_acc": 0.55},
                  "minimax": {"hist": 0.7, "disc_acc": 0.8}},
                 # the minimax run closer to the prior: the ratio below 1
                 {"minimax": {"hist": 0.3, "disc_acc": 0.6},
                  "non_saturating": {"hist": 0.5, "disc_acc": 0.7}}])
