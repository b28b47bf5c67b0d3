"""Notebook 00's exercises: counting labels, measuring pixels, and what a prior sample is."""

from __future__ import annotations

import torch

from ..checks import Case, exercise
from ..priors import GaussianMixturePrior, GaussianPrior


def _count_digit(labels, digit):
    return int((labels == digit).sum())


def _demo_labels():
    return {"labels": torch.randint(10, (2000,), generator=torch.Generator().manual_seed(0))}


@exercise(
    "00.count_digit", "count_digit(labels, digit)",
    reference=_count_digit,
    hints=(
        "compare all the labels with digit at once: a tensor compared with a number gives a "
        "tensor of True and False, one per entry. Then count the True entries.",
        "when booleans are added up, True counts as 1 and False as 0; the sum of a tensor is a "
        "0-d tensor, and the question asks for a Python int.",
        "int((labels == digit).sum()).",
    ),
    rel=0.0, abs=0.0,
    demo=_demo_labels,
    wrong={
        "the digit after (off by one)": lambda labels, digit: int((labels == digit + 1).sum()),
        "the other digits counted": lambda labels, digit: int((labels != digit).sum()),
        "every label counted": lambda labels, digit: len(labels),
        "the test split's count hard-coded": lambda labels, digit: 1028,
        "read from torch.bincount(labels) (no entry for a digit above the largest label)":
            lambda labels, digit: int(torch.bincount(labels)[digit]),
    },
)
def _count_digit_cases(context):
    labels = context.get("labels")
    if labels is None:
        raise ValueError("pass labels=test.y to the check")
    yield Case(args=(labels, 7), label=f"your {len(labels):,} labels, digit 7",
               show_expected=False)
    yield Case(args=(labels, 0), label="the same labels, digit 0")
    yield Case(args=(labels[:1000], 7), label="the first 1,000 of them, digit 7")
    g = torch.Generator().manual_seed(1)
    yield Case(args=(torch.randint(10, (500,), generator=g), 9), label="500 random labels, digit 9")
    yield Case(args=(torch.tensor([7, 1, 7, 4]), 7), label="[7, 1, 7, 4], digit 7")
    yield Case(args=(torch.tensor([3, 7, 3]), 3), label="[3, 7, 3], digit 3 (first and last)")
    yield Case(args=(torch.tensor([2, 0, 4, 1, 4]), 8), label="[2, 0, 4, 1, 4], digit 8 (none at all)")


def _zero_fraction(images):
    return float((images == 0).float().mean())


@exercise(
    "00.zero_fraction", "zero_fraction(images)",
    reference=_zero_fraction,
    hints=(
        "a fraction is a count over a total: mark the pixels that are exactly 0, and set their "
        "number against the number of all the pixels of all the images together.",
        "a comparison gives True or False per pixel; turned into floats (1.0 and 0.0), their mean "
        "is the fraction of True ones.",
        "float((images == 0).float().mean()).",
    ),
    rel=1e-3, abs=1e-6,
    demo=lambda: {"images": (torch.rand(300, 784, generator=torch.Generator().manual_seed(0))
                             - 0.6).clamp(min=0) / 0.4},
    wrong={
        "fraction of non-zero pixels": lambda images: float((images != 0).float().mean()),
        "count instead of fraction": lambda images: int((images == 0).sum()),
        "dark pixels (< 0.5) counted as background": lambda images: float((images < 0.5).float().mean()),
        "first image only": lambda images: float((images[0] == 0).float().mean()),
    },
)
def _zero_fraction_cases(context):
    images = context.get("images")
    if images is None:
        raise ValueError("pass images=train.x to the check")
    yield Case(args=(images,), label=f"your {len(images):,} images",
               show_expected=False)
    yield Case(args=(images[:100],), label="the first 100 of them")
    g = torch.Generator().manual_seed(2)
    sparse = (torch.rand(50, 784, generator=g) - 0.3).clamp(min=0) / 0.7  # about 30% zeros
    yield Case(args=(sparse.to(images.device),), label="50 random images, about 30% zeros")
    yield Case(args=(torch.rand(20, 784, generator=g).to(images.device) * 0.9 + 0.05,),
               label="20 images without a zero pixel")


def _mean_distance(z):
    return float(z.norm(dim=1).mean())


@exercise(
    "00.mean_distance", "mean_distance(z)",
    reference=_mean_distance,
    hints=(
        "one distance per code (per row of z), then the average of those distances: the distance "
        "of the average code is something else.",
        "a row's distance from the origin is the square root of the sum of its squared "
        "coordinates; torch computes it as a norm along the coordinates' dimension.",
        "float(z.norm(dim=1).mean()).",
    ),
    rel=1e-4, abs=1e-6,
    wrong={
        "distance of the mean code": lambda z: float(z.mean(0).norm()),
        "root mean square distance": lambda z: float(z.pow(2).sum(1).mean().sqrt()),
        "squared distances": lambda z: float(z.pow(2).sum(1).mean()),
        "std of the coordinates": lambda z: float(z.std()),
        "mean absolute coordinate": lambda z: float(z.abs().mean()),
        "norm over the batch": lambda z: float(z.norm(dim=0).mean()),
    },
)
def _mean_distance_cases(context):
    g = torch.Generator().manual_seed(3)
    if context.get("z") is not None:
        yield Case(args=(context["z"],), label=f"your {len(context['z']):,} codes",
                   show_expected=False)
    yield Case(args=(GaussianPrior(2, std=5.0).sample(10_000, generator=g),),
               label="10,000 samples of GaussianPrior(2, std=5.0)")
    yield Case(args=(GaussianMixturePrior(10).sample(2000, generator=g),),
               label="2,000 samples of the mixture")
    yield Case(args=(GaussianPrior(3).sample(500, generator=g),), label="500 3-D codes")
    yield Case(args=(torch.tensor([[3.0, 4.0], [0.0, 0.0], [-6.0, 8.0]]),),
               label="the codes (3, 4), (0, 0), (-6, 8)")
