"""Notebook 06's exercises: two phases of the semi-supervised AAE (the categorical
discriminator and the classification), the uniform cross-entropy, an error on part of the
test set, the share of images the labels reach, and the number-of-labels experiment."""

from __future__ import annotations

import contextlib
import math
from functools import partial

import torch
import torch.nn.functional as F

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
from ..metrics import error_rate
from ..models import build_model
from ..phases import classification_phase as _classification_phase
from ..train_config import TrainConfig

#: (batch size, number of classes, seed) of the phase cases: several batch sizes (a sum and a
#: mean differ unless B = 1) and a categorical head of 10 and of 16 classes.
_PHASE_CASES = [(5, 10, 0), (64, 10, 1), (32, 16, 2)]


def _tiny_ssaae(num_classes: int, seed: int):
    """A small untrained semi-supervised AAE without noise or dropout (its calls draw no random
    numbers, so two calls on two copies agree exactly)."""
    torch.manual_seed(seed)
    return build_model("ssaae", num_classes=num_classes, style_dim=3, hidden=[32])


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 784, generator=torch.Generator().manual_seed(100 + seed))


def _one_hot_prior(n: int, k: int, seed: int) -> torch.Tensor:
    idx = torch.randint(k, (n,), generator=torch.Generator().manual_seed(200 + seed))
    return F.one_hot(idx, k).float()


def _step(opt, loss):
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


# --- the categorical half of the discriminator phase ----------------------------------------------


def _categorical_discriminator_phase(model, x, y_prior, opt):
    with torch.no_grad():
        logits, _ = model.encoder(x)
    real, fake = model.class_discriminator(y_prior), model.class_discriminator(F.softmax(logits, 1))
    loss = discriminator_loss(real, fake)
    _step(opt, loss)
    return loss.detach(), discriminator_accuracy(real, fake)


def _both(categorical_phase):
    """The engine's discriminator phase made of the learner's categorical half and the
    library's style half, as notebook 06 trains with it."""

    def discriminator_both(model, x, y_prior, z_prior, opt):
        loss_y, acc_y = categorical_phase(model, x, y_prior, opt)
        with torch.no_grad():
            z = model.encoder(x)[1]
        real_z, fake_z = model.style_discriminator(z_prior), model.style_discriminator(z)
        loss_z = discriminator_loss(real_z, fake_z)
        _step(opt, loss_z)
        return loss_y + loss_z.detach(), acc_y, discriminator_accuracy(real_z, fake_z)

    return discriminator_both


def _fit_args(seed: int, k: int = 10, labelled: int = 0):
    """A tiny semi-supervised AAE, 200 random images (``labelled`` of them with a label, the
    rest -1) and one epoch of batches of 50: four steps of the engine."""
    g = torch.Generator().manual_seed(400 + seed)
    data = ImageData((torch.rand(200, 784, generator=g) > 0.7).float(), torch.randint(k, (200,), generator=g))
    labels = data.y.clone()
    labels[labelled:] = -1
    config = TrainConfig(epochs=1, batch_size=50, lr=1e-3, seed=seed)
    return _tiny_ssaae(k, seed), data, config, {"labels": labels}


def _wrong_disc(fake_of, loss_of=discriminator_loss, swap=False, zero_grad=True, no_grad=True):
    """A categorical discriminator phase with one thing changed (for the catalogue)."""

    def phase(model, x, y_prior, opt):
        with torch.no_grad() if no_grad else contextlib.nullcontext():
            logits, _ = model.encoder(x)
        real, fake = model.class_discriminator(y_prior), model.class_discriminator(fake_of(logits))
        if swap:
            real, fake = fake, real
        loss = loss_of(real, fake)
        if zero_grad:
            _step(opt, loss)
        else:
            loss.backward()
            opt.step()
        return loss.detach(), discriminator_accuracy(real, fake)

    return phase


def _softmax(logits):
    return F.softmax(logits, 1)


def _sum_loss(real, fake):
    return F.softplus(-real).sum() + F.softplus(fake).sum()


def _log_sigmoid_loss(real, fake):
    return -(torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean())


#: A phase that used the pair model.encoder(x) as one tensor: what the error it raised means.
_PAIR_ADVICE = tuple_advice("model.encoder(x) returns the pair (class logits, style z), not one "
                            "tensor: unpack it")


