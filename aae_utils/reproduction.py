"""The recorded full-scale runs of ``bench/reproduce.py``, for notebooks 06-09 and bench/README.md.

Each run is one JSON file in ``bench/results/``, named
``reproduce-<recipe>-seed<k>-<device>[-labels<j>][-<tag>].json`` (``-labels<j>``: the labelled
images were drawn with seed j, not k). Notebooks read them instead of retraining for an hour,
and bench/README.md's tables are generated from the same files
(``python bench/report.py``), so every number shown is traceable to a run with its epochs, seed
and device.
"""

from __future__ import annotations

import json
from itertools import groupby
from pathlib import Path
from statistics import fmean, stdev

from .config import REPO_ROOT, _in_repo
from .writes import atomic_write

#: Makhzani et al. (2015): test error in %, (mean, std) over their runs. Table 2
#: (semi-supervised) and Table 3 (unsupervised clustering).
PAPER_ERRORS = {
    "ssaae-100": (1.90, 0.10),
    "ssaae-1000": (1.60, 0.08),
    "cluster-16": (9.55, 2.05),
    "cluster-30": (4.10, 1.13),
}
#: Makhzani et al. (2015), Table 1: log-likelihood of the MNIST test images (nats) under a
#: Parzen window on 10,000 samples of each model, (mean, standard error), as the paper lists
#: them (the other rows are the paper's citations of earlier work).
PAPER_PARZEN = {
    "AAE": (340.0, 2.0),
    "GMMN+AE": (282.0, 2.0),
    "GAN": (225.0, 2.0),
    "Deep GSN": (214.0, 1.1),
    "DBN": (138.0, 2.0),
    "Stacked CAE": (121.0, 1.6),
}
PAPER_SETTING = {
    "ssaae-100": "MNIST, 100 labels",
    "ssaae-1000": "MNIST, 1000 labels",
    "cluster-16": "MNIST, 16 clusters, no labels",
    "cluster-30": "MNIST, 30 clusters, no labels",
}


#: The paper's training length in epochs, as reimplementations quote it (the
#: BoscoTsang/AdversarialAutoencoder driver; musyoku/adversarial-autoencoder's default for the
#: semi-supervised runs); not checked against the paper's text. Shown beside every run of ours.
PAPER_EPOCHS = {"ssaae-100": 5000, "ssaae-1000": 5000, "cluster-16": 1500, "cluster-30": 1500}


#: ``bench/reproduce.py --paper``: the paper's training settings as reimplementations quote them,
#: as ``--set`` strings. None of them is checked against the paper's text (the paper gives no
#: training schedule); :data:`PAPER_SOURCES` says where each one comes from.
PAPER_TRAIN = ("train.optimizer=\"sgd\"", "train.lr=0.01", "train.momentum=0.9", "train.disc_lr=0.1",
               "train.gen_lr=0.1", "train.adv_momentum=0.1", "train.lr_decay=1.0",
               "train.lr_milestones=[50, 1000]", "model.init_std=0.01", "model.input_noise=0.0")
PAPER_PRESET = {
    "semi": (*PAPER_TRAIN, f"train.epochs={PAPER_EPOCHS['ssaae-100']}", "model.encoder_noise=0.3",
             "model.encoder_dropout=0.0"),
    "cluster": (*PAPER_TRAIN, f"train.epochs={PAPER_EPOCHS['cluster-30']}", "model.hidden=[3000, 3000]",
                "model.style_dim=5", "model.encoder_noise=0.0", "model.encoder_dropout=0.0",
                "model.encoder_input_dropout=0.2"),
}
#: Where the quoted settings of :data:`PAPER_PRESET` and :data:`PAPER_EPOCHS` come from.
PAPER_SOURCES = {
    "SGD with momentum; reconstruction lr 0.01 (momentum 0.9), adversarial lr 0.1 (momentum 0.1)":
        "the authors' public replies, as a reimplementation reports them",
    "rates divided by 10 after epochs 50 and 1000; weights drawn from N(0, 0.01)":
        "the BoscoTsang/AdversarialAutoencoder driver",
    "5000 epochs (semi-supervised); Gaussian noise of std 0.3 on the encoder's input":
        "the BoscoTsang/AdversarialAutoencoder driver (nb_epoch=5000) and "
        "musyoku/adversarial-autoencoder's default",
    "1500 epochs, 3000-3000 networks, a 5-D style, dropout 0.2 on the input only (clustering)":
        "the BoscoTsang/AdversarialAutoencoder driver, in two of its commits",
}


