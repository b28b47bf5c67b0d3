r"""One training engine for the autoencoder, the VAE and the adversarial autoencoder.

The AAE's three phases per mini-batch are separate functions so a notebook can show (and
a learner can call) each one:

1. :func:`reconstruction_phase` - encoder and decoder minimise :math:`-\log p(x|z)`.
2. :func:`discriminator_phase` - the discriminator learns to tell prior samples
   :math:`z' \sim p(z)` from codes :math:`z = q(x)`.
3. :func:`generator_phase` - the encoder (the generator) changes its codes so the
   discriminator calls them prior samples.

:func:`fit` loops over epochs and mini-batches and returns a per-epoch history;
:func:`load_or_train` caches the trained weights so a notebook rerun takes seconds.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import __version__
from .config import checkpoint_dir, display_path, seed_everything, show_progress
from .data import ImageData, batches, file_digest, shift_images
from .losses import (
    discriminator_accuracy,
    discriminator_loss,
    gaussian_kl,
    generator_loss,
    minimax_generator_loss,
    reconstruction_loss,
)
from .models import GaussianEncoder, build_model
from .priors import Prior

History = dict[str, list[float]]


@dataclass
class TrainConfig:
    r"""Settings of one training run.

    Attributes:
        epochs: passes over the training data.
        batch_size: examples per mini-batch (the paper: 100).
        lr: learning rate of the reconstruction phase (and of the AE / VAE).
        disc_lr, gen_lr: learning rates of the discriminator and generator phases
            (default: ``lr``).
        optimizer: ``"adam"`` or ``"sgd"`` (SGD with momentum, as in the paper's appendix).
        momentum: SGD momentum of the reconstruction phase.
        adv_momentum: SGD momentum of the two adversarial phases (the paper uses less).
        adv_betas: Adam's betas for the two adversarial phases (GANs often use a lower
            first beta, such as 0.5, so the two players react faster to each other).
        recon: reconstruction loss, ``"bce"`` or ``"mse"``.
        generator: ``"non_saturating"`` (minimise :math:`-\log D(q(x))`) or ``"minimax"``.
        lr_decay: every learning rate falls linearly, epoch by epoch, to this fraction of its
            start value (1.0: constant). Decay lets the adversarial game settle instead of
            oscillating at the end of training.
        beta: weight of the VAE's KL term (1 gives the ELBO).
        seed: seeds shuffling, prior samples and noise, so a run can be repeated.
        class_lr: learning rate of the semi-supervised AAE's classification phase
            (default: ``lr``).
        head_spacing: cluster-head models (``head_dim > 0``) pay
            :math:`\sum_{i<j} \max(0, \eta - \lVert W_i - W_j \rVert)` with
            :math:`\eta` = ``head_spacing`` in the reconstruction phase, so heads stay apart.
        label_shift: the semi-supervised classification phase moves each labelled image by a
            random offset of up to this many pixels (:func:`~aae_utils.data.shift_images`;
            0: as in the paper). Not in the paper: data augmentation of the labelled images.
    """

    epochs: int = 10
    batch_size: int = 100
    lr: float = 1e-3
    disc_lr: float | None = None
    gen_lr: float | None = None
    optimizer: str = "adam"
    momentum: float = 0.9
    adv_momentum: float = 0.1
    adv_betas: tuple[float, float] = (0.9, 0.999)
    recon: str = "bce"
    generator: str = "non_saturating"
    lr_decay: float = 1.0
    beta: float = 1.0
    seed: int = 0
    class_lr: float | None = None
    head_spacing: float = 0.0
    label_shift: int = 0

    #: Added after the first checkpoints were cached; left out of :meth:`to_dict` while they
    #: hold their default, so those checkpoints still match their configs.
    _LATER_FIELDS = {"class_lr": None, "head_spacing": 0.0, "label_shift": 0}

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name in ("lr", "disc_lr", "gen_lr", "class_lr"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        if self.head_spacing < 0:
            raise ValueError(f"head_spacing must be >= 0, got {self.head_spacing!r}")
        shift = self.label_shift
        if not isinstance(shift, int) or isinstance(shift, bool) or not 0 <= shift < 14:
            raise ValueError(f"label_shift must be an int of pixels in [0, 13], got {shift!r}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay!r}")
        if self.optimizer not in {"adam", "sgd"}:
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.recon not in {"bce", "mse"}:
            raise ValueError(f"recon must be 'bce' or 'mse', got {self.recon!r}")
        if self.generator not in {"non_saturating", "minimax"}:
            raise ValueError(
                f"generator must be 'non_saturating' or 'minimax', got {self.generator!r}"
            )

    def to_dict(self) -> dict:
        d = asdict(self)
        for name, default in self._LATER_FIELDS.items():
            if d[name] == default:
                del d[name]
        return d


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


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """Turn off gradients for ``module``'s weights inside the block.

    In the generator phase only the encoder is updated; freezing the discriminator skips
    computing gradients for its weights (about a third of that phase's matrix products).
    """
    flags = [p.requires_grad for p in module.parameters()]
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def _step(opt: torch.optim.Optimizer, loss: Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


# --- the phases ----------------------------------------------------------------------------


def reconstruction_phase(
    model: nn.Module,
    x: Tensor,
    opt: torch.optim.Optimizer,
    *,
    kind: str = "bce",
    decoder_cond: Tensor | None = None,
) -> Tensor:
    r"""Phase 1: update encoder and decoder to minimise :math:`-\log p(x \mid z=q(x))`.

    Works for the plain autoencoder and the AAE (both have ``model.code``).
    Returns the loss (detached; no host synchronisation per step).
    """
    z = model.code(x)
    loss = reconstruction_loss(model.decoder(z, decoder_cond), x, kind)
    _step(opt, loss)
    return loss.detach()


def discriminator_phase(
    model: nn.Module,
    x: Tensor,
    prior_samples: Tensor,
    opt: torch.optim.Optimizer,
    *,
    disc_cond: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    r"""Phase 2: update the discriminator to maximise
    :math:`\log D(z') + \log(1 - D(q(x)))` with :math:`z' \sim p(z)`.

    The codes are computed without gradients: the encoder does not move in this phase.
    Returns ``(loss, accuracy)`` as detached tensors.
    """
    with torch.no_grad():
        fake = model.code(x)
    real_logits, fake_logits = _judge(model.discriminator, prior_samples, fake, disc_cond)
    loss = discriminator_loss(real_logits, fake_logits)
    _step(opt, loss)
    return loss.detach(), discriminator_accuracy(real_logits, fake_logits)


def _judge(
    discriminator: nn.Module, real: Tensor, fake: Tensor, cond: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """The discriminator's logits for prior samples and for codes, in one call.

    One pass over the stacked batch gives the same logits as two passes, but each layer's
    weight gradient is one matrix product instead of two plus a sum: about a quarter off the
    discriminator phase at the paper's size (measured on one CPU thread).
    """
    both = torch.cat([real, fake])
    if cond is not None:
        cond = torch.cat([cond, cond])
    return discriminator(both, cond).split([len(real), len(fake)])


def generator_phase(
    model: nn.Module,
    x: Tensor,
    opt: torch.optim.Optimizer,
    *,
    disc_cond: Tensor | None = None,
    minimax: bool = False,
) -> Tensor:
    r"""Phase 3: update the encoder to minimise :math:`-\log D(q(x))` (non-saturating).

    With ``minimax=True`` it minimises :math:`\log(1 - D(q(x)))` instead. ``opt`` must hold
    only the encoder's parameters; the discriminator is frozen for this phase.
    """
    with frozen(model.discriminator):
        fake_logits = model.discriminator(model.code(x), disc_cond)
        loss = minimax_generator_loss(fake_logits) if minimax else generator_loss(fake_logits)
        _step(opt, loss)
    return loss.detach()


def vae_phase(
    model: nn.Module, x: Tensor, opt: torch.optim.Optimizer, *, kind: str = "bce", beta=1.0,
    decoder_cond: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    r"""One VAE step: minimise the negative ELBO
    :math:`-\mathbb{E}_{q}[\log p(x|z)] + \beta\,KL(q(z|x)\,\|\,N(0,I))`.

    Returns ``(reconstruction, kl)`` as detached tensors.
    """
    mu, logvar = model.encoder(x)
    z = GaussianEncoder.reparameterise(mu, logvar)
    rec = reconstruction_loss(model.decoder(z, decoder_cond), x, kind)
    kl = gaussian_kl(mu, logvar)
    _step(opt, rec + beta * kl)
    return rec.detach(), kl.detach()


# --- the semi-supervised AAE's phases -------------------------------------------------------------


def ss_reconstruction_phase(
    model: nn.Module, x: Tensor, opt: torch.optim.Optimizer, *, kind: str = "bce",
    head_spacing: float = 0.0,
) -> Tensor:
    r"""Phase 1 of the semi-supervised AAE: rebuild :math:`x` from :math:`q(y|x)` and :math:`z`.

    .. math:: \mathcal{L}_{rec} = -\log p\big(x \mid y = \mathrm{softmax}(\ell(x)),\ z = f(x)\big)

    Encoder (both heads) and decoder move. Cluster-head models add :func:`head_penalty`.
    """
    logits, z = model.encoder(x)
    loss = reconstruction_loss(model.decode(F.softmax(logits, 1), z), x, kind)
    total = loss + head_penalty(model.cluster_heads, head_spacing) if head_spacing else loss
    _step(opt, total)
    return loss.detach()


def head_penalty(heads: Tensor, spacing: float) -> Tensor:
    r""":math:`\sum_{i<j} \max(0, \eta - \lVert W_i - W_j \rVert_2)`: zero once every two
    cluster heads are at least :math:`\eta` apart (the paper's Section 7 cost)."""
    dist = torch.cdist(heads, heads)
    i, j = torch.triu_indices(len(heads), len(heads), offset=1, device=heads.device)
    return F.relu(spacing - dist[i, j]).sum()


def ss_discriminator_phase(
    model: nn.Module, x: Tensor, y_prior: Tensor, z_prior: Tensor, opt: torch.optim.Optimizer
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Phase 2a: both discriminators learn, one-hot :math:`y' \sim \mathrm{Cat}(1/K)` and
    :math:`z' \sim N(0, I)` against the encoder's :math:`\mathrm{softmax}(\ell(x))` and
    :math:`f(x)`. ``opt`` holds both discriminators. Returns ``(loss, acc_y, acc_z)``."""
    with torch.no_grad():
        logits, z = model.encoder(x)
    real_y, fake_y = _judge(model.class_discriminator, y_prior, F.softmax(logits, 1))
    real_z, fake_z = _judge(model.style_discriminator, z_prior, z)
    loss = discriminator_loss(real_y, fake_y) + discriminator_loss(real_z, fake_z)
    _step(opt, loss)
    return (
        loss.detach(), discriminator_accuracy(real_y, fake_y), discriminator_accuracy(real_z, fake_z)
    )


def ss_generator_phase(model: nn.Module, x: Tensor, opt: torch.optim.Optimizer) -> Tensor:
    r"""Phase 2b: the encoder makes both its outputs look like prior samples,
    :math:`-\log D_y(\mathrm{softmax}(\ell(x))) - \log D_z(f(x))`. The categorical term is
    what pushes :math:`q(y|x)` toward confident, balanced one-hot answers."""
    with frozen(model.class_discriminator), frozen(model.style_discriminator):
        logits, z = model.encoder(x)
        loss = generator_loss(model.class_discriminator(F.softmax(logits, 1))) + generator_loss(
            model.style_discriminator(z)
        )
        _step(opt, loss)
    return loss.detach()


def classification_phase(
    model: nn.Module, x: Tensor, y: Tensor, opt: torch.optim.Optimizer
) -> Tensor:
    r"""Phase 3: on a labelled mini-batch, minimise the cross-entropy
    :math:`-\log q(y_{true} \mid x)`; only the encoder moves."""
    loss = F.cross_entropy(model.encoder(x)[0], y)
    _step(opt, loss)
    return loss.detach()


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
    resume: ResumeTarget | None = None,
) -> History:
    """Train an AE, VAE, AAE or semi-supervised AAE (by ``model.kind``); return its history.

    Args:
        model: from :func:`aae_utils.models.build_model`.
        data: training images (their device is the training device).
        config: a :class:`TrainConfig`.
        prior: the AAE's prior (required for ``kind="aae"``).
        labels: per-example labels for the conditional AAEs: given to the decoder
            (``decoder_cond_dim > 0``) and/or the discriminator (``disc_cond_dim > 0``);
            ``-1`` marks an unlabelled example. Defaults to ``data.y``. For the
            semi-supervised AAE, the examples with a label (not ``-1``) feed the
            classification phase; all ``-1`` (or ``labels=None``) trains a clustering model.
        callback: called after each epoch as ``callback(epoch, model)``; the numbers it
            returns are added to the history (for example a test error).
        progress: show a progress bar (default: on unless ``AAE_PROGRESS=0``).
        resume: where to keep the state of an unfinished run. Inside
            :func:`load_or_train` this is set for you: after every epoch the state is saved,
            and after an interruption (Ctrl-C, "interrupt kernel") the next call resumes from
            the last complete epoch, with the same result as an uninterrupted run on a CPU.

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
    low, high = float(data.x.min()), float(data.x.max())
    if low < 0 or high > 1:
        raise ValueError(
            f"images must have pixel values in [0, 1] for the reconstruction loss, got values in "
            f"[{low:.3g}, {high:.3g}]; divide 0-255 pixels by 255 (load_dataset does)"
        )
    device = data.device
    model.to(device).train()
    seed_everything(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    if labels is None:
        labels = data.y if kind != "ssaae" else data.y.new_full(data.y.shape, -1)
    labels = labels.to(device)
    keys, optimizers, step = _STEPPERS[kind](model, config, prior, data, labels, gen, device)
    schedulers = [
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
    resume = resume if resume is not None else _take_resume_target()
    first_epoch = 0
    if resume is not None:
        first_epoch = _restore_state(resume, model, optimizers, schedulers, gen, history)
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
            for i, (xb, yb) in enumerate(
                batches(data.x, labels, batch_size=config.batch_size, generator=gen)
            ):
                per_step[i] = step(xb, yb)
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
                model.eval()
                for k, v in callback(epoch, model).items():
                    history.setdefault(k, []).append(float(v))
                model.train()
            bar.set_postfix({k: f"{v:.3g}" for k, v in means.items()})
            if resume is not None:
                _save_state(resume, model, optimizers, schedulers, gen, history, epoch + 1)
    except KeyboardInterrupt:
        bar.close()
        if resume is not None and epoch > 0:
            print(
                f"Interrupted in epoch {epoch + 1}. The state after epoch {epoch} is saved in "
                f"{display_path(resume.path)}: run the same cell again to resume from there."
            )
        elif resume is not None:
            print("Interrupted in epoch 1: no complete epoch to resume from yet.")
        raise
    bar.close()
    model.eval()
    return history


# --- one training step per model kind ---------------------------------------------------------
# Each stepper checks its inputs, builds its optimisers and returns (history keys, optimisers,
# step): step(x_batch, label_batch) runs every phase once and returns that step's losses as a
# tensor (kept on the device). fit() owns everything else: batches, schedules, checks, resume.

Stepper = tuple[tuple[str, ...], list[torch.optim.Optimizer], Callable[[Tensor, Tensor], Tensor]]


def _ae_stepper(model, config, prior, data, labels, gen, device) -> Stepper:
    opt = _optimizer(model.parameters(), config, config.lr, config.momentum)

    def step(xb: Tensor, yb: Tensor) -> Tensor:
        return reconstruction_phase(model, xb, opt, kind=config.recon)[None]

    return ("recon",), [opt], step


def _vae_stepper(model, config, prior, data, labels, gen, device) -> Stepper:
    opt = _optimizer(model.parameters(), config, config.lr, config.momentum)
    cond_dim = model.decoder.cond_dim
    if cond_dim and (labels.min() < 0 or labels.max() >= cond_dim):
        raise ValueError(f"decoder labels must lie in [0, {cond_dim - 1}]")

    def step(xb: Tensor, yb: Tensor) -> Tensor:
        cond = F.one_hot(yb, cond_dim).float() if cond_dim else None
        rec, kl = vae_phase(model, xb, opt, kind=config.recon, beta=config.beta, decoder_cond=cond)
        return torch.stack([rec, kl, rec + config.beta * kl])

    return ("recon", "kl", "loss"), [opt], step


def _aae_stepper(model, config, prior, data, labels, gen, device) -> Stepper:
    disc_cond_dim = model.discriminator.cond_dim
    dec_cond_dim = model.decoder.cond_dim
    n = len(labels)
    if (disc_cond_dim or dec_cond_dim) and labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {tuple(labels.shape)}")
    if dec_cond_dim and (labels.min() < 0 or labels.max() >= dec_cond_dim):
        raise ValueError(f"decoder labels must lie in [0, {dec_cond_dim - 1}]")
    if disc_cond_dim:
        # -1 (unlabelled) uses the last one-hot slot, so real labels must stay below it.
        top = disc_cond_dim - 1 if bool((labels < 0).any()) else disc_cond_dim
        if labels.min() < -1 or labels.max() >= top:
            raise ValueError(
                f"discriminator labels must lie in [0, {top - 1}] (or be -1 for unlabelled "
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
        rec = reconstruction_phase(model, xb, opt_rec, kind=config.recon, decoder_cond=dcond)
        if disc_cond_dim:
            ccond = _disc_cond(yb, disc_cond_dim)
            real = _prior_for_labels(prior, yb, gen, device)
        else:
            ccond = None
            real = prior.sample(len(xb), generator=gen).to(device)
        d_loss, d_acc = discriminator_phase(model, xb, real, opt_disc, disc_cond=ccond)
        g_loss = generator_phase(model, xb, opt_gen, disc_cond=ccond, minimax=minimax)
        return torch.stack([rec, d_loss, g_loss, d_acc])

    return ("recon", "disc", "gen", "disc_acc"), [opt_rec, opt_disc, opt_gen], step


def _ssaae_stepper(model, config, prior, data, labels, gen, device) -> Stepper:
    from .priors import CategoricalPrior, GaussianPrior

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
    zero = torch.zeros((), device=device)

    def step(xb: Tensor, yb: Tensor) -> Tensor:
        n = len(xb)
        rec = ss_reconstruction_phase(
            model, xb, opt_rec, kind=config.recon, head_spacing=config.head_spacing
        )
        y_real = class_prior.sample(n, generator=gen).to(device)
        z_real = style_prior.sample(n, generator=gen).to(device)
        d_loss, acc_y, acc_z = ss_discriminator_phase(model, xb, y_real, z_real, opt_disc)
        g_loss = ss_generator_phase(model, xb, opt_gen)
        c_loss = zero
        if opt_class is not None:
            # A labelled mini-batch of the same size, drawn with replacement: with 100 labels
            # every step sees (nearly) all of them, as the paper's classification phase does.
            pick = labelled[torch.randint(len(labelled), (n,), generator=gen).to(device)]
            x_lab = shift_images(  # label_shift 0 (the paper): the images as stored
                data.x[pick], config.label_shift, image_shape=data.image_shape, generator=gen
            )
            c_loss = classification_phase(model, x_lab, labels[pick], opt_class)
        return torch.stack([rec, d_loss, g_loss, acc_y, acc_z, c_loss])

    keys = ("recon", "disc", "gen", "disc_acc_y", "disc_acc_z", "class")
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


# --- resuming an interrupted run ----------------------------------------------------------------


@dataclass(frozen=True)
class ResumeTarget:
    """Where :func:`fit` keeps the state of an unfinished run, and the config it belongs to."""

    path: Path
    config: dict


_RESUME: contextvars.ContextVar[ResumeTarget | None] = contextvars.ContextVar(
    "aae_resume", default=None
)


def _take_resume_target() -> ResumeTarget | None:
    """The target :func:`load_or_train` set for this training run (used by one ``fit`` only)."""
    target = _RESUME.get()
    _RESUME.set(None)
    return target


def _save_state(target: ResumeTarget, model, optimizers, schedulers, gen, history, epochs_done):
    state = {
        "config": target.config,
        "epochs_done": epochs_done,
        "model": model.state_dict(),
        "optimizers": [o.state_dict() for o in optimizers],
        "schedulers": [s.state_dict() for s in schedulers],
        "generator": gen.get_state(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "history": history,
    }
    _atomic_write(target.path, lambda p: torch.save(state, p))


def _restore_state(target: ResumeTarget, model, optimizers, schedulers, gen, history) -> int:
    """Load a saved unfinished run into the live objects; return how many epochs it had done."""
    if not target.path.exists():
        return 0
    try:
        state = torch.load(target.path, map_location="cpu", weights_only=True)
        if state.get("config") != target.config:
            print(f"Ignoring {display_path(target.path)}: it belongs to another config.")
            return 0
        model.load_state_dict(state["model"])
        for o, s in zip(optimizers, state["optimizers"], strict=True):
            o.load_state_dict(s)
        for sch, s in zip(schedulers, state["schedulers"], strict=True):
            sch.load_state_dict(s)
        gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
    except Exception as err:  # truncated file, other architecture, ...
        print(f"Ignoring {display_path(target.path)}: it could not be loaded ({type(err).__name__}).")
        return 0
    history.clear()
    history.update(state["history"])
    print(f"Resuming after epoch {state['epochs_done']} from {display_path(target.path)}.")
    return int(state["epochs_done"])


# --- checkpoints ----------------------------------------------------------------------------

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _canonical_config(config: dict) -> dict:
    try:
        return json.loads(json.dumps(config, sort_keys=True))
    except TypeError as err:
        raise TypeError(f"config must be JSON-serialisable (dicts, lists, numbers): {err}") from err


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; checkpoints are ordinary files
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: Path, model: nn.Module, config: dict, history: History) -> None:
    """Save weights to ``path`` and a JSON manifest (config, versions, sha256) beside it."""
    import platform

    _atomic_write(path, lambda p: torch.save(model.state_dict(), p))
    manifest = {
        "format": 1,
        "config": _canonical_config(config),
        "history": history,
        "sha256": file_digest(path, "sha256"),
        "aae_utils": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    text = json.dumps(manifest, indent=1)
    _atomic_write(path.with_suffix(".json"), lambda p: p.write_text(text))


def _try_load(path: Path, config: dict, model: nn.Module, device) -> tuple[History | None, str]:
    """Load a checkpoint into ``model`` if it is intact and matches; else say why not."""
    manifest_path = path.with_suffix(".json")
    if not path.exists() or not manifest_path.exists():
        return None, "no checkpoint yet"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None, "its manifest is unreadable"
    if manifest.get("config") != _canonical_config(config):
        return None, "it was trained with a different config"
    if manifest.get("sha256") != file_digest(path, "sha256"):
        return None, "the weights file is corrupt (checksum mismatch)"
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        model.load_state_dict(state)
    except Exception as err:  # truncated file, renamed layer, ...
        return None, f"it could not be loaded ({type(err).__name__})"
    return manifest.get("history", {}), ""


def load_or_train(
    name: str,
    config: dict,
    fn: Callable[[nn.Module], History],
    *,
    build: Callable[[], nn.Module] | None = None,
    device: torch.device | str | None = None,
    directory: str | Path | None = None,
) -> tuple[nn.Module, History]:
    """Reuse the cached model ``name`` if it was trained with ``config``; else train it.

    Args:
        name: file stem of the checkpoint (letters, digits, ``_.-``).
        config: every setting that changes the result, as JSON-like data. Unless ``build`` is
            given it must hold ``config["model"]``, the keyword arguments of
            :func:`~aae_utils.models.build_model`.
        fn: trains a freshly built model in place and returns its history
            (typically ``lambda m: fit(m, data, cfg, prior=prior)``).
        build: makes the untrained model (default: ``build_model(**config["model"])``).
        device: where the returned model lives (default: CPU).
        directory: checkpoint folder (default: :func:`aae_utils.config.checkpoint_dir`).

    The checkpoint is ``<directory>/<name>.pt`` (weights) plus ``<name>.json`` (config,
    history, versions, sha256). Both are written atomically, so an interrupted run never
    leaves a half-written file that would be mistaken for a good one. While ``fn`` trains,
    :func:`fit` keeps ``<name>.partial.pt`` after every epoch; if training is interrupted, the
    next call with the same config resumes from it.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"checkpoint name {name!r} must use only letters, digits, '_', '.', '-'")
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    if build is None:
        if not isinstance(config.get("model"), dict):
            raise ValueError('config needs a "model" dict of build_model() arguments, or pass build=')
        build = lambda: build_model(**config["model"])  # noqa: E731
    device = torch.device(device) if device is not None else torch.device("cpu")
    path = Path(directory) if directory is not None else checkpoint_dir()
    path = path / f"{name}.pt"

    seed_everything(int(config.get("seed", 0)))  # same initial weights on every rerun
    model = build().to(device)
    history, why = _try_load(path, config, model, device)
    if history is not None:
        total = sum(history.get("seconds", []))
        print(
            f"Loaded {name} from {display_path(path)} "
            f"({len(history.get('seconds', []))} epochs, trained in {total:.0f} s)."
        )
        model.eval()
        return model, history
    print(f"Training {name}: {why}.")
    start = time.perf_counter()
    partial = path.with_name(f"{name}.partial.pt")
    token = _RESUME.set(ResumeTarget(partial, _canonical_config(config)))
    try:
        history = fn(model)
    finally:
        _RESUME.reset(token)
    model.eval()
    save_checkpoint(path, model, config, history)
    partial.unlink(missing_ok=True)  # only after the finished checkpoint is safely written
    print(
        f"Trained {name} in {time.perf_counter() - start:.0f} s; saved to {display_path(path)}."
    )
    return model, history
