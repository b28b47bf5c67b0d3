"""Every public entry point that takes images, codes or labels, against what a learner makes.

One table of entry points, one table of input variants per kind of argument. Each variant is
either *converted* (the result equals the result for the canonical input: a float32 tensor of
images in [0, 1], float32 codes, int64 labels, one-hot conditions, logits of shape (B,)) or
*refused* with an error whose message starts with the argument's name and says what was found.
The rules themselves are written once, in aae_utils/inputs.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aae_utils import inputs, losses, metrics, phases, priors, viz
from aae_utils.data import ImageData, balanced_subset, shift_images
from aae_utils.engine import fit
from aae_utils.models import (
    Decoder,
    Discriminator,
    Encoder,
    GaussianEncoder,
    build_model,
)
from aae_utils.train_config import TrainConfig
from aae_utils.widgets import LatentExplorer

N = 20
G = torch.Generator().manual_seed(0)
X = torch.randint(0, 256, (N, 784), generator=G).float() / 255  # grey levels k/255, as MNIST
Y = torch.arange(N) % 10
Z = torch.randn(N, 2, generator=G)
ONE_HOT = F.one_hot(Y, 10).float()
LOGITS = torch.randn(N, generator=G)
PROBA = torch.softmax(torch.randn(N, 10, generator=G), 1)


def _nan(t, where=(2, 1)):
    t = t.clone()
    t[where] = float("nan")
    return t


def _set(t, index, value):
    t = t.clone()
    t[index] = value
    return t


# --- the variants: (id, make the input from the canonical one, expected) ----------------------
# expected: "same" (converted: the same result as the canonical input) or a regex the error
# message must match after the argument's name, e.g. "holds 1 NaN".

IMAGES = [
    ("numpy", lambda x: x.numpy(), "same"),
    ("float64", lambda x: x.double(), "same"),
    ("uint8 0-255", lambda x: (x * 255).round().to(torch.uint8), "same"),
    ("int32 0-255 numpy", lambda x: (x * 255).round().int().numpy(), "same"),
    ("(N, 28, 28)", lambda x: x.reshape(len(x), 28, 28), "same"),
    ("(N, 1, 28, 28)", lambda x: x.reshape(len(x), 1, 28, 28), "same"),
    ("NaN", _nan, r" holds 1 NaN value\(s\) \(the first at index \(2, 1\)\)"),
    ("inf", lambda x: _set(x, (0, 5), float("inf")), r" holds 1 infinite value"),
    ("0-255 floats", lambda x: x * 255, r" must have pixel values in \[0, 1\].*divide 0-255 pixels by 255"),
    ("normalised", lambda x: (x - 0.1307) / 0.3081, r" must have pixel values in \[0, 1\].*normalisation"),
    ("one image", lambda x: x[0], r" must be a batch of images of shape \(N, 784\).*x\[None\]"),
    ("wrong width", lambda x: x[:, :100], r" must be a batch of images of shape \(N, 784\).*got \(20, 100\)"),
    ("python list", lambda x: x.tolist(), r" must be a torch tensor or a NumPy array, got a list"),
]
CODES = [
    ("numpy", lambda z: z.numpy(), "same"),
    ("float64", lambda z: z.double(), "same"),
    ("NaN", lambda z: _nan(z, (2, 1)), r" holds 1 NaN value\(s\)"),
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
    ("float", lambda y: y.float(), r" must be integer class indices, got torch.float32; use .*long\(\)"),
    ("(N, 1)", lambda y: y[:, None], r" must be 1-D, shape \((20|N),\)"),
    ("one-hot", lambda y: F.one_hot(y, 10), r" must be 1-D, shape \((20|N),\).*argmax\(1\)"),
]
#: Where -1 means "unlabelled" and is accepted, -2 is the label out of range.
LABELS_WITH_UNLABELLED = [v for v in LABELS if v[0] not in ("-1 (unlabelled)", "10")] + [
    ("-1 (unlabelled)", lambda y: _set(y, 0, -1), "same-kind"),
    ("-2", lambda y: _set(y, 0, -2), r" must lie in \[0, 9\] or -1 \(unlabelled\), got values in \[-2, 9\]"),
    ("10", lambda y: _set(y, 3, 10), r" must lie in \[0, 9\] or -1 \(unlabelled\), got values in \[0, 10\]"),
]
#: Labels where the number of classes is not known: only negatives are out of range.
LABELS_ANY_CLASS = [v for v in LABELS if v[0] not in ("-1 (unlabelled)", "10")] + [
    ("-1 (unlabelled)", lambda y: _set(y, 0, -1),
     r" must be class indices >= 0, got values in \[-1, 9\]; -1 \(unlabelled\) is not accepted"),
]
CONDITIONS = [
    ("class indices int64", lambda c: c.argmax(1), "same"),
    ("class indices int32 numpy", lambda c: c.argmax(1).int().numpy(), "same"),
    ("one-hot float64", lambda c: c.double(), "same"),
    ("one-hot numpy", lambda c: c.numpy(), "same"),
    ("index -1", lambda c: _set(c.argmax(1), 0, -1),
     r" must lie in \[0, 9\].*-1 \(unlabelled\) is not accepted"),
    ("index 10", lambda c: _set(c.argmax(1), 0, 10), r" must lie in \[0, 9\], got values in \[0, 10\]"),
    ("NaN", lambda c: _nan(c, (0, 0)), r" holds 1 NaN value"),
    ("wrong width", lambda c: c[:, :9], r" must have shape \(20, 10\) \(one-hot rows\) or \(20,\)"),
]
LOGIT_VARIANTS = [
    ("(B, 1)", lambda t: t[:, None], "same"),
    ("numpy float64", lambda t: t.double().numpy(), "same-close"),
    ("(B, 2)", lambda t: torch.stack([t, t], 1),
     r" must be one logit per example, shape \(B,\) or \(B, 1\), got \(20, 2\)"),
    ("NaN", lambda t: _nan(t, 3), r" holds 1 NaN value"),
]
VARIANTS = {"images": IMAGES, "codes": CODES, "labels": LABELS, "labels or -1": LABELS_WITH_UNLABELLED,
            "labels, any count": LABELS_ANY_CLASS, "cond": CONDITIONS, "logits": LOGIT_VARIANTS}
CANONICAL = {"images": X, "codes": Z, "labels": Y, "labels or -1": Y, "labels, any count": Y,
             "cond": ONE_HOT, "logits": LOGITS}


# --- the entry points ---------------------------------------------------------------------------


@dataclass
class Entry:
    name: str
    kind: str  # a key of VARIANTS
    arg: str  # the argument's name, as error messages must give it
    call: object  # value -> result (a tensor, a number, or a tuple of them)
    canonical: object = None  # defaults to CANONICAL[kind]
    expect: dict = field(default_factory=dict)  # variant id -> its own expectation
    skip: tuple = ()


def _seeded(make):
    torch.manual_seed(0)
    return make()


ENC = _seeded(lambda: Encoder(784, 2, [8]))
GENC = _seeded(lambda: GaussianEncoder(784, 2, [8]))
DEC = _seeded(lambda: Decoder(2, 784, [8]))
CDEC = _seeded(lambda: Decoder(2, 784, [8], cond_dim=10))
DISC = _seeded(lambda: Discriminator(2, [8]))
CDISC = _seeded(lambda: Discriminator(2, [8], cond_dim=10))
AAE = _seeded(lambda: build_model("aae", latent_dim=2, hidden=[8]))
VAE = _seeded(lambda: build_model("vae", latent_dim=2, hidden=[8]))
SSAAE = _seeded(lambda: build_model("ssaae", num_classes=10, style_dim=2, hidden=[8]))
HEADS = _seeded(lambda: build_model("ssaae", num_classes=10, style_dim=2, head_dim=2, hidden=[8]))
MIXTURE = priors.GaussianMixturePrior(10)


def _phase(run):
    """A phase on a fresh copy of the same model: its loss is comparable across variants."""
    def call(value):
        model = _seeded(lambda: build_model("aae", latent_dim=2, hidden=[8]))
        return run(model, value)
    return call


def _fit_history(data_x=X, labels=None, kind="ae", **model_kw):
    model = _seeded(lambda: build_model(kind, latent_dim=2, hidden=[8], **model_kw))
    data = ImageData(X, Y)
    data.x = data_x  # replaced after ImageData checked it: fit checks again
    prior = priors.GaussianPrior(2) if kind == "aae" else None
    h = fit(model, data, TrainConfig(epochs=1, batch_size=10), prior=prior, labels=labels, progress=False)
    return torch.tensor(h["recon"])


def _figure_array(fig, get):
    out = torch.as_tensor(np.asarray(get(fig)), dtype=torch.float64)
    plt.close(fig)
    return out


ENTRIES = [
    # models
    Entry("Encoder.forward", "images", "x", lambda v: ENC(v)),
    Entry("GaussianEncoder.forward", "images", "x", lambda v: GENC(v)),
    Entry("AdversarialAutoencoder.encode", "images", "x", lambda v: AAE.encode(v)),
    Entry("AdversarialAutoencoder.code", "images", "x", lambda v: AAE.code(v)),
    Entry("VAE.encode", "images", "x", lambda v: VAE.encode(v)),
    Entry("SemiSupervisedAAE.predict_proba", "images", "x", lambda v: SSAAE.predict_proba(v)),
    Entry("SemiSupervisedAAE.classify", "images", "x", lambda v: SSAAE.classify(v)),
    Entry("SemiSupervisedAAE.representation", "images", "x", lambda v: HEADS.representation(v)),
    Entry("Decoder.forward", "codes", "z", lambda v: DEC(v)),
    Entry("Decoder.images", "codes", "z", lambda v: DEC.images(v)),
    Entry("Decoder.forward cond", "cond", "cond", lambda v: CDEC(Z, v)),
    Entry("Discriminator.forward", "codes", "z", lambda v: DISC(v)),
    Entry("Discriminator.forward cond", "cond", "cond", lambda v: CDISC(Z, v)),
    Entry("GaussianEncoder.reparameterise", "codes", "mu",
          lambda v: _seeded(lambda: GaussianEncoder.reparameterise(v, torch.zeros(N, 2)))),
    Entry("SemiSupervisedAAE.decode z", "codes", "z", lambda v: SSAAE.decode(ONE_HOT, v)),
    Entry("SemiSupervisedAAE.decode y", "cond", "y", lambda v: SSAAE.decode(v, Z)),
    Entry("SemiSupervisedAAE.images y (cluster heads)", "cond", "y", lambda v: HEADS.images(v, Z)),
    # losses
    Entry("reconstruction_loss", "images", "x",
          lambda v: losses.reconstruction_loss(torch.zeros(N, 784), v, reduction="none"),
          expect={"one image": r" must be a batch with one example per row", "wrong width":
                  r" must have the same shape as logits, \(20, 784\).*got \(20, 100\)"}),
    Entry("gaussian_kl", "codes", "mu", lambda v: losses.gaussian_kl(v, torch.zeros(N, 2), "none"),
          expect={"1-D": r" must be a batch with one example per row", "float64": "same-close"}),
    Entry("discriminator_loss real", "logits", "real_logits",
          lambda v: losses.discriminator_loss(v, LOGITS)),
    Entry("discriminator_loss fake", "logits", "fake_logits",
          lambda v: losses.discriminator_loss(LOGITS, v)),
    Entry("generator_loss", "logits", "fake_logits", lambda v: losses.generator_loss(v)),
    Entry("minimax_generator_loss", "logits", "fake_logits", lambda v: losses.minimax_generator_loss(v)),
    Entry("discriminator_accuracy", "logits", "real_logits",
          lambda v: losses.discriminator_accuracy(v, LOGITS)),
    # the phases a learner may call by hand
    Entry("reconstruction_phase", "images", "x", _phase(lambda m, v: phases.reconstruction_phase(
        m, v, torch.optim.SGD([*m.encoder.parameters(), *m.decoder.parameters()], 0.1)))),
    Entry("discriminator_phase", "codes", "prior_samples", _phase(lambda m, v: phases.discriminator_phase(
        m, X, v, torch.optim.SGD(m.discriminator.parameters(), 0.1))[0])),
    Entry("classification_phase", "labels", "y", lambda v: phases.classification_phase(
        _seeded(lambda: build_model("ssaae", num_classes=10, style_dim=2, hidden=[8])), X, v,
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], 0.1))),
    # the engine and the data
    Entry("fit data.x", "images", "data.x", lambda v: _fit_history(v)),
    Entry("fit labels", "labels or -1", "labels",
          lambda v: _fit_history(labels=v, kind="aae", decoder_cond_dim=10),
          expect={"-1 (unlabelled)": r": decoder labels must lie in \[0, 9\], got values in \[-1, 9\]",
                  "10": r": decoder labels must lie in \[0, 9\], got values in \[0, 10\]",
                  "-2": r" must be class indices >= 0, or -1 \(unlabelled\), got values in \[-2, 9\]"}),
    Entry("ImageData x", "images", "x", lambda v: ImageData(v, Y).x,
          expect={"one image": r" must be a batch of images of shape \(N, D\)",
                  "wrong width": r" has 100 values per image, which image_shape \(28, 28\) does not"}),
    Entry("ImageData y", "labels, any count", "y", lambda v: ImageData(X, v).y),
    Entry("shift_images", "images", "x",
          lambda v: shift_images(v, 1, generator=torch.Generator().manual_seed(0)),
          expect={"(N, 28, 28)": r" must have shape \(N, 784\) for 28x28 images.*flatten",
                  "(N, 1, 28, 28)": r" must have shape \(N, 784\)", "one image": r" must have shape",
                  "wrong width": r" must have shape \(N, 784\)", "NaN": "same-kind", "inf": "same-kind",
                  "0-255 floats": "same-kind", "normalised": "same-kind"}),
    Entry("balanced_subset", "labels", "labels", lambda v: balanced_subset(v, 2)),
    # priors
    Entry("GaussianMixturePrior.sample", "labels", "labels",
          lambda v: MIXTURE.sample(v, generator=torch.Generator().manual_seed(0)),
          expect={"(N, 1)": r" must be 1-D"}),
    Entry("GaussianPrior.log_prob", "codes", "z", lambda v: priors.GaussianPrior(2).log_prob(v)),
    Entry("GaussianMixturePrior.assign", "codes", "z", lambda v: MIXTURE.assign(v)),
    Entry("SwissRollPrior.position", "codes", "z", lambda v: priors.SwissRollPrior().position(v)),
    # metrics
    Entry("mmd", "codes", "x", lambda v: metrics.mmd(v, Z.flip(0) * 2)),
    Entry("histogram_distance", "codes", "x", lambda v: metrics.histogram_distance(v, Z * 2, lim=3)),
    Entry("nearest_distance", "codes", "queries", lambda v: metrics.nearest_distance(v, Z * 2)),
    Entry("error_rate labels", "labels, any count", "labels", lambda v: metrics.error_rate(Y.flip(0), v)),
    Entry("error_rate predicted", "labels, any count", "predicted", lambda v: metrics.error_rate(v, Y)),
    Entry("cluster_labels proba", "codes", "val_proba", lambda v: metrics.cluster_labels(v, Y),
          canonical=PROBA),
    Entry("cluster_labels labels", "labels", "val_labels",
          lambda v: metrics.cluster_labels(PROBA, v, rule="majority")),
    Entry("cluster_error labels", "labels", "test_labels",
          lambda v: metrics.cluster_error(PROBA, v, PROBA, Y)),
    Entry("linear_probe_accuracy codes", "codes", "train_codes",
          lambda v: metrics.linear_probe_accuracy(v, Y, Z, Y, steps=5)),
    Entry("linear_probe_accuracy labels", "labels, any count", "train_labels",
          lambda v: metrics.linear_probe_accuracy(Z, v, Z, Y, steps=5)),
    Entry("knn_accuracy codes", "codes", "train_codes", lambda v: metrics.knn_accuracy(v, Y, Z, Y, k=3)),
    Entry("knn_accuracy labels", "labels, any count", "test_labels",
          lambda v: metrics.knn_accuracy(Z, Y, Z, v, k=3)),
    Entry("label_influence", "images", "x", lambda v: metrics.label_influence(SSAAE, v)),
    # figures and the explorer
    Entry("image_grid", "images", "images",
          lambda v: _figure_array(viz.image_grid(v, nrow=5), lambda f: f.axes[0].images[0].get_array())),
    Entry("latent_scatter z", "codes", "z", lambda v: _figure_array(
        viz.latent_scatter(v, Y), lambda f: f.axes[0].collections[-1].get_offsets())),
    Entry("latent_scatter labels", "labels or -1", "labels", lambda v: _figure_array(
        viz.latent_scatter(Z, v, colorbar=False), lambda f: f.axes[0].collections[-1].get_array())),
    Entry("prior_vs_posterior", "codes", "codes", lambda v: _figure_array(
        viz.prior_vs_posterior(Z, v), lambda f: f.axes[1].collections[-1].get_offsets())),
    Entry("manifold_sweep grid", "codes", "grid", lambda v: _figure_array(
        viz.manifold_sweep(DEC, grid=v, n=4), lambda f: f.axes[0].images[0].get_array()),
        canonical=Z[:16], expect={"1-D": r" must be a batch of shape \(N, 2\)"}),
    Entry("LatentExplorer x", "images", "x", lambda v: torch.as_tensor(
        LatentExplorer(AAE, v, n_points=N).view.codes)),
    Entry("LatentExplorer labels", "labels or -1", "labels", lambda v: torch.as_tensor(
        LatentExplorer(AAE, X, v, n_points=N).view.labels)),
]

CASES = [
    pytest.param(entry, variant, id=f"{entry.name}-{variant[0]}")
    for entry in ENTRIES for variant in VARIANTS[entry.kind] if variant[0] not in entry.skip
]


def _results(a, b, close: bool = False) -> bool:
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(_results(x, y, close) for x, y in zip(a, b, strict=True))
    a = torch.as_tensor(a, dtype=torch.float64) if not isinstance(a, torch.Tensor) else a.detach().double()
    b = torch.as_tensor(b, dtype=torch.float64) if not isinstance(b, torch.Tensor) else b.detach().double()
    if a.shape != b.shape:
        return False
    return bool(torch.allclose(a, b, rtol=1e-6, atol=1e-6, equal_nan=True)) if close else torch.equal(a, b)


@pytest.mark.parametrize("entry, variant", CASES)
def test_learner_made_input_is_converted_or_refused_by_name(entry, variant):
    variant_id, make, expected = variant
    expected = entry.expect.get(variant_id, expected)
    canonical = entry.canonical if entry.canonical is not None else CANONICAL[entry.kind]
    value = make(canonical.clone())
    if expected in ("same", "same-close"):
        assert _results(entry.call(value), entry.call(canonical.clone()), close=expected == "same-close")
    elif expected == "same-kind":  # accepted as it is (its own result, not the canonical one)
        entry.call(value)
    else:
        with pytest.raises((ValueError, TypeError)) as info:
            entry.call(value)
        message = str(info.value)
        # The argument's name, then what was wrong with it (and, in the patterns, the fix).
        assert re.match(re.escape(entry.arg) + expected, message), message


def test_every_public_function_that_takes_images_codes_or_labels_is_in_the_table():
    covered = {e.name.split(" ")[0] for e in ENTRIES}
    must = {"Encoder.forward", "GaussianEncoder.forward", "Decoder.forward", "Discriminator.forward",
            "reconstruction_loss", "gaussian_kl", "discriminator_loss", "generator_loss", "fit",
            "ImageData", "mmd", "histogram_distance", "error_rate", "cluster_labels", "cluster_error",
            "linear_probe_accuracy", "knn_accuracy", "label_influence", "image_grid", "latent_scatter",
            "LatentExplorer", "GaussianMixturePrior.sample", "balanced_subset", "classification_phase"}
    assert must <= covered, sorted(must - covered)


def test_trusted_skips_only_value_checks():
    bad = _nan(X)
    with pytest.raises(ValueError):
        inputs.images(bad, "x")
    with inputs.trusted():
        assert inputs.images(bad, "x") is bad  # no value check inside fit's loop (no host sync)
        with pytest.raises(ValueError, match="shape"):
            inputs.images(bad[:, :5], "x", dim=784)  # shapes are still checked
    with pytest.raises(ValueError):
        inputs.images(bad, "x")  # and the checks are back afterwards
