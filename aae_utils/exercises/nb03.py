"""Notebook 03's exercises: the AAE's discriminator and generator phases, the discriminator's
loss, the optimal discriminator, stochastic codes, and the generator-loss experiment."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import phases
from ..checks import Case, exercise, experiment_cases
from ..losses import discriminator_accuracy, discriminator_loss
from ..models import build_model

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


def _weights(args: tuple) -> list[torch.Tensor]:
    """Every weight of the model (encoder, decoder, discriminator) after the call."""
    return [p.detach().clone() for p in args[0].parameters()]


def _disc_args(seed: int, latent_dim: int, n: int, n_prior: int, second_step: bool = False):
    model = _tiny_aae(seed, latent_dim)
    opt = torch.optim.Adam(model.discriminator.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.rand(n, 784, generator=g)
    prior_samples = 1.5 * torch.randn(n_prior, latent_dim, generator=g)
    if second_step:
        # One step taken before (Adam has a state), then a generator step that did not freeze
        # the discriminator: its weights hold gradients that this phase must not add to its own.
        x0, z0 = torch.rand(n, 784, generator=g), torch.randn(n_prior, latent_dim, generator=g)
        phases.discriminator_phase(model, x0, z0, opt)
        F.softplus(-model.discriminator(model.code(x0))).mean().backward()
    return model, x, prior_samples, opt


def _bad_disc_phase(loss_fn, *, step=True, zero=True, accuracy=discriminator_accuracy):
    """A discriminator phase with one thing wrong (for the catalogue of wrong answers)."""

    def phase(model, x, prior_samples, opt):
        with torch.no_grad():
            codes = model.code(x)
        real, fake = model.discriminator(prior_samples), model.discriminator(codes)
        loss = loss_fn(real, fake)
        if zero:
            opt.zero_grad()
        loss.backward()
        if step:
            opt.step()
        return loss.detach(), accuracy(real, fake)

    return phase


def _ok_d_loss(real, fake):
    return F.softplus(-real).mean() + F.softplus(fake).mean()


@exercise(
    "03.discriminator_phase", "discriminator_phase(model, x, prior_samples, opt)",
    tensors=True,
    reference=phases.discriminator_phase,
    hint="codes = model.code(x) without gradients; logits of model.discriminator for the prior "
         "samples (label 1, loss softplus(-l)) and for the codes (label 0, loss softplus(l)), "
         "each averaged over its own batch; opt.zero_grad() before loss.backward() (the model may "
         "hold gradients from another phase), then opt.step(); return "
         "(loss.detach(), discriminator_accuracy(real_logits, fake_logits)).",
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
    },
)
def _disc_phase_cases(context):
    yield Case(make=lambda: _disc_args(10, 2, 16, 16), after=_weights,
               label="2-D codes, 16 images, 16 prior samples")
    yield Case(make=lambda: _disc_args(11, 3, 37, 23), after=_weights,
               label="3-D codes, 37 images, 23 prior samples")
    yield Case(make=lambda: _disc_args(12, 2, 24, 40, second_step=True), after=_weights,
               label="a second step, with gradients left on the discriminator by an earlier phase")


def _gen_args(seed: int, latent_dim: int, n: int, second_step: bool = False):
    model = _tiny_aae(seed, latent_dim)
    opt = torch.optim.Adam(model.encoder.parameters(), lr=0.01)
    x = _images(seed + 1, n)
    if second_step:
        # One generator step taken before (Adam has a state), then a reconstruction step: the
        # encoder holds the reconstruction loss's gradients when this phase starts.
        x0 = _images(seed + 2, n)
        phases.generator_phase(model, x0, opt)
        opt_rec = torch.optim.Adam([*model.encoder.parameters(), *model.decoder.parameters()])
        phases.reconstruction_phase(model, x0, opt_rec)
    return model, x, opt


def _bad_gen_phase(loss_fn, *, step=True, zero=True):
    def phase(model, x, opt):
        loss = loss_fn(model.discriminator(model.code(x)))
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
    hint="logits = model.discriminator(model.code(x)) with gradients (the encoder must learn); "
         "the non-saturating loss -log D = softplus(-logits), averaged; opt.zero_grad() before "
         "loss.backward() (the encoder may hold gradients from another phase), then opt.step(); "
         "return loss.detach().",
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
    },
)
def _gen_phase_cases(context):
    yield Case(make=lambda: _gen_args(20, 2, 16), after=_weights, label="2-D codes, 16 images")
    yield Case(make=lambda: _gen_args(21, 3, 41), after=_weights, label="3-D codes, 41 images")
    yield Case(make=lambda: _gen_args(22, 2, 24, second_step=True), after=_weights,
               label="a second step, with the reconstruction phase's gradients on the encoder")


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
    hint="-log D(z') = softplus(-l) for each prior sample, -log(1 - D(q(x))) = softplus(l) for "
         "each code; average each batch on its own (they may differ in size), then add.",
    wrong={
        "real and fake labels swapped": lambda r, f: F.softplus(r).mean() + F.softplus(-f).mean(),
        "missing minus sign": lambda r, f: -(F.softplus(-r).mean() + F.softplus(f).mean()),
        "log of the logits": lambda r, f: -(torch.log(r).mean() + torch.log(1 - f).mean()),
        "sum instead of mean": lambda r, f: F.softplus(-r).sum() + F.softplus(f).sum(),
        "one mean over both batches": lambda r, f: torch.cat(
            [F.softplus(-r), F.softplus(f)]).mean(),
    },
)
def _d_loss_cases(context):
    yield Case(args=(torch.tensor([2.0, -1.0]), torch.tensor([0.0, -3.0])),
               label="the logits of the question")
    g = torch.Generator().manual_seed(3)
    for n_real, n_fake in [(5, 5), (7, 3), (1, 4), (64, 100)]:
        yield Case(args=(2 * torch.randn(n_real, generator=g), 2 * torch.randn(n_fake, generator=g)),
                   label=f"{n_real} and {n_fake} random logits")


# --- exercise 2: the optimal discriminator --------------------------------------------------------


@exercise(
    "03.optimal_discriminator", "optimal_discriminator(p, q)",
    reference=lambda p, q: p / (p + q),
    hint="at one z, maximise p log D + q log(1 - D) over D: the derivative p / D - q / (1 - D) "
         "is zero where D (p + q) = p.",
    wrong={
        "the codes' share q / (p + q)": lambda p, q: q / (p + q),
        "the density ratio p / q": lambda p, q: p / q,
        "always 1/2 (a fooled discriminator)": lambda p, q: 0.5,
    },
)
def _optimal_cases(context):
    yield Case(args=(0.3, 0.1), label="p = 0.3, q = 0.1")
    yield Case(args=(0.02, 0.5), label="p = 0.02, q = 0.5")
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
    hint="call model.code(x) twice on the same images and say whether any entry differs "
         "(True or False).",
    demo=_demo_models,
    wrong={
        "always True": lambda model, x: True,
        "posterior means compared (model.encode)": lambda model, x: bool(
            (model.encode(x) != model.encode(x)).any()),
        "codes of two different images compared": lambda model, x: bool(
            (model.code(x[:1]) != model.code(x[-1:])).any()),
        "the posterior's name read, codes never compared": lambda model, x: (
            model.posterior == "gaussian"),
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
    demo = _demo_models()
    yield Case(args=(demo["gaussian_model"], demo["images"][:7]),
               label="another Gaussian-posterior AAE, 7 random images")
    yield Case(args=(_collapsed(demo["gaussian_model"]), demo["images"][:7]),
               label="a Gaussian-posterior AAE whose variances have shrunk to 0")


def _collapsed(model):
    """The same Gaussian-posterior AAE with log-variance -200 everywhere: sigma = exp(-100) is
    too small to change mu in float32, so its codes are deterministic though its posterior is
    called "gaussian" (nothing in an AAE's losses stops its variances shrinking towards 0)."""
    with torch.no_grad():
        model.encoder.logvar.weight.zero_()
        model.encoder.logvar.bias.fill_(-200.0)
    return model


# --- exercise 4: the experiment ---------------------------------------------------------------------


@exercise(
    "03.generator_experiment", "distance_ratio(runs)",
    reference=lambda runs: runs["minimax"]["hist"] / runs["non_saturating"]["hist"],
    hint="runs[loss]['hist'] is the histogram distance of that run's test codes to the prior: "
         "divide the minimax run's by the non-saturating run's.",
    rel=0.1,
    demo=lambda: {"runs": {"non_saturating": {"hist": 0.25, "disc_acc": 0.54},
                           "minimax": {"hist": 0.46, "disc_acc": 0.67}}},
    wrong={
        "inverse ratio": lambda runs: runs["non_saturating"]["hist"] / runs["minimax"]["hist"],
        "difference": lambda runs: runs["minimax"]["hist"] - runs["non_saturating"]["hist"],
        "ratio of the discriminator's accuracies": lambda runs: (
            runs["minimax"]["disc_acc"] / runs["non_saturating"]["disc_acc"]),
    },
)
def _experiment_cases(context):
    yield from experiment_cases(
        context, needs={"non_saturating", "minimax"}, missing="runs has no {} run",
        made_up={"non_saturating": {"hist": 0.2, "disc_acc": 0.55},
                 "minimax": {"hist": 0.7, "disc_acc": 0.8}})
