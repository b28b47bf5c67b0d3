"""Full-scale runs behind notebooks 06 and 07: the paper's Tables 2 and 3, outside Jupyter.

    python bench/reproduce.py semi --labels 1000 --epochs 20
    python bench/reproduce.py semi --labels 100 --epochs 40 --seed 1 --device cuda
    python bench/reproduce.py cluster --clusters 30 --epochs 20
    python bench/reproduce.py semi --labels 100 --seeds 0 1 2 --device cuda --budget-minutes 50
    python bench/reproduce.py parzen --eval-every 5

Each run trains the course's recipe (``aae_utils.recipes``: ``ssaae-<labels>`` or
``cluster-<k>``) on the first 50,000 MNIST training images, keeps the last 10,000 as the
validation set, measures test error on the 10,000 test images after every ``--eval-every``
epochs, and writes one JSON per run to ``bench/results/`` (experiment, settings, seed, device,
torch version, wall time, errors per evaluated epoch). ``bench/report.py`` turns those files
into bench/README.md's tables and notebook 09.

``parzen`` (Table 1) trains the AAE with an 8-D code (``aae-8d``; ``--model vae`` the VAE of
the same size) on the same 50,000 images and, at every evaluated epoch, scores the test images
under a Parzen window on 10,000 decoded prior samples, its width chosen on the validation set
(:mod:`aae_utils.parzen`); it writes ``bench/results/parzen-<recipe>-seed<k>-<device>.json``.
For the VAE it also records the importance-sampled log-likelihood of the same "decoded mean +
Gaussian noise" model on the first 1,000 test images (100 codes each).

Long runs: the JSON is rewritten after every evaluated epoch, marked ``"partial": true`` until
the run ends, so a run cut short (a crash, Ctrl-C, a machine taken back) still records what it
measured. A folder that cannot be written (full disk, read-only) never stops a run: the state
is then not kept (said once), and a JSON that cannot be written is said once, tried again after
each evaluated epoch, and printed whole at the end (exit status 1) so no measured epoch is lost.
``--budget-minutes`` stops after the last epoch that fits in the budget. The state of
an unfinished run is kept in ``data/checkpoints/reproduce/`` (``--state-dir``), and the same
command continues it from its last finished epoch (``--restart`` starts again). ``--seeds 0 1
2`` runs several seeds as parallel processes, one JSON each.

``--set train.lr=3e-4 --set model.encoder_noise=0`` changes a setting for a tuning run (the
JSON records it; use ``--out`` to keep such runs out of the committed results).

Semi-supervised error is :math:`\\arg\\max_y q(y|x)` against the true digit. Clustering error
follows the paper (each cluster takes the label of the validation image that maximises
:math:`q(y=k|x)`) and, for comparison, the majority label of the cluster's validation images.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import torch

from aae_utils.config import get_device, seed_everything
from aae_utils.data import load_mnist
from aae_utils.engine import fit
from aae_utils.metrics import cluster_error, error_rate
from aae_utils.parzen import importance_sampled, log_likelihood, parzen_score
from aae_utils.recipes import GENERATIVE_CODE, SEMI_TRAIN_SIZE, recipe
from aae_utils.reproduction import PAPER_ERRORS, PAPER_PARZEN, PAPER_PRESET
from aae_utils.settings import check_model_settings
from aae_utils.train_config import TrainConfig
from aae_utils.writes import WriteError, atomic_write

ROOT = Path(__file__).resolve().parent.parent


def _parse_value(text: str, item: str = ""):
    """A ``--set`` value as JSON (numbers, lists, true/false/null); other text stays text
    (``train.optimizer=sgd``). Text that starts like a number or a list but is not valid JSON
    is refused, naming the item."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        if text.strip()[:1] in set("[{-+.0123456789"):
            raise SystemExit(f"--set {item}: {text!r} is not a valid value ({err.msg} at character "
                             f"{err.pos}); write numbers as 0.001 or 1e-3 and lists as [500, 500]") from err
        return text


def apply_overrides(r, overrides: list[str]):
    """``model.key=value`` / ``train.key=value`` changes to a recipe (values parsed as JSON).

    Raises:
        SystemExit: naming the ``--set`` item, the setting and the fix: a malformed item, an
            unknown setting, or a value the setting cannot take (checked here, before any data
            is loaded or any model trained).
    """
    model, train = dict(r.model), r.train.to_dict()
    for item in overrides:
        key, sep, value = item.partition("=")
        part, _, name = key.partition(".")
        if not sep or part not in {"model", "train"} or not name:
            raise SystemExit(f"--set expects model.<name>=<value> or train.<name>=<value>, got {item!r}")
        target = model if part == "model" else train
        if part == "train" and name not in TrainConfig.__dataclass_fields__:
            raise SystemExit(f"--set {item}: unknown training setting {name!r}; the settings are "
                             f"{', '.join(TrainConfig.__dataclass_fields__)} "
                             "(aae_utils.train_config.TrainConfig)")
        target[name] = _parse_value(value, item)
    if isinstance(train.get("adv_betas"), list):
        train["adv_betas"] = tuple(train["adv_betas"])
    try:
        check_model_settings(model.get("kind"), {k: v for k, v in model.items() if k != "kind"})
        config = TrainConfig(**train)
    except ValueError as err:
        raise SystemExit(_blame(overrides, str(err))) from err
    return replace(r, model=model, train=config)


def _blame(overrides: list[str], message: str) -> str:
    """``message`` prefixed with the ``--set`` item it is about: the last one whose setting it
    names, else every item (they changed the recipe together)."""
    import re

    for item in reversed(overrides):
        name = item.partition("=")[0].partition(".")[2]
        if name and re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", message):
            return f"--set {item}: {message}"
    if overrides:
        return f"the recipe's settings with --set {' --set '.join(overrides)}: {message}"
    return f"the recipe's settings: {message}"


def _check_runnable(r, model, prior, overrides: list[str]) -> None:
    """What the settings must agree on for this recipe to train on MNIST, checked before any data
    is loaded (SystemExit naming the ``--set`` item)."""
    problems = []
    if getattr(model.encoder, "in_dim", 784) != 784:
        problems.append(f"in_dim must be 784 (MNIST's 28x28 pixels), got {model.encoder.in_dim}")
    if prior is not None and prior.dim != model.latent_dim:
        what = "style_dim" if r.model.get("kind") == "ssaae" else "latent_dim"
        problems.append(f"{what} must be {prior.dim}, the dimension of the recipe's prior, got "
                        f"{model.latent_dim}")
    if r.n_train is not None and r.train.batch_size > r.n_train:
        problems.append(f"batch_size={r.train.batch_size} is larger than the recipe's {r.n_train:,} "
                        "training images; use a smaller batch_size")
    if problems:
        raise SystemExit(_blame(overrides, problems[0]))


#: ``--paper``: :data:`aae_utils.reproduction.PAPER_PRESET` (its sources in ``PAPER_SOURCES``).
#: Taken literally it diverged here (NaN reconstruction in epoch 2, 100 labels), probably because
#: our reconstruction loss is summed over the 784 pixels: ``--set train.lr=1.2755e-05 --set
#: train.class_lr=0.01`` (0.01 / 784, the classification phase kept at 0.01) stayed finite;
#: recorded as its own run (notebook 09).


def _json_path(args, r, device) -> Path:
    tag = "".join(t for t, on in (("-fast", args.fast), ("-paper", args.paper),
                                      (f"-{args.tag}", args.tag)) if on)
    if args.label_seed is not None and args.label_seed != args.seed:
        tag = f"-labels{args.label_seed}" + tag
    prefix = "parzen" if args.experiment == "parzen" else "reproduce"
    return args.out / f"{prefix}-{r.name}-seed{args.seed}-{device.type}{tag}.json"


class _Record:
    """The run's JSON, kept in memory and written whole after every evaluated epoch.

    A write that fails is said once (with the reason) and tried again next time; ``finish``
    prints the whole record if the last write failed, so what was measured is never lost."""

    def __init__(self, path: Path):
        self.path, self.text, self.written, self._said = path, "", False, False

    def write(self, record: dict) -> bool:
        self.text = json.dumps(record, indent=1) + "\n"
        try:
            atomic_write(self.path, self.text)
        except WriteError as err:
            if not self._said:
                print(f"{err}. The run goes on; its record is kept in memory, tried again after "
                      "each evaluated epoch and printed at the end if it still cannot be written.",
                      file=sys.stderr, flush=True)
            self._said, self.written = True, False
            return False
        if self._said:
            print(f"recorded again in {self.path.name}", file=sys.stderr, flush=True)
            self._said = False
        self.written = True
        return True

    def finish(self) -> int:
        """0 if the last write succeeded; else print the record and return 1."""
        if self.written or not self.text:
            return 0
        print(f"could not write {self.path}; the record is printed here instead (save it under "
              f"that name):\n{self.text}", flush=True)
        return 1


def run_seeds_in_parallel(argv: list[str], seeds: list[int], threads: int | None) -> int:
    """One process per seed (this script with ``--seed k``), all at once; their output is
    prefixed with the seed. On a GPU the processes share it: one batch-100 MLP barely loads it.
    ``threads``: ``--threads`` to add to each process's command (None: add nothing)."""
    rest, dropping = [], False
    for a in argv:  # this command without --seeds and its values
        if a == "--seeds" or a.startswith("--seeds="):
            dropping = a == "--seeds"
            continue
        if dropping and not a.startswith("-"):
            continue
        dropping = False
        rest.append(a)
    extra = ["--threads", str(threads)] if threads else []
    procs = {}
    for seed in seeds:
        cmd = [sys.executable, str(Path(__file__).resolve()), *rest, *extra, "--seed", str(seed)]
        procs[seed] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    def relay(seed, proc):
        for line in proc.stdout:
            print(f"[seed {seed}] {line}", end="", flush=True)

    relays = [threading.Thread(target=relay, args=item) for item in procs.items()]
    for t in relays:
        t.start()
    codes = {seed: proc.wait() for seed, proc in procs.items()}
    for t in relays:
        t.join()
    failed = [seed for seed, code in codes.items() if code]
    if failed:
        print(f"seeds {failed} failed (their JSON, if any, is marked partial)", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiment", choices=["semi", "cluster", "parzen"])
    ap.add_argument("--labels", type=int, default=1000, help="semi: labelled images (100 or 1000)")
    ap.add_argument("--clusters", type=int, default=16, help="cluster: size of the categorical head")
    ap.add_argument("--model", choices=["aae", "vae"], default="aae",
                    help="parzen: the model whose samples are judged")
    ap.add_argument("--parzen-samples", type=int, default=10_000,
                    help="parzen: decoded prior samples in the window (the paper: 10,000)")
    ap.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="run these seeds as parallel processes (one JSON each); on a CPU each "
                         "gets cores / seeds threads unless --threads says otherwise")
    ap.add_argument("--label-seed", type=int, default=None,
                    help="semi: seed that draws the labelled images (default: --seed); lets a run "
                         "change the initialisation and keep the labelled set, or the reverse")
    ap.add_argument("--device", default=None, help="cuda, mps or cpu (default: best available)")
    ap.add_argument("--eval-every", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--budget-minutes", type=float, default=None,
                    help="stop after the last epoch that fits in this wall-clock budget; the JSON "
                         "is marked partial and the same command later continues the run")
    ap.add_argument("--restart", action="store_true",
                    help="ignore the saved state of an earlier cut run and start again")
    ap.add_argument("--state-dir", type=Path, default=None,
                    help="where a cut run keeps its state (default: data/checkpoints/reproduce)")
    ap.add_argument("--set", action="append", default=[], metavar="PART.NAME=VALUE")
    ap.add_argument("--paper", action="store_true",
                    help="the paper's training settings as reimplementations quote them "
                         "(SGD, its rates and schedule, N(0, 0.01) weights, its regularisers and "
                         "length; see PAPER_PRESET); --epochs and --set still apply on top")
    ap.add_argument("--tag", default="", help="suffix for the JSON file name")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--data", default=None, help="MNIST root (default: AAE_DATA_DIR or data/)")
    ap.add_argument("--fast", action="store_true",
                    help="the recipe's fast mode (2,000 images, 2 epochs): checks the harness, "
                         "not the paper; the JSON says fast")
    args = ap.parse_args(argv)
    for name in ("epochs", "eval_every", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.budget_minutes is not None and args.budget_minutes <= 0:
        ap.error(f"--budget-minutes must be positive, got {args.budget_minutes}")
    if args.seeds:
        if len(set(args.seeds)) != len(args.seeds):
            ap.error(f"--seeds lists a seed twice: {args.seeds}")
        threads = None  # --threads, if given, is passed on with the rest of the command
        if args.threads is None and get_device(args.device).type == "cpu":
            threads = max(1, (os.cpu_count() or 1) // len(args.seeds))  # the cores, shared out
        return run_seeds_in_parallel(argv, args.seeds, threads)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = get_device(args.device)
    name = {"semi": f"ssaae-{args.labels}", "cluster": f"cluster-{args.clusters}",
            "parzen": f"{args.model}-{GENERATIVE_CODE}d"}[args.experiment]
    if args.paper and args.experiment not in PAPER_PRESET:
        raise SystemExit(f"--paper has no preset for {args.experiment}: the paper's Table 1 "
                         "settings are not quoted by any reimplementation")
    if args.experiment == "semi" and args.labels not in (100, 1000):
        raise SystemExit("--labels must be 100 or 1000 (the paper's settings)")
    if args.experiment == "cluster" and args.clusters not in (16, 30):
        raise SystemExit("--clusters must be 16 or 30 (the paper's settings)")
    r = recipe(name, fast=args.fast)
    preset = PAPER_PRESET[args.experiment] if args.paper else []
    r = apply_overrides(replace(r, label_seed=args.label_seed), preset)
    if args.fast and args.paper:  # the preset's length would undo fast mode
        r = replace(r, train=replace(r.train, epochs=recipe(name, fast=True).train.epochs))
    train = replace(r.train, seed=args.seed, **({"epochs": args.epochs} if args.epochs else {}))
    r = apply_overrides(replace(r, train=train), args.set)
    # Built before the data is loaded: a setting that cannot work stops the run now, not later.
    seed_everything(args.seed)
    from aae_utils.models import build_model

    model, prior = build_model(**r.model), r.make_prior()
    _check_runnable(r, model, prior, args.set)
    print(r.describe(), f"on {device}", flush=True)

    kwargs = {"root": args.data} if args.data else {}
    full = load_mnist(train=True, device=device, **kwargs)
    test = load_mnist(train=False, device=device, **kwargs)
    # The validation set is always the last 10,000 training images (fast mode trains on fewer).
    data, val = full.subset(slice(0, r.n_train)), full.subset(slice(SEMI_TRAIN_SIZE, len(full)))
    labels = r.labels_for(data)
    path = _json_path(args, r, device)
    written = _Record(path)

    result = {
        "experiment": args.experiment,
        "recipe": r.name,
        **({} if args.experiment == "parzen" else {
            "labels": args.labels if args.experiment == "semi" else 0,
            "clusters": args.clusters if args.experiment == "cluster" else 10,
            "paper_error_pct": PAPER_ERRORS.get(r.name)}),
        **({"model": args.model, "paper_parzen_ll": PAPER_PARZEN.get(args.model.upper()),
            "parzen_samples": args.parzen_samples} if args.experiment == "parzen" else {}),
        "settings": {"model": r.model, "train": r.train.to_dict(), "n_train": r.n_train,
                     "validation": len(val), "overrides": args.set,
                     **({"preset": "paper", "preset_settings": preset} if args.paper else {})},
        "description": r.describe(),
        "seed": args.seed,
        "label_seed": r.labels_seed if r.labelled_per_class is not None else None,
        "fast": args.fast,
        "device": str(device),
        "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                        else platform.processor() or platform.machine()),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "epochs": r.train.epochs,
    }

    def record(history: dict, partial: bool, why: str = "") -> None:
        """The JSON as of now: after every evaluated epoch (partial) and at the end."""
        done = len(history["seconds"])
        evaluated = [int(e) for e in history.get("evaluated_epoch", [])]
        result.update({
            "date": time.strftime("%Y-%m-%d"),
            "wall_s": round(sum(history["seconds"]) + sum(history.get("eval_seconds", [])), 1),
            "epochs_done": done,
            "partial": partial,
            **({"stopped": why} if partial else {}),
            "evaluated_epochs": evaluated,
            "history": {k: v for k, v in history.items()
                        if k not in ("evaluated_epoch", "eval_seconds", "stopped_after")},
            "final_test_error": history["test_error"][-1] if history.get("test_error") else None,
        })
        if args.experiment == "parzen":
            for key in ("parzen_ll", "parzen_stderr", "sigma", "is_ll", "parzen_ll_is_images"):
                if history.get(key):
                    result[f"final_{key}"] = history[key][-1]
        if not partial:
            result.pop("stopped", None)
        written.write(result)

    def evaluate(epoch: int, model) -> dict[str, float]:
        if (epoch + 1) % args.eval_every and epoch + 1 != r.train.epochs:
            return {}
        start = time.perf_counter()
        out = judge_samples(model) if args.experiment == "parzen" else judge_classifier(model)
        print(f"epoch {epoch + 1}: " + ", ".join(f"{k} {v:.4g}" for k, v in out.items()), flush=True)
        return {**out, "evaluated_epoch": epoch + 1, "eval_seconds": time.perf_counter() - start}

    def judge_classifier(model) -> dict[str, float]:
        """Tables 2-3: test error of the categorical head, and how confident and balanced it is."""
        test_p, val_p = model.predict_proba(test.x), model.predict_proba(val.x)
        if args.experiment == "semi":
            out = {"test_error": error_rate(test_p.argmax(1), test.y),
                   "val_error": error_rate(val_p.argmax(1), val.y)}
        else:
            out = {"test_error": cluster_error(test_p, test.y, val_p, val.y, rule="paper"),
                   "test_error_majority": cluster_error(test_p, test.y, val_p, val.y, rule="majority"),
                   "clusters_used": float(len(test_p.argmax(1).unique()))}
        # How confident and how balanced the categorical head is on the test images: the
        # categorical discriminator asks for one-hot answers (mean max q(y|x) near 1, H(Y|X) near
        # 0) used equally (H(Y) near log K).
        out["confidence"] = float(test_p.max(1).values.mean())
        out["cond_entropy"] = float(-(test_p * test_p.clamp_min(1e-12).log()).sum(1).mean())
        marginal = test_p.mean(0)
        out["marginal_entropy"] = float(-(marginal * marginal.clamp_min(1e-12).log()).sum())
        return out

    @torch.no_grad()
    def judge_samples(model) -> dict[str, float]:
        """Table 1's protocol on this model: Parzen window on decoded prior samples (the same
        codes at every evaluation, so epochs differ only by the model)."""
        was_training = model.training
        model.eval()
        codes = torch.randn(args.parzen_samples, GENERATIVE_CODE,
                            generator=torch.Generator().manual_seed(args.seed)).to(device)
        samples = torch.cat([model.decoder.images(z) for z in codes.split(2000)])
        score = parzen_score(samples, val.x, test.x)
        out = {"parzen_ll": score.mean, "parzen_stderr": score.stderr, "sigma": score.sigma}
        if args.model == "vae":  # the same model's log-likelihood, estimated with its encoder
            x = test.x[:1000]
            mu, logvar = model.encoder(x)
            out["is_ll"] = float(importance_sampled(x, model.decoder.images, mu, logvar, score.sigma,
                                                    samples=100, seed=args.seed).mean())
            out["parzen_ll_is_images"] = float(log_likelihood(x, samples, score.sigma).mean())
        model.train(was_training)
        return out

    session_start = time.perf_counter()

    def epoch_end(epoch: int, history: dict) -> bool:
        """Record after each evaluated epoch; stop when the next epoch would overrun the budget."""
        last = epoch + 1 == r.train.epochs
        if history.get("evaluated_epoch") and int(history["evaluated_epoch"][-1]) == epoch + 1 and not last:
            record(history, partial=True, why="in progress, or cut short after this epoch")
        if args.budget_minutes is None or last:
            return False
        elapsed = time.perf_counter() - session_start
        per_epoch = elapsed / max(1, epoch + 1 - first_epoch[0])
        if elapsed + per_epoch > 60 * args.budget_minutes:
            record(history, partial=True, why=f"budget of {args.budget_minutes:g} min")
            again = "the same command" + (" without --restart" if args.restart else "")
            kept = state.saved_epochs
            then = (f"Run {again} again to continue." if kept == epoch + 1 else
                    f"Its state could be kept only up to epoch {kept} (said above): {again} "
                    "continues from there." if kept else
                    "Its state could not be kept (said above), so the same command starts again.")
            took = f"~{per_epoch / 60:.1f} min" if per_epoch >= 60 else f"~{per_epoch:.0f} s"
            print(f"stopping after epoch {epoch + 1} of {r.train.epochs}: another epoch "
                  f"({took}) would pass the {args.budget_minutes:g}-minute budget. " + then, flush=True)
            return True
        return False

    from aae_utils.checkpoints import ResumeTarget, data_record
    from aae_utils.config import checkpoint_dir

    state_dir = args.state_dir or checkpoint_dir() / "reproduce"  # made by the first save
    owner = {"result_file": path.name, **result["settings"], "seed": args.seed,
             "label_seed": result["label_seed"]}
    # --restart: the old state is ignored, and removed where the folder allows
    state = ResumeTarget(state_dir / f"{path.stem}.partial.pt", json.loads(json.dumps(owner)),
                         data_record(data), restart=args.restart)
    if args.restart:
        try:
            state.path.unlink(missing_ok=True)
        except OSError as err:
            print(f"could not remove the old state {state.location} ({err.strerror}); it is "
                  "ignored: starting again", file=sys.stderr)
    saved = state.load()
    first_epoch = [int(saved["epochs_done"]) if saved else 0]

    try:
        history = fit(model, data, r.train, prior=prior, labels=labels, callback=evaluate,
                      resume=state, epoch_end=epoch_end)
    except KeyboardInterrupt:
        kept = state.saved_epochs
        recorded = (f"{path.name} holds the epochs evaluated so far (partial)" if written.written else
                    "its record so far is printed below" if written.text else
                    "no epoch was evaluated yet, so no record was written")
        again = "the same command" + (" without --restart" if args.restart else "")
        then = (f"{again} continues after epoch {kept}" if kept else
                "no state was kept, so the same command starts again")
        print(f"interrupted: {recorded}; {then}", file=sys.stderr)
        return 130 if written.finish() == 0 else 1
    except FloatingPointError as err:  # a diverged run is a result too: say so in its record
        if not written.text:  # diverged before its first evaluation
            result.update({"partial": True, "epochs_done": 0, "history": {}, "evaluated_epochs": [],
                           "final_test_error": None, "wall_s": 0.0, "date": time.strftime("%Y-%m-%d")})
        result["stopped"] = f"diverged: {str(err).split('. ')[0]}"
        written.write(result)
        print(f"{err}\nrecorded in {path.name} as partial (diverged)", file=sys.stderr)
        written.finish()
        return 1
    if "stopped_after" in history:
        return written.finish()  # cut by the budget: recorded as partial, state kept if it could be
    record(history, partial=False)
    try:
        state.path.unlink(missing_ok=True)
    except OSError:
        pass  # the state of a finished run is ignored next time (the JSON is not partial)
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    where = f"wrote {shown}" if written.written else "its record is printed below"
    if args.experiment == "parzen":
        print(f"Parzen log-likelihood {result['final_parzen_ll']:.1f} ± {result['final_parzen_stderr']:.1f} "
              f"nats after {r.train.epochs} epochs ({result['wall_s'] / 60:.1f} min on {device}); "
              f"{where}")
    else:
        print(f"final test error {100 * result['final_test_error']:.2f}% after {r.train.epochs} epochs "
              f"({result['wall_s'] / 60:.1f} min on {device}); {where}")
    return written.finish()


if __name__ == "__main__":
    sys.exit(main())
