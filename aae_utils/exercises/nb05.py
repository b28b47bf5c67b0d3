"""Notebook 05's exercises: the decoder's input [z, one-hot label], counting it, the length of a
Gaussian code, reading the probe results, and the code size against the split of style from
content."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..checks import Case, exercise, experiment_cases
from ..models import _append_cond, build_model

# --- the decoder's input ---------------------------------------------------------------------------


def _decoder_input(z, labels, num_classes=10):
    """The library's decoder input: ``[z, one_hot(labels)]`` (models._append_cond)."""
    return _append_cond(z, labels, num_classes, "Decoder")


@exercise(
    "05.decoder_input", "decoder_input(z, labels, num_classes=10)",
    reference=_decoder_input,
    dtype=True,  # the decoder's first layer computes in z's dtype
    forbidden=("aae_utils.models._append_cond",),
    hints=(
        "the code first and the label after it, as a one-hot row, side by side in one row per "
        "example; the result feeds the decoder's first layer, so it has z's dtype and z's "
        "gradient reaches it.",
        "F.one_hot gives integers: convert them to z's own dtype (z.dtype) before joining; "
        "torch.cat joins along dimension 1.",
        "torch.cat([z, F.one_hot(labels, num_classes).to(z.dtype)], dim=1).",
    ),
    wrong={
        "label first": lambda z, labels, num_classes=10: torch.cat(
            [F.one_hot(labels, num_classes).to(z.dtype), z], 1),
        "off by one class": lambda z, labels, num_classes=10: torch.cat(
            [z, F.one_hot((labels + 1) % num_classes, num_classes).to(z.dtype)], 1),
        "the label as one number": lambda z, labels, num_classes=10: torch.cat(
            [z, labels.to(z.dtype)[:, None]], 1),
        "a float32 one-hot, whatever z's dtype": lambda z, labels, num_classes=10: torch.cat(
            [z, F.one_hot(labels, num_classes).float()], 1),
        "a float64 one-hot": lambda z, labels, num_classes=10: torch.cat(
            [z, F.one_hot(labels, num_classes).double()], 1),
    },
)
def _decoder_input_cases(context):
    g = torch.Generator().manual_seed(10)
    yield Case(args=(torch.randn(1, 5, generator=g), torch.tensor([7])), label="one code, digit 7",
               grads=(0,))
    for n, d, k in [(10, 5, 10), (64, 15, 10), (30, 2, 10), (6, 3, 4)]:
        labels = torch.cat([torch.arange(k), torch.randint(k, (n - k,), generator=g)])
        labels = labels[torch.randperm(n, generator=g)]
        yield Case(args=(torch.randn(n, d, generator=g), labels, k),
                   label=f"{n} codes of size {d}, {k} classes", grads=(0,))
    for dtype in (torch.float64, torch.float16):  # the decoder's weights may be in either
        yield Case(args=(torch.randn(8, 4, generator=g).to(dtype), torch.arange(8) % 10),
                   label=f"8 codes in {str(dtype).replace('torch.', '')}", grads=(0,))


# --- exercise 1: how many inputs ----------------------------------------------------------------


def _tiny_models():
    torch.manual_seed(0)
    return [
        build_model("aae", latent_dim=3, hidden=[8], decoder_cond_dim=4),
        build_model("aae", latent_dim=2, hidden=[8], disc_cond_dim=11),
        build_model("vae", latent_dim=7, hidden=[8]),
        build_model("vae", latent_dim=4, hidden=[8], decoder_cond_dim=10),
    ]


@exercise(
    "05.count_decoder_inputs", "count_decoder_inputs(model)",
    reference=lambda model: model.decoder.net[0].in_features,
    hints=(
        "the decoder's first layer reads the code and, when the decoder is conditioned, a one-hot "
        "label beside it: add the two widths.",
        "model.latent_dim is the code's width; model.decoder.cond_dim is the label's (0 for a "
        "decoder without one).",
        "model.latent_dim + model.decoder.cond_dim.",
    ),
    demo=lambda: {"models": _tiny_models()[:2]},
    wrong={
        "the code only": lambda model: model.latent_dim,
        "the label as one number": lambda model: model.latent_dim + 1,
        "always 10 label entries": lambda model: model.latent_dim + 10,
        "the discriminator's inputs": lambda model: model.discriminator.net[0].in_features,
    },
)
def _count_cases(context):
    for i, model in enumerate(context["models"]):
        yield Case(args=(model,), label=f"your model {i + 1}",
                   show_expected=False)
    for model in _tiny_models():
        cond = model.decoder.cond_dim
        article = "an" if model.kind == "aae" else "a"
        yield Case(args=(model,), label=f"{article} {model.kind.upper()} with a {model.latent_dim}-D code"
                                        + (f" and {cond} classes" if cond else ", no label"))


# --- exercise 2: the squared length of a Gaussian code ----------------------------------------------


