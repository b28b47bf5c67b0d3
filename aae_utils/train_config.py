"""The settings of one training run: :class:`TrainConfig`.

Kept apart from the engine that reads them (:mod:`aae_utils.engine`) because recipes and
checkpoints need them too: a checkpoint is reused only when the config it was trained with,
:meth:`TrainConfig.to_dict`, matches.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


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
    lr_milestones: tuple[int, ...] = ()
    ema_decay: float = 0.0

    #: Added after the first checkpoints were cached; left out of :meth:`to_dict` while they
    #: hold their default, so those checkpoints still match their configs.
    _LATER_FIELDS = {"class_lr": None, "head_spacing": 0.0, "label_shift": 0, "consistency": 0.0,
                     "consistency_shift": 2, "lr_milestones": (), "ema_decay": 0.0}

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
        if not isinstance(self.consistency, (int, float)) or isinstance(self.consistency, bool) \
                or not 0 <= self.consistency < float("inf"):
            raise ValueError(f"consistency must be a weight >= 0 (0: off), got {self.consistency!r}")
        cshift = self.consistency_shift
        if not isinstance(cshift, int) or isinstance(cshift, bool) or not 1 <= cshift < 14:
            raise ValueError(f"consistency_shift must be an int of pixels in [1, 13], got {cshift!r}")
        milestones = self.lr_milestones
        if not isinstance(milestones, (tuple, list)) or not all(
            isinstance(m, int) and not isinstance(m, bool) and m > 0 for m in milestones
        ) or list(milestones) != sorted(set(milestones)):
            raise ValueError(f"lr_milestones must be increasing positive epochs, got {milestones!r}")
        object.__setattr__(self, "lr_milestones", tuple(milestones))
        if milestones and self.lr_decay != 1:
            raise ValueError(f"lr_milestones and lr_decay={self.lr_decay} are two schedules: "
                             "use one (lr_decay=1 with milestones)")
        ema = self.ema_decay
        if not isinstance(ema, (int, float)) or isinstance(ema, bool) or not 0 <= ema < 1:
            raise ValueError(f"ema_decay must be in [0, 1) (0: off; e.g. 0.999), got {ema!r}")
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