#: The run records that travel with the package: notebooks 06-09 read them after ``pip install``
#: and on Colab, where there is no ``bench/results/``. ``python bench/report.py`` refreshes the
#: copies in :data:`PACKAGED` and a test keeps the two folders in step.
RECORDED_PATTERNS = ("reproduce-*.json", "ablation-*.json", "parzen-*.json")
PACKAGED = Path(__file__).resolve().parent / "recorded"


def results_dir() -> Path:
    """Where the recorded runs are: ``bench/results`` in a clone of the course repository (where
    ``bench/reproduce.py`` writes them), else the copies installed with the package
    (:data:`PACKAGED`).

    Raises:
        FileNotFoundError: outside a clone, when the package was installed without its data
            (the message says how to reinstall it).
    """
    if _in_repo():
        return REPO_ROOT / "bench" / "results"
    if PACKAGED.is_dir():
        return PACKAGED
    from .links import pip_spec

    raise FileNotFoundError(
        f"aae_utils was installed without its recorded runs ({PACKAGED.name}/ is missing); "
        f'reinstall it from the course\'s release: pip install --force-reinstall "{pip_spec()}"')


def recorded_files(directory: str | Path) -> list[Path]:
    """The run records of ``directory`` that travel with the package (:data:`RECORDED_PATTERNS`)."""
    folder = Path(directory)
    return sorted(p for pattern in RECORDED_PATTERNS for p in folder.glob(pattern))


def sync_recorded(results: str | Path, target: str | Path = PACKAGED) -> list[str]:
    """Make ``target`` hold exactly the run records of ``results``, byte for byte; returns the
    names copied or removed (``bench/report.py`` calls it).

    Raises:
        WriteError: ``target`` cannot take a file; each copy is whole or absent.
    """
    target = Path(target)  # made by the first write
    wanted = {p.name: p for p in recorded_files(results)}
    changed = []
    for old in recorded_files(target):
        if old.name not in wanted:
            old.unlink()
            changed.append(old.name)
    for name, src in wanted.items():
        dst = target / name
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            atomic_write(dst, src.read_bytes())
            changed.append(name)
    return changed


def _read_records(directory, pattern: str, script: str, required: set[str]) -> list[dict]:
    """Every JSON of ``directory`` (default: :func:`results_dir`) matching ``pattern``, each with
    its file name under ``"file"``. Raises ValueError, naming the file and ``script`` to rerun,
    for a file that is not valid JSON or lacks a ``required`` field."""
    folder = Path(directory) if directory is not None else results_dir()
    records = []
    for path in sorted(folder.glob(pattern)):
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path.name} is not valid JSON ({err}); rerun {script}") from err
        missing = required - set(record)
        if missing:
            raise ValueError(f"{path.name} lacks {sorted(missing)}; rerun {script}")
        record["file"] = path.name
        records.append(record)
    return records


def load_runs(directory: str | Path | None = None, *, include_fast: bool = False) -> list[dict]:
    """Every recorded run, sorted by recipe and seed (an empty list if there are none).

    Runs made with ``--fast`` (a harness check on 2,000 images) are left out unless
    ``include_fast`` is set, so they can never pass for a result.

    Raises:
        ValueError: a file is not valid JSON or lacks the fields a run must have (the message
            names the file).
    """
    runs = []
    for run in _read_records(directory, "reproduce-*.json", "bench/reproduce.py",
                             {"recipe", "seed", "device", "epochs", "history", "final_test_error"}):
        if run.get("fast") and not include_fast:
            continue
        if run["final_test_error"] is None:  # a run cut before its first evaluation: no result
            continue
        runs.append(run)
    return sorted(runs, key=lambda r: (r["recipe"], r["seed"], r["file"]))


