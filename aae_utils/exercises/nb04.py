"""Notebook 04's exercises: sampling the mixture prior, the discriminator's label input with its
"no label" slot, reading the code space (which component, which digit), the Monte Carlo KL that
lets a VAE use a prior with a density, and how many labels the discriminator needs."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..checks import Case, exercise, experiment_cases
from ..engine import _disc_cond
from ..losses import monte_carlo_kl
from ..models import AdversarialAutoencoder
from ..priors import GaussianMixturePrior, GaussianPrior

# --- the mixture sampler -------------------------------------------------------------------------


def _sample_mixture(labels, eps, num_components=10, radius=4.0, radial_std=1.0, tangential_std=0.25):
    """GaussianMixturePrior._sample_labels with the noise ``eps`` given (the library's draw)."""
    prior = GaussianMixturePrior(num_components, radius, radial_std, tangential_std)
    u = prior.directions[labels]
    v = torch.stack([-u[:, 1], u[:, 0]], 1)
    return prior.means[labels] + (radial_std * eps[:, :1]) * u + (tangential_std * eps[:, 1:]) * v


def _mixture_with(angle, radial_factor=1.0, tangential_factor=1.0, swap_stds=False, power=1):
    """A sampler built like the reference, with one thing changed (the catalogued mistakes)."""

    def sample(labels, eps, num_components=10, radius=4.0, radial_std=1.0, tangential_std=0.25):
        rs, ts = (tangential_std, radial_std) if swap_stds else (radial_std, tangential_std)
        rs, ts = rs**power, ts**power
        a = angle(labels.double(), num_components).float()
        u = torch.stack([a.cos(), a.sin()], 1)
        v = torch.stack([-u[:, 1], u[:, 0]], 1)
        return radius * u + rs * eps[:, :1] * u + ts * eps[:, 1:] * v

    return sample


def _radians(k, K):
    return 2 * math.pi * k / K


def _swapped_cos_sin(labels, eps, num_components=10, radius=4.0, radial_std=1.0, tangential_std=0.25):
    a = 2 * math.pi * labels.float() / num_components
    u = torch.stack([a.sin(), a.cos()], 1)
    v = torch.stack([-u[:, 1], u[:, 0]], 1)
    return radius * u + radial_std * eps[:, :1] * u + tangential_std * eps[:, 1:] * v


@exercise(
    "04.sample_mixture",
    "sample_mixture(labels, eps, num_components=10, radius=4.0, radial_std=1.0, tangential_std=0.25)",
    reference=_sample_mixture,
    hints=(
        "each label picks its component: a point on the circle at that component's angle, plus "
        "noise along the ray (radial) and across it (tangential), each scaled by its own standard "
        "deviation.",
        "angles are in radians, component k at a fraction k/K of a full turn from the positive z1 "
        "axis; the ray's direction is (cos a, sin a) and the direction across it (-sin a, cos a); "
        "eps[:, 0] goes along the ray.",
        "with a = 2 * math.pi * labels / num_components, u = (cos a, sin a) and v = (-sin a, cos "
        "a) per row: z = radius * u + radial_std * eps[:, :1] * u + tangential_std * eps[:, 1:] * "
        "v.",
    ),
    wrong={
        "angle off by one class, 2 pi (k+1)/K": _mixture_with(lambda k, K: 2 * math.pi * (k + 1) / K),
        "degrees instead of radians": _mixture_with(lambda k, K: 360.0 * k / K),
        "cos and sin swapped": _swapped_cos_sin,
        "radial and tangential stds swapped": _mixture_with(_radians, swap_stds=True),
        "variances for stds": _mixture_with(_radians, power=2),
    },
)
def _sample_mixture_cases(context):
    g = torch.Generator().manual_seed(4)
    yield Case(args=(torch.tensor([3]), torch.tensor([[1.5, -2.0]])), label="one code of component 3")
    settings = [  # (K, radius, radial std, tangential std, N)
        (10, 4.0, 1.0, 0.25, 200),
        (10, 4.0, 2.0, 0.5, 50),
        (6, 3.0, 0.5, 1.5, 30),
        (3, 1.0, 3.0, 0.2, 9),
    ]
    for K, radius, rs, ts, n in settings:
        labels = torch.cat([torch.arange(K), torch.randint(K, (n - K,), generator=g)])
        eps = torch.randn(n, 2, generator=g)
        yield Case(args=(labels, eps, K, radius, rs, ts),
                   label=f"K={K}, radius {radius:g}, stds {rs:g}/{ts:g}, {n} codes")


# --- the discriminator's label input ---------------------------------------------------------------


@exercise(
    "04.discriminator_condition", "discriminator_condition(labels, num_classes=10)",
    reference=lambda labels, num_classes=10: _disc_cond(labels, num_classes + 1),
    dtype=True,  # the discriminator computes with it: integer or bool rows cannot go in
    forbidden=("aae_utils.engine._disc_cond",),
    hints=(
        "one one-hot row per label, with one extra column that means 'no label'; the "
        "discriminator computes with the rows, so they must be floats.",
        "there are num_classes + 1 columns: label k sets column k and label -1 sets the last one; "
        "F.one_hot works once every -1 has been replaced by num_classes.",
        "F.one_hot(torch.where(labels < 0, num_classes, labels), num_classes + 1).float().",
    ),
    wrong={
        "labels + 1 (off by one)": lambda labels, num_classes=10: F.one_hot(
            labels + 1, num_classes + 1).float(),
        "an all-zero row for -1": lambda labels, num_classes=10: (
            F.one_hot(labels.clamp(min=0), num_classes + 1).float() * (labels >= 0).float()[:, None]),
        "only num_classes columns": lambda labels, num_classes=10: F.one_hot(
            labels.clamp(min=0), num_classes).float(),
        "-1 wrapped onto the last digit": lambda labels, num_classes=10: F.one_hot(
            labels % num_classes, num_classes + 1).float(),
        "integer rows (F.one_hot without .float())": lambda labels, num_classes=10: F.one_hot(
            torch.where(labels < 0, num_classes, labels), num_classes + 1),
        "bool rows": lambda labels, num_classes=10: F.one_hot(
            torch.where(labels < 0, num_classes, labels), num_classes + 1).bool(),
    },
)
def _disc_cond_cases(context):
    g = torch.Generator().manual_seed(5)
    yield Case(args=(torch.tensor([-1]),), label="one unlabelled image")
    yield Case(args=(torch.tensor([9, -1, 0, 4]),), label="9, -1, 0, 4")
    labels = torch.randint(-1, 10, (50,), generator=g)
    yield Case(args=(labels, 10), label="50 labels in [-1, 9]")
    yield Case(args=(torch.tensor([0, 1, 2, -1, 2]), 3), label="3 classes")
    yield Case(args=(torch.randint(0, 7, (20,), generator=g), 7), label="7 classes, all labelled")
    yield Case(args=(torch.full((4,), -1), 10), label="none labelled")


# --- exercise 1: a component's centre by hand ------------------------------------------------------


@exercise(
    "04.centre_z2", "centre_z2()",
    # component 4, not 3: sin(108 deg) = sin(72 deg), so for component 3 counting from 1 (k = 2)
    # gave the same z2 and passed
    reference=lambda: 4 * math.sin(2 * math.pi * 4 / 10),
    hints=(
        "find component 4's angle (components count from 0, like the digits) and take the sine "
        "part of its centre, scaled by the radius.",
        "the angle is a fraction of a full turn in radians: 4/10 of 2 pi.",
        "4 * sin(2 * pi * 4 / 10), to two decimals.",
    ),
    rel=0.0, abs=0.006,
    wrong={
        "z1 (cosine) instead of z2": lambda: 4 * math.cos(2 * math.pi * 4 / 10),
        "degrees into a radian sine": lambda: 4 * math.sin(360 * 4 / 10),
        "counted from 1 (k = 3)": lambda: 4 * math.sin(2 * math.pi * 3 / 10),
        "off by one the other way (k = 5)": lambda: 4 * math.sin(2 * math.pi * 5 / 10),
        "radius forgotten": lambda: math.sin(2 * math.pi * 4 / 10),
    },
)
def _centre_cases(context):
    yield Case(label="to two decimals")


# --- codes of a trained model: which component ------------------------------------------------------


def _spread_model() -> AdversarialAutoencoder:
    """A 2-D AAE whose encoder maps an image's first two pixels p to the code 16 p - 8: random
    images give codes all over [-8, 8]^2, in every component (the checks' stand-in for a trained
    model)."""
    model = AdversarialAutoencoder(784, 2, hidden=[16])
    first, last = model.encoder.net[0], model.encoder.net[2]
    with torch.no_grad():
        first.weight.zero_()
        first.bias.zero_()
        first.weight[:16, :16] = torch.eye(16)
        last.weight.zero_()
        last.weight[0, 0] = last.weight[1, 1] = 16.0
        last.bias.fill_(-8.0)
    return model.eval()


def _random_images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 784, generator=g), torch.randint(10, (n,), generator=g)


