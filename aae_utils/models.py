"""The paper's networks: MLP encoders, decoders and discriminators.

Makhzani et al. (2015) use fully connected networks with two hidden layers of 1000 ReLU
units for the encoder, the decoder and the discriminator, a linear code layer and a sigmoid
output for MNIST pixels. Every width here is configurable so notebooks can train smaller
versions on a laptop CPU.

The decoder returns *logits*; ``torch.sigmoid(logits)`` are the pixel probabilities. Working
with logits lets the loss use the numerically stable ``binary_cross_entropy_with_logits``.
The discriminator also returns a logit: :math:`D(z) = \\sigma(\\text{logit})`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import inputs

PAPER_HIDDEN = (1000, 1000)


def mlp(sizes: Sequence[int], final_activation: nn.Module | None = None) -> nn.Sequential:
    """Linear layers of the given ``sizes`` with ReLU between them (none after the last)."""
    sizes = list(sizes)
    if len(sizes) < 2 or any(not isinstance(s, int) or s <= 0 for s in sizes):
        raise ValueError(f"mlp sizes must be at least two positive ints, got {sizes}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if final_activation is not None:
        layers.append(final_activation)
    return nn.Sequential(*layers)


def _weights(module: nn.Module) -> dict:
    """dtype and device of ``module``'s weights: what its inputs are converted to."""
    w = next(module.parameters())
    return {"dtype": w.dtype, "device": w.device}


def _append_cond(z: Tensor, cond, cond_dim: int, owner: str) -> Tensor:
    """``[z, cond]`` for a network built with ``cond_dim > 0``; ``z`` unchanged otherwise.

    ``cond`` is one-hot rows ``(N, cond_dim)`` or class indices ``(N,)`` (turned into one-hot)."""
    if cond_dim:
        if cond is None:
            raise ValueError(
                f"this {owner} needs cond: one-hot labels of shape (N, {cond_dim}) or class indices "
                f"of shape (N,) in [0, {cond_dim - 1}]"
            )
        cond = inputs.one_hot_or_labels(cond, "cond", classes=cond_dim, n=len(z), dtype=z.dtype,
                                        device=z.device)
        return torch.cat([z, cond], dim=1)
    if cond is not None:
        raise ValueError(f"this {owner} was built with cond_dim=0, so it takes no cond; drop it")
    return z


def _check_noise(std: float, what: str) -> None:
    if std < 0:
        raise ValueError(f"{what} must be >= 0, got {std}")


def _train_noise(module: nn.Module, x: Tensor, std: float) -> Tensor:
    """``x`` plus Gaussian noise of std ``std`` while ``module`` trains; ``x`` in eval mode."""
    return x + std * torch.randn_like(x) if module.training and std > 0 else x


class Encoder(nn.Module):
    """Deterministic encoder :math:`z = f_\\phi(x)`: the AAE's generator of codes."""

    def __init__(
        self, in_dim: int = 784, latent_dim: int = 8, hidden: Sequence[int] = PAPER_HIDDEN
    ) -> None:
        super().__init__()
        self.in_dim, self.latent_dim = in_dim, latent_dim
        self.net = mlp([in_dim, *hidden, latent_dim])

    def forward(self, x: Tensor) -> Tensor:
        """Codes ``(N, latent_dim)`` of images ``x`` (``(N, in_dim)``; see :mod:`aae_utils.inputs`
        for the other shapes and types accepted)."""
        return self.net(inputs.images(x, "x", dim=self.in_dim, **_weights(self)))