#: The variants of ``bench/ablation.py``, in the order a table shows them.
ABLATION_VARIANTS = ("full", "no-categorical", "no-adversarial", "labels-only")


def load_ablation(directory: str | Path | None = None) -> list[dict]:
    """The recorded runs of ``bench/ablation.py`` (notebook 06's quick semi-supervised AAE with
    phases switched off), sorted by seed and then in :data:`ABLATION_VARIANTS` order; an empty
    list if there are none.

    Raises:
        FileNotFoundError: see :func:`results_dir`.
        ValueError: a file is not valid JSON, lacks a run's fields or names an unknown variant
            (the message names the file).
    """
    runs = _read_records(directory, "ablation-*.json", "bench/ablation.py",
                         {"variant", "seed", "epochs", "final_test_error", "phases_switched_off"})
    for run in runs:
        if run["variant"] not in ABLATION_VARIANTS:
            raise ValueError(f"{run['file']}: unknown variant {run['variant']!r}; "
                             f"bench/ablation.py writes one of {ABLATION_VARIANTS}")
    return sorted(runs, key=lambda r: (r["seed"], ABLATION_VARIANTS.index(r["variant"])))


def describe_run(run: dict) -> str:
    """``"20 epochs, cpu (2 threads), seed 0"``: where a number came from.

    A run cut short (``bench/reproduce.py --budget-minutes``, or stopped) says how far it got:
    ``"12 of 70 epochs (partial)"``; :func:`summarise` never averages it.

    A run whose labelled images were drawn with another seed than its initialisation says so:
    ``"seed 1, labelled set of seed 0"``.
    """
    where = run["device"]
    if run["device"] == "cpu" and run.get("threads"):
        where += f" ({run['threads']} thread{'s' if run['threads'] != 1 else ''})"
    seed = f"seed {run['seed']}"
    if label_seed(run) != run["seed"]:
        seed += f", labelled set of seed {label_seed(run)}"
    changed = run_overrides(run)
    length = f"{run['epochs']} epochs"
    if run.get("partial"):
        length = f"{run['epochs_done']} of {run['epochs']} epochs (partial"
        length += ", diverged after it)" if str(run.get("stopped", "")).startswith("diverged") else ")"
    return f"{length}, {where}, {seed}" + (f", with {', '.join(changed)}" if changed else "")


def label_seed(run: dict) -> int:
    """The seed that drew a semi-supervised run's labelled images: ``--label-seed`` where the run
    recorded one, else its own seed (runs made before that option, and every run without it)."""
    return run["seed"] if run.get("label_seed") is None else run["label_seed"]


def run_overrides(run: dict) -> tuple[str, ...]:
    """How a run's settings differ from its recipe as the recipe stands now: ``"model.key=value"``
    for every model or training setting the run recorded with another value (seed and epochs
    are shown apart), so that a tuned variant is never taken for the recipe, an old run stays
    marked after the recipe changes, and an old ``--set`` that the recipe has since adopted no
    longer sets its run apart. A run of ``bench/reproduce.py --paper`` is named
    ``"the paper's settings (--paper)"`` followed by its own ``--set`` changes."""
    settings = run.get("settings", {})
    if settings.get("preset") == "paper":
        return ("the paper's settings (--paper)",) + tuple(settings.get("overrides") or ())
    from .recipes import recipe

    try:
        current = recipe(run["recipe"], fast=bool(run.get("fast")))
    except ValueError:  # a recipe that no longer exists: its recorded --set changes
        return tuple(settings.get("overrides") or ())
    changes = []
    for part, now in (("model", current.model), ("train", current.train.to_dict())):
        if part not in settings:
            continue
        now, then = json.loads(json.dumps(now)), json.loads(json.dumps(settings[part]))
        for key in sorted(set(now) | set(then)):
            if key not in ("seed", "epochs") and then.get(key) != now.get(key):
                changes.append(f"{part}.{key}={json.dumps(then.get(key))}")
    return tuple(changes)


