"""Notebook 07's exercises: the paper's cluster-labelling rule, how many labels it reads, the
largest cluster, the majority rule, and the experiment with the noise on the discriminators'
inputs."""

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


def _foreign_top(seed: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """q(y|x) where cluster 1's most confident image belongs to cluster 0 (its q(y=0|x) is
    higher still), and cluster 1's own members are less sure of it: the paper's rule names
    cluster 1 after that image of cluster 0, a rule that looks only at a cluster's own members
    after another one. Labels: that image is a 3, cluster 1's members are 7s."""
    g = torch.Generator().manual_seed(seed)
    proba = torch.softmax(torch.randn(40, 4, generator=g), 1) * 0.2
    proba[0::2, 2] += 0.4  # the background rows belong to clusters 2 and 3, none with a
    proba[1::2, 3] += 0.4  # q(y=1|x) above a third
    proba = proba / proba.sum(1, keepdim=True)
    proba[0] = torch.tensor([0.50, 0.45, 0.03, 0.02])  # cluster 0's member, cluster 1's top
    proba[1] = torch.tensor([0.30, 0.40, 0.15, 0.15])  # cluster 1's own, less sure
    proba[2] = torch.tensor([0.25, 0.38, 0.20, 0.17])
    labels = torch.randint(10, (40,), generator=g)
    labels[0], labels[1], labels[2] = 3, 7, 7
    return proba / proba.sum(1, keepdim=True), labels


def _own_members_top(val_proba, val_labels):
    """The most confident image among each cluster's own members (the paper's image where a
    cluster has none): a catalogued wrong rule."""
    assigned = val_proba.argmax(1)
    out = []
    for i in range(val_proba.shape[1]):
        members = torch.nonzero(assigned == i).flatten()
        pool = members if len(members) else torch.arange(len(val_proba))
        out.append(val_labels[pool[val_proba[pool, i].argmax()]])
    return torch.stack(out)


# --- the paper's rule --------------------------------------------------------------------------


def _paper_labels(val_proba, val_labels):
    return cluster_labels(val_proba, val_labels, rule="paper")


def _labelling_cases(context, made_up):
    """The cases of a cluster-labelling rule (the paper's, the majority's): made-up q(y|x) of
    ``made_up`` (examples, clusters, seed), unused clusters, a cluster whose most confident image
    sits in another cluster, and the learner's model (its right labels not shown)."""
    for n, k, seed in made_up:
        yield Case(args=(_proba(n, k, seed), _digits(n, seed)), label=f"{n} examples, {k} clusters")
    yield Case(args=(_half_unused(), _digits(100, 3)), label="8 of 16 clusters unused")
    yield Case(args=_foreign_top(), label="a cluster whose most confident image sits in another cluster")
    if "val_proba" in context and "val_labels" in context:
        proba = context["val_proba"]
        yield Case(args=(proba, context["val_labels"]), label=f"your model's {proba.shape[1]} clusters",
                   show_expected=False)


@exercise(
    "07.paper_cluster_labels", "paper_cluster_labels(val_proba, val_labels)",
    reference=_paper_labels,
    forbidden=("aae_utils.metrics.cluster_labels", "aae_utils.metrics.cluster_error"),
    hints=(
        "each cluster is named after one validation image: the image the model is most confident "
        "belongs to that cluster, wherever that image itself lands. One label per cluster.",
        "cluster i's confidence in every image is column i of val_proba; find, for each column, "
        "the row (the image) where it is largest, and read that image's label.",
        "val_labels[val_proba.argmax(0)].",
    ),
    wrong={
        "majority vote": lambda val_proba, val_labels: cluster_labels(val_proba, val_labels,
                                                                      rule="majority"),
        "argmax over the clusters (one label per example)": lambda val_proba, val_labels: (
            val_labels[val_proba.argmax(1)]),
        "index of the best example, not its label": lambda val_proba, val_labels: val_proba.argmax(0),
        "labels off by one": lambda val_proba, val_labels: val_labels[val_proba.argmax(0)] + 1,
        "the most confident image among the cluster's own members": _own_members_top,
        "labels as floats (they index the clusters' names later)": lambda val_proba, val_labels: (
            val_labels[val_proba.argmax(0)].float()),
        "normalised q(y|x) in place first": lambda val_proba, val_labels: val_labels[
            val_proba.div_(val_proba.sum(0, keepdim=True)).argmax(0)],
    },
)
def _paper_cases(context):
    yield from _labelling_cases(context, [(50, 16, 0), (500, 30, 1), (12, 30, 2)])


# --- exercise 1: how many labels the rule reads ---------------------------------------------------


def _labels_used(val_proba):
    return int(torch.as_tensor(val_proba).argmax(0).unique().numel())


def _demo_proba():
    return {"val_proba": _proba(300, 30, 7, sharpness=4.0)}


@exercise(
    "07.labels_used", "labels_used(val_proba)",
    reference=_labels_used,
    forbidden=("aae_utils.metrics.cluster_labels",),
    hints=(
        "the paper's rule reads one image per cluster, and several clusters may pick the same "
        "image: count the different images among the picks.",
        "argmax over the images (dimension 0) gives each cluster's image; unique() removes the "
        "repeats.",
        "int(val_proba.argmax(0).unique().numel()).",
    ),
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
    yield Case(args=(proba,), label=f"your model's {proba.shape[1]} clusters",
               show_expected=False)
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
    hints=(
        "put each image in the cluster it most likely belongs to, count the images of every "
        "cluster, and give the largest count.",
        "argmax over the clusters (dimension 1) gives each image's cluster; torch.bincount counts "
        "them.",
        "int(torch.bincount(proba.argmax(1), minlength=proba.shape[1]).max()).",
    ),
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
    yield Case(args=(proba,), label=f"your model, {len(proba):,} images",
               show_expected=False)
    yield Case(args=(proba[:2500],), label="its first 2,500 images")
    yield Case(args=(_proba(400, 16, 9),), label="400 made-up images, 16 clusters")


# --- exercise 3: the majority rule -----------------------------------------------------------------


def _majority_labels(val_proba, val_labels):
    return cluster_labels(val_proba, val_labels, rule="majority")


def _majority_with(empty="paper", pick="majority"):
    """The majority rule with one thing wrong (the catalogued mistakes)."""

    def majority_labels(val_proba, val_labels):
        assigned, out = val_proba.argmax(1), []
        for i in range(val_proba.shape[1]):
            members = val_labels[assigned == i]
            if not len(members):
                out.append(val_labels[val_proba[:, i].argmax()] if empty == "paper" else torch.tensor(0))
            elif pick == "first":
                out.append(members[0])
            elif pick == "largest":
                out.append(members.max())
            else:
                out.append(torch.bincount(members, minlength=10).argmax())
        return torch.stack(out)

    return majority_labels


@exercise(
    "07.majority_labels", "majority_labels(val_proba, val_labels)",
    reference=_majority_labels,
    forbidden=("aae_utils.metrics.cluster_labels", "aae_utils.metrics.cluster_error"),
    hints=(
        "give each cluster the digit that is most common among the validation images that land in "
        "it (each image lands in the cluster it is most likely to belong to); a cluster that no "
        "image lands in keeps the paper's rule.",
        "val_proba.argmax(1) says where each image lands; for cluster i, the labels of its members "
        "are val_labels[landed == i], and torch.bincount counts each digit among them; a tie goes "
        "to the smaller digit (what argmax over the counts gives).",
        "for each i: members = val_labels[val_proba.argmax(1) == i]; torch.bincount(members, "
        "minlength=10).argmax() if len(members) else val_labels[val_proba[:, i].argmax()]; then "
        "torch.stack the K labels.",
    ),
    wrong={
        "the paper's rule": _paper_labels,
        "empty clusters named 0": _majority_with(empty="zero"),
        "each cluster's first member's label": _majority_with(pick="first"),
        "each cluster's largest label": _majority_with(pick="largest"),
        "the most common digit overall, for every cluster": lambda val_proba, val_labels: (
            torch.bincount(val_labels, minlength=10).argmax().expand(val_proba.shape[1])),
    },
)
def _majority_cases(context):
    yield from _labelling_cases(context, [(60, 16, 10), (500, 30, 11)])


# --- exercise 4: the experiment -------------------------------------------------------------------


@exercise(
    "07.noise_experiment", "clusters_ratio(runs)",
    reference=lambda runs: runs[0.3]["used"] / runs[0.0]["used"],
    hints=(
        "a ratio of two counts of clusters in use: with noise 0.3 over without noise.",
        "runs[noise]['used'] is how many of the 16 clusters the run with that noise std uses on "
        "the test set; the answer need not be a whole number.",
        "runs[0.3]['used'] / runs[0.0]['used'].",
    ),
    rel=1e-6,  # the reference reads the same runs: nothing to tolerate
    demo=lambda: {"runs": {0.3: {"error": 0.65, "used": 8}, 0.0: {"error": 0.85, "used": 2}}},
    wrong={
        "inverse ratio": lambda runs: runs[0.0]["used"] / runs[0.3]["used"],
        "difference": lambda runs: runs[0.3]["used"] - runs[0.0]["used"],
        "ratio of the errors": lambda runs: runs[0.0]["error"] / runs[0.3]["error"],
        "integer division": lambda runs: runs[0.3]["used"] // runs[0.0]["used"],
        "the first run over the second, by position": lambda runs: (
            list(runs.values())[0]["used"] / list(runs.values())[1]["used"]),
        "the largest noise over the smallest": lambda runs: runs[max(runs)]["used"] / runs[min(runs)]["used"],
    },
)
def _noise_cases(context):
    yield from experiment_cases(
        context, needs={0.3, 0.0}, missing="runs has no run with noise {}",
        made_up=[{0.3: {"error": 0.5, "used": 11}, 0.0: {"error": 0.9, "used": 3}},
                 {0.3: {"error": 0.7, "used": 4}, 0.0: {"error": 0.6, "used": 6}},
                 # a third noise level: only runs[0.3] / runs[0.0] passes
                 {0.0: {"error": 0.8, "used": 5}, 0.5: {"error": 0.5, "used": 14},
                  0.3: {"error": 0.6, "used": 9}}],
        made_up_label="made-up runs (not a whole ratio)")
