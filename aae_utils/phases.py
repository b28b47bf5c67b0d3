r"""The training phases, one mini-batch each: what the paper's training loop does, and nothing else.

Every function here takes a model, a mini-batch and the optimiser of the parameters it updates,
takes one gradient step and returns its losses (detached 0-d tensors: no host synchronisation
per step). The loop around them (epochs, shuffling, schedules, guards, resuming) is
:mod:`aae_utils.engine`; saving and reusing trained models is :mod:`aae_utils.checkpoints`.

The adversarial autoencoder (Makhzani et al., 2015, Section 2) trains in two phases per
mini-batch, the second split in two:

1. :func:`reconstruction_phase` - encoder and decoder minimise :math:`-\log p(x \mid z = q(x))`.
2. :func:`discriminator_phase` - the discriminator learns to tell prior samples
   :math:`z' \sim p(z)` from codes :math:`z \sim q(z \mid x)`.
3. :func:`generator_phase` - the encoder (the GAN's generator) moves its codes so that the
   discriminator takes them for prior samples.

:func:`vae_phase` is the VAE's single step (Kingma and Welling, 2014) for comparison; the
``ss_*`` phases and :func:`classification_phase` are the semi-supervised AAE's (Section 5),
also used for clustering (Section 6) and with :func:`head_penalty` for dimensionality
reduction (Section 7).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import inputs
from .losses import (
    discriminator_accuracy,
    discriminator_loss,
    gaussian_kl,
    generator_loss,
    minimax_generator_loss,
    monte_carlo_kl,
    reconstruction_loss,
)


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


def _cond(cond, name: str, net: nn.Module, x) -> Tensor | None:
    """A label condition for ``net`` (built with ``cond_dim``): one-hot rows, or class indices
    turned into them (:func:`aae_utils.inputs.one_hot_or_labels`); None passes through."""
    if cond is None or not net.cond_dim:
        return cond  # the network itself says whether it needs one
    w = next(net.parameters())
    return inputs.one_hot_or_labels(cond, name, classes=net.cond_dim, n=len(x), dtype=w.dtype,
                                    device=w.device)


def _step(opt: torch.optim.Optimizer, loss: Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


# --- the adversarial autoencoder (Section 2) ------------------------------------------------------


def reconstruction_phase(
    model: nn.Module,
    x: Tensor,
    opt: torch.optim.Optimizer,
    *,
    kind: str = "bce",
    decoder_cond: Tensor | None = None,
) -> Tensor:
    r"""Phase 1 (Section 2): encoder and decoder take one step on the reconstruction loss

    .. math:: \mathcal{L}_{rec} = -\mathbb{E}_x\big[\log p(x \mid z = q(x))\big]

    in nats per image (:func:`~aae_utils.losses.reconstruction_loss`). Works for the plain
    autoencoder and the AAE (both have ``model.code``).

    Args:
        model: an ``"ae"`` or ``"aae"`` model of :func:`~aae_utils.models.build_model`.
        x: images ``(B, 784)`` in [0, 1].
        opt: optimiser of the encoder's and the decoder's parameters.
        kind: ``"bce"`` (Bernoulli pixels) or ``"mse"``.
        decoder_cond: the labels for a decoder built with ``cond_dim``: one-hot rows
            ``(B, cond_dim)`` or class indices ``(B,)``.

    Returns:
        The loss, a detached 0-d tensor.
    """
    z = model.code(x)
    decoder_cond = _cond(decoder_cond, "decoder_cond", model.decoder, x)
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
    r"""Phase 2 (Section 2, regularisation): the discriminator takes one step on

    .. math:: \mathcal{L}_D = -\mathbb{E}_{z' \sim p(z)}\big[\log D(z')\big]
                              - \mathbb{E}_x\big[\log\big(1 - D(q(x))\big)\big]

    (:func:`~aae_utils.losses.discriminator_loss`), i.e. it maximises
    :math:`\log D(z') + \log(1 - D(q(x)))`. The codes are computed without gradients: the
    encoder does not move in this phase.

    Args:
        model: an ``"aae"`` model.
        x: images ``(B, 784)``.
        prior_samples: :math:`z' \sim p(z)`, shape ``(B', latent_dim)``.
        opt: optimiser of the discriminator's parameters.
        disc_cond: the labels for a label-conditioned discriminator (Section 2.3), one-hot rows
            ``(B, cond_dim)`` or class indices ``(B,)``; the same rows condition the prior
            samples and the codes.

    Returns:
        ``(loss, accuracy)`` as detached 0-d tensors; accuracy 0.5 means fooled.
    """
    with torch.no_grad():
        fake = model.code(x)
    disc_cond = _cond(disc_cond, "disc_cond", model.discriminator, x)
    real_logits, fake_logits = _judge(model.discriminator, prior_samples, fake, disc_cond,
                                      "prior_samples")
    loss = discriminator_loss(real_logits, fake_logits)
    _step(opt, loss)
    return loss.detach(), discriminator_accuracy(real_logits, fake_logits)


def _judge(
    discriminator: nn.Module, real: Tensor, fake: Tensor, cond: Tensor | None = None,
    name: str = "real",
) -> tuple[Tensor, Tensor]:
    """The discriminator's logits for prior samples and for codes, in one call.

    One pass over the stacked batch gives the same logits as two passes, but each layer's
    weight gradient is one matrix product instead of two plus a sum: about a quarter off the
    discriminator phase at the paper's size (measured on one CPU thread).
    """
    real = inputs.codes(real, name, dim=fake.shape[1], dtype=fake.dtype, device=fake.device)
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
    r"""Phase 3 (Section 2, regularisation): the encoder takes one step on the non-saturating
    generator loss

    .. math:: \mathcal{L}_G = -\mathbb{E}_x\big[\log D(q(x))\big]

    (:func:`~aae_utils.losses.generator_loss`), or with ``minimax=True`` on
    :math:`\mathbb{E}_x[\log(1 - D(q(x)))]`. The discriminator is frozen for this phase.

    Args:
        model: an ``"aae"`` model.
        x: images ``(B, 784)``.
        opt: optimiser of the encoder's parameters only.
        disc_cond: as for :func:`discriminator_phase`.
        minimax: use the minimax form instead of the non-saturating one.

    Returns:
        The loss, a detached 0-d tensor.
    """
    disc_cond = _cond(disc_cond, "disc_cond", model.discriminator, x)
    with frozen(model.discriminator):
        fake_logits = model.discriminator(model.code(x), disc_cond)
        loss = minimax_generator_loss(fake_logits) if minimax else generator_loss(fake_logits)
        _step(opt, loss)
    return loss.detach()


def vae_phase(
    model: nn.Module, x: Tensor, opt: torch.optim.Optimizer, *, kind: str = "bce", beta=1.0,
    decoder_cond: Tensor | None = None, prior=None,
) -> tuple[Tensor, Tensor]:
    r"""One VAE step (Kingma and Welling, 2014): minimise the negative ELBO

    .. math:: -\mathbb{E}_{q(z|x)}\big[\log p(x|z)\big]
              + \beta\,KL\big(q(z|x)\,\|\,p(z)\big)

    with one reparameterised sample :math:`z = \mu + \sigma \odot \epsilon`, both terms in
    nats per image. For :math:`p = N(0, I)` (``prior`` None or the standard Gaussian) the KL is
    the closed form (:func:`~aae_utils.losses.gaussian_kl`); for any other prior with a density
    it is the one-sample estimate :math:`\log q(z|x) - \log p(z)` at the same sample
    (:func:`~aae_utils.losses.monte_carlo_kl`), which needs ``prior.log_prob``.

    Returns:
        ``(reconstruction, kl)`` as detached 0-d tensors.
    """
    mu, logvar = model.encoder(x)
    eps = torch.randn_like(mu)
    z = mu + torch.exp(0.5 * logvar) * eps
    decoder_cond = _cond(decoder_cond, "decoder_cond", model.decoder, x)
    rec = reconstruction_loss(model.decoder(z, decoder_cond), x, kind)
    if _standard_normal(prior):
        kl = gaussian_kl(mu, logvar)
    else:
        kl = monte_carlo_kl(mu, logvar, eps, prior.log_prob)
    _step(opt, rec + beta * kl)
    return rec.detach(), kl.detach()


def _standard_normal(prior) -> bool:
    from .priors import GaussianPrior

    return prior is None or (isinstance(prior, GaussianPrior) and float(prior.std) == 1.0)


# --- the semi-supervised AAE (Sections 5-7) --------------------------------------------------------


def ss_reconstruction_phase(
    model: nn.Module, x: Tensor, opt: torch.optim.Optimizer, *, kind: str = "bce",
    head_spacing: float = 0.0,
) -> Tensor:
    r"""Phase 1 of the semi-supervised AAE (Section 5): rebuild :math:`x` from :math:`q(y|x)`
    and the style :math:`z`.

    .. math:: \mathcal{L}_{rec} = -\log p\big(x \mid y = \mathrm{softmax}(\ell(x)),\ z = f(x)\big)

    Encoder (both heads) and decoder move. Cluster-head models (Section 7) add
    :func:`head_penalty` with :math:`\eta` = ``head_spacing``.

    Returns:
        The reconstruction loss (without the penalty), a detached 0-d tensor.
    """
    logits, z = model.encoder(x)
    loss = reconstruction_loss(model.decode(F.softmax(logits, 1), z), x, kind)
    total = loss + head_penalty(model.cluster_heads, head_spacing) if head_spacing else loss
    _step(opt, total)
    return loss.detach()


def head_penalty(heads: Tensor, spacing: float) -> Tensor:
    r""":math:`\sum_{i<j} \max(0, \eta - \lVert W_i - W_j \rVert_2)`: zero once every two
    cluster heads (rows of ``heads``, shape ``(K, head_dim)``) are at least
    :math:`\eta` = ``spacing`` apart (the paper's Section 7 cost)."""
    heads = inputs.codes(heads, "heads", dtype=heads.dtype if isinstance(heads, Tensor)
                         and heads.is_floating_point() else torch.float32)
    dist = torch.cdist(heads, heads)
    i, j = torch.triu_indices(len(heads), len(heads), offset=1, device=heads.device)
    return F.relu(spacing - dist[i, j]).sum()


def ss_discriminator_phase(
    model: nn.Module, x: Tensor, y_prior: Tensor, z_prior: Tensor, opt: torch.optim.Optimizer
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Phase 2a (Section 5, regularisation): both discriminators take one step,

    .. math:: \mathcal{L}_D = \mathcal{L}_{D_y}\big(y',\ \mathrm{softmax}(\ell(x))\big)
                              + \mathcal{L}_{D_z}\big(z',\ f(x)\big)

    with one-hot :math:`y' \sim \mathrm{Cat}(1/K)` (``y_prior``, ``(B, K)``) and
    :math:`z' \sim N(0, I)` (``z_prior``, ``(B, style_dim)``) as the real samples; each term is
    :func:`~aae_utils.losses.discriminator_loss`. ``opt`` holds both discriminators.

    Returns:
        ``(loss, acc_y, acc_z)`` as detached 0-d tensors.
    """
    with torch.no_grad():
        logits, z = model.encoder(x)
    real_y, fake_y = _judge(model.class_discriminator, y_prior, F.softmax(logits, 1), name="y_prior")
    real_z, fake_z = _judge(model.style_discriminator, z_prior, z, name="z_prior")
    loss = discriminator_loss(real_y, fake_y) + discriminator_loss(real_z, fake_z)
    _step(opt, loss)
    return (
        loss.detach(), discriminator_accuracy(real_y, fake_y), discriminator_accuracy(real_z, fake_z)
    )


def ss_generator_phase(model: nn.Module, x: Tensor, opt: torch.optim.Optimizer) -> Tensor:
    r"""Phase 2b (Section 5, regularisation): the encoder makes both its outputs look like
    prior samples,

    .. math:: \mathcal{L}_G = -\log D_y\big(\mathrm{softmax}(\ell(x))\big) - \log D_z\big(f(x)\big)

    The categorical term is what pushes :math:`q(y|x)` toward confident, balanced one-hot
    answers. Both discriminators are frozen; ``opt`` holds the encoder's parameters.

    Returns:
        The loss, a detached 0-d tensor.
    """
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
    r"""Phase 3 (Section 5, semi-supervised classification): on a labelled mini-batch, one
    step on the cross-entropy

    .. math:: \mathcal{L}_{class} = -\mathbb{E}_{(x, y)}\big[\log q(y \mid x)\big]

    Only the encoder moves. ``y`` holds class indices ``(B,)`` in ``[0, num_classes - 1]``
    (int32 and NumPy arrays are converted; -1, "unlabelled", is refused: pass labelled images).

    Returns:
        The loss, a detached 0-d tensor.
    """
    logits = model.encoder(x)[0]
    y = inputs.labels(y, "y", classes=logits.shape[1], n=len(logits), device=logits.device)
    loss = F.cross_entropy(logits, y)
    _step(opt, loss)
    return loss.detach()


def consistency_phase(
    model: nn.Module, x: Tensor, x_moved: Tensor, opt: torch.optim.Optimizer, weight: float = 1.0
) -> Tensor:
    r"""**Not in the paper**: a consistency term on :math:`q(y|x)`, this course's marked variant
    (``TrainConfig(consistency=...)``). One step on the agreement between each image's answer
    and the answer for a moved copy :math:`x'` of it (``x_moved``, e.g. by
    :func:`~aae_utils.data.shift_images`),

    .. math:: \mathcal{L}_{cons} = w\, \mathrm{KL}\big(q(y \mid x)\ \Vert\ q(y \mid x')\big),

    with :math:`q(y|x)` held fixed as the target, as in the Pi-model and virtual adversarial
    training (Laine and Aila, 2017; Miyato et al., 2018): unlabelled images then teach the
    classifier that a digit moved by a pixel or two is the same digit. ``x``, ``x_moved``:
    ``(B, 784)`` images; only the encoder moves.

    Returns:
        The loss, a detached 0-d tensor (nats, times ``weight``).
    """
    w = next(model.encoder.parameters())
    x_moved = inputs.images(x_moved, "x_moved", dim=model.encoder.in_dim, dtype=w.dtype,
                            device=w.device)
    with torch.no_grad():
        target = F.softmax(model.encoder(x)[0], 1)
    log_q = F.log_softmax(model.encoder(x_moved)[0], 1)
    loss = weight * F.kl_div(log_q, target, reduction="batchmean")
    _step(opt, loss)
    return loss.detach()


def entropy_phase(model: nn.Module, x: Tensor, opt: torch.optim.Optimizer, marginal: float = 1.0,
                  conditional: float = 0.0) -> Tensor:
    r"""**Not in the paper**: the two entropy terms of IMSAT (Hu et al., 2017, Eq. 7), this
    course's marked variant (``TrainConfig(marginal_entropy=..., conditional_entropy=...)``).
    One step on

    .. math:: \mathcal{L}_{H} = w_m\,\big(\log K - H(\bar q)\big)
        + w_c\,\frac1B \sum_b H\big(q(y \mid x_b)\big), \qquad
        \bar q = \frac1B \sum_b q(y \mid x_b),

    with :math:`H(p) = -\sum_k p_k \log p_k`. The first term is 0 when the mini-batch uses the
    :math:`K` clusters equally and :math:`w_m \log K` when it puts every image in one: a
    cluster the encoder stopped using is pulled back into use. The second asks each answer to
    be confident. Together they maximise the mutual information between image and cluster; the
    first alone is also maximal when every answer is uniform, which the second rules out. The
    categorical discriminator asks for both only through samples (a one-hot draw from a uniform
    prior). ``x``: ``(B, 784)`` images; only the encoder moves.

    Returns:
        The loss, a detached 0-d tensor (nats, weighted).
    """
    w = next(model.encoder.parameters())
    x = inputs.images(x, "x", dim=model.encoder.in_dim, dtype=w.dtype, device=w.device)
    log_q = F.log_softmax(model.encoder(x)[0], 1)
    q = log_q.exp()
    q_bar = q.mean(0)
    marginal_h = -(q_bar * torch.log(q_bar.clamp_min(1e-12))).sum()
    conditional_h = -(q * log_q).sum(1).mean()
    loss = marginal * (math.log(q_bar.numel()) - marginal_h) + conditional * conditional_h
    _step(opt, loss)
    return loss.detach()


# --- which phases each model runs ------------------------------------------------------------

#: The phases each kind of model runs per mini-batch, by the name ``fit(phases=...)`` uses.
PHASE_NAMES = {
    "ae": {"reconstruction": reconstruction_phase},
    "vae": {"vae": vae_phase},
    "aae": {"reconstruction": reconstruction_phase, "discriminator": discriminator_phase,
            "generator": generator_phase},
    "ssaae": {"reconstruction": ss_reconstruction_phase, "discriminator": ss_discriminator_phase,
              "generator": ss_generator_phase, "classification": classification_phase,
              # The course's variants, run only when their TrainConfig weight is above 0:
              "consistency": consistency_phase, "entropy": entropy_phase}
}


def choose_phases(kind: str, phases: dict[str, Callable] | None) -> dict[str, Callable]:
    """The library's phases for ``kind`` with the ones named in ``phases`` replaced (how a
    notebook trains with the learner's own phase). Raises ValueError for an unknown name."""
    chosen = dict(PHASE_NAMES[kind])
    for name, fn in (phases or {}).items():
        if name not in chosen or not callable(fn):
            raise ValueError(f"phases: a {kind!r} model runs {sorted(chosen)}; got {name!r}: "
                             f"{fn!r} (a function with the signature of the phase it replaces "
                             "in aae_utils.phases)")
        chosen[name] = fn
    return chosen


def only_set(**kwargs) -> dict:
    """The keyword arguments that differ from a phase's defaults: a learner's phase written
    without the options (labels, minimax) still runs the plain model."""
    return {k: v for k, v in kwargs.items()
            if not (v is None or v is False or (isinstance(v, str) and v == "bce"))}