def _share(model, prior, images, labels, digit):
    with torch.no_grad():
        codes = model.encode(images[labels == digit])
    return (prior.assign(codes) == digit).float().mean().item()


def _assigned(model, prior, images):
    with torch.no_grad():
        return prior.assign(model.encode(images))


def _precision(model, prior, images, labels, digit):
    landed = _assigned(model, prior, images) == digit
    return (labels[landed] == digit).float().mean().item()


def _demo_share():
    images, labels = _random_images(600, 6)
    return {"model": _spread_model(), "prior": GaussianMixturePrior(10), "images": images,
            "labels": labels}


@exercise(
    "04.share_in_component", "share_in_component(model, prior, images, labels, digit)",
    reference=_share,
    hints=(
        "among the images of one digit, the fraction whose code falls in that digit's own "
        "component of the prior.",
        "select the digit's images with a boolean mask, encode them (model.encode), and let "
        "prior.assign say each code's component.",
        "float((prior.assign(model.encode(images[labels == digit])) == digit).float().mean()).",
    ),
    rel=1e-4,
    demo=_demo_share,
    wrong={
        "share of all images (not only the digit's)": lambda model, prior, images, labels, digit: (
            (_assigned(model, prior, images) == digit).float().mean().item()),
        "precision: share of component digit's codes that are the digit": _precision,
        "count, not a fraction": lambda model, prior, images, labels, digit: int(
            (_assigned(model, prior, images[labels == digit]) == digit).sum()),
        "every digit's agreement": lambda model, prior, images, labels, digit: (
            (_assigned(model, prior, images) == labels).float().mean().item()),
    },
)
def _share_cases(context):
    model, prior, images, labels = (context[k] for k in ("model", "prior", "images", "labels"))
    yield Case(args=(model, prior, images, labels, 1), label=f"digit 1, {len(images):,} images")
    yield Case(args=(model, prior, images[:2500], labels[:2500], 7), label="digit 7, first 2,500")
    x, y = _random_images(400, 7)
    yield Case(args=(_spread_model(), GaussianMixturePrior(10), x, y, 3),
               label="digit 3, another model and data")
    yield Case(args=(_spread_model(), GaussianMixturePrior(6, radius=3.0), x, y % 6, 4),
               label="digit 4, a 6-component prior")