def summarise(runs: list[dict]) -> dict[tuple, tuple[float, float, int]]:
    """Mean and sample standard deviation of the final test error in %, per recipe, length and
    ``--set`` changes, where there are at least two such runs:
    ``{(recipe, epochs, overrides): (mean, std, n)}``.

    The paper reports mean ± std over runs; one good seed is not a result, so bench/README.md and
    notebook 09 show this beside the single runs.
    """
    groups: dict[tuple, list[float]] = {}
    for r in runs:
        if r.get("partial"):  # cut short: its learning rate had not decayed as the recipe says
            continue
        key = (r["recipe"], r["epochs"], run_overrides(r))
        groups.setdefault(key, []).append(100 * r["final_test_error"])
    out = {}
    for key, errors in groups.items():
        if len(errors) < 2:
            continue
        out[key] = (fmean(errors), stdev(errors), len(errors))
    return out


def paper_table(runs: list[dict], names: list[str] | None = None) -> list[str]:
    """Markdown rows comparing the paper's errors with the recorded runs of this course.

    ``names`` limits the rows to those recipes (default: all of :data:`PAPER_ERRORS`). The
    paper's three columns are filled on the first row of each setting only, so a setting's runs
    read as one group.
    """
    unknown = set(names or []) - set(PAPER_ERRORS)
    if unknown:
        raise ValueError(f"no paper result for {sorted(unknown)}; choose from {sorted(PAPER_ERRORS)}")
    lines = [
        "| setting | paper (error %) | paper's length (as quoted) | this course (error %) | run |",
        "|---|---|---|---|---|",
    ]
    summary = summarise(runs)
    for name, (mean, std) in PAPER_ERRORS.items():
        if names is not None and name not in names:
            continue
        # Grouped by --set changes (the recipe first) and length, then by seed and labelled set,
        # so each group's mean sits right below its runs.
        mine = sorted((r for r in runs if r["recipe"] == name),
                      key=lambda r: (run_overrides(r), r["epochs"], r["seed"], label_seed(r)))
        paper = f"| {PAPER_SETTING[name]} | {mean:.2f} ± {std:.2f} | {PAPER_EPOCHS[name]} epochs |"
        if not mine:
            lines.append(f"{paper} not run yet | |")
            continue
        rows = []
        for (changed, epochs), group in groupby(mine, key=lambda r: (run_overrides(r), r["epochs"])):
            for r in group:
                extra = ""
                if "test_error_majority" in r["history"]:
                    extra = f" (majority rule: {100 * r['history']['test_error_majority'][-1]:.2f})"
                rows.append(f"{100 * r['final_test_error']:.2f}{extra} | {describe_run(r)}, "
                            f"{r['wall_s'] / 60:.0f} min |")
            if (name, epochs, changed) in summary:
                m, s, n = summary[(name, epochs, changed)]
                variant = f", with {', '.join(changed)}" if changed else ""
                rows.append(f"**{m:.2f} ± {s:.2f}** | "
                            f"mean ± std of the {n} runs of {epochs} epochs{variant} above |")
        lines += [f"{paper if i == 0 else '| | | |'} {row}" for i, row in enumerate(rows)]
    return lines


#: Rows of this course's Table 1 that are not models of the paper: which recipe, and its name.
PARZEN_OURS = {
    "aae-8d": "AAE (8-D code)",
    "vae-8d": "VAE (8-D code; not in Table 1)",
    "memoriser": "memoriser: 10,000 training images (not a model)",
    "kmeans": "k-means: 10,000 centroids of the training images (not a model)",
}


def load_parzen(directory: str | Path | None = None) -> list[dict]:
    """The recorded Table 1 runs: ``bench/reproduce.py parzen`` (``parzen-aae-8d-...``) and
    ``bench/parzen_baselines.py`` (``parzen-memoriser-...``, ``parzen-kmeans-...``), fast runs
    left out, sorted by recipe and seed.

    Raises:
        FileNotFoundError: see :func:`results_dir`.
        ValueError: a file is not valid JSON or lacks a result's fields (the message names it).
    """
    runs = _read_records(directory, "parzen-*.json", "bench/reproduce.py parzen or bench/parzen_baselines.py",
                         {"recipe", "seed", "device", "final_parzen_ll", "final_parzen_stderr",
                          "final_sigma"})
    runs = [r for r in runs if not r.get("fast")]
    return sorted(runs, key=lambda r: (r["recipe"], r["seed"], r["file"]))


