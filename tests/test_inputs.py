"""Every public entry point that takes images, codes or labels, against what a learner makes.

One table of entry points (each argument of each public function: ``ENTRIES``), one table of
input variants per kind of argument (``VARIANTS``). Each variant is either *converted* (the
result equals the result for the canonical input: float32 images in [0, 1], float32 codes,
int64 labels, one-hot conditions, logits of shape (B,)) or *refused* with an error whose
message starts with the argument's name and says what was found and the fix. A last test walks
the package and fails when a public function takes such an argument but is not in the table.
The rules themselves are written once, in aae_utils/inputs.py.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aae_utils import diagrams, inputs, judge, losses, metrics, parzen, phases, priors, viz
from aae_utils.data import ImageData, balanced_subset, labelled_subset, shift_images
from aae_utils.engine import fit
from aae_utils.models import Decoder, Discriminator, Encoder, GaussianEncoder, build_model
from aae_utils.train_config import TrainConfig
from aae_utils.widgets import LatentExplorer

N = 20
G = torch.Generator().manual_seed(0)
X = torch.randint(0, 256, (N, 784), generator=G).float() / 255  # grey levels k/255, as MNIST
Y = torch.arange(N) % 10
Z = torch.randn(N, 2, generator=G)
ONE_HOT = F.one_hot(Y, 10).float()
LOGITS = torch.randn(N, generator=G)
PROBA = torch.softmax(3 * torch.randn(N, 10, generator=G), 1)
WRONG = Y.clone()
WRONG[[1, 4, 7]] = (WRONG[[1, 4, 7]] + 1) % 10  # predictions with three mistakes


def _nan(t, where=(2, 1)):
    return _set(t, where, float("nan"))


def _set(t, index, value):
    t = t.clone()
    t[index] = value
    return t


# --- the variants: (id, make the input from the canonical one, expected[, equivalent]) ---------
# expected: "same" (converted: the same result as the canonical input, or as ``equivalent`` of
# it), "same-close" (equal up to float64 rounding), "accepted" (its own, valid, result) or a
# regex the error message must match right after the argument's name.

IMAGES = [
    ("numpy", lambda x: x.numpy(), "same"),
    ("float64", lambda x: x.double(), "same"),
    ("non-contiguous numpy", lambda x: np.asfortranarray(x.numpy()), "same"),
    ("uint8 0-255", lambda x: (x * 255).round().to(torch.uint8), "same"),
    ("int32 0-255 numpy", lambda x: (x * 255).round().int().numpy(), "same"),
    ("(N, 28, 28)", lambda x: x.reshape(len(x), 28, 28), "same"),
    ("(N, 1, 28, 28)", lambda x: x.reshape(len(x), 1, 28, 28), "same"),
    ("NaN", _nan, r" holds 1 NaN value\(s\) \(the first at index \(2, 1\)\)"),
    ("inf", lambda x: _set(x, (0, 5), float("inf")), r" holds 1 infinite value"),
    ("0-255 floats", lambda x: x * 255, r" must have pixel values in \[0, 1\].*divide 0-255 pixels by 255"),
    ("normalised", lambda x: (x - 0.1307) / 0.3081, r" must have pixel values in \[0, 1\].*normalisation"),
    ("integers 0/1 (binarised)", lambda x: (x > 0.5).long(), r" holds integers 0 and 1 only.*\.float\(\)"),
    ("integers above 255", lambda x: (x * 255).long() + 1, r" holds integers in \[\d+, 256\]; .*0-255"),
    ("negative integers", lambda x: (x * 255).long() - 1, r" holds integers in \[-1, \d+\]"),
    ("bool", lambda x: x > 0.5, r" is a bool tensor; use .*\.float\(\)"),
    ("complex", lambda x: x.to(torch.complex64), r" must hold real numbers"),
    ("one image", lambda x: x[0], r" must be a batch of images of shape \(N, 784\).*use \w+\[None\]"),
    ("wrong width", lambda x: x[:, :100], r" must be a batch of images of shape \(N, 784\).*got \(20, 100\)"),
    ("python list", lambda x: x.tolist(), r" must be a torch tensor or a NumPy array, got a list"),
]
CODES = [
    ("numpy", lambda z: z.numpy(), "same"),
    ("float64", lambda z: z.double(), "same"),
    ("int64", lambda z: (3 * z).round().long(), "same", lambda z: (3 * z).round()),
    ("NaN", lambda z: _nan(z, (2, 1)), r" holds 1 NaN value\(s\)"),
    ("bool", lambda z: z > 0, r" must hold real numbers"),
    ("1-D", lambda z: z[:, 0], r" must be a batch of shape \(N, .*got \(20,\)"),
    ("python list", lambda z: z.tolist(), r" must be a torch tensor or a NumPy array"),
]
LABELS = [
    ("int32", lambda y: y.int(), "same"),
    ("uint8", lambda y: y.to(torch.uint8), "same"),
    ("numpy int64", lambda y: y.numpy(), "same"),
    ("numpy int32", lambda y: y.numpy().astype(np.int32), "same"),
    ("-1 (unlabelled)", lambda y: _set(y, 0, -1),
     r" must lie in \[0, 9\], got values in \[-1, 9\]; -1 \(unlabelled\) is not accepted"),
    ("10", lambda y: _set(y, 3, 10), r" must lie in \[0, 9\], got values in \[0, 10\]"),
    ("uint8 255", lambda y: _set(y, 3, 255).to(torch.uint8),
     r" must lie in \[0, 9\], got values in \[0, 255\]"),
    ("float", lambda y: y.float(), r" must be integer class indices, got torch.float32; use .*long\(\)"),
    ("(N, 1)", lambda y: y[:, None], r" must be 1-D, shape \((20|N),\)"),
    ("0-d", lambda y: y[0], r" must be 1-D, shape \((20|N),\).*got \(\)"),
    ("numpy scalar", lambda y: y.numpy()[0], r" must be 1-D, shape \((20|N),\).*got \(\)"),
    ("one-hot", lambda y: F.one_hot(y, 10), r" must be 1-D, shape \((20|N),\).*argmax\(1\)"),
]
#: Where -1 means "unlabelled" and is accepted, -2 is the label out of range.
LABELS_WITH_UNLABELLED = [v for v in LABELS if v[0] not in ("-1 (unlabelled)", "10", "uint8 255")] + [
    ("-1 (unlabelled)", lambda y: _set(y, 0, -1), "accepted"),
    ("-2", lambda y: _set(y, 0, -2), r" must lie in \[0, 9\] or -1 \(unlabelled\), got values in \[-2, 9\]"),
    ("10", lambda y: _set(y, 3, 10), r" must lie in \[0, 9\] or -1 \(unlabelled\), got values in \[0, 10\]"),
]
#: Labels where the number of classes is not known: only negatives are out of range.
LABELS_ANY_CLASS = [v for v in LABELS if v[0] not in ("-1 (unlabelled)", "10", "uint8 255")] + [
    ("-1 (unlabelled)", lambda y: _set(y, 0, -1),
     r" must be class indices >= 0, got values in \[-1, 9\]; -1 \(unlabelled\) is not accepted"),
]
CONDITIONS = [
    ("class indices int64", lambda c: c.argmax(1), "same"),
    ("class indices int32 numpy", lambda c: c.argmax(1).int().numpy(), "same"),
    ("one-hot float64", lambda c: c.double(), "same"),
    ("one-hot numpy", lambda c: c.numpy(), "same"),
    ("float class indices", lambda c: c.argmax(1).float(), r" must be one-hot rows .* use .*\.long\(\)"),
    ("index -1", lambda c: _set(c.argmax(1), 0, -1),
     r" must lie in \[0, 9\].*-1 \(unlabelled\) is not accepted"),
    ("index 10", lambda c: _set(c.argmax(1), 0, 10), r" must lie in \[0, 9\], got values in \[0, 10\]"),
    ("NaN", lambda c: _nan(c, (0, 0)), r" holds 1 NaN value"),
    ("wrong width", lambda c: c[:, :9], r" must have shape \(20, 10\) \(one-hot rows\) or \(20,\)"),
    ("(N, 1, 10)", lambda c: c[:, None], r" must have shape \(20, 10\) \(one-hot rows\) or \(20,\)"),
]
LOGIT_VARIANTS = [
    ("(B, 1)", lambda t: t[:, None], "same"),
    ("numpy float64", lambda t: t.double().numpy(), "same-close"),
    ("bfloat16", lambda t: t.bfloat16(), "same", lambda t: t.bfloat16().float()),
    ("(B, 2)", lambda t: torch.stack([t, t], 1),
     r" must be one logit per example, shape \(B,\) or \(B, 1\), got \(20, 2\)"),
    ("empty", lambda t: t[:0], r" is empty \(0 examples\)"),
    ("bool", lambda t: t > 0, r" must be logits \(real numbers\)"),
    ("NaN", lambda t: _nan(t, 3), r" holds 1 NaN value"),
]
POINT = [  # one point of the code space, as the explorer's set_code takes it
    ("numpy", lambda p: np.asarray(p), "same"),
    ("tensor", lambda p: torch.tensor(p), "same"),
    ("NaN", lambda p: [float("nan"), p[1]], r" must be finite numbers"),
    ("3 values for a 2-D code", lambda p: [*p, 0.0],
     r" must have one number per code coordinate: 'AAE' has a 2-D code, got 3 values"),
]
VARIANTS = {"images": IMAGES, "codes": CODES, "labels": LABELS, "labels or -1": LABELS_WITH_UNLABELLED,
            "labels, any count": LABELS_ANY_CLASS, "cond": CONDITIONS, "logits": LOGIT_VARIANTS,
            "point": POINT}
CANONICAL = {"images": X, "codes": Z, "labels": Y, "labels or -1": Y, "labels, any count": Y,
             "cond": ONE_HOT, "logits": LOGITS, "point": [0.5, -0.25]}


# --- the entry points ---------------------------------------------------------------------------


@dataclass
class Entry:
    target: str  # "module.function" or "module.Class.method", as the package defines it
    param: str  # the parameter it feeds
    kind: str  # a key of VARIANTS
    call: object  # value -> result (a tensor, a number, or a tuple of them)
    arg: str | None = None  # the name error messages use (default: param)
    canonical: object = None  # default: CANONICAL[kind]
    expect: dict = field(default_factory=dict)  # variant id -> its own expectation

    @property
    def name(self) -> str:
        return f"{self.target}:{self.param}"


def _seeded(make):
    torch.manual_seed(0)
    return make()


def _aae(**kw):
    return _seeded(lambda: build_model("aae", latent_dim=2, hidden=[8], **kw))


def _ssaae(**kw):
    return _seeded(lambda: build_model("ssaae", num_classes=10, style_dim=2, hidden=[8], **kw))


ENC = _seeded(lambda: Encoder(784, 2, [8]))
GENC = _seeded(lambda: GaussianEncoder(784, 2, [8]))
DEC = _seeded(lambda: Decoder(2, 784, [8]))
CDEC = _seeded(lambda: Decoder(2, 784, [8], cond_dim=10))
DISC = _seeded(lambda: Discriminator(2, [8]))
CDISC = _seeded(lambda: Discriminator(2, [8], cond_dim=10))
AE = _seeded(lambda: build_model("ae", latent_dim=2, hidden=[8]))
AAE, VAE = _aae(), _seeded(lambda: build_model("vae", latent_dim=2, hidden=[8]))
SSAAE, HEADS = _ssaae(), _ssaae(head_dim=2)
MIXTURE, ROLL = priors.GaussianMixturePrior(10), priors.SwissRollPrior()
CLASSIFIER = _seeded(judge._mlp)
#: Other images than X, as a Parzen window's validation and test images are.
XV = torch.randint(0, 256, (6, 784), generator=torch.Generator().manual_seed(1)).float() / 255


def _sgd(*modules):
    return torch.optim.SGD([p for m in modules for p in m.parameters()], 0.1)


def _phase(make, run):
    """A phase on a fresh copy of the same model: its loss is comparable across variants."""
    return lambda v: run(make(), v)


def _fit_history(data_x=X, labels=None, kind="ae", **model_kw):
    model = _seeded(lambda: build_model(kind, latent_dim=2, hidden=[8], **model_kw))
    data = ImageData(X, Y)
    data.x = data_x  # replaced after ImageData checked it: fit checks again
    prior = priors.GaussianPrior(2) if kind == "aae" else None
    h = fit(model, data, TrainConfig(epochs=1, batch_size=10), prior=prior, labels=labels, progress=False)
    return torch.tensor(h["recon"])


def _figure(fig, get):
    out = torch.as_tensor(np.asarray(get(fig)), dtype=torch.float64)
    plt.close(fig)
    return out


def _explorer_code(values):
    e = LatentExplorer(AAE, X, n_points=N)
    e.set_code(values)
    return e.code


ENTRIES = [
    # models
    Entry("models.Encoder.forward", "x", "images", lambda v: ENC(v)),
    Entry("models.GaussianEncoder.forward", "x", "images", lambda v: GENC(v)),
    Entry("models.GaussianEncoder.reparameterise", "mu", "codes",
          lambda v: _seeded(lambda: GaussianEncoder.reparameterise(v, torch.zeros(N, 2)))),
    Entry("models.GaussianEncoder.reparameterise", "logvar", "codes",
          lambda v: _seeded(lambda: GaussianEncoder.reparameterise(torch.zeros(N, 2), v))),
    Entry("models.Decoder.forward", "z", "codes", lambda v: DEC(v)),
    Entry("models.Decoder.forward", "cond", "cond", lambda v: CDEC(Z, v)),
    Entry("models.Decoder.images", "z", "codes", lambda v: DEC.images(v)),
    Entry("models.Decoder.images", "cond", "cond", lambda v: CDEC.images(Z, v)),
    Entry("models.Discriminator.forward", "z", "codes", lambda v: DISC(v)),
    Entry("models.Discriminator.forward", "cond", "cond", lambda v: CDISC(Z, v)),
    Entry("models.Autoencoder.code", "x", "images", lambda v: AE.code(v)),
    Entry("models.Autoencoder.encode", "x", "images", lambda v: AE.encode(v)),
    Entry("models.VAE.encode", "x", "images", lambda v: VAE.encode(v)),
    Entry("models.AdversarialAutoencoder.code", "x", "images", lambda v: AAE.code(v)),
    Entry("models.AdversarialAutoencoder.encode", "x", "images", lambda v: AAE.encode(v)),
    Entry("models.CategoricalStyleEncoder.forward", "x", "images", lambda v: SSAAE.encoder(v)),
    Entry("models.SemiSupervisedAAE.decode", "z", "codes", lambda v: SSAAE.decode(ONE_HOT, v)),
    Entry("models.SemiSupervisedAAE.decode", "y", "cond", lambda v: SSAAE.decode(v, Z)),
    Entry("models.SemiSupervisedAAE.images", "z", "codes", lambda v: HEADS.images(ONE_HOT, v)),
    Entry("models.SemiSupervisedAAE.images", "y", "cond", lambda v: HEADS.images(v, Z)),
    Entry("models.SemiSupervisedAAE.evaluate", "x", "images", lambda v: SSAAE.evaluate(v)),
    Entry("models.SemiSupervisedAAE.predict_proba", "x", "images", lambda v: SSAAE.predict_proba(v)),
    Entry("models.SemiSupervisedAAE.classify", "x", "images", lambda v: SSAAE.classify(v)),
    Entry("models.SemiSupervisedAAE.encode", "x", "images", lambda v: SSAAE.encode(v)),
    Entry("models.SemiSupervisedAAE.representation", "x", "images", lambda v: HEADS.representation(v)),
    # losses
    Entry("losses.reconstruction_floor", "x", "images",
          lambda v: losses.reconstruction_floor(v, reduction="none")),
    Entry("losses.reconstruction_loss", "x", "images",
          lambda v: losses.reconstruction_loss(torch.zeros(N, 784), v, reduction="none"),
          expect={"one image": r" must be a batch with one example per row",
                  "wrong width": r" must have the same shape as logits, \(20, 784\).*got \(20, 100\)"}),
    Entry("losses.reconstruction_loss", "logits", "codes",  # half precision: float32; float64 kept
          lambda v: losses.reconstruction_loss(v, X[:, :2], reduction="none"),
          expect={"1-D": r" must be a batch with one example per row", "float64": "same-close"}),
    Entry("losses.gaussian_kl", "mu", "codes", lambda v: losses.gaussian_kl(v, torch.zeros(N, 2), "none"),
          expect={"1-D": r" must be a batch with one example per row", "float64": "same-close"}),
    Entry("losses.gaussian_kl", "logvar", "codes",
          lambda v: losses.gaussian_kl(torch.zeros(N, 2), v, "none"),
          expect={"1-D": r" must be a batch with one example per row"}),
    Entry("losses.monte_carlo_kl", "mu", "codes", lambda v: losses.monte_carlo_kl(
        v, torch.zeros(N, 2), Z, priors.GaussianPrior(2).log_prob, "none"),
          expect={"1-D": r" must be a batch with one example per row", "float64": "same-close"}),
    Entry("losses.monte_carlo_kl", "logvar", "codes", lambda v: losses.monte_carlo_kl(
        torch.zeros(N, 2), v, Z, priors.GaussianPrior(2).log_prob, "none"),
          expect={"1-D": r" must be a batch with one example per row", "float64": "same-close"}),
    Entry("losses.discriminator_loss", "real_logits", "logits",
          lambda v: losses.discriminator_loss(v, LOGITS)),
    Entry("losses.discriminator_loss", "fake_logits", "logits",
          lambda v: losses.discriminator_loss(LOGITS, v)),
    Entry("losses.generator_loss", "fake_logits", "logits", lambda v: losses.generator_loss(v)),
    Entry("losses.minimax_generator_loss", "fake_logits", "logits",
          lambda v: losses.minimax_generator_loss(v)),
    Entry("losses.discriminator_accuracy", "real_logits", "logits",
          lambda v: losses.discriminator_accuracy(v, LOGITS)),
    Entry("losses.discriminator_accuracy", "fake_logits", "logits",
          lambda v: losses.discriminator_accuracy(LOGITS, v)),
    # the phases a learner may call by hand
    Entry("phases.reconstruction_phase", "x", "images", _phase(_aae, lambda m, v: phases.reconstruction_phase(
        m, v, _sgd(m.encoder, m.decoder)))),
    Entry("phases.reconstruction_phase", "decoder_cond", "cond", _phase(
        lambda: _aae(decoder_cond_dim=10), lambda m, v: phases.reconstruction_phase(
            m, X, _sgd(m.encoder, m.decoder), decoder_cond=v))),
    Entry("phases.discriminator_phase", "x", "images", _phase(_aae, lambda m, v: phases.discriminator_phase(
        m, v, Z, _sgd(m.discriminator))[0])),
    Entry("phases.discriminator_phase", "prior_samples", "codes", _phase(
        _aae, lambda m, v: phases.discriminator_phase(m, X, v, _sgd(m.discriminator))[0])),
    Entry("phases.discriminator_phase", "disc_cond", "cond", _phase(
        lambda: _aae(disc_cond_dim=10), lambda m, v: phases.discriminator_phase(
            m, X, Z, _sgd(m.discriminator), disc_cond=v)[0])),
    Entry("phases.generator_phase", "x", "images", _phase(_aae, lambda m, v: phases.generator_phase(
        m, v, _sgd(m.encoder)))),
    Entry("phases.generator_phase", "disc_cond", "cond", _phase(
        lambda: _aae(disc_cond_dim=10), lambda m, v: phases.generator_phase(
            m, X, _sgd(m.encoder), disc_cond=v))),
    Entry("phases.vae_phase", "x", "images", _phase(
        lambda: _seeded(lambda: build_model("vae", latent_dim=2, hidden=[8])),
        lambda m, v: _seeded(lambda: phases.vae_phase(m, v, _sgd(m))))),
    Entry("phases.vae_phase", "decoder_cond", "cond", _phase(
        lambda: _seeded(lambda: build_model("vae", latent_dim=2, hidden=[8], decoder_cond_dim=10)),
        lambda m, v: _seeded(lambda: phases.vae_phase(m, X, _sgd(m), decoder_cond=v)))),
    Entry("phases.ss_reconstruction_phase", "x", "images", _phase(
        _ssaae, lambda m, v: phases.ss_reconstruction_phase(m, v, _sgd(m.encoder, m.decoder)))),
    Entry("phases.ss_discriminator_phase", "x", "images", _phase(
        _ssaae, lambda m, v: phases.ss_discriminator_phase(
            m, v, ONE_HOT, Z, _sgd(m.class_discriminator, m.style_discriminator))[0])),
    Entry("phases.ss_discriminator_phase", "y_prior", "codes", _phase(
        _ssaae, lambda m, v: phases.ss_discriminator_phase(
            m, X, v, Z, _sgd(m.class_discriminator, m.style_discriminator))[0]), canonical=ONE_HOT,
          expect={"int64": "same", "1-D": r" must be a batch of shape \(N, 10\)"}),
    Entry("phases.ss_discriminator_phase", "z_prior", "codes", _phase(
        _ssaae, lambda m, v: phases.ss_discriminator_phase(
            m, X, ONE_HOT, v, _sgd(m.class_discriminator, m.style_discriminator))[0])),
    Entry("phases.ss_generator_phase", "x", "images", _phase(
        _ssaae, lambda m, v: phases.ss_generator_phase(m, v, _sgd(m.encoder)))),
    Entry("phases.classification_phase", "x", "images", _phase(
        _ssaae, lambda m, v: phases.classification_phase(m, v, Y, _sgd(m.encoder)))),
    Entry("phases.classification_phase", "y", "labels", _phase(
        _ssaae, lambda m, v: phases.classification_phase(m, X, v, _sgd(m.encoder)))),
    Entry("phases.consistency_phase", "x", "images", _phase(
        _ssaae, lambda m, v: phases.consistency_phase(m, v, X, _sgd(m.encoder)))),
    Entry("phases.consistency_phase", "x_moved", "images", _phase(
        _ssaae, lambda m, v: phases.consistency_phase(m, X, v, _sgd(m.encoder)))),
    Entry("phases.entropy_phase", "x", "images", _phase(
        _ssaae, lambda m, v: phases.entropy_phase(m, v, _sgd(m.encoder)))),
    Entry("phases.head_penalty", "heads", "codes", lambda v: phases.head_penalty(v, 1.0),
          expect={"float64": "same-close"}),
    # the engine and the data
    Entry("engine.fit", "data", "images", lambda v: _fit_history(v), arg="data.x"),
    Entry("engine.fit", "labels", "labels or -1",
          lambda v: _fit_history(labels=v, kind="aae", decoder_cond_dim=10),
          expect={"-1 (unlabelled)": r": decoder labels must lie in \[0, 9\], got values in \[-1, 9\]",
                  "10": r": decoder labels must lie in \[0, 9\], got values in \[0, 10\]",
                  "-2": r" must be class indices >= 0, or -1 \(unlabelled\), got values in \[-2, 9\]"}),
    Entry("data.ImageData.__init__", "x", "images", lambda v: ImageData(v, Y).x,
          expect={"one image": r" must be a batch of images of shape \(N, D\)",
                  "wrong width": r" has 100 values per image, which image_shape \(28, 28\) does not"}),
    Entry("data.ImageData.__init__", "y", "labels, any count", lambda v: ImageData(X, v).y),
    Entry("data.shift_images", "x", "images",
          lambda v: shift_images(v, 1, generator=torch.Generator().manual_seed(0)),
          expect={"(N, 28, 28)": r" must have shape \(N, 784\) for 28x28 images.*flatten",
                  "(N, 1, 28, 28)": r" must have shape \(N, 784\)", "one image": r" must have shape",
                  "wrong width": r" must have shape \(N, 784\)", "bool": r" is a bool tensor"}),
    Entry("data.balanced_subset", "labels", "labels", lambda v: balanced_subset(v, 2)),
    Entry("data.labelled_subset", "labels", "labels", lambda v: labelled_subset(v, 20)),
    # priors
    Entry("priors.Prior.sample", "n_or_labels", "labels",
          lambda v: MIXTURE.sample(v, generator=torch.Generator().manual_seed(0)), arg="labels",
          expect={"numpy scalar": "accepted"}),  # np.int64(n) is a count, as an int is
    Entry("priors.GaussianPrior.log_prob", "z", "codes", lambda v: priors.GaussianPrior(2).log_prob(v)),
    Entry("priors.GaussianMixturePrior.component_log_prob", "z", "codes",
          lambda v: MIXTURE.component_log_prob(v)),
    Entry("priors.GaussianMixturePrior.log_prob", "z", "codes", lambda v: MIXTURE.log_prob(v)),
    Entry("priors.GaussianMixturePrior.assign", "z", "codes", lambda v: MIXTURE.assign(v)),
    Entry("priors.SwissRollPrior.position", "z", "codes", lambda v: ROLL.position(v)),
    Entry("priors.SwissRollPrior.assign", "z", "codes", lambda v: ROLL.assign(v)),
    Entry("priors.CategoricalPrior.log_prob", "z", "codes",
          lambda v: priors.CategoricalPrior(10).log_prob(v), canonical=ONE_HOT,
          expect={"int64": "same", "1-D": r" must be a batch of shape \(N, d\)"}),
    # metrics
    Entry("metrics.mmd", "x", "codes", lambda v: metrics.mmd(v, Z.flip(0) * 2)),
    Entry("metrics.elbo_surgery", "mu", "codes",
          lambda v: metrics.elbo_surgery(v, torch.zeros(N, 2)).mutual_information),
    Entry("metrics.elbo_surgery", "logvar", "codes",
          lambda v: metrics.elbo_surgery(Z, v).mutual_information),
    Entry("metrics.mmd", "y", "codes", lambda v: metrics.mmd(Z.flip(0) * 2, v)),
    Entry("metrics.histogram_distance", "x", "codes", lambda v: metrics.histogram_distance(v, Z * 2, lim=3)),
    Entry("metrics.histogram_distance", "y", "codes", lambda v: metrics.histogram_distance(Z * 2, v, lim=3)),
    Entry("metrics.nearest_distance", "queries", "codes", lambda v: metrics.nearest_distance(v, Z * 2)),
    Entry("metrics.nearest_distance", "reference", "codes", lambda v: metrics.nearest_distance(Z * 2, v)),
    Entry("metrics.error_rate", "labels", "labels, any count", lambda v: metrics.error_rate(WRONG, v)),
    Entry("metrics.error_rate", "predicted", "labels, any count", lambda v: metrics.error_rate(v, WRONG)),
    Entry("metrics.cluster_labels", "val_proba", "codes", lambda v: metrics.cluster_labels(v, Y),
          canonical=PROBA),
    Entry("metrics.cluster_labels", "val_labels", "labels",
          lambda v: metrics.cluster_labels(PROBA, v, rule="majority")),
    Entry("metrics.cluster_error", "test_proba", "codes", lambda v: metrics.cluster_error(v, Y, PROBA, WRONG),
          canonical=PROBA, expect={"1-D": r" must be a batch of shape \(N, 10\)"}),
    Entry("metrics.cluster_error", "test_labels", "labels",
          lambda v: metrics.cluster_error(PROBA, v, PROBA, WRONG)),
    Entry("metrics.cluster_error", "val_proba", "codes", lambda v: metrics.cluster_error(PROBA, Y, v, WRONG),
          canonical=PROBA),
    Entry("metrics.cluster_error", "val_labels", "labels",
          lambda v: metrics.cluster_error(PROBA, Y, PROBA, v)),
    Entry("metrics.linear_probe_accuracy", "train_codes", "codes",
          lambda v: metrics.linear_probe_accuracy(v, Y, Z, WRONG, steps=5)),
    Entry("metrics.linear_probe_accuracy", "train_labels", "labels, any count",
          lambda v: metrics.linear_probe_accuracy(Z, v, Z, WRONG, steps=5)),
    Entry("metrics.linear_probe_accuracy", "test_codes", "codes",
          lambda v: metrics.linear_probe_accuracy(Z, Y, v, WRONG, steps=5),
          expect={"1-D": r" must be a batch of shape \(N, 2\)"}),
    Entry("metrics.linear_probe_accuracy", "test_labels", "labels, any count",
          lambda v: metrics.linear_probe_accuracy(Z, WRONG, Z, v, steps=5)),
    Entry("metrics.knn_accuracy", "train_codes", "codes",
          lambda v: metrics.knn_accuracy(v, Y, Z, WRONG, k=3)),
    Entry("metrics.knn_accuracy", "train_labels", "labels, any count",
          lambda v: metrics.knn_accuracy(Z, v, Z, WRONG, k=3)),
    Entry("metrics.knn_accuracy", "test_codes", "codes", lambda v: metrics.knn_accuracy(Z, Y, v, WRONG, k=3),
          expect={"1-D": r" must be a batch of shape \(N, 2\)"}),
    Entry("metrics.knn_accuracy", "test_labels", "labels, any count",
          lambda v: metrics.knn_accuracy(Z, WRONG, Z, v, k=3)),
    Entry("metrics.label_influence", "x", "images", lambda v: metrics.label_influence(SSAAE, v)),
    # figures and the explorer
    Entry("viz.image_grid", "images", "images",
          lambda v: _figure(viz.image_grid(v, nrow=5), lambda f: f.axes[0].images[0].get_array())),
    Entry("viz.latent_scatter", "z", "codes", lambda v: _figure(
        viz.latent_scatter(v, Y), lambda f: f.axes[0].collections[-1].get_offsets())),
    Entry("viz.latent_scatter", "labels", "labels or -1", lambda v: _figure(
        viz.latent_scatter(Z, v, colorbar=False), lambda f: f.axes[0].collections[-1].get_array())),
    Entry("viz.latent_scatter", "prior_samples", "codes", lambda v: _figure(
        viz.latent_scatter(Z, prior_samples=v), lambda f: f.axes[0].collections[0].get_offsets()),
        expect={"1-D": r" must be a batch of shape \(N, 2\)"}),
    Entry("viz.prior_vs_posterior", "codes", "codes", lambda v: _figure(
        viz.prior_vs_posterior(Z, v), lambda f: f.axes[1].collections[-1].get_offsets())),
    Entry("viz.prior_vs_posterior", "prior_samples", "codes", lambda v: _figure(
        viz.prior_vs_posterior(v, Z), lambda f: f.axes[0].collections[-1].get_offsets())),
    Entry("viz.prior_vs_posterior", "labels", "labels or -1", lambda v: _figure(
        viz.prior_vs_posterior(Z, Z, v), lambda f: f.axes[1].collections[-1].get_array())),
    Entry("viz.manifold_sweep", "grid", "codes", lambda v: _figure(
        viz.manifold_sweep(DEC, grid=v, n=4), lambda f: f.axes[0].images[0].get_array()),
        canonical=Z[:16], expect={"1-D": r" must be a batch of shape \(N, 2\)"}),
    Entry("widgets.LatentExplorer.__init__", "x", "images", lambda v: torch.as_tensor(
        LatentExplorer(AAE, v, n_points=N).view.codes)),
    Entry("widgets.LatentExplorer.__init__", "labels", "labels or -1", lambda v: torch.as_tensor(
        LatentExplorer(AAE, X, v, n_points=N).view.labels)),
    Entry("widgets.LatentExplorer.set_code", "values", "point", _explorer_code),
    # Table 1's judge and the digit judge: images by the same rules as everywhere
    Entry("parzen.log_likelihood", "x", "images", lambda v: parzen.log_likelihood(v, X[:7], 0.3)),
    Entry("parzen.log_likelihood", "samples", "images", lambda v: parzen.log_likelihood(X[:3], v, 0.3),
          expect={"one image": r" must be a batch of images of shape \(N, D\)",
                  "wrong width": ("x", r" must be a batch of images of shape \(N, 100\)")}),
    Entry("parzen.choose_sigma", "validation", "images",
          lambda v: parzen.choose_sigma(v, X[:7], [0.05, 3.0, 60.0]).validation_ll),
    Entry("parzen.choose_sigma", "samples", "images",
          lambda v: parzen.choose_sigma(XV[:3], v, [0.05, 3.0, 60.0]).validation_ll,
          expect={"one image": r" must be a batch of images of shape \(N, D\)",
                  "wrong width": ("validation", r" must be a batch of images of shape \(N, 100\)")}),
    Entry("parzen.parzen_score", "samples", "images",
          lambda v: parzen.parzen_score(v, XV[:3], XV[3:], [0.05, 3.0, 60.0]).mean,
          expect={"one image": r" must be a batch of images of shape \(N, D\)",
                  "wrong width": ("validation", r" must be a batch of images of shape \(N, 100\)")}),
    Entry("parzen.parzen_score", "validation", "images",
          lambda v: parzen.parzen_score(X[:7], v, XV[3:], [0.05, 3.0, 60.0]).mean),
    Entry("parzen.parzen_score", "test", "images",
          lambda v: parzen.parzen_score(X[:7], XV[:3], v, [0.05, 3.0, 60.0]).mean),
    Entry("parzen.importance_sampled", "x", "images",
          lambda v: parzen.importance_sampled(v, DEC.images, Z, Z, 0.3, samples=2),
          expect={"one image": r" must be a batch of images of shape \(N, D\)",
                  "wrong width": r" must be a batch of images of shape \(N, 784\), as decode gives"}),
    Entry("parzen.importance_sampled", "mu", "codes",
          lambda v: parzen.importance_sampled(X, DEC.images, v, Z, 0.3, samples=2),
          expect={"float64": "same-close"}),
    Entry("parzen.importance_sampled", "logvar", "codes",
          lambda v: parzen.importance_sampled(X, DEC.images, Z, v, 0.3, samples=2)),
    Entry("parzen.memoriser", "train", "images", lambda v: parzen.memoriser(v, 5, seed=1),
          expect={"one image": r" must be a batch of images of shape \(N, D\)",
                  "wrong width": "accepted"}),  # any image size: it only draws rows
    Entry("parzen.kmeans_centroids", "train", "images", lambda v: parzen.kmeans_centroids(v, 3, seed=1),
          expect={"one image": r" must be a batch of images of shape \(N, D\)", "wrong width": "accepted"}),
    Entry("judge.digit_shares", "images", "images",
          lambda v: judge.digit_shares(v, CLASSIFIER).share),
    Entry("judge.accuracy", "images", "images", lambda v: judge.accuracy(CLASSIFIER, v, Y)),
    Entry("judge.accuracy", "labels", "labels", lambda v: judge.accuracy(CLASSIFIER, X, v)),
    # figures of a mechanism
    Entry("diagrams.discriminator_map", "codes", "codes", lambda v: _figure(
        diagrams.discriminator_map(DISC, v, Z, resolution=8),
        lambda f: f.axes[0].collections[-1].get_offsets()),
        expect={"1-D": r" must be a batch of shape \(N, 2\)"}),
    Entry("diagrams.discriminator_map", "prior_samples", "codes", lambda v: _figure(
        diagrams.discriminator_map(DISC, Z, v, resolution=8),
        lambda f: f.axes[0].collections[-2].get_offsets()),
        expect={"1-D": r" must be a batch of shape \(N, 2\)"}),
    Entry("diagrams.class_match", "codes", "codes", lambda v: _figure(
        diagrams.class_match(v, Y, MIXTURE, per_class=2), lambda f: f.axes[3].collections[1].get_offsets()),
        expect={"1-D": r" must be a batch of shape \(N, 2\)"}),
    Entry("diagrams.class_match", "labels", "labels, any count", lambda v: _figure(
        diagrams.class_match(Z, v, MIXTURE, per_class=2), lambda f: f.axes[3].collections[1].get_offsets())),
]

#: Public functions with an argument of these names take images, codes or labels.
DATA_ARGS = {"x", "x_moved", "z", "y", "labels", "images", "codes", "mu", "logvar", "prior_samples",
             "real_logits",
             "fake_logits", "logits", "predicted", "val_proba", "val_labels", "test_proba", "test_labels",
             "train_codes", "train_labels", "test_codes", "queries", "reference", "grid", "cond",
             "disc_cond", "decoder_cond", "y_prior", "z_prior", "t", "values", "data", "tensors",
             "n_or_labels", "heads", "samples", "validation", "test", "train"}
#: Taken out of the table, each with the reason.
NOT_IN_TABLE = {
    "priors.Prior.log_prob:z": "abstract: every prior with a density overrides it (in the table)",
    "priors.Prior.assign:z": "abstract: the priors split by label override it (in the table)",
    "priors.SwissRollPrior.point_at:t": "positions along a curve, not codes: test_priors checks them",
    "data.batches:tensors": "any tensors that share their first dimension; nothing to check in them",
    "checkpoints.ResumeTarget.__init__:data": "a data record (dict), made by data_record",
    "checkpoints.save_checkpoint:data": "a data record (dict), made by data_record",
    "checkpoints.data_record:data": "an ImageData (checked on construction); anything else is refused "
                                    "(test_checkpoints)",
    "checkpoints.load_or_train:data": "passed to data_record",
    "recipes.train_recipe:data": "an ImageData; anything else is refused (test_recipes)",
    "recipes.Recipe.labels_for:data": "an ImageData; anything else is refused (test_recipes)",
    "recipes.Recipe.__init__:train": "a TrainConfig, which checks its own fields (test_bad_input)",
    "data.check_dataset_files:train": "a bool: which split",
    "data.load_dataset:train": "a bool: which split",
    "data.load_mnist:train": "a bool: which split",
    "judge.digit_classifier:train": "an ImageData; anything else is refused (ImageData.require)",
    "parzen.importance_sampled:samples": "an int: codes drawn per image",
    "diagrams.parzen_window_1d:samples": "positions on a line, for a one-dimensional picture",
}

CASES = [
    pytest.param(entry, variant, id=f"{entry.name}-{variant[0]}")
    for entry in ENTRIES for variant in VARIANTS[entry.kind]
]


def _results(a, b, close: bool = False) -> bool:
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(_results(x, y, close) for x, y in zip(a, b, strict=True))
    a = torch.as_tensor(a, dtype=torch.float64) if not isinstance(a, torch.Tensor) else a.detach().double()
    b = torch.as_tensor(b, dtype=torch.float64) if not isinstance(b, torch.Tensor) else b.detach().double()
    if a.shape != b.shape:
        return False
    return bool(torch.allclose(a, b, rtol=1e-6, atol=1e-6, equal_nan=True)) if close else torch.equal(a, b)


def _copy(value):
    return value.clone() if isinstance(value, torch.Tensor) else list(value)


@pytest.mark.parametrize("entry, variant", CASES)
def test_learner_made_input_is_converted_or_refused_by_name(entry, variant):
    variant_id, make, expected, *equivalent = variant
    expected = entry.expect.get(variant_id, expected)
    arg = entry.arg or entry.param
    if isinstance(expected, tuple):  # a mismatch between two arguments, named by the other one
        arg, expected = expected
    canonical = entry.canonical if entry.canonical is not None else CANONICAL[entry.kind]
    value = make(_copy(canonical))
    if expected in ("same", "same-close"):
        reference = equivalent[0](_copy(canonical)) if equivalent else _copy(canonical)
        assert _results(entry.call(value), entry.call(reference), close=expected == "same-close")
    elif expected == "accepted":  # valid as it is: its own result, not the canonical one
        entry.call(value)
    else:
        with pytest.raises((ValueError, TypeError)) as info:
            entry.call(value)
        message = str(info.value)
        # The argument's name, then what was wrong with it (and, in the patterns, the fix).
        assert re.match(re.escape(arg) + expected, message), message


def _public_data_arguments() -> set[str]:
    found = set()
    for module_name in ("models", "losses", "phases", "engine", "data", "priors", "metrics", "viz",
                        "widgets", "checkpoints", "recipes", "parzen", "judge", "diagrams"):
        module = importlib.import_module(f"aae_utils.{module_name}")
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            functions = [(name, obj)] if inspect.isfunction(obj) else []
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    member = member.__func__ if isinstance(member, staticmethod) else member
                    if inspect.isfunction(member) and (not attr.startswith("_") or attr == "__init__"):
                        functions.append((f"{name}.{attr}", member))
            for qualname, function in functions:
                for param in inspect.signature(function).parameters:
                    if param in DATA_ARGS:
                        found.add(f"{module_name}.{qualname}:{param}")
    return found


def test_every_public_function_that_takes_images_codes_or_labels_is_in_the_table():
    public = _public_data_arguments()
    covered = {e.name for e in ENTRIES} | set(NOT_IN_TABLE)
    missing = sorted(public - covered)
    assert not missing, f"add these to ENTRIES (or NOT_IN_TABLE, saying why): {missing}"
    assert not covered - public, f"no longer public: {sorted(covered - public)}"


@pytest.mark.parametrize("call, name", [
    (lambda: losses.reconstruction_loss(torch.zeros(0, 784), torch.zeros(0, 784)), "logits"),
    (lambda: losses.gaussian_kl(torch.zeros(0, 2), torch.zeros(0, 2)), "mu"),
    (lambda: metrics.knn_accuracy(Z, Y, Z[:0], Y[:0]), "test_codes"),
    (lambda: metrics.linear_probe_accuracy(Z[:0], Y[:0], Z, Y), "train_codes"),
    (lambda: metrics.cluster_labels(PROBA[:0], Y[:0]), "val_proba"),
    (lambda: metrics.error_rate(Y[:0], Y[:0]), "error_rate"),
    (lambda: fit(AE, ImageData(X[:0], Y[:0]), TrainConfig(epochs=1)), "data"),
])
def test_empty_batches_are_refused_where_a_number_is_asked_for(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b.*(empty|at least one)"):
        call()


def test_models_map_an_empty_batch_to_an_empty_batch():
    assert ENC(torch.zeros(0, 28, 28)).shape == (0, 2) and DEC(torch.zeros(0, 2)).shape == (0, 784)


def test_float16_images_become_float32():
    half = X.half()
    assert torch.equal(inputs.images(half, "x"), half.float())


def test_trusted_skips_only_value_checks():
    bad = _nan(X)
    with pytest.raises(ValueError):
        inputs.images(bad, "x")
    with inputs.trusted():
        assert inputs.images(bad, "x") is bad  # no value check inside fit's loop (no host sync)
        assert inputs.images((X * 255).long() + 300, "x").max() > 1  # integers unchecked too
        with pytest.raises(ValueError, match="shape"):
            inputs.images(bad[:, :5], "x", dim=784)  # shapes are still checked
    with pytest.raises(ValueError):
        inputs.images(bad, "x")  # and the checks are back afterwards