# --- exercise 3: what a VAE needs of its prior ---------------------------------------------------


def _mc_kl(mu, logvar, eps, log_prior):
    return monte_carlo_kl(mu, logvar, eps, log_prior, reduction="none")


def _mc_kl_with(*, sign=1.0, noise=True, std_power=0.5, normaliser=True, detach=False):
    """The estimate with one thing wrong (the catalogued mistakes)."""

    def mc_kl(mu, logvar, eps, log_prior):
        z = mu + torch.exp(std_power * logvar) * eps if noise else mu
        if detach:
            z = z.detach()
        e = (z - mu) * torch.exp(-0.5 * logvar)
        const = math.log(2 * math.pi) if normaliser else 0.0
        log_q = (-0.5 * (e**2 + logvar + const)).sum(1)
        return sign * (log_q - log_prior(z))

    return mc_kl


def _closed_form_kl(mu, logvar, eps, log_prior):
    return 0.5 * (mu**2 + logvar.exp() - logvar - 1).sum(1)


@exercise(
    "04.mc_kl", "mc_kl(mu, logvar, eps, log_prior)",
    reference=_mc_kl,
    forbidden=("aae_utils.losses.monte_carlo_kl",),
    hints=(
        "the KL is an expectation over z drawn from q(z|x) of log q(z|x) - log p(z); one sample "
        "per row, made from eps as in notebook 02, gives an unbiased estimate of it. Only the "
        "prior's log-density is needed, never a formula for the KL.",
        "z is notebook 02's reparameterised sample; log q(z|x) is the log-density of the "
        "encoder's diagonal Gaussian at z, a sum over the code's dimensions (normaliser "
        "included); log_prior(z) gives log p(z), one value per row.",
        "z = mu + torch.exp(0.5 * logvar) * eps; log_q = (-0.5 * (eps**2 + logvar + "
        "math.log(2 * math.pi))).sum(1); return log_q - log_prior(z).",
    ),
    rel=1e-4, abs=1e-4,
    wrong={
        "log p - log q (the sign)": _mc_kl_with(sign=-1.0),
        "z = mu (no sample)": _mc_kl_with(noise=False),
        "the variance used as the standard deviation": _mc_kl_with(std_power=1.0),
        "log q(z|x) without its normaliser": _mc_kl_with(normaliser=False),
        "the sample detached (no gradient through z)": _mc_kl_with(detach=True),
        "the closed-form KL to N(0, I), whatever the prior": _closed_form_kl,
    },
)
def _mc_kl_cases(context):
    g = torch.Generator().manual_seed(11)
    gaussian, mixture = GaussianPrior(2).log_prob, GaussianMixturePrior(10).log_prob
    for n, log_prior, name in [(1, gaussian, "N(0, I)"), (5, mixture, "the 10-Gaussian mixture"),
                               (64, mixture, "the 10-Gaussian mixture"), (32, gaussian, "N(0, I)")]:
        mu, logvar = 2 * torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g)
        eps = torch.randn(n, 2, generator=g)
        yield Case(args=(mu, logvar, eps, log_prior), label=f"{n} rows, prior {name}", grads=(0, 1))
    wide = GaussianPrior(3, std=2.0).log_prob
    mu, logvar = torch.randn(8, 3, generator=g), torch.full((8, 3), math.log(9.0))
    yield Case(args=(mu, logvar, torch.randn(8, 3, generator=g), wide),
               label="3-D codes with variance 9, prior N(0, 4 I)", grads=(0, 1))


