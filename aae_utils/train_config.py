"""The settings of one training run: :class:`TrainConfig`.

Kept apart from the engine that reads them (:mod:`aae_utils.engine`) because recipes and
checkpoints need them too: a checkpoint is reused only when the config it was trained with,
:meth:`TrainConfig.to_dict`, matches.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, replace

from . import settings


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
            start value (1.0: constant; torch's ``LinearLR``). Small late steps are the usual
            way to let the weights, and an adversarial game, settle instead of oscillating
            (not ablated in this course).
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
        consistency: weight of the semi-supervised AAE's consistency phase
            (:func:`~aae_utils.phases.consistency_phase`; 0: off, as in the paper). Not in the
            paper: each mini-batch's images must get the same :math:`q(y|x)` as copies of them
            moved by up to ``consistency_shift`` pixels; works with labels and without
            (clustering).
        consistency_shift: largest offset in pixels of those moved copies.
        marginal_entropy: weight of the marginal-entropy term of the semi-supervised AAE's
            entropy phase (:func:`~aae_utils.phases.entropy_phase`; 0: off, as in the paper).
            Not in the paper: each mini-batch's average :math:`q(y|x)` is pushed towards
            uniform, so every cluster stays in use (IMSAT, Hu et al., 2017).
        conditional_entropy: weight of that phase's conditional-entropy term (0: off): each
            :math:`q(y|x)` is pushed towards one-hot. Not in the paper (IMSAT's other term).
        lr_milestones: epochs after which every learning rate is divided by 10 (torch's
            ``MultiStepLR``), instead of the linear decay; e.g. ``(50, 1000)``, the schedule
            reimplementations quote from the paper's appendix. Needs ``lr_decay=1``.
        ema_decay: keep an exponential moving average of every weight, updated after each
            step, :math:`\bar w \leftarrow d\,\bar w + (1 - d)\,w` with :math:`d` =
            ``ema_decay`` (torch's ``AveragedModel`` with ``get_ema_multi_avg_fn``); the
            ``callback`` judges the averaged weights and :func:`~aae_utils.engine.fit` leaves
            them in the model (0: off, as in the paper). Averaging damps the step-to-step noise
            of late training (Polyak averaging; the "teacher" of Tarvainen and Valpola, 2017).
            Not in the paper; e.g. 0.999 (about the last 1,000 steps).
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
    consistency: float = 0.0
    consistency_shift: int = 2
    marginal_entropy: float = 0.0
    conditional_entropy: float = 0.0
    lr_milestones: tuple[int, ...] = ()
    ema_decay: float = 0.0

    #: Added after the first checkpoints were cached; left out of :meth:`to_dict` while they
    #: hold their default, so those checkpoints still match their configs.
    _LATER_FIELDS = {"class_lr": None, "head_spacing": 0.0, "label_shift": 0, "consistency": 0.0,
                     "consistency_shift": 2, "lr_milestones": (), "ema_decay": 0.0,
                     "marginal_entropy": 0.0, "conditional_entropy": 0.0}

    def __post_init__(self) -> None:
        """Check every field; a bad one is a ValueError that names it, what it must be (with an
        example) and what it got (:mod:`aae_utils.settings`)."""
        whole, number = settings.whole_setting, settings.number_setting
        for name in ("epochs", "batch_size"):
            setattr(self, name, whole(getattr(self, name), name, "a positive int", lambda v: v > 0,
                                      {"epochs": 10, "batch_size": 100}[name]))
        self.lr = number(self.lr, "lr", "a positive number", lambda v: v > 0, 1e-3)
        for name in ("disc_lr", "gen_lr", "class_lr"):
            setattr(self, name, number(getattr(self, name), name, "a positive number",
                                       lambda v: v > 0, 2e-4, optional=True))
        self.optimizer = settings.choice_setting(self.optimizer, "optimizer", ("adam", "sgd"))
        for name in ("momentum", "adv_momentum"):
            setattr(self, name, number(getattr(self, name), name, "a number in [0, 1)",
                                       lambda v: 0 <= v < 1, 0.9))
        betas = self.adv_betas
        if not isinstance(betas, tuple | list) or len(betas) != 2:
            raise ValueError(f"adv_betas must be two numbers in [0, 1) (e.g. adv_betas=(0.5, 0.999)), "
                             f"got {settings.shown(betas)}")
        self.adv_betas = tuple(number(b, f"adv_betas[{i}]", "a number in [0, 1)",
                                      lambda v: 0 <= v < 1, (0.5, 0.999)[i]) for i, b in enumerate(betas))
        self.recon = settings.choice_setting(self.recon, "recon", ("bce", "mse"))
        self.generator = settings.choice_setting(self.generator, "generator", ("non_saturating", "minimax"))
        self.lr_decay = number(self.lr_decay, "lr_decay", "a number in (0, 1] (1: constant)",
                               lambda v: 0 < v <= 1, 0.05)
        self.beta = number(self.beta, "beta", "a number >= 0 (1: the ELBO)", lambda v: v >= 0, 1.0)
        self.seed = whole(self.seed, "seed", "an int in [0, 2**63)", lambda v: 0 <= v < 2**63, 0)
        self.head_spacing = number(self.head_spacing, "head_spacing", "a number >= 0 (0: off)",
                                   lambda v: v >= 0, 3.0)
        self.label_shift = whole(self.label_shift, "label_shift", "an int of pixels in [0, 13]",
                                 lambda v: 0 <= v < 14, 2)
        self.consistency = number(self.consistency, "consistency", "a weight >= 0 (0: off)",
                                  lambda v: v >= 0, 1.0)
        self.consistency_shift = whole(self.consistency_shift, "consistency_shift",
                                       "an int of pixels in [1, 13]", lambda v: 1 <= v < 14, 2)
        for name in ("marginal_entropy", "conditional_entropy"):
            setattr(self, name, number(getattr(self, name), name, "a weight >= 0 (0: off)",
                                       lambda v: v >= 0, 1.0))
        milestones = self.lr_milestones
        if hasattr(milestones, "tolist") and not isinstance(milestones, tuple | list):
            milestones = milestones.tolist()  # a NumPy array of epochs
        if not isinstance(milestones, tuple | list) or not all(
            isinstance(m, numbers.Integral) and not isinstance(m, bool) and m > 0 for m in milestones
        ) or list(milestones) != sorted(set(milestones)):
            raise ValueError(f"lr_milestones must be increasing positive epochs (e.g. "
                             f"lr_milestones=(50, 1000)), got {settings.shown(self.lr_milestones)}")
        self.lr_milestones = tuple(int(m) for m in milestones)
        if milestones and self.lr_decay != 1:
            raise ValueError(f"lr_milestones and lr_decay={self.lr_decay} are two schedules: "
                             "use one (lr_decay=1 with milestones)")
        self.ema_decay = number(self.ema_decay, "ema_decay", "a number in [0, 1) (0: off)",
                                lambda v: 0 <= v < 1, 0.999)

    def short(self, epochs: int) -> TrainConfig:
        """These settings for a short run of ``epochs`` epochs, at a constant learning rate.

        A recipe's rate falls over the recipe's own length (``lr_decay``, ``lr_milestones``);
        squeezed into two epochs, a decay to 5% would train the second epoch at a twentieth of
        the first one's rate. A short run (a notebook's experiment, a side-by-side comparison)
        keeps the starting rate instead, which :meth:`aae_utils.recipes.Recipe.describe` prints.
        """
        return replace(self, epochs=epochs, lr_decay=1.0, lr_milestones=())

    def to_dict(self) -> dict:
        d = asdict(self)
        for name, default in self._LATER_FIELDS.items():
            if d[name] == default:
                del d[name]
        return d
