"""Notebook 01's exercises: the Bernoulli reconstruction loss, one training step, and three
measurements of a trained autoencoder (loss per digit, the widest digit, parameter counts)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import Case, after_step, case_adam, exercise, through_fit
from ..data import ImageData
from ..losses import reconstruction_loss
from ..models import build_model
from ..phases import reconstruction_phase
from ..train_config import TrainConfig


def _seeded(seed: int, build):
    """``build()`` under torch's global seed ``seed``, leaving the notebook's random state as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _tiny_ae(seed: int, latent_dim: int = 2, hidden=(32,)):
    return _seeded(seed, lambda: build_model("ae", latent_dim=latent_dim, hidden=list(hidden)).eval())


# --- the Bernoulli negative log-likelihood ------------------------------------------------------------


def _bernoulli_nll(logits, x):
    return reconstruction_loss(logits, x, reduction="none")


def _nll_cases(context):
    g = torch.Generator().manual_seed(0)
    for b, d in [(1, 784), (5, 784), (32, 10)]:
        logits = 3 * torch.randn(b, d, generator=g)
        grey = torch.rand(b, d, generator=g)
        yield Case(args=(logits, grey), label=f"({b}, {d}), grey pixels", grads=(0,))
        yield Case(args=(logits, (grey > 0.5).float()), label=f"({b}, {d}), black and white",
                   grads=(0,))
    sure = 40 * torch.randn(8, 784, generator=g).sign()
    target = (torch.rand(8, 784, generator=g) > 0.5).float()
    target[:, ::2] = (sure[:, ::2] > 0).float()  # half the pixels agree with the logit's sign
    yield Case(args=(sure, target), label="a confident decoder, logits of +-40", grads=(0,))


def _stable(logits, x):
    return (F.softplus(logits) - x * logits).sum(1)


@exercise(
    "01.bernoulli_nll", "bernoulli_nll(logits, x)",
    reference=_bernoulli_nll,
    forbidden=("aae_utils.losses.reconstruction_loss",),
    hints=(
        "one number per image: the formula's term summed over that image's pixels, in nats. Work "
        "from the logits themselves, never from sigmoid(logits) passed through a log: a confident "
        "decoder would give log(0).",
        "F.softplus(a) = log(1 + e^a) never overflows, and the formula written with it needs only "
        "the logits and x; the pixels are dimension 1.",
        "(F.softplus(logits) - x * logits).sum(1).",
    ),
    rel=1e-4, abs=1e-4,
    wrong={
        "mean over pixels instead of sum": lambda logits, x: (
            F.binary_cross_entropy_with_logits(logits, x, reduction="none").mean(1)),
        "bits (log base 2)": lambda logits, x: _stable(logits, x) / math.log(2),
        "sigmoid applied twice": lambda logits, x: F.binary_cross_entropy_with_logits(
            torch.sigmoid(logits), x, reduction="none").sum(1),
        "logits taken as probabilities": lambda logits, x: -(
            x * torch.log(logits) + (1 - x) * torch.log(1 - logits)).sum(1),
        "batch mean instead of one value per image": lambda logits, x: _stable(logits, x).mean(),
        "sign error (the log-likelihood)": lambda logits, x: -_stable(logits, x),
        "log(sigmoid) by hand (overflows)": lambda logits, x: -(
            x * torch.log(torch.sigmoid(logits))
            + (1 - x) * torch.log(1 - torch.sigmoid(logits))).sum(1),
    },
)
def _bernoulli_nll_exercise(context):
    yield from _nll_cases(context)


# --- one training step --------------------------------------------------------------------------------


def _batch(context, seed: int, n: int) -> torch.Tensor:
    images = context.get("images")
    g = torch.Generator().manual_seed(seed)
    if images is None:
        return (torch.rand(n, 784, generator=g) > 0.7).float()
    return images[torch.randperm(len(images), generator=g)[:n]].cpu()


