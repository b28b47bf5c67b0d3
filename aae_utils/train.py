"""Training, gathered in one import: ``from aae_utils.train import TrainConfig, fit, ...``.

The code lives in three modules, one job each; read them there:

- :mod:`aae_utils.phases` - the per-mini-batch phases (reconstruction, discriminator,
  generator, VAE, semi-supervised), each with its equation and the paper's section;
- :mod:`aae_utils.engine` - :func:`fit`, the one training loop around the phases;
- :mod:`aae_utils.checkpoints` - :func:`load_or_train`, checkpoint files and resuming;

and :class:`TrainConfig` in :mod:`aae_utils.train_config`. This module only re-exports them,
so code written against ``aae_utils.train`` keeps working.
"""

from .checkpoints import ResumeTarget, load_or_train, save_checkpoint
from .engine import History, fit
from .phases import (
    classification_phase,
    discriminator_phase,
    frozen,
    generator_phase,
    head_penalty,
    reconstruction_phase,
    ss_discriminator_phase,
    ss_generator_phase,
    ss_reconstruction_phase,
    vae_phase,
)
from .resume import ResumeStore, resuming
from .train_config import TrainConfig

__all__ = [
    "History",
    "ResumeStore",
    "ResumeTarget",
    "TrainConfig",
    "classification_phase",
    "discriminator_phase",
    "fit",
    "frozen",
    "generator_phase",
    "head_penalty",
    "load_or_train",
    "reconstruction_phase",
    "resuming",
    "save_checkpoint",
    "ss_discriminator_phase",
    "ss_generator_phase",
    "ss_reconstruction_phase",
    "vae_phase",
]
