r"""One training engine for the autoencoder, the VAE, the AAE and the semi-supervised AAE.

:func:`fit` loops over epochs and mini-batches; for each mini-batch it runs the phases of the
model's kind (:mod:`aae_utils.phases`) once. Everything around the phases lives here: the
optimisers (one per phase), learning-rate decay, the labels each phase sees, one progress bar,
the guards (a NaN loss names its phase, epoch and step; a discriminator that always wins is
flagged) and the state an interrupted run resumes from. Where that state is kept is up to the
caller: :func:`aae_utils.checkpoints.load_or_train` keeps it in a file beside the checkpoint.

Imports flow one way: phases, resume <- engine <- checkpoints. ``resuming`` and ``ResumeStore``
are re-exported here for the callers that know them from the engine.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import inputs
from .config import seed_everything, show_progress
from .data import ImageData, batches, shift_images
from .phases import choose_phases, only_set
from .priors import CategoricalPrior, GaussianPrior, Prior
from .resume import ResumeStore, StateKeeper, restore_state, resuming, take_resume_target
from .train_config import TrainConfig

#: Per-epoch numbers of a run: ``{"recon": [...], "seconds": [...], ...}``.
History = dict[str, list[float]]


def _optimizer(
    params, cfg: TrainConfig, lr: float, momentum: float, betas=(0.9, 0.999)
) -> torch.optim.Optimizer:
    params = list(params)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    try:
        # One fused kernel per step instead of a dozen elementwise passes: measured 12% off an
        # AAE epoch on a 2-core CPU (bench/speed.py). Older torch or other devices lack it.
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas))


# --- labels for the conditional variants -----------------------------------------------------


def _disc_cond(labels: Tensor, cond_dim: int) -> Tensor:
    """One-hot labels for the discriminator; label -1 (unlabelled) takes the last slot."""
    idx = torch.where(labels < 0, torch.full_like(labels, cond_dim - 1), labels)
    return F.one_hot(idx, cond_dim).float()


def _prior_for_labels(
    prior: Prior, labels: Tensor, generator: torch.Generator, device: torch.device
) -> Tensor:
    """Prior samples matching each label; unlabelled (-1) rows get samples of the whole prior."""
    labels = labels.cpu()
    known = labels >= 0
    out = torch.empty(len(labels), prior.dim)
    if known.any():
        out[known] = prior.sample(labels[known], generator=generator)
    if (~known).any():
        out[~known] = prior.sample(int((~known).sum()), generator=generator)
    return out.to(device)

# --- the engine -------------------------------------------------------------------------------


def fit(
    model: nn.Module,
    data: ImageData,
    config: TrainConfig,
    *,
    prior: Prior | None = None,
    labels: Tensor | None = None,
    callback: Callable[[int, nn.Module], dict[str, float]] | None = None,
    progress: bool | None = None,
    resume: ResumeStore | None = None,
    phases: dict[str, Callable] | None = None,
    epoch_end: Callable[[int, History], bool | None] | None = None,
) -> History:
    """Train an AE, VAE, AAE or semi-supervised AAE (by ``model.kind``); return its history.

    Args:
        model: from :func:`aae_utils.models.build_model`.
        data: training images (their device is the training device).
        config: a :class:`TrainConfig`.
        prior: the AAE's prior (required for ``kind="aae"``); for a VAE, a prior other than
            :math:`N(0, I)` with a density (``log_prob``), whose KL is then estimated by Monte
            Carlo (:func:`~aae_utils.phases.vae_phase`).
        labels: per-example labels for the conditional AAEs: given to the decoder
            (``decoder_cond_dim > 0``) and/or the discriminator (``disc_cond_dim > 0``);
            ``-1`` marks an unlabelled example. Defaults to ``data.y``. For the
            semi-supervised AAE, the examples with a label (not ``-1``) feed the
            classification phase; all ``-1`` (or ``labels=None``) trains a clustering model.
        callback: called after each epoch as ``callback(epoch, model)``; the numbers it
            returns are added to the history (for example a test error). With
            ``config.ema_decay`` it gets a copy holding the moving average of the weights, and
            that average is what ``model`` holds when ``fit`` returns.
        progress: show a progress bar (default: on unless ``AAE_PROGRESS=0``).
        resume: where to keep the state of an unfinished run. Inside
            :func:`load_or_train` this is set for you: after every epoch the state is saved,
            and after an interruption (Ctrl-C, "interrupt kernel") the next call resumes from
            the last complete epoch, with the same result as an uninterrupted run on a CPU.
            A save that fails (full disk, read-only folder) is said once and training goes
            on; the store keeps the last state it could save.
        phases: your own phase functions in place of the library's, by name (see
            :data:`aae_utils.phases.PHASE_NAMES`), each with the signature of the one it replaces in
            :mod:`aae_utils.phases`: how a notebook trains with the learner's code.
        epoch_end: called after each epoch, once its state is saved (``resume``), as
            ``epoch_end(epoch, history)`` with the history so far; returning True ends training
            there (a run stopped for a time budget, say). The history then holds the epochs
            done and ``"stopped_after": [epoch + 1]``, a ``resume`` store keeps the state, and
            a later call with the same store continues the run (:func:`load_or_train` does not
            cache such a run as finished).

    Raises:
        FloatingPointError: a loss became NaN or infinite; the message names the phase,
            epoch and step.

    Returns:
        ``{"recon": [...], ...}``: one mean per epoch for each loss, plus ``"seconds"``.
        AE: ``recon``; VAE: ``recon``, ``kl``, ``loss``; AAE: ``recon``, ``disc``,
        ``gen``, ``disc_acc``; semi-supervised AAE: ``recon``, ``disc``, ``gen``,
        ``disc_acc_y``, ``disc_acc_z``, ``class``.
    """
    kind = getattr(model, "kind", None)
    if kind not in _STEPPERS:
        raise ValueError(f"fit() trains models from build_model(); got {type(model).__name__}")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    if kind == "aae" and prior is None:
        raise ValueError("an adversarial autoencoder needs a prior: fit(..., prior=...)")
    if prior is not None and prior.dim != model.latent_dim:
        raise ValueError(
            f"prior has dim {prior.dim} but the model's latent_dim is {model.latent_dim}"
        )
    ImageData.require(data)
    # Checked here, once, over the whole data (it may have changed since ImageData checked it):
    # a NaN pixel would otherwise surface epochs later as "training diverged".
    in_dim = getattr(model.encoder, "in_dim", None)
    x = inputs.nonempty(inputs.images(data.x, "data.x", dim=in_dim, check=True), "data")
    y = inputs.labels(data.y, "data.y", n=len(x), device=x.device, check=True)
    if x is not data.x or y is not data.y:  # replaced by a NumPy array, float64, 0-255 pixels, ...
        with inputs.trusted():
            data = ImageData(x, y, data.name, data.image_shape)
    device = data.device
    if labels is None:
        labels = data.y if kind != "ssaae" else data.y.new_full(data.y.shape, -1)
    labels = inputs.labels(labels, "labels", n=len(data), unlabelled=True, device=device, check=True)
    model.to(device).train()
    seed_everything(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    chosen = choose_phases(kind, phases)
    keys, optimizers, step = _STEPPERS[kind](model, config, prior, data, labels, gen, device, chosen)
    schedulers = [
        torch.optim.lr_scheduler.MultiStepLR(o, milestones=list(config.lr_milestones), gamma=0.1)
        if config.lr_milestones else
        torch.optim.lr_scheduler.LinearLR(
            o, start_factor=1.0, end_factor=config.lr_decay, total_iters=max(config.epochs - 1, 1)
        )
        for o in optimizers
    ]

    steps = len(data) // config.batch_size
    if steps == 0:
        raise ValueError(
            f"batch_size={config.batch_size} is larger than the {len(data)} training examples"
        )
    history: History = {k: [] for k in (*keys, "seconds")}
    ema = None
    if config.ema_decay:  # a moving average of the weights, judged instead of the weights
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay),
                            use_buffers=True)
    resume = resume if resume is not None else take_resume_target()
    first_epoch = 0
    if resume is not None:
        first_epoch = restore_state(resume, model, optimizers, schedulers, gen, history, ema)
    keeper = StateKeeper(resume, first_epoch) if resume is not None else None
    from tqdm.auto import tqdm

    show = show_progress() if progress is None else progress
    bar = tqdm(
        total=config.epochs * steps, initial=first_epoch * steps, disable=not show,
        desc=f"{kind} training",
    )
    acc_keys = [k for k in keys if k.startswith("disc_acc")]
    epoch = first_epoch
    try:
        for epoch in range(first_epoch, config.epochs):
            start = time.perf_counter()
            # One row per step, filled on the device: no host synchronisation inside the loop,
            # yet a NaN can still be traced to its phase and step after the epoch.
            per_step = torch.zeros(steps, len(keys), device=device)
            with inputs.trusted():  # checked above: no per-batch value checks (no host syncs)
                for i, (xb, yb) in enumerate(
                    batches(data.x, labels, batch_size=config.batch_size, generator=gen)
                ):
                    per_step[i] = step(xb, yb)
                    if ema is not None:
                        ema.update_parameters(model)
                    bar.update(1)
            _check_finite(per_step, keys, kind, epoch)
            means = dict(zip(keys, per_step.mean(0).tolist(), strict=True))
            for k, v in means.items():
                history[k].append(v)
            history["seconds"].append(time.perf_counter() - start)
            for k in acc_keys:
                if bool((per_step[:, keys.index(k)] == 1).all()):
                    message = (
                        f"epoch {epoch + 1}: a discriminator ({k}) told every code from every "
                        "prior sample; the encoder gets no useful signal. Lower disc_lr, add "
                        "input_noise, or check the prior's scale against the codes'."
                    )
                    history.setdefault("warnings", []).append(message)
                    warnings.warn(message, RuntimeWarning, stacklevel=2)
            for scheduler in schedulers:
                scheduler.step()
            if callback is not None:
                judged = ema.module if ema is not None else model
                judged.eval()
                for k, v in callback(epoch, judged).items():
                    history.setdefault(k, []).append(float(v))
                model.train()
            bar.set_postfix({k: f"{v:.3g}" for k, v in means.items()})
            if keeper is not None:  # a failed save is said once; training goes on
                keeper.save(model, optimizers, schedulers, gen, history, epoch + 1, ema)
            if epoch_end is not None and epoch_end(epoch, history) is True:
                if epoch + 1 < config.epochs:
                    history["stopped_after"] = [float(epoch + 1)]  # not a finished run
                break
    except KeyboardInterrupt:
        bar.close()
        if keeper is not None and keeper.saved_epochs > 0:
            print(
                f"Interrupted in epoch {epoch + 1}. The state after epoch {keeper.saved_epochs} is "
                f"saved in {resume.location}: run the same cell (or command) again to resume from there."
            )
        elif keeper is not None:
            print(f"Interrupted in epoch {epoch + 1}: no saved epoch to resume from yet.")
        raise
    bar.close()
    if ema is not None:  # the averaged weights are the result (the resume state keeps both)
        model.load_state_dict(ema.module.state_dict())
    model.eval()
    return history


# --- one training step per model kind ---------------------------------------------------------
# Each stepper checks its inputs, builds its optimisers and returns (history keys, optimisers,
# step): step(x_batch, label_batch) runs every phase once and returns that step's losses as a
# tensor (kept on the device). fit() owns everything else: batches, schedules, checks, resume.

Stepper = tuple[tuple[str, ...], list[torch.optim.Optimizer], Callable[[Tensor, Tensor], Tensor]]


def _ae_stepper(model, config, prior, data, labels, gen, device, P) -> Stepper:
    opt = _optimizer(model.parameters(), config, config.lr, config.momentum)

    def step(xb: Tensor, yb: Tensor) -> Tensor:
        return P["reconstruction"](model, xb, opt, **only_set(kind=config.recon))[None]

    return ("recon",), [opt], step


def _vae_stepper(model, config, prior, data, labels, gen, device, P) -> Stepper:
    opt = _optimizer(model.parameters(), config, config.lr, config.momentum)
    cond_dim = model.decoder.cond_dim
    if cond_dim and (labels.min() < 0 or labels.max() >= cond_dim):
        raise ValueError(f"labels: decoder labels must lie in [0, {cond_dim - 1}], got values in "
                         f"[{int(labels.min())}, {int(labels.max())}]")

    def step(xb: Tensor, yb: Tensor) -> Tensor:
        cond = F.one_hot(yb, cond_dim).float() if cond_dim else None
        rec, kl = P["vae"](model, xb, opt, kind=config.recon, beta=config.beta, decoder_cond=cond,
                           **({"prior": prior} if prior is not None else {}))
        return torch.stack([rec, kl, rec + config.beta * kl])

    return ("recon", "kl", "loss"), [opt], step


def _aae_stepper(model, config, prior, data, labels, gen, device, P) -> Stepper:
    disc_cond_dim = model.discriminator.cond_dim
    dec_cond_dim = model.decoder.cond_dim
    n = len(labels)
    if (disc_cond_dim or dec_cond_dim) and labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {tuple(labels.shape)}")
    if dec_cond_dim and (labels.min() < 0 or labels.max() >= dec_cond_dim):
        raise ValueError(f"labels: decoder labels must lie in [0, {dec_cond_dim - 1}], got values in "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    if disc_cond_dim:
        # -1 (unlabelled) uses the last one-hot slot, so real labels must stay below it.
        top = disc_cond_dim - 1 if bool((labels < 0).any()) else disc_cond_dim
        if labels.min() < -1 or labels.max() >= top:
            raise ValueError(
                f"labels: discriminator labels must lie in [0, {top - 1}] (or be -1 for unlabelled "
                f"examples, which need disc_cond_dim = classes + 1); got values in "
                f"[{int(labels.min())}, {int(labels.max())}]"
            )
    lr = config.lr
    opt_rec = _optimizer(
        [*model.encoder.parameters(), *model.decoder.parameters()], config, lr, config.momentum
    )
    opt_disc = _optimizer(
        model.discriminator.parameters(), config, config.disc_lr or lr, config.adv_momentum,
        config.adv_betas,
    )
    opt_gen = _optimizer(
        model.encoder.parameters(), config, config.gen_lr or lr, config.adv_momentum,
        config.adv_betas,
    )
    minimax = config.generator == "minimax"

    def step(xb: Tensor, yb: Tensor) -> Tensor:
        dcond = F.one_hot(yb, dec_cond_dim).float() if dec_cond_dim else None
        rec = P["reconstruction"](model, xb, opt_rec, **only_set(kind=config.recon, decoder_cond=dcond))
        if disc_cond_dim:
            ccond = _disc_cond(yb, disc_cond_dim)
            real = _prior_for_labels(prior, yb, gen, device)
        else:
            ccond = None
            real = prior.sample(len(xb), generator=gen).to(device)
        d_loss, d_acc = P["discriminator"](model, xb, real, opt_disc, **only_set(disc_cond=ccond))
        g_loss = P["generator"](model, xb, opt_gen, **only_set(disc_cond=ccond, minimax=minimax))
        return torch.stack([rec, d_loss, g_loss, d_acc])

    return ("recon", "disc", "gen", "disc_acc"), [opt_rec, opt_disc, opt_gen], step


def _ssaae_stepper(model, config, prior, data, labels, gen, device, P) -> Stepper:
    k = model.num_classes
    if labels.shape != (len(labels),) or labels.min() < -1 or labels.max() >= k:
        raise ValueError(
            f"semi-supervised labels must be a 1-D tensor of values in [0, {k - 1}] or -1 "
            f"(unlabelled); got shape {tuple(labels.shape)}, values in "
            f"[{int(labels.min())}, {int(labels.max())}]"
        )
    style_prior = prior if prior is not None else GaussianPrior(model.style_dim)
    class_prior = CategoricalPrior(k)
    labelled = torch.nonzero(labels >= 0).flatten()
    lr = config.lr
    opt_rec = _optimizer(
        [*model.encoder.parameters(), *model.decoder.parameters(),
         *([model.cluster_heads] if model.head_dim else [])],
        config, lr, config.momentum,
    )
    discs = [*model.class_discriminator.parameters(), *model.style_discriminator.parameters()]
    opt_disc = _optimizer(discs, config, config.disc_lr or lr, config.adv_momentum, config.adv_betas)
    opt_gen = _optimizer(
        model.encoder.parameters(), config, config.gen_lr or lr, config.adv_momentum,
        config.adv_betas,
    )
    optimizers = [opt_rec, opt_disc, opt_gen]
    opt_class = None
    if len(labelled):
        opt_class = _optimizer(
            model.encoder.parameters(), config, config.class_lr or lr, config.momentum
        )
        optimizers.append(opt_class)
    opt_cons = None
    if config.consistency:  # the course's variant, not the paper's (phases.consistency_phase)
        opt_cons = _optimizer(
            model.encoder.parameters(), config, config.class_lr or lr, config.momentum
        )
        optimizers.append(opt_cons)
    opt_bal = None
    if config.marginal_entropy or config.conditional_entropy:  # the course's variant (phases.entropy_phase)
        opt_bal = _optimizer(
            model.encoder.parameters(), config, config.class_lr or lr, config.momentum
        )
        optimizers.append(opt_bal)
    zero = torch.zeros((), device=device)

    def step(xb: Tensor, yb: Tensor) -> Tensor:
        n = len(xb)
        rec = P["reconstruction"](
            model, xb, opt_rec, kind=config.recon, head_spacing=config.head_spacing
        )
        y_real = class_prior.sample(n, generator=gen).to(device)
        z_real = style_prior.sample(n, generator=gen).to(device)
        d_loss, acc_y, acc_z = P["discriminator"](model, xb, y_real, z_real, opt_disc)
        g_loss = P["generator"](model, xb, opt_gen)
        c_loss = zero
        if opt_class is not None:
            # A labelled mini-batch of the same size, drawn with replacement: with 100 labels
            # every step sees (nearly) all of them, as the paper's classification phase does.
            pick = labelled[torch.randint(len(labelled), (n,), generator=gen).to(device)]
            x_lab = shift_images(  # label_shift 0 (the paper): the images as stored
                data.x[pick], config.label_shift, image_shape=data.image_shape, generator=gen
            )
            c_loss = P["classification"](model, x_lab, labels[pick], opt_class)
        losses = [rec, d_loss, g_loss, acc_y, acc_z, c_loss]
        if opt_cons is not None:
            moved = shift_images(xb, config.consistency_shift, image_shape=data.image_shape,
                                 generator=gen)
            losses.append(P["consistency"](model, xb, moved, opt_cons, weight=config.consistency))
        if opt_bal is not None:
            losses.append(P["entropy"](model, xb, opt_bal, marginal=config.marginal_entropy,
                                       conditional=config.conditional_entropy))
        return torch.stack(losses)

    keys = ("recon", "disc", "gen", "disc_acc_y", "disc_acc_z", "class")
    if opt_cons is not None:
        keys += ("consistency",)
    if opt_bal is not None:
        keys += ("entropy",)
    return keys, optimizers, step


_STEPPERS = {"ae": _ae_stepper, "vae": _vae_stepper, "aae": _aae_stepper, "ssaae": _ssaae_stepper}


_PHASES = {
    ("ae", "recon"): "reconstruction",
    ("aae", "recon"): "reconstruction",
    ("aae", "disc"): "discriminator",
    ("aae", "gen"): "generator",
    ("ssaae", "recon"): "reconstruction",
    ("ssaae", "disc"): "discriminator (both)",
    ("ssaae", "gen"): "generator (both)",
    ("ssaae", "class"): "classification",
    ("ssaae", "consistency"): "consistency (the course's variant)",
    ("ssaae", "entropy"): "entropy terms (the course's variant)",
    ("vae", "recon"): "VAE (reconstruction term)",
    ("vae", "kl"): "VAE (KL term)",
    ("vae", "loss"): "VAE",
}


def _check_finite(per_step: Tensor, keys: tuple[str, ...], kind: str, epoch: int) -> None:
    """Raise, naming the phase, epoch and step, if any loss of the epoch is NaN or infinite."""
    bad = ~torch.isfinite(per_step)
    if not bool(bad.any()):
        return
    step, column = (int(i) for i in torch.nonzero(bad)[0])
    phase = _PHASES.get((kind, keys[column]), keys[column])
    raise FloatingPointError(
        f"training diverged: the {phase} loss became {per_step[step, column].item()} in epoch "
        f"{epoch + 1}, step {step + 1}. Usual remedies: lower the learning rate (lr, disc_lr, "
        "gen_lr), check that the images lie in [0, 1], or check the prior's scale. Nothing was "
        "saved from this epoch."
    )


__all__ = ["History", "ResumeStore", "fit", "resuming"]