@exercise(
    "06.categorical_discriminator_phase", "categorical_discriminator_phase(model, x, y_prior, opt)",
    tensors=True,
    reference=_categorical_discriminator_phase,
    forbidden=("aae_utils.phases.ss_discriminator_phase",),
    hints=(
        "notebook 03's discriminator phase on classes: one-hot prior samples are real, the "
        "encoder's soft class answers are fake, and the encoder neither moves nor collects "
        "gradients in this step.",
        "model.encoder(x) gives (logits, z): compute it under torch.no_grad(), and turn the "
        "logits into probabilities (a softmax over the classes) before the class discriminator "
        "judges them.",
        "with torch.no_grad(): logits, _ = model.encoder(x); real = "
        "model.class_discriminator(y_prior); fake = model.class_discriminator(F.softmax(logits, "
        "1)); loss = discriminator_loss(real, fake); opt.zero_grad(); loss.backward(); "
        "opt.step(); return loss.detach(), discriminator_accuracy(real, fake).",
    ),
    wrong={
        "logits instead of softmax(logits)": _wrong_disc(lambda logits: logits),
        "real and fake swapped": _wrong_disc(_softmax, swap=True),
        "one-hot argmax as the fake": _wrong_disc(
            lambda logits: F.one_hot(logits.argmax(1), logits.shape[1]).float()),
        "sum over the batch instead of mean": _wrong_disc(_softmax, loss_of=_sum_loss),
        "forgot opt.zero_grad()": _wrong_disc(_softmax, zero_grad=False),
        "encoded with gradients (no torch.no_grad(): the encoder's gradients are left dirty)":
            _wrong_disc(_softmax, no_grad=False),
        "log(sigmoid) by hand (log(0) once the discriminator is sure)": _wrong_disc(
            _softmax, loss_of=_log_sigmoid_loss),
    },
    advice=_PAIR_ADVICE,
)
def _categorical_discriminator_cases(context):
    after = after_step(gradients=("encoder",))  # the encoder must not collect gradients here
    for batch, k, seed in _PHASE_CASES:
        yield Case(make=partial(_disc_args, batch, k, seed), after=after,
                   label=f"batch {batch}, {k} classes")
    yield Case(make=partial(_disc_args, 32, 10, 4, warm=True), after=after,
               label="after an earlier step (its gradients still stored)")
    yield Case(make=partial(_disc_args, 32, 10, 7, sure=60.0), after=after,
               label="a class discriminator sure that every answer is a prior sample (logits near "
                     "+60, where sigmoid rounds to 1)")
    yield Case(make=partial(_fit_args, 5), through=through_fit("discriminator", wrap=_both),
               show_inputs=False, label="one epoch of fit() with your half in its discriminator phase")


def _disc_args(batch, k, seed, warm=False, sure=None):
    """A fresh model, images, one-hot prior samples and an Adam over the class discriminator;
    ``warm``: one step already taken, so stale gradients sit in the discriminator; ``sure``:
    the class discriminator's last layer ten times larger and its bias ``sure``, so that its
    logits lie near it (sigmoid is exactly 1 there in float32: log(1 - sigmoid) is log(0))."""
    model = _tiny_ssaae(k, seed)
    if sure is not None:
        with torch.no_grad():
            model.class_discriminator.net[-1].weight.mul_(10.0)
            model.class_discriminator.net[-1].bias.fill_(sure)
    opt = case_adam(model.class_discriminator.parameters(), lr=0.01)
    if warm:
        _categorical_discriminator_phase(model, _images(batch, seed + 1),
                                         _one_hot_prior(batch, k, seed + 1), opt)
    return model, _images(batch, seed), _one_hot_prior(batch, k, seed), opt


# --- the classification phase ----------------------------------------------------------------------


def _wrong_class(loss_of, zero_grad=True):
    def phase(model, x, y, opt):
        loss = loss_of(model.encoder(x)[0], y)
        if zero_grad:
            opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.detach()

    return phase


def _whole_pair(model, x, y, opt):
    """The encoder's pair (logits, z) taken for the logits (a catalogued wrong answer)."""
    loss = F.cross_entropy(model.encoder(x), y)
    _step(opt, loss)
    return loss.detach()