# --- exercise 4: which digit does the decoder draw ---------------------------------------------


@torch.no_grad()
def _drawn_digit(decoder, codes, images, labels):
    drawn = decoder.images(codes).double()
    ref = images.double()
    nearest = torch.stack([(ref - d).pow(2).sum(1).argmin() for d in drawn])
    return labels[nearest]


@torch.no_grad()
def _nearest_to(drawn, images, labels, *, farthest=False, index=False):
    dist = torch.cdist(drawn.double(), images.double())
    pick = dist.argmax(1) if farthest else dist.argmin(1)
    return pick if index else labels[pick]


def _demo_drawn():
    torch.manual_seed(0)
    model = AdversarialAutoencoder(784, 2, hidden=[16]).eval()
    images, labels = _random_images(400, 8)
    return {"decoder": model.decoder, "codes": GaussianMixturePrior(10).means, "images": images,
            "labels": labels}


@exercise(
    "04.drawn_digit", "drawn_digit(decoder, codes, images, labels)",
    reference=_drawn_digit,
    hints=(
        "decode the codes into images, then name each decoded image after the real image it looks "
        "most like.",
        "logits become pixels through a sigmoid (decoder.images does it); 'looks most like' is "
        "the smallest squared pixel distance, and torch.cdist gives all the distances at once.",
        "labels[torch.cdist(decoder.images(codes), images).argmin(1)], under torch.no_grad().",
    ),
    demo=_demo_drawn,
    wrong={
        "logits compared with pixels (no sigmoid)": lambda decoder, codes, images, labels: (
            _nearest_to(decoder(codes).detach(), images, labels)),
        "the nearest image's index, not its label": lambda decoder, codes, images, labels: (
            _nearest_to(decoder.images(codes), images, labels, index=True)),
        "the farthest image": lambda decoder, codes, images, labels: (
            _nearest_to(decoder.images(codes), images, labels, farthest=True)),
    },
)
def _drawn_cases(context):
    decoder, codes, images, labels = (context[k] for k in ("decoder", "codes", "images", "labels"))
    device = images.device
    yield Case(args=(decoder, codes.to(device), images, labels), label=f"{len(codes)} given codes")
    g = torch.Generator().manual_seed(9)
    random_codes = (3 * torch.randn(25, decoder.latent_dim, generator=g)).to(device)
    yield Case(args=(decoder, random_codes, images[:3000], labels[:3000]),
               label="25 random codes, 3,000 images")
    # Images that are (almost) the decoder's own drawings: the nearest one is known.
    codes12 = (2 * torch.randn(12, decoder.latent_dim, generator=g)).to(device)
    with torch.no_grad():
        drawn = decoder.images(codes12)
    noisy = (drawn + 0.01 * torch.randn(drawn.shape, generator=g).to(device)).clamp(0, 1)
    x = torch.cat([images[:300], noisy])
    y = torch.cat([labels[:300], torch.randint(10, (12,), generator=g).to(labels)])
    yield Case(args=(decoder, codes12, x, y), label="images drawn by the decoder itself")


