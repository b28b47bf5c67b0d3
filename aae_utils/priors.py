"""Priors p(z) for the adversarial regulariser.

An AAE only needs to *sample* its prior: the discriminator learns to tell prior samples from
codes. A VAE needs the prior's density ``log p(z)``: in closed form for the KL to N(0, I), or in
a Monte-Carlo estimate of the KL for any other prior with a density, such as the mixture
(:func:`aae_utils.losses.monte_carlo_kl`). A swiss roll without noise lives on a curve and has
no density at all; an AAE uses it all the same. ``log_prob`` is given where the density is
known in closed form (the Gaussian, the mixture, the categorical).

Priors that are split by label (the mixture's components, the swiss roll's segments) accept
``sample(labels)``: one code per label, drawn from that label's part of the prior.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from torch import Tensor

from . import inputs


class Prior:
    """Base class. ``dim`` is the code size; ``num_classes`` is 0 unless split by label."""

    dim: int = 2
    num_classes: int = 0

    def sample(
        self, n_or_labels: int | Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        """``sample(n)``: n codes of the whole prior; ``sample(labels)``: one per label.

        Args:
            n_or_labels: a count (an int), or labels ``(N,)`` (a tensor or NumPy array of
                integers in ``[0, num_classes - 1]``) for priors split by label.
            generator: draws the samples, so a run can be repeated.

        Returns:
            Codes of shape ``(n, dim)`` (float32, on the CPU).
        """
        if isinstance(n_or_labels, list | tuple):
            raise TypeError(
                f"labels must be a tensor or a NumPy array of class indices, got a "
                f"{type(n_or_labels).__name__}; wrap it with torch.tensor(labels)"
            )
        if isinstance(n_or_labels, Tensor | np.ndarray):
            if not self.num_classes:
                raise ValueError(f"{type(self).__name__} is not split by label; pass a count")
            labels = inputs.labels(n_or_labels, "labels", classes=self.num_classes, check=True)
            return self._sample_labels(labels.cpu(), generator)
        n = n_or_labels
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
            raise ValueError(f"sample() needs a non-negative int or a label tensor, got {n!r}")
        return self._sample(int(n), generator)

    def _sample(self, n: int, generator: torch.Generator | None) -> Tensor:
        raise NotImplementedError

    def _sample_labels(self, labels: Tensor, generator: torch.Generator | None) -> Tensor:
        raise NotImplementedError

    def log_prob(self, z: Tensor) -> Tensor:
        """Log-density of each row of ``z`` (shape ``(N,)``)."""
        raise NotImplementedError(f"{type(self).__name__} has no density to evaluate")

    def assign(self, z: Tensor) -> Tensor:
        """For priors split by label: the label whose part of the prior each code is closest to."""
        raise NotImplementedError(f"{type(self).__name__} is not split by label")

    def _check(self, z) -> Tensor:
        """Codes ``(N, dim)`` as a float tensor (tensors or NumPy arrays; see
        :mod:`aae_utils.inputs`)."""
        z = inputs.codes(z, "z")
        if z.shape[1] != self.dim:
            raise ValueError(f"z must be codes of shape (N, {self.dim}), got {tuple(z.shape)}")
        return z


class GaussianPrior(Prior):
    """Isotropic Gaussian :math:`N(0, s^2 I)` (``std=1``: the VAE's standard normal)."""

    def __init__(self, dim: int = 2, std: float = 1.0) -> None:
        if dim <= 0 or std <= 0:
            raise ValueError(f"dim and std must be positive, got dim={dim}, std={std}")
        self.dim, self.std = dim, float(std)

    def _sample(self, n, generator):
        return self.std * torch.randn(n, self.dim, generator=generator)

    def log_prob(self, z: Tensor) -> Tensor:
        r""":math:`\log p(z) = -\tfrac{1}{2}\sum_j (z_j/s)^2 - d \log s - \tfrac{d}{2}\log 2\pi`."""
        z = self._check(z)
        return (
            -0.5 * (z / self.std).pow(2).sum(1)
            - self.dim * math.log(self.std)
            - 0.5 * self.dim * math.log(2 * math.pi)
        )

    def __repr__(self) -> str:
        return f"GaussianPrior(dim={self.dim}, std={self.std})"


class GaussianMixturePrior(Prior):
    """Mixture of ``k`` equally weighted 2-D Gaussians on a circle (the paper's Fig. 4).

    Component ``c`` is an elongated Gaussian with std ``radial_std`` along the ray at angle
    :math:`2\\pi c/k` and ``tangential_std`` across it, centred at distance ``radius``.
    """

    num_classes: int

    def __init__(
        self,
        num_components: int = 10,
        radius: float = 4.0,
        radial_std: float = 1.0,
        tangential_std: float = 0.25,
    ) -> None:
        if num_components < 1 or radius < 0 or radial_std <= 0 or tangential_std <= 0:
            raise ValueError("num_components >= 1, radius >= 0 and positive stds are required")
        self.dim, self.num_classes = 2, num_components
        self.radius, self.radial_std, self.tangential_std = radius, radial_std, tangential_std
        angles = 2 * math.pi * torch.arange(num_components) / num_components
        self.directions = torch.stack([angles.cos(), angles.sin()], 1)  # (k, 2)
        self.means = radius * self.directions

    def _sample_labels(self, labels, generator):
        eps = torch.randn(len(labels), 2, generator=generator)
        u = self.directions[labels]  # radial unit vector
        v = torch.stack([-u[:, 1], u[:, 0]], 1)  # tangential unit vector
        return (
            self.means[labels]
            + (self.radial_std * eps[:, :1]) * u
            + (self.tangential_std * eps[:, 1:]) * v
        )

    def _sample(self, n, generator):
        labels = torch.randint(self.num_classes, (n,), generator=generator)
        return self._sample_labels(labels, generator)

    def component_log_prob(self, z: Tensor) -> Tensor:
        """``(N, k)`` log-density of each code under each component."""
        z = self._check(z)
        d = z.unsqueeze(1) - self.means.to(z)  # (N, k, 2)
        u = self.directions.to(z)
        along = (d * u).sum(-1)
        across = d[..., 1] * u[:, 0] - d[..., 0] * u[:, 1]
        return (
            -0.5 * (along / self.radial_std) ** 2
            - 0.5 * (across / self.tangential_std) ** 2
            - math.log(2 * math.pi * self.radial_std * self.tangential_std)
        )

    def log_prob(self, z: Tensor) -> Tensor:
        r""":math:`\log \frac{1}{k}\sum_c N(z; \mu_c, \Sigma_c)`."""
        return torch.logsumexp(self.component_log_prob(z), 1) - math.log(self.num_classes)

    def assign(self, z: Tensor) -> Tensor:
        """The most likely component of each code (shape ``(N,)``)."""
        return self.component_log_prob(z).argmax(1)

    def __repr__(self) -> str:
        return f"GaussianMixturePrior(num_components={self.num_classes}, radius={self.radius})"


class SwissRollPrior(Prior):
    """A 2-D swiss roll split into ``num_classes`` consecutive segments (the paper's Fig. 5).

    A position :math:`t \\in [0, 1]` along the roll maps to
    :math:`r = \\text{scale}\\sqrt{t}`, angle :math:`\\theta = \\text{turns}\\cdot 2\\pi\\sqrt{t}`,
    :math:`z = (r\\cos\\theta, r\\sin\\theta)`; label ``c`` owns :math:`t \\in [c/K, (c+1)/K)`.
    With ``noise=0`` the prior lives on a curve and has no density in 2-D. With ``noise > 0``
    (the course's recipes use 0.15) each sample is moved by Gaussian noise across the curve, so a
    density exists, but not in closed form; ``log_prob`` is not defined either way, because an
    AAE never needs it.
    """

    def __init__(
        self, num_classes: int = 10, scale: float = 4.0, turns: float = 2.0, noise: float = 0.0
    ) -> None:
        if num_classes < 1 or scale <= 0 or turns <= 0 or noise < 0:
            raise ValueError("num_classes >= 1, positive scale and turns, noise >= 0 required")
        self.dim, self.num_classes = 2, num_classes
        self.scale, self.turns, self.noise = scale, turns, noise

    def point_at(self, t: Tensor) -> Tensor:
        """Codes at positions ``t`` in [0, 1] along the roll (for walking along it)."""
        t = inputs.as_tensor(t, "t")
        t = t if t.is_floating_point() else t.float()
        if t.ndim != 1:
            raise ValueError(f"t must be 1-D, got shape {tuple(t.shape)}")
        if not bool(torch.isfinite(t).all()):
            raise ValueError("t must hold finite positions in [0, 1], got NaN or infinite values")
        if len(t) and (t.min() < 0 or t.max() > 1):
            raise ValueError("positions t along the swiss roll must lie in [0, 1]")
        s = t.sqrt()
        r, theta = self.scale * s, self.turns * 2 * math.pi * s
        return torch.stack([r * theta.cos(), r * theta.sin()], 1)

    def position(self, z: Tensor, resolution: int = 4000) -> Tensor:
        """Position ``t`` in [0, 1] of the point of the roll nearest to each code."""
        z = self._check(z)
        ts = torch.linspace(0, 1, resolution)
        curve = self.point_at(ts).to(z)
        nearest = torch.cat([torch.cdist(chunk, curve).argmin(1) for chunk in z.split(4096)])
        return ts.to(z.device)[nearest]

    def assign(self, z: Tensor) -> Tensor:
        """The segment (label) of the roll nearest to each code."""
        return (self.position(z) * self.num_classes).long().clamp(max=self.num_classes - 1)

    def _sample_labels(self, labels, generator):
        t = (labels.float() + torch.rand(len(labels), generator=generator)) / self.num_classes
        z = self.point_at(t.clamp(0, 1))
        if self.noise:
            z = z + self.noise * torch.randn(z.shape, generator=generator)
        return z

    def _sample(self, n, generator):
        return self._sample_labels(
            torch.randint(self.num_classes, (n,), generator=generator), generator
        )

    def __repr__(self) -> str:
        return f"SwissRollPrior(num_classes={self.num_classes}, scale={self.scale})"


class CategoricalPrior(Prior):
    """Uniform categorical over ``k`` classes, sampled as one-hot vectors (semi-supervised AAE)."""

    def __init__(self, num_classes: int = 10) -> None:
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self.dim = self.num_classes = num_classes

    def _sample(self, n, generator):
        labels = torch.randint(self.num_classes, (n,), generator=generator)
        return self._sample_labels(labels, generator)

    def _sample_labels(self, labels, generator):
        return torch.nn.functional.one_hot(labels, self.num_classes).float()

    def log_prob(self, z: Tensor) -> Tensor:
        r""":math:`\log(1/k)` for one-hot rows, :math:`-\infty` elsewhere."""
        z = self._check(z)
        one_hot = (z.sum(1) == 1) & ((z == 0) | (z == 1)).all(1)
        out = torch.full((len(z),), -math.log(self.num_classes), dtype=z.dtype, device=z.device)
        return out.masked_fill(~one_hot, -math.inf)

    def __repr__(self) -> str:
        return f"CategoricalPrior(num_classes={self.num_classes})"


PRIORS = {
    "gaussian": GaussianPrior,
    "mixture": GaussianMixturePrior,
    "swiss_roll": SwissRollPrior,
    "categorical": CategoricalPrior,
}


def make_prior(name: str, **kwargs) -> Prior:
    """Build a prior by name: ``gaussian``, ``mixture``, ``swiss_roll`` or ``categorical``."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in PRIORS:
        raise ValueError(f"unknown prior {name!r}; choose one of {sorted(PRIORS)}")
    return PRIORS[key](**kwargs)