def _step_cases(context):
    x16, x50, earlier = _batch(context, 1, 16), _batch(context, 2, 50), _batch(context, 3, 16)

    def fresh(seed, x, latent_dim=2, hidden=(32,), warm=False):
        def make():
            model = _tiny_ae(seed, latent_dim, hidden).train()
            opt = case_adam(model.parameters(), lr=1e-3)
            if warm:  # one step already taken: its gradients are still in the .grad fields
                reconstruction_phase(model, earlier, opt)
            return model, x.clone(), opt
        return make

    after = after_step(gradients=())  # the text asks nothing of the gradients left after the step
    yield Case(make=fresh(0, x16), after=after, label="a fresh model's first step, 16 images")
    yield Case(make=fresh(1, x16, warm=True), after=after,
               label="after a step already taken (its gradients still stored)")
    yield Case(make=fresh(2, x50, latent_dim=3, hidden=(16, 16), warm=True), after=after,
               label="50 images, a 3-D code, two hidden layers")

    def fit_args():
        images = _batch(context, 4, 200)
        data = ImageData(images, torch.zeros(len(images), dtype=torch.long))
        return _tiny_ae(3).train(), data, TrainConfig(epochs=1, batch_size=50, seed=3)

    yield Case(make=fit_args, through=through_fit("reconstruction"), show_inputs=False,
               label="one epoch of fit() with your step in it (4 steps)")


def _bad_step(*, zero=True, step=True, step_first=False, reduction="mean", code="code"):
    """A training step with one thing wrong (for the catalogue of wrong answers)."""

    def training_step(model, x, opt):
        loss = reconstruction_loss(model.decoder(getattr(model, code)(x)), x, reduction=reduction)
        if zero:
            opt.zero_grad()
        if step_first:
            opt.step()
        loss.backward()
        if step and not step_first:
            opt.step()
        return loss.detach()

    return training_step


@exercise(
    "01.training_step", "training_step(model, x, opt)",
    tensors=True,
    reference=reconstruction_phase,
    forbidden=("aae_utils.phases.reconstruction_phase",),
    hints=(
        "the step has two halves: a loss computed with gradients all the way from the encoder "
        "through the decoder, then the three optimiser calls in the order the text gives them.",
        "model.code(x) keeps the graph (model.encode does not); the loss is the batch mean of the "
        "per-image loss; backward adds to whatever .grad already holds, so clear it first.",
        "loss = reconstruction_loss(model.decoder(model.code(x)), x); opt.zero_grad(); "
        "loss.backward(); opt.step(); return loss.detach().",
    ),
    rel=1e-4, abs=1e-5,
    wrong={
        "forgot opt.zero_grad()": _bad_step(zero=False),
        "forgot opt.step()": _bad_step(step=False),
        "sum over the batch instead of mean": _bad_step(reduction="sum"),
        "opt.step() before loss.backward()": _bad_step(step_first=True),
        "model.encode (no gradients) instead of model.code": _bad_step(code="encode"),
    },
)
def _training_step_exercise(context):
    yield from _step_cases(context)


# --- measurements of the trained model ------------------------------------------------------------


def _per_image(model, images):
    with torch.no_grad():
        return reconstruction_loss(model.decoder(model.encoder(images)), images, reduction="none")


def _loss_per_digit(model, images, labels):
    per_image = _per_image(model, images).cpu()
    labels = labels.cpu()
    return torch.stack([per_image[labels == d].mean() for d in range(10)])


def _confident(model, scale: float = 200.0):
    """``model`` with its decoder's last layer ``scale`` times larger: logits of up to about
    +-100, where sigmoid(logits) is exactly 0 or 1 in float32, so a loss written through
    sigmoid and log gives log(0) (inf or NaN) and only one written in logits stays finite."""
    with torch.no_grad():
        model.decoder.net[-1].weight.mul_(scale)
    return model


def _sigmoid_then_log(model, images, labels):
    """The Bernoulli loss per digit written through sigmoid and log (a catalogued wrong answer)."""
    with torch.no_grad():
        p = torch.sigmoid(model.decoder(model.encoder(images)))
    per = -(images * torch.log(p) + (1 - images) * torch.log(1 - p)).sum(1)
    return torch.stack([per[labels == d].mean() for d in range(10)])