# --- exercise 5: experiment, how many labels ----------------------------------------------------


@exercise(
    "04.labels_experiment", "label_gain(runs)",
    reference=lambda runs: runs[max(runs)]["share"] / runs[min(runs)]["share"],
    hints=(
        "a ratio of two measured shares: the share of the run with the most labels over the share "
        "of the run with the fewest (keys are labels per digit).",
        "runs[k]['share'] is the share for k labelled images per digit; max(runs) and min(runs) "
        "find the two keys.",
        "runs[max(runs)]['share'] / runs[min(runs)]['share'].",
    ),
    rel=1e-6,  # the reference reads the same runs: nothing to tolerate
    demo=lambda: {"runs": {100: {"share": 0.106, "labelled": 1000},
                           1000: {"share": 0.281, "labelled": 10000}}},
    wrong={
        "inverse ratio": lambda runs: runs[min(runs)]["share"] / runs[max(runs)]["share"],
        "difference": lambda runs: runs[max(runs)]["share"] - runs[min(runs)]["share"],
        "ratio of the numbers of labels": lambda runs: max(runs) / min(runs),
        "largest share over smallest, whichever run": lambda runs: (
            max(r["share"] for r in runs.values()) / min(r["share"] for r in runs.values())),
        "numbers of labels compared as text": lambda runs: (
            runs[max(runs, key=str)]["share"] / runs[min(runs, key=str)]["share"]),
    },
)
def _labels_cases(context):
    yield from experiment_cases(
        context, needs=2,
        missing="runs needs at least two runs with different numbers of labels",
        made_up=[{10: {"share": 0.12, "labelled": 100}, 100: {"share": 0.2, "labelled": 1000},
                  1000: {"share": 0.54, "labelled": 10000}},
                 # more labels, a lower share: a formula that ignores which run is which fails
                 {10: {"share": 0.4, "labelled": 100}, 300: {"share": 0.25, "labelled": 3000}},
                 # as text "5" > "20" > "100": the keys are numbers of labels
                 {5: {"share": 0.1, "labelled": 50}, 20: {"share": 0.3, "labelled": 200},
                  100: {"share": 0.45, "labelled": 1000}}])
