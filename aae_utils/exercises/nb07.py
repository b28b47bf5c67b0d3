"""Notebook 07's exercises: the paper's cluster-labelling rule, how many labels it reads, the
largest cluster, why the majority rule cannot lose on the validation set, and the experiment
with the noise on the discriminators' inputs."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..checks import Case, exercise, experiment_cases
from ..metrics import cluster_labels


def _proba(n: int, k: int, seed: int, sharpness: float = 2.0) -> torch.Tensor:
    """Made-up q(y|x): softmax of random logits, (n, k)."""
    g = torch.Generator().manual_seed(seed)
    return F.softmax(sharpness * torch.randn(n, k, generator=g), 1)


def _digits(n: int, seed: int) -> torch.Tensor:
    return torch.randint(10, (n,), generator=torch.Generator().manual_seed(500 + seed))


def _half_unused(n: int = 100, k: int = 16, seed: int = 3) -> torch.Tensor:
    """q(y|x) of a model that uses only the first k/2 clusters, plus one unsure image (row 0,
    uniform): that image is the most confident member of every unused cluster."""
    g = torch.Generator().manual_seed(seed)
    used = torch.randint(k // 2, (n,), generator=g)
    proba = torch.full((n, k), 0.1 / (k - 1))
    proba[torch.arange(n), used] = 0.9
    proba += 1e-4 * torch.rand(n, k, generator=g)  # no ties
    proba[0] = 1.0 / k
    return proba / proba.sum(1, keepdim=True)


# --- the paper's rule --------------------------------------------------------------------------


def _paper_labels(val_proba, val_labels):
    return cluster_labels(val_proba, val_labels, rule="paper")


@exercise(
    "07.paper_cluster_labels", "paper_cluster_labels(val_proba, val_labels)",
    reference=_paper_labels,
    hint="for each cluster i (a column of val_proba) find the validation example n with the "
         "largest q(y=i|x_n), i.e. argmax over the examples (dim 0), and take val_labels[n]; "
         "the result has one label per cluster, shape (K,).",
    wrong={
        "majority vote": lambda val_proba, val_labels: cluster_labels(val_proba, val_labels,
                                                                      rule="majority"),
        "argmax over the clusters (one label per example)": lambda val_proba, val_labels: (
            val_labels[val_proba.argmax(1)]),
        "index of the best example, not its label": lambda val_proba, val_labels: val_proba.argmax(0),
        "labels off by one": lambda val_proba, val_labels: val_labels[val_proba.argmax(0)] + 1,
    },
)
def _paper_cases(context):
    for n, k, seed in [(50, 16, 0), (500, 30, 1), (12, 30, 2)]:
        yield Case(args=(_proba(n, k, seed), _digits(n, seed)), label=f"{n} examples, {k} clusters")
    yield Case(args=(_half_unused(), _digits(100, 3)), label="8 of 16 clusters unused")
    if "val_proba" in context and "val_labels" in context:
        proba = context["val_proba"]
        yield Case(args=(proba, context["val_labels"]), label=f"your model's {proba.shape[1]} clusters")


# --- exercise 1: how many labels the rule reads ---------------------------------------------------


def _labels_used(val_proba):
    return int(torch.as_tensor(val_proba).argmax(0).unique().numel())


def _demo_proba():
    return {"val_proba": _proba(300, 30, 7, sharpness=4.0)}


@exercise(
    "07.labels_used", "labels_used(val_proba)",
    reference=_labels_used,
    hint="the rule reads, for each cluster (column), the label of its most confident validation "
         "example; count the *different* examples among those K picks (an int).",
    rel=1e-9, abs=1e-9,
    demo=_demo_proba,
    wrong={
        "one per cluster (K), repeats counted": lambda val_proba: val_proba.shape[1],
        "every validation image (N)": lambda val_proba: val_proba.shape[0],
        "clusters in use": lambda val_proba: int(val_proba.argmax(1).unique().numel()),
        "one per digit (10)": lambda val_proba: 10,
    },
)
def _labels_used_cases(context):
    if "val_proba" not in context:
        raise ValueError("the check needs val_proba=: the validation q(y|x) of a model")
    proba = context["val_proba"]
    yield Case(args=(proba,), label=f"your model's {proba.shape[1]} clusters")
    yield Case(args=(_half_unused(),), label="8 of 16 clusters unused")
    yield Case(args=(_proba(12, 30, 2),), label="12 examples, 30 clusters")
    yield Case(args=(_proba(1000, 16, 4),), label="1,000 examples, 16 clusters")


# --- exercise 2: the largest cluster --------------------------------------------------------------


def _largest_cluster(proba):
    proba = torch.as_tensor(proba)
    return int(torch.bincount(proba.argmax(1), minlength=proba.shape[1]).max())


@exercise(
    "07.largest_cluster", "largest_cluster(proba)",
    reference=_largest_cluster,
    hint="each image belongs to the cluster with the largest q(y|x) (argmax over dim 1); count "
         "the images of each cluster (torch.bincount) and return the largest count (an int).",
    rel=1e-9, abs=1e-9,
    demo=lambda: {"proba": _proba(600, 30, 8)},
    wrong={
        "argmax over the images": lambda proba: int(torch.bincount(proba.argmax(0)).max()),
        "index of the largest cluster, not its size": lambda proba: int(
            torch.bincount(proba.argmax(1)).argmax()),
        "summed probabilities (a soft size)": lambda proba: float(proba.sum(0).max()),
        "the size of cluster 0": lambda proba: int((proba.argmax(1) == 0).sum()),
    },
)
def _largest_cases(context):
    if "proba" not in context:
        raise ValueError("the check needs proba=: the test q(y|x) of a model")
    proba = context["proba"]
    yield Case(args=(proba,), label=f"your model, {len(proba):,} images")
    yield Case(args=(proba[:2500],), label="its first 2,500 images")
    yield Case(args=(_proba(400, 16, 9),), label="400 made-up images, 16 clusters")


# --- exercise 3: the majority rule -----------------------------------------------------------------


@exercise(
    "07.majority_rule", "why_majority_wins()",
    reference=lambda: "b",
    hint="what does 'majority' maximise, cluster by cluster, on the validation set?",
    options={
        "a": ["it uses more clusters"],
        "b": ["for each cluster it picks the label that is right for the most validation members, so "
              "no other naming is right for more of them",
              "for each cluster it picks the label that is right for the most validation members",
              "it picks the label that is right for the most validation members"],
        "c": ["it uses the test set"],
    },
    wrong={
        "more clusters": lambda: "a",
        "the test set": lambda: "(c) it uses the test set",
    },
)
def _majority_cases(context):
    yield Case()


# --- exercise 4: the experiment -------------------------------------------------------------------


@exercise(
    "07.noise_experiment", "clusters_ratio(runs)",
    reference=lambda runs: runs[0.3]["used"] / runs[0.0]["used"],
    hint="runs[noise]['used'] is how many of the 16 clusters the run with that noise std uses on "
         "the test set: divide the count with noise 0.3 by the count without noise.",
    rel=0.1,
    demo=lambda: {"runs": {0.3: {"error": 0.65, "used": 8}, 0.0: {"error": 0.85, "used": 2}}},
    wrong={
        "inverse ratio": lambda runs: runs[0.0]["used"] / runs[0.3]["used"],
        "difference": lambda runs: runs[0.3]["used"] - runs[0.0]["used"],
        "ratio of the errors": lambda runs: runs[0.0]["error"] / runs[0.3]["error"],
        "integer division": lambda runs: runs[0.3]["used"] // runs[0.0]["used"],
    },
)
def _noise_cases(context):
    yield from experiment_cases(
        context, needs={0.3, 0.0}, missing="runs has no run with noise {}",
        made_up={0.3: {"error": 0.5, "used": 11}, 0.0: {"error": 0.9, "used": 3}},
        made_up_label="made-up runs (not a whole ratio)")