def _random_labelled(n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    labels = torch.cat([torch.arange(10), torch.randint(10, (n - 10,), generator=g)])
    return (torch.rand(n, 784, generator=g) > 0.6).float(), labels


def _demo_model_context():
    images, labels = _random_labelled(300, 0)
    model = _tiny_ae(0)
    return {"model": model, "images": images, "labels": labels, "codes": model.encode(images),
            "module": model.decoder}


@exercise(
    "01.loss_per_digit", "loss_per_digit(model, images, labels)",
    reference=_loss_per_digit,
    hints=(
        "two steps: a loss for every image (decode its code and compare with the image), then an "
        "average of those losses within each digit, ten numbers.",
        "the library's reconstruction_loss with reduction='none' gives one loss per image; a "
        "boolean mask labels == d picks digit d's images; do it for every d and stack the ten "
        "means.",
        "per_image = reconstruction_loss(model.decoder(model.encoder(images)), images, "
        "reduction='none'); torch.stack([per_image[labels == d].mean() for d in range(10)]).",
    ),
    rel=1e-4, abs=1e-3,
    demo=_demo_model_context,
    wrong={
        "sum per digit instead of mean": lambda model, images, labels: torch.stack(
            [_per_image(model, images)[labels == d].sum() for d in range(10)]),
        "mean over pixels too": lambda model, images, labels: torch.stack(
            [_per_image(model, images)[labels == d].mean() for d in range(10)]) / 784,
        "probabilities passed as logits": lambda model, images, labels: torch.stack(
            [reconstruction_loss(model.decoder.images(model.encode(images)), images,
                                 reduction="none")[labels == d].mean() for d in range(10)]),
        "the overall mean for every digit": lambda model, images, labels: (
            _per_image(model, images).mean().expand(10)),
        "labels off by one": lambda model, images, labels: torch.stack(
            [_per_image(model, images)[labels == (d + 1) % 10].mean() for d in range(10)]),
        "log(sigmoid) by hand (log(0) for a confident decoder)": _sigmoid_then_log,
    },
)
def _loss_per_digit_cases(context):
    model, images, labels = context.get("model"), context.get("images"), context.get("labels")
    if model is None or images is None or labels is None:
        raise ValueError("pass model=model, images=test.x, labels=test.y to the check")
    yield Case(args=(model, images, labels), label=f"your model on {len(images):,} images",
               show_expected=False)
    yield Case(args=(model, images[:500], labels[:500]), label="the first 500 of them")
    x, y = _random_labelled(200, 1)
    device = next(model.parameters()).device
    yield Case(args=(model, x.to(device), y.to(device)), label="200 random images")
    yield Case(args=(_tiny_ae(5), x, y), label="an untrained small autoencoder")
    yield Case(args=(_confident(_tiny_ae(5)), x, y),
               label="a confident decoder, logits up to about +-100 (sigmoid rounds to 0 or 1)")


def _per_digit(codes, labels, stat):
    """``stat`` of each digit's codes, a tensor of 10 numbers (the right answer and every
    catalogued wrong one differ only in ``stat``)."""
    return torch.stack([stat(codes[labels == d]) for d in range(10)])


def _spread(codes, labels):
    return _per_digit(codes, labels, lambda z: z.var(0).sum())


def _widest_digit(codes, labels):
    return int(_spread(codes, labels).argmax())


def _designed_codes(stds_of: dict[int, tuple[float, float]], seed: int = 4, far: int | None = None,
                    counts: dict[int, int] | None = None):
    """Codes whose per-digit standard deviations are set exactly (others 0.5 on each axis);
    digit 1 three times as frequent (or each digit's number of codes from ``counts``, 100 for
    the others), digit ``far`` centred at (8, 8) instead of the origin."""
    g = torch.Generator().manual_seed(seed)
    stds = {d: (0.5, 0.5) for d in range(10)}
    stds.update(stds_of)
    counts = counts if counts is not None else {1: 300}
    codes, labels = [], []
    for d in range(10):
        n = counts.get(d, 100)
        eps = torch.randn(n, 2, generator=g)
        eps = (eps - eps.mean(0)) / eps.std(0)  # exactly mean 0 and std 1 per coordinate
        centre = torch.tensor([8.0, 8.0]) if d == far else torch.zeros(2)
        codes.append(centre + eps * torch.tensor(stds[d]))
        labels.append(torch.full((n,), d))
    return torch.cat(codes), torch.cat(labels)


@exercise(
    "01.widest_digit", "widest_digit(codes, labels)",
    reference=_widest_digit,
    hints=(
        "measure each digit's spread as the text defines it (the variance of z1 plus the variance "
        "of z2, over that digit's codes), then answer with the digit, not with its spread.",
        "codes[labels == d] are digit d's codes; .var(0) gives one variance per coordinate; "
        "argmax over the ten spreads is the digit.",
        "int(torch.stack([codes[labels == d].var(0).sum() for d in range(10)]).argmax()).",
    ),
    rel=0.0, abs=0.0,
    demo=_demo_model_context,
    wrong={
        "sum of standard deviations": lambda codes, labels: int(
            _per_digit(codes, labels, lambda z: z.std(0).sum()).argmax()),
        "variance of z1 only": lambda codes, labels: int(
            _per_digit(codes, labels, lambda z: z[:, 0].var()).argmax()),
        "the narrowest digit": lambda codes, labels: int(_spread(codes, labels).argmin()),
        "the spread instead of the digit": lambda codes, labels: float(_spread(codes, labels).max()),
        "farthest from the origin": lambda codes, labels: int(
            _per_digit(codes, labels, lambda z: z.norm(dim=1).mean()).argmax()),
        "largest variance along one axis": lambda codes, labels: int(
            _per_digit(codes, labels, lambda z: z.var(0).max()).argmax()),
        "variance of the distance to the origin": lambda codes, labels: int(
            _per_digit(codes, labels, lambda z: z.norm(dim=1).var()).argmax()),
        "spread divided by the digit's number of codes": lambda codes, labels: int(torch.stack(
            [codes[labels == d].var(0).sum() / (labels == d).sum() for d in range(10)]).argmax()),
    },
)
def _widest_digit_cases(context):
    codes, labels = context.get("codes"), context.get("labels")
    if codes is None or labels is None:
        raise ValueError("pass codes=codes, labels=test.y to the check")
    codes, labels = codes.cpu(), labels.cpu()
    yield Case(args=(codes, labels), label=f"your {len(codes):,} codes",
               show_expected=False)
    flipped = codes.flip(1) * torch.tensor([1.0, 3.0])
    yield Case(args=(flipped, labels), label="the same codes, z2 stretched 3 times")
    # widest by the sum of variances: 4; by the sum of standard deviations: 2; by the variance
    # of z1: 6; farthest from the origin: 8; most frequent: 1
    yield Case(args=_designed_codes({4: (0.1, 2.2), 2: (1.5, 1.5), 6: (2.0, 0.5)}, far=8),
               label="codes with chosen spreads")
    # widest: the round 3; by the largest one-axis variance and by the variance of the distance
    # to the origin: the elongated 7
    yield Case(args=_designed_codes({3: (1.6, 1.6), 7: (2.1, 0.3)}, seed=5),
               label="a round digit against a long one")
    # widest: the frequent 5; by the spread over the number of codes: the rare, narrow 0
    yield Case(args=_designed_codes({5: (1.5, 1.5), 0: (0.6, 0.6)}, seed=6, counts={5: 2000, 0: 12}),
               label="digits of very unequal counts (2,000 fives, 12 zeros)")


def _count_params(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _partly_frozen():
    net = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2))
    for p in net[0].parameters():
        p.requires_grad_(False)
    return net


