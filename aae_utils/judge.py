"""A digit classifier that judges decoded images: which digit does a generated image show?

Notebooks 03 and 05 ask "do samples of the prior decode to every digit, and how often?" and
"does the decoder follow the label it is given?". Eyeballing a grid of 40 samples answers
neither; a classifier trained on real MNIST digits measures both. It is a plain MLP
(784-512-512-10, ReLU, 3 epochs of Adam), about 98% accurate on the test set, trained once and
cached like every model of the course.

A classifier is a judge with its own biases: on blurry or ambiguous decoded images it still
names one digit. :func:`digit_shares` therefore also reports how confident it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import inputs
from .checkpoints import load_or_train
from .data import ImageData


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def _in_dim(classifier: nn.Module) -> int | None:
    """The pixels per image the classifier takes (its first linear layer's inputs)."""
    first = next((m for m in classifier.modules() if isinstance(m, nn.Linear)), None)
    return first.in_features if first is not None else None


def digit_classifier(train: ImageData, *, epochs: int = 3, seed: int = 0,
                     batch_size: int = 100, lr: float = 1e-3) -> nn.Module:
    """The course's digit classifier: load it from its checkpoint or train it on ``train``.

    Args:
        train: labelled MNIST training images (``ImageData`` with ``y`` in 0..9).
        epochs, seed, batch_size, lr: its training (Adam, cross-entropy); part of the
            checkpoint's identity, like the data.

    Returns:
        ``nn.Module`` in eval mode mapping images ``(N, 784)`` in [0, 1] to logits ``(N, 10)``.
    """
    ImageData.require(train)
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a whole number >= 1, got {epochs!r}")
    config = {"kind": "digit-classifier", "hidden": [512, 512], "epochs": epochs, "seed": seed,
              "batch_size": batch_size, "lr": lr, "dataset": train.name}

    def fit(model: nn.Module) -> dict[str, list[float]]:
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed)
        history: dict[str, list[float]] = {"loss": [], "seconds": []}
        x, y = train.x.cpu(), train.y.cpu()
        for _ in range(epochs):
            total, start = 0.0, time.perf_counter()
            for idx in torch.randperm(len(x), generator=gen).split(batch_size):
                loss = F.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            history["loss"].append(total / len(x))
            history["seconds"].append(time.perf_counter() - start)
        return history

    model, _ = load_or_train(f"digit-classifier-{train.name}-{len(train)}", config, fit,
                             data=train, build=_mlp)
    return model.eval()


@dataclass(frozen=True)
class DigitShares:
    """What the classifier says about a batch of generated images.

    Attributes:
        share: ``(10,)``, the fraction of images classified as each digit (sums to 1).
        confident: ``(10,)``, the fraction classified as each digit with probability > 0.9.
        mean_confidence: the mean of the largest class probability, in [0.1, 1].
    """

    share: Tensor
    confident: Tensor
    mean_confidence: float

    def missing(self, below: float = 0.02) -> list[int]:
        """Digits that fewer than ``below`` of the images show."""
        return [d for d in range(10) if self.share[d] < below]

    def __str__(self) -> str:
        return " ".join(f"{d}:{s:.0%}" for d, s in enumerate(self.share.tolist()))


@torch.no_grad()
def digit_shares(images: Tensor, classifier: nn.Module) -> DigitShares:
    """Which digits a batch of (generated) images shows, by the classifier's verdict.

    Args:
        images: ``(N, 784)`` pixel values in [0, 1] (e.g. ``sigmoid(decoder(z))``).
        classifier: from :func:`digit_classifier`.
    """
    x = inputs.images(images, "images", dim=_in_dim(classifier), device=torch.device("cpu"), check=True)
    inputs.nonempty(x, "images")
    p = torch.softmax(classifier.cpu()(x), 1)
    top, digit = p.max(1)
    share = torch.bincount(digit, minlength=10).double() / len(x)
    confident = torch.bincount(digit[top > 0.9], minlength=10).double() / len(x)
    return DigitShares(share, confident, float(top.mean()))


@torch.no_grad()
def accuracy(classifier: nn.Module, images: Tensor, labels: Tensor) -> float:
    """Fraction of ``images`` ``(N, 784)`` the classifier labels as ``labels`` ``(N,)``."""
    x = inputs.images(images, "images", dim=_in_dim(classifier), device=torch.device("cpu"), check=True)
    layers = [m for m in classifier.modules() if isinstance(m, nn.Linear)]
    classes = layers[-1].out_features if layers else None
    y = inputs.labels(labels, "labels", classes=classes, n=len(x), device=torch.device("cpu"))
    return float((classifier.cpu()(x).argmax(1) == y).double().mean())