def _parzen_run(run: dict) -> str:
    """Where a Table 1 number came from: its length (a trained model) or what its samples are."""
    width = f"σ = {run['final_sigma']:.3f}"
    took = f"{run['wall_s']:.0f} s" if run["wall_s"] < 120 else f"{run['wall_s'] / 60:.0f} min"
    if run["recipe"] in ("memoriser", "kmeans"):
        return f"{run['description']}, {width}, {took}"
    extra = ""
    if run.get("final_is_ll") is not None:  # a VAE: the same model's likelihood, by its encoder
        extra = (f"; on the first 1,000 test images the Parzen value is "
                 f"{run['final_parzen_ll_is_images']:.1f} and the importance-sampled one "
                 f"{run['final_is_ll']:.1f} (100 codes from q(z|x))")
    return f"{describe_run(run)}, {width}, {took}{extra}"


def parzen_table(runs: list[dict], rows: tuple[str, ...] | None = None) -> list[str]:
    """Markdown rows: the paper's Table 1 (MNIST) beside this course's recorded Parzen runs.

    ``rows`` (keys of :data:`PARZEN_OURS`) gives a compact table: the paper's AAE row and only
    those of ours, without the models this course did not train (notebook 08); by default every
    row (notebook 09).

    Raises:
        ValueError: a row that is not a key of :data:`PARZEN_OURS`.
    """
    unknown = set(rows or ()) - set(PARZEN_OURS)
    if unknown:
        raise ValueError(f"rows: no such row {sorted(unknown)}; choose from {sorted(PARZEN_OURS)}")
    lines = ["| model | paper, Table 1 (nats) | this course (nats) | run |", "|---|---|---|---|"]
    ours = {name: [r for r in runs if r["recipe"] == name] for name in PARZEN_OURS}

    def add(label: str, paper: str, mine: list[dict]) -> None:
        if not mine:
            lines.append(f"| {label} | {paper} | not run here | |")
        for r in mine:
            lines.append(f"| {label} | {paper} | {r['final_parzen_ll']:.1f} ± {r['final_parzen_stderr']:.1f} "
                         f"| {_parzen_run(r)} |")

    for model, (mean, err) in PAPER_PARZEN.items():
        paper = f"{mean:.0f} ± {err:g}"
        if model == "AAE":
            add(PARZEN_OURS["aae-8d"], paper, ours["aae-8d"])
        elif rows is None:
            lines.append(f"| {model} | {paper} | not trained here | |")
    for name in ("vae-8d", "memoriser", "kmeans"):
        if rows is not None and name not in rows:
            continue
        if ours[name] or name != "vae-8d":  # the VAE is optional: a row only once it has run
            add(PARZEN_OURS[name], "not in Table 1", ours[name])
    return lines


def _best_group(runs: list[dict], name: str, changed: tuple[str, ...]) -> list[dict]:
    """The finished runs of ``name`` with exactly the ``--set`` changes ``changed``, of the length
    that has the most of them (the longest among equals)."""
    groups: dict[int, list[dict]] = {}
    for r in runs:
        if r["recipe"] == name and not r.get("partial") and sorted(run_overrides(r)) == sorted(changed):
            groups.setdefault(r["epochs"], []).append(r)
    if not groups:
        return []
    return groups[max(groups, key=lambda epochs: (len(groups[epochs]), epochs))]