@exercise(
    "05.sq_length", "expected_sq_length(dim, std=1.0)",
    reference=lambda dim, std=1.0: dim * std**2,
    hints=(
        "the squared length is a sum over the coordinates, so its expectation is the sum of the "
        "coordinates' expectations.",
        "for a coordinate with mean 0, the expectation of its square is its variance, the square "
        "of its standard deviation.",
        "dim * std**2.",
    ),
    rel=1e-3,
    wrong={
        "dim squared": lambda dim, std=1.0: dim**2 * std**2,
        "E|z| (a square root)": lambda dim, std=1.0: math.sqrt(dim) * std,
        "std not squared": lambda dim, std=1.0: dim * std,
        "one coordinate only": lambda dim, std=1.0: std**2,
    },
)
def _sq_length_cases(context):
    yield Case(args=(5,), label="N(0, I_5)")
    for dim, std in [(2, 3.0), (15, 0.5), (1, 2.0), (8, 1.0)]:
        yield Case(args=(dim, std), label=f"dim {dim}, std {std:g}")


# --- exercise 3: the best probe -------------------------------------------------------------------


@exercise(
    "05.best_probe", "best_probe(results)",
    reference=lambda results: max(results, key=results.get),
    hints=(
        "return the model's name (a key of results), not its accuracy: the one whose accuracy is "
        "highest.",
        "max() over a dict runs over its keys; its key= argument says what to compare them by.",
        "max(results, key=results.get).",
    ),
    demo=lambda: {"results": {"supervised": 0.51, "control": 0.76, "cvae": 0.44}},
    wrong={
        "alphabetically last name": lambda results: max(results),
        "lowest accuracy": lambda results: min(results, key=results.get),
        "the second entry, as in the notebook": lambda results: list(results)[1],
        "the accuracy, not the name": lambda results: max(results.values()),
        "accuracies rounded to one decimal": lambda results: max(results, key=lambda k: round(results[k], 1)),
    },
)
def _best_probe_cases(context):
    results = context["results"]
    yield Case(args=(results,), label="your probe_results",
               show_expected=False)
    yield Case(args=(dict(reversed(results.items())),), label="the same, in reverse order")
    yield Case(args=({"a": 0.3, "b": 0.9, "c": 0.5},), label="a, b, c")
    yield Case(args=({"zeta": 0.95, "alpha": 0.2, "mid": 0.6, "omega": 0.1},), label="four models")
    yield Case(args=({"only one": 0.42, "another": 0.41},), label="two close ones")
    yield Case(args=({"another": 0.41, "only one": 0.42},), label="two close ones, the better last")


# --- exercise 4: experiment, the code size ------------------------------------------------------


@exercise(
    "05.code_size_experiment", "probe_gap(runs)",
    reference=lambda runs: runs[15]["probe"] - runs[5]["probe"],
    hints=(
        "a difference with its sign: how much higher the probe's accuracy is with 15 dimensions "
        "than with 5 (negative if it is lower), as a difference of fractions.",
        "runs[d]['probe'] is the probe's test accuracy for the run with a d-D code.",
        "runs[15]['probe'] - runs[5]['probe'].",
    ),
    rel=1e-6, abs=1e-9,  # the reference reads the same runs: nothing to tolerate
    demo=lambda: {"runs": {5: {"probe": 0.52, "recon": 95.0}, 15: {"probe": 0.80, "recon": 80.0}}},
    wrong={
        "5 minus 15 (sign)": lambda runs: runs[5]["probe"] - runs[15]["probe"],
        "ratio": lambda runs: runs[15]["probe"] / runs[5]["probe"],
        "the reconstruction losses": lambda runs: runs[15]["recon"] - runs[5]["recon"],
        "the size of the gap, without its sign": lambda runs: abs(runs[15]["probe"] - runs[5]["probe"]),
        "largest code minus smallest, whatever their sizes": lambda runs: (
            runs[max(runs)]["probe"] - runs[min(runs)]["probe"]),
    },
)
def _code_size_cases(context):
    yield from experiment_cases(
        context, needs={5, 15}, missing="runs has no run with a code of size {}",
        made_up=[{5: {"probe": 0.41, "recon": 120.0}, 15: {"probe": 0.77, "recon": 118.0}},
                 # a run where the larger code holds less: the sign is part of the answer
                 {5: {"probe": 0.63, "recon": 101.0}, 15: {"probe": 0.48, "recon": 97.0},
                  10: {"probe": 0.7, "recon": 99.0}},
                 # sizes beyond 5 and 15 tried too: the answer still compares 15 with 5
                 {2: {"probe": 0.3, "recon": 140.0}, 5: {"probe": 0.5, "recon": 110.0},
                  15: {"probe": 0.6, "recon": 95.0}, 30: {"probe": 0.9, "recon": 90.0}}])