class GaussianEncoder(nn.Module):
    """Encoder of a diagonal Gaussian :math:`q_\\phi(z|x) = N(\\mu(x), \\mathrm{diag}\\,\\sigma^2(x))`.

    Shared hidden layers feed two linear heads, the mean and the log-variance (the log keeps
    :math:`\\sigma^2` positive without a constraint). Used by the VAE and by the AAE's
    "Gaussian posterior" variant.
    """

    def __init__(
        self, in_dim: int = 784, latent_dim: int = 8, hidden: Sequence[int] = PAPER_HIDDEN
    ) -> None:
        super().__init__()
        self.in_dim, self.latent_dim = in_dim, latent_dim
        self.body = mlp([in_dim, *hidden])
        self.body.append(nn.ReLU())
        self.mean = nn.Linear(hidden[-1], latent_dim)
        self.logvar = nn.Linear(hidden[-1], latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(mu, logvar)``, each of shape ``(N, latent_dim)``, for images ``x``
        ``(N, in_dim)`` (see :mod:`aae_utils.inputs`)."""
        h = self.body(inputs.images(x, "x", dim=self.in_dim, **_weights(self)))
        return self.mean(h), self.logvar(h)

    @staticmethod
    def reparameterise(mu: Tensor, logvar: Tensor) -> Tensor:
        """:math:`z = \\mu + \\sigma \\odot \\epsilon`, :math:`\\epsilon \\sim N(0, I)`.

        The noise is outside the network, so gradients flow to mu and logvar. Both have shape
        ``(N, latent_dim)``.
        """
        mu, logvar = inputs.codes(mu, "mu"), inputs.codes(logvar, "logvar")
        if mu.shape != logvar.shape:
            raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and "
                             f"{tuple(logvar.shape)}")
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


class Decoder(nn.Module):
    """Decoder :math:`p_\\theta(x|z)`: code (plus an optional one-hot label) to pixel logits."""

    def __init__(
        self,
        latent_dim: int = 8,
        out_dim: int = 784,
        hidden: Sequence[int] = PAPER_HIDDEN,
        cond_dim: int = 0,
    ) -> None:
        super().__init__()
        self.latent_dim, self.out_dim, self.cond_dim = latent_dim, out_dim, cond_dim
        self.net = mlp([latent_dim + cond_dim, *reversed(list(hidden)), out_dim])

    def forward(self, z: Tensor, cond: Tensor | None = None) -> Tensor:
        """Pixel logits ``(N, out_dim)`` for codes ``z`` ``(N, latent_dim)``; when ``cond_dim > 0``,
        ``cond`` is the label as one-hot rows ``(N, cond_dim)`` or class indices ``(N,)``."""
        z = inputs.codes(z, "z", dim=self.latent_dim, **_weights(self))
        return self.net(_append_cond(z, cond, self.cond_dim, "Decoder"))

    @torch.no_grad()
    def images(self, z: Tensor, cond: Tensor | None = None) -> Tensor:
        """Pixel probabilities in [0, 1] (no gradients): what a figure shows."""
        return torch.sigmoid(self(z, cond))


class Discriminator(nn.Module):
    """Discriminator :math:`D_\\psi(z)`: the logit that ``z`` came from the prior.

    Args:
        latent_dim: size of the codes it judges.
        hidden: hidden widths (the paper: two layers of 1000).
        cond_dim: size of a one-hot label appended to ``z`` (label-regularised priors).
        input_noise: std of Gaussian noise added to the input while training; reimplementations
            report that it stabilises training.
    """

    def __init__(
        self,
        latent_dim: int = 8,
        hidden: Sequence[int] = PAPER_HIDDEN,
        cond_dim: int = 0,
        input_noise: float = 0.0,
    ) -> None:
        super().__init__()
        _check_noise(input_noise, "input_noise")
        self.latent_dim, self.cond_dim, self.input_noise = latent_dim, cond_dim, input_noise
        self.net = mlp([latent_dim + cond_dim, *hidden, 1])

    def forward(self, z: Tensor, cond: Tensor | None = None) -> Tensor:
        """Logits of shape ``(N,)`` for codes ``z`` ``(N, latent_dim)``; ``cond`` as for
        :meth:`Decoder.forward` (-1 has no slot here: map "unlabelled" to a slot of its own)."""
        z = inputs.codes(z, "z", dim=self.latent_dim, **_weights(self))
        z = _train_noise(self, z, self.input_noise)
        return self.net(_append_cond(z, cond, self.cond_dim, "Discriminator")).squeeze(1)


class Autoencoder(nn.Module):
    """Plain autoencoder: ``encoder`` then ``decoder``; nothing shapes the code space."""

    kind = "ae"

    def __init__(self, in_dim: int = 784, latent_dim: int = 2, hidden=PAPER_HIDDEN) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(in_dim, latent_dim, hidden)
        self.decoder = Decoder(latent_dim, in_dim, hidden)

    def code(self, x: Tensor) -> Tensor:
        """The code z = f(x), with gradients (what training uses)."""
        return self.encoder(x)

    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        """Codes for a batch of images, without gradients (for plots)."""
        return self.encoder(x)


class VAE(nn.Module):
    """Variational autoencoder: Gaussian encoder, reparameterised sample, decoder."""

    kind = "vae"

    def __init__(
        self, in_dim: int = 784, latent_dim: int = 2, hidden=PAPER_HIDDEN, decoder_cond_dim: int = 0
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = GaussianEncoder(in_dim, latent_dim, hidden)
        # decoder_cond_dim > 0: the label goes to the decoder (a conditional VAE, notebook 05)
        self.decoder = Decoder(latent_dim, in_dim, hidden, cond_dim=decoder_cond_dim)

    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        """Posterior means :math:`\\mu(x)` (the usual point to plot for a VAE)."""
        return self.encoder(x)[0]


class AdversarialAutoencoder(nn.Module):
    """Autoencoder whose codes a discriminator pushes toward a prior.

    Args:
        in_dim, latent_dim, hidden: as for :class:`Autoencoder`.
        disc_hidden: the discriminator's hidden widths (defaults to ``hidden``).
        posterior: ``"deterministic"`` (z = f(x)) or ``"gaussian"`` (reparameterised sample
            from N(mu(x), sigma(x)^2)); the paper's first two choices.
        disc_cond_dim: one-hot label size given to the discriminator (label-regularised prior;
            use ``num_classes + 1`` to leave room for a "no label" entry).
        decoder_cond_dim: one-hot label size given to the decoder (supervised AAE).
        input_noise: Gaussian noise std on the discriminator's inputs while training.
    """

    kind = "aae"

    def __init__(
        self,
        in_dim: int = 784,
        latent_dim: int = 2,
        hidden: Sequence[int] = PAPER_HIDDEN,
        disc_hidden: Sequence[int] | None = None,
        posterior: str = "deterministic",
        disc_cond_dim: int = 0,
        decoder_cond_dim: int = 0,
        input_noise: float = 0.0,
    ) -> None:
        super().__init__()
        if posterior not in {"deterministic", "gaussian"}:
            raise ValueError(
                f"posterior must be 'deterministic' or 'gaussian', got {posterior!r}"
            )
        self.latent_dim, self.posterior = latent_dim, posterior
        self.encoder: nn.Module = (
            Encoder(in_dim, latent_dim, hidden)
            if posterior == "deterministic"
            else GaussianEncoder(in_dim, latent_dim, hidden)
        )
        self.decoder = Decoder(latent_dim, in_dim, hidden, cond_dim=decoder_cond_dim)
        self.discriminator = Discriminator(
            latent_dim, disc_hidden if disc_hidden is not None else hidden,
            cond_dim=disc_cond_dim, input_noise=input_noise,
        )

    def code(self, x: Tensor) -> Tensor:
        """A code z ~ q(z|x), with gradients: the generator's output."""
        if self.posterior == "gaussian":
            mu, logvar = self.encoder(x)
            return GaussianEncoder.reparameterise(mu, logvar)
        return self.encoder(x)

    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        """Codes for plotting: z = f(x), or the posterior mean for the Gaussian posterior."""
        out = self.encoder(x)
        return out[0] if self.posterior == "gaussian" else out


class CategoricalStyleEncoder(nn.Module):
    r"""Encoder of the semi-supervised AAE: shared hidden layers, then two heads.

    * ``class_head``: logits of :math:`q(y|x)`, a softmax over ``num_classes`` (the digit, or
      a cluster when no labels are used);
    * ``style_head``: the style code :math:`z` (everything about the image except its class).

    ``input_noise`` adds Gaussian noise of that std to the pixels while training: a classifier
    trained on few labels then has to give the same answer for slightly different images.
    ``dropout`` zeroes that fraction of hidden units while training, for the same reason;
    ``input_dropout`` that fraction of the input pixels (the clustering regulariser reimplementations
    quote from the paper's appendix: 0.2 on the input only).
    """

    def __init__(
        self,
        in_dim: int = 784,
        num_classes: int = 10,
        style_dim: int = 10,
        hidden: Sequence[int] = PAPER_HIDDEN,
        input_noise: float = 0.0,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _check_noise(input_noise, "encoder input_noise")
        for name, rate in (("encoder dropout", dropout), ("encoder input_dropout", input_dropout)):
            if not 0 <= rate < 1:
                raise ValueError(f"{name} must be in [0, 1), got {rate}")
        self.in_dim, self.input_noise = in_dim, input_noise
        layers: list[nn.Module] = [nn.Dropout(input_dropout)] if input_dropout else []
        for a, b in zip([in_dim, *hidden[:-1]], hidden, strict=True):
            layers += [nn.Linear(a, b), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
        self.body = nn.Sequential(*layers)
        self.class_head = nn.Linear(hidden[-1], num_classes)
        self.style_head = nn.Linear(hidden[-1], style_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(class_logits, style)`` of shapes ``(N, num_classes)`` and ``(N, style_dim)``
        for images ``x`` ``(N, in_dim)`` (see :mod:`aae_utils.inputs`)."""
        x = inputs.images(x, "x", dim=self.in_dim, **_weights(self))
        h = self.body(_train_noise(self, x, self.input_noise))
        return self.class_head(h), self.style_head(h)


class SemiSupervisedAAE(nn.Module):
    r"""The paper's semi-supervised AAE (Section 5), also used for clustering (Section 6).

    The encoder gives a class distribution :math:`q(y|x)` (softmax) and a style code
    :math:`z`; the decoder rebuilds :math:`x` from both. Two discriminators push the
    aggregated :math:`q(y)` toward a categorical prior (one-hot vectors) and :math:`q(z)`
    toward :math:`N(0, I)`. With ``head_dim > 0`` the decoder instead gets the 2-D (or
    ``head_dim``-D) point :math:`W_C\,y + z` with learned cluster heads :math:`W_C` (the
    paper's dimensionality reduction, Section 7); ``style_dim`` must then equal ``head_dim``.

    Args:
        num_classes: size of the categorical head (10 digits, or e.g. 16/30 clusters).
        style_dim: size of the style code.
        hidden, disc_hidden: hidden widths of encoder/decoder and of both discriminators.
        input_noise: noise std on both discriminators' inputs while training.
        encoder_noise: noise std on the encoder's input pixels while training.
        encoder_dropout: dropout rate on the encoder's hidden units while training.
        encoder_input_dropout: dropout rate on the encoder's input pixels while training.
        init_std: draw every weight from :math:`N(0, \text{init\_std}^2)` and set biases to 0
            (reimplementations quote 0.01 from the paper's appendix); None: torch's default.
        head_dim: 0 (decoder gets ``[z, y]``) or the size of the cluster-head representation.
    """

    kind = "ssaae"

    def __init__(
        self,
        in_dim: int = 784,
        num_classes: int = 10,
        style_dim: int = 10,
        hidden: Sequence[int] = PAPER_HIDDEN,
        disc_hidden: Sequence[int] | None = None,
        input_noise: float = 0.0,
        encoder_noise: float = 0.0,
        encoder_dropout: float = 0.0,
        encoder_input_dropout: float = 0.0,
        init_std: float | None = None,
        head_dim: int = 0,
    ) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        if head_dim and head_dim != style_dim:
            raise ValueError(
                f"with cluster heads style_dim must equal head_dim ({head_dim}), got {style_dim}"
            )
        self.num_classes, self.style_dim, self.head_dim = num_classes, style_dim, head_dim
        self.latent_dim = style_dim
        self.encoder = CategoricalStyleEncoder(
            in_dim, num_classes, style_dim, hidden, encoder_noise, encoder_dropout,
            encoder_input_dropout,
        )
        disc_hidden = disc_hidden if disc_hidden is not None else hidden
        if head_dim:
            self.cluster_heads = nn.Parameter(torch.randn(num_classes, head_dim))
            self.decoder = Decoder(head_dim, in_dim, hidden)
        else:
            self.decoder = Decoder(style_dim, in_dim, hidden, cond_dim=num_classes)
        self.class_discriminator = Discriminator(num_classes, disc_hidden, input_noise=input_noise)
        self.style_discriminator = Discriminator(style_dim, disc_hidden, input_noise=input_noise)
        if init_std is not None:
            if not init_std > 0:
                raise ValueError(f"init_std must be a positive std (or None), got {init_std!r}")
            for layer in self.modules():
                if isinstance(layer, nn.Linear):
                    nn.init.normal_(layer.weight, 0.0, init_std)
                    nn.init.zeros_(layer.bias)

    def decode(self, y: Tensor, z: Tensor) -> Tensor:
        """Pixel logits ``(N, in_dim)`` from the class ``y`` and the style ``z`` ``(N, style_dim)``.

        ``y`` is class probabilities or one-hot rows ``(N, num_classes)``, or class indices
        ``(N,)`` in ``[0, num_classes - 1]`` (turned into one-hot rows).
        """
        z = inputs.codes(z, "z", dim=self.style_dim, **_weights(self))
        y = inputs.one_hot_or_labels(y, "y", classes=self.num_classes, n=len(z), dtype=z.dtype,
                                     device=z.device)
        if self.head_dim:
            return self.decoder(y @ self.cluster_heads + z)
        return self.decoder(z, y)

    @torch.no_grad()
    def images(self, y: Tensor, z: Tensor) -> Tensor:
        """Pixel probabilities in [0, 1] for class ``y`` and style ``z`` (as for :meth:`decode`)."""
        return torch.sigmoid(self.decode(y, z))

    @torch.no_grad()
    def evaluate(self, x: Tensor, batch_size: int = 2000) -> tuple[Tensor, Tensor]:
        """``(q(y|x), z)`` for every image of ``x`` (``(N, in_dim)``, see :mod:`aae_utils.inputs`)
        in batches (no gradients, no input noise or dropout; the model's training mode is restored
        afterwards). Shapes ``(N, num_classes)`` and ``(N, style_dim)``."""
        x = inputs.images(x, "x", dim=self.encoder.in_dim, **_weights(self))
        was = self.training
        self.eval()
        with inputs.trusted():  # checked as a whole above
            outs = [self.encoder(xb) for xb in x.split(batch_size)]
        self.train(was)
        return torch.cat([F.softmax(o[0], 1) for o in outs]), torch.cat([o[1] for o in outs])

    def predict_proba(self, x: Tensor, batch_size: int = 2000) -> Tensor:
        """:math:`q(y|x)` for every image (batched, no gradients, no input noise)."""
        return self.evaluate(x, batch_size)[0]

    def classify(self, x: Tensor) -> Tensor:
        r"""The predicted class (or cluster) of every image: :math:`\arg\max_y q(y|x)`."""
        return self.predict_proba(x).argmax(1)

    def encode(self, x: Tensor) -> Tensor:
        """Style codes :math:`z` (batched, no gradients, no input noise)."""
        return self.evaluate(x)[1]

    def representation(self, x: Tensor) -> Tensor:
        r"""The point the decoder sees, :math:`W_C\,y + z` (models with ``head_dim > 0``)."""
        if not self.head_dim:
            raise ValueError("representation() needs a model built with head_dim > 0")
        proba, z = self.evaluate(x)
        return proba @ self.cluster_heads.detach() + z

MODELS = {"ae": Autoencoder, "vae": VAE, "aae": AdversarialAutoencoder, "ssaae": SemiSupervisedAAE}


def build_model(kind: str, **kwargs) -> nn.Module:
    """Build a model by name (``"ae"``, ``"vae"``, ``"aae"``, ``"ssaae"``) from keyword arguments.

    Checkpoints store these arguments, so ``build_model(**checkpoint_config["model"])``
    rebuilds the same architecture before loading the weights.

    Raises:
        ValueError: an unknown kind, a setting the kind does not have, or a value it cannot take
            (:func:`aae_utils.settings.check_model_settings`), naming the setting.
    """
    from .settings import check_model_settings

    settings = check_model_settings(kind, kwargs)  # an unknown kind is refused here, by name
    return MODELS[kind](**settings)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