def summary_table(runs: list[dict], names: list[str], marked: tuple = ()) -> list[str]:
    """Markdown rows, one per paper result: the paper's error beside the mean ± std (sample) of
    the course's recipe over its finished runs of one length (the length with the most runs), and
    one row per ``marked`` variant (a ``--set`` change such as ``"train.consistency=1.0"``, or a
    tuple of them) that was recorded for that result, marked as not the paper's method.

    The compact form of :func:`paper_table` for notebooks 06 and 07; notebook 09 shows every run.

    Raises:
        ValueError: a name with no paper result.
    """
    unknown = set(names) - set(PAPER_ERRORS)
    if unknown:
        raise ValueError(f"no paper result for {sorted(unknown)}; choose from {sorted(PAPER_ERRORS)}")
    lines = ["| setting | paper (error %) | this course (error %) | runs |", "|---|---|---|---|"]
    for name in names:
        mean, std = PAPER_ERRORS[name]
        paper = f"{mean:.2f} ± {std:.2f}"
        for changed in ((), *(((m,) if isinstance(m, str) else tuple(m)) for m in marked)):
            group = _best_group(runs, name, changed)
            if not group:
                if not changed:
                    lines.append(f"| {PAPER_SETTING[name]} | {paper} | not run yet | |")
                continue
            errors = [100 * r["final_test_error"] for r in group]
            ours = f"{fmean(errors):.2f}"
            if len(errors) > 1:
                ours += f" ± {stdev(errors):.2f}"
            devices = sorted({r["device"] for r in group})
            count = f"{len(group)} run{'s' if len(group) > 1 else ''}"
            where = (f"{count} of {group[0]['epochs']} epochs, {'/'.join(devices)} "
                     f"(paper: {PAPER_EPOCHS[name]}, as quoted)")
            if changed:
                lines.append(f"| {PAPER_SETTING[name]}, with {', '.join(changed)} (marked: not the "
                             f"paper's method) | | {ours} | {where} |")
            else:
                lines.append(f"| {PAPER_SETTING[name]} | {paper} | {ours} | {where} |")
    return lines


def terms_table(runs: list[dict], name: str, terms: dict[str, tuple[str, ...]],
                seeds: tuple[int, ...] | None = None) -> list[str]:
    """Markdown rows of an ablation: for each entry of ``terms`` (a row label and the ``--set``
    changes its runs carry, as :func:`run_overrides` gives them, sorted), the recorded runs of
    recipe ``name`` with exactly those changes: test error by the paper's rule and by the
    majority rule, clusters in use on the test set, the mean largest :math:`q(y|x)` (confidence)
    where logged, and which runs (mean ± sample std over seeds where there are several finished
    runs, one value where they all agree); ``seeds`` keeps only those seeds' runs. A run cut
    short is shown as such, never averaged in.

    Raises:
        ValueError: a label whose changes no run of ``name`` carries.
    """
    lines = ["| terms | error, paper's rule (%) | majority rule (%) | clusters used | confidence | runs |",
             "|---|---|---|---|---|---|"]
    for label, changes in terms.items():
        group = [r for r in runs if r["recipe"] == name and sorted(run_overrides(r)) == sorted(changes)
                 and (seeds is None or r["seed"] in seeds)]
        if not group:
            raise ValueError(f"no run of {name} with {changes or 'the recipe as it is'}; "
                             "run bench/reproduce.py with those --set changes")
        finished = [r for r in group if not r.get("partial")]
        shown = finished or group[:1]

        def cell(values: list[float], digits: int = 2) -> str:
            if len(set(values)) == 1:  # one run, or every run the same (30 clusters in use)
                return f"{values[0]:.{digits}f}"
            return f"{fmean(values):.{digits}f} ± {stdev(values):.{digits}f}"

        h = [r["history"] for r in shown]
        paper = cell([100 * r["final_test_error"] for r in shown])
        majority = cell([100 * x["test_error_majority"][-1] for x in h])
        used = cell([x["clusters_used"][-1] for x in h], 0)
        sure = cell([x["confidence"][-1] for x in h]) if all("confidence" in x for x in h) else "not logged"
        r0 = shown[0]
        if finished:
            listed = ", ".join(str(r["seed"]) for r in finished)
            which = f"seed{'s' if len(finished) > 1 else ''} {listed}, {r0['epochs']} epochs"
        else:
            which = (f"seed {r0['seed']}, unfinished: {len(h[0]['test_error'])} of "
                     f"{r0['epochs']} epochs")
        lines.append(f"| {label} | {paper} | {majority} | {used} | {sure} | {which} |")
    return lines