@exercise(
    "01.count_params", "count_params(module)",
    reference=_count_params,
    hints=(
        "every weight and bias tensor counts with all its entries, but only if it trains.",
        "module.parameters() yields the tensors; p.numel() is a tensor's number of entries and "
        "p.requires_grad says whether it trains.",
        "sum(p.numel() for p in module.parameters() if p.requires_grad).",
    ),
    rel=0.0, abs=0.0,
    demo=_demo_model_context,
    wrong={
        "frozen parameters counted": lambda module: sum(p.numel() for p in module.parameters()),
        "number of tensors": lambda module: len(list(module.parameters())),
        "weights only, no biases": lambda module: sum(
            p.numel() for p in module.parameters() if p.requires_grad and p.dim() > 1),
        "the decoder's count hard-coded": lambda module: 666_384,
    },
)
def _count_params_cases(context):
    module = context.get("module")
    if module is None:
        raise ValueError("pass module=model.decoder to the check")
    yield Case(args=(module,), label="your module",
               show_expected=False)
    yield Case(args=(_seeded(7, lambda: nn.Linear(3, 4)),), label="nn.Linear(3, 4)")
    yield Case(args=(_tiny_ae(6, hidden=(20, 10)),), label="a small autoencoder")
    yield Case(args=(_seeded(8, _partly_frozen),), label="a network with a frozen first layer")
    yield Case(args=(_seeded(9, lambda: nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6))),),
               label="a layer norm's parameters too")