@exercise(
    "06.classification_phase", "classification_phase(model, x, y, opt)",
    tensors=True,
    reference=_classification_phase,
    forbidden=("aae_utils.phases.classification_phase",),
    hints=(
        "a supervised step on the labelled images: the encoder's class logits should give each "
        "image's label a high probability; one optimiser step.",
        "model.encoder(x)[0] are the class logits; F.cross_entropy takes logits (it applies the "
        "log-softmax itself) and averages over the batch.",
        "loss = F.cross_entropy(model.encoder(x)[0], y); opt.zero_grad(); loss.backward(); "
        "opt.step(); return loss.detach().",
    ),
    wrong={
        "softmax before cross_entropy (twice softmax)": _wrong_class(
            lambda logits, y: F.cross_entropy(F.softmax(logits, 1), y)),
        "labels shifted by one class": _wrong_class(
            lambda logits, y: F.cross_entropy(logits, (y + 1) % logits.shape[1])),
        "NLL of the logits without log_softmax": _wrong_class(lambda logits, y: F.nll_loss(logits, y)),
        "summed over the batch": _wrong_class(
            lambda logits, y: F.cross_entropy(logits, y, reduction="sum")),
        "forgotten zero_grad": _wrong_class(lambda logits, y: F.cross_entropy(logits, y),
                                            zero_grad=False),
        "the pair model.encoder(x) taken for the logits": _whole_pair,
    },
    advice=_PAIR_ADVICE,
)
def _classification_cases(context):
    after = after_step(gradients=())
    for batch, k, seed in _PHASE_CASES:
        yield Case(make=partial(_class_args, batch, k, seed), after=after,
                   label=f"batch {batch}, {k} classes")
    yield Case(make=partial(_class_args, 32, 16, 3, warm=True), after=after,
               label="after an earlier step")
    yield Case(make=partial(_fit_args, 6, labelled=20), through=through_fit("classification"),
               show_inputs=False, label="one epoch of fit() with your phase in it, 20 labelled images")


def _class_args(batch, k, seed, warm=False):
    """A fresh model, images, labels and an Adam over the encoder; with ``warm``, after one
    earlier classification step, so a forgotten zero_grad adds the old gradients."""
    model = _tiny_ssaae(k, seed)
    opt = case_adam(model.encoder.parameters(), lr=0.01)
    labels = torch.randint(k, (batch,), generator=torch.Generator().manual_seed(300 + seed))
    if warm:
        _classification_phase(model, _images(batch, seed + 50), labels.flip(0), opt)
    return model, _images(batch, seed), labels, opt


# --- exercises 1-3 ---------------------------------------------------------------------------------


@exercise(
    "06.uniform_cross_entropy", "uniform_cross_entropy(num_classes)",
    reference=lambda num_classes: math.log(num_classes),
    hints=(
        "if q(y|x) gives every class the same probability, the loss of the true class is the same "
        "whichever class is true.",
        "the cross-entropy is minus the log (the natural log: nats) of the probability given to "
        "the true class.",
        "-log(1 / num_classes), which is log(num_classes).",
    ),
    rel=2e-3,
    wrong={
        "log base 10": lambda num_classes: math.log10(num_classes),
        "log base 2 (bits)": lambda num_classes: math.log2(num_classes),
        "the probability 1/K, not its -log": lambda num_classes: 1 / num_classes,
        "always ln 10": lambda num_classes: math.log(10),
    },
)
def _uniform_cases(context):
    for k in (10, 16, 2, 30):
        yield Case(args=(k,), label=f"K = {k}")


def _error_on_low_digits(model, images, labels):
    low = labels < 5
    return error_rate(model.classify(images[low]), labels[low])


def _demo_classifier_context():
    torch.manual_seed(0)
    model = build_model("ssaae", num_classes=10, style_dim=3, hidden=[32]).eval()
    g = torch.Generator().manual_seed(1)
    return {"model": model, "images": torch.rand(300, 784, generator=g),
            "labels": torch.randint(10, (300,), generator=g)}


@exercise(
    "06.error_on_low_digits", "error_on_low_digits(model, images, labels)",
    reference=_error_on_low_digits,
    hints=(
        "restrict everything to the images of digits 0 to 4, classify them, and give the fraction "
        "classified wrongly.",
        "a boolean mask labels < 5 selects them; model.classify gives the predicted digits.",
        "low = labels < 5; float((model.classify(images[low]) != labels[low]).float().mean()).",
    ),
    rel=1e-4,
    demo=_demo_classifier_context,
    wrong={
        "all ten digits": lambda model, images, labels: error_rate(model.classify(images), labels),
        "digits 0-5 (labels <= 5)": lambda model, images, labels: error_rate(
            model.classify(images[labels <= 5]), labels[labels <= 5]),
        "accuracy instead of error": lambda model, images, labels: 1 - _error_on_low_digits(
            model, images, labels),
        "a count, not a fraction": lambda model, images, labels: int(
            (model.classify(images[labels < 5]) != labels[labels < 5]).sum()),
    },
)
def _error_on_low_digits_cases(context):
    missing = {"model", "images", "labels"} - set(context)
    if missing:
        raise ValueError(f"the check needs {sorted(missing)}: pass model=, images= and labels=")
    model, images, labels = context["model"], context["images"], context["labels"]
    yield Case(args=(model, images, labels), label=f"{len(images):,} test images",
               show_expected=False)
    yield Case(args=(model, images[:1234], labels[:1234]), label="the first 1,234")
    g = torch.Generator().manual_seed(5)
    x = torch.rand(200, images.shape[1], generator=g).to(images.device)
    y = torch.randint(10, (200,), generator=g).to(labels.device)
    yield Case(args=(model, x, y), label="200 random images with random labels")


def _labelled_fraction(labels):
    return float((labels >= 0).float().mean())


@exercise(
    "06.labelled_fraction", "labelled_fraction(labels)",
    reference=_labelled_fraction,
    hints=(
        "of all the training images, the share that carries a label: the classification phase "
        "learns from those alone, while the other two phases see every image.",
        "-1 marks an image without a label; every other value, 0 included, is a label. The share "
        "is a count of labelled images over all of them.",
        "float((labels >= 0).float().mean()).",
    ),
    rel=1e-6, abs=1e-9,
    demo=lambda: {"labels": torch.cat([torch.arange(10), torch.full((990,), -1)])},
    wrong={
        "a count, not a share": lambda labels: int((labels >= 0).sum()),
        "the share without a label": lambda labels: float((labels < 0).float().mean()),
        "digit 0 taken for 'no label' (labels > 0)": lambda labels: float((labels > 0).float().mean()),
        "the share of the ten digits present": lambda labels: len(labels[labels >= 0].unique()) / 10,
    },
)
def _labelled_fraction_cases(context):
    labels = context.get("labels")
    if labels is None:
        raise ValueError("pass labels= (the training labels, -1 for the unlabelled images)")
    yield Case(args=(labels,), label=f"your {len(labels):,} training labels",
               show_expected=False)
    g = torch.Generator().manual_seed(7)
    some = torch.full((1000,), -1)
    some[torch.randperm(1000, generator=g)[:130]] = 0  # 130 labelled zeros
    yield Case(args=(some,), label="1,000 images, 130 of them labelled 0")
    yield Case(args=(torch.full((500,), -1),), label="no labels at all (clustering)")
    yield Case(args=(torch.randint(10, (300,), generator=g),), label="every image labelled")


# --- exercise 4: the experiment ---------------------------------------------------------------------


@exercise(
    "06.labels_experiment", "error_ratio(runs)",
    reference=lambda runs: runs[100]["error"] / runs[1000]["error"],
    hints=(
        "a ratio of two measured test errors: how many times larger it is with 100 labels than "
        "with 1,000.",
        "runs[n]['error'] is the test error of the run with n labels.",
        "runs[100]['error'] / runs[1000]['error'].",
    ),
    rel=1e-6,  # the reference reads the same runs: nothing to tolerate
    demo=lambda: {"runs": {100: {"error": 0.22, "class": 0.014}, 1000: {"error": 0.095, "class": 0.2}}},
    wrong={
        "inverse ratio": lambda runs: runs[1000]["error"] / runs[100]["error"],
        "difference": lambda runs: runs[100]["error"] - runs[1000]["error"],
        "ratio of the classification losses": lambda runs: runs[100]["class"] / runs[1000]["class"],
        "the fewest labels over the most (min and max of the keys)": lambda runs: (
            runs[min(runs)]["error"] / runs[max(runs)]["error"]),
    },
)
def _labels_experiment_cases(context):
    yield from experiment_cases(
        context, needs={100, 1000}, missing="runs has no run with {} labels",
        made_up=[{100: {"error": 0.3, "class": 0.01}, 1000: {"error": 0.06, "class": 0.3}},
                 {100: {"error": 0.12, "class": 0.02}, 1000: {"error": 0.08, "class": 0.2}},
                 # a third count, and more labels doing worse: only runs[100] / runs[1000] passes
                 {300: {"error": 0.05, "class": 0.1}, 100: {"error": 0.09, "class": 0.02},
                  1000: {"error": 0.1, "class": 0.2}},
                 # runs beyond both ends (10 and 5,000 labels): the fewest and the most labels
                 # are not the two the question compares
                 {10: {"error": 0.6, "class": 0.001}, 100: {"error": 0.25, "class": 0.01},
                  1000: {"error": 0.08, "class": 0.2}, 5000: {"error": 0.04, "class": 0.3}}])
