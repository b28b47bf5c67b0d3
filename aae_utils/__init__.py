"""aae_utils: the helper package of the Adversarial Autoencoders course.

Modules, in the order the course uses them:

- :mod:`aae_utils.config` - device, seed, fast mode, data and checkpoint folders
- :mod:`aae_utils.data` - MNIST / Fashion-MNIST as tensors, mini-batches, labelled subsets
- :mod:`aae_utils.models` - the paper's MLPs; AE, (conditional) VAE, AAE, semi-supervised AAE
- :mod:`aae_utils.priors` - Gaussian, 10-Gaussian mixture, swiss roll, categorical
- :mod:`aae_utils.losses` - reconstruction (and its floor), KL, discriminator and generator losses
- :mod:`aae_utils.inputs` - what the public functions accept, converted or refused with the fix
- :mod:`aae_utils.phases` - the per-mini-batch training phases, each with its equation
- :mod:`aae_utils.settings` - settings checked by name (``TrainConfig``, ``build_model``, ``--set``)
- :mod:`aae_utils.train_config` - ``TrainConfig``, the settings of one training run
- :mod:`aae_utils.engine` - ``fit``: one training loop for every model
- :mod:`aae_utils.resume` - the state an interrupted run continues from, saved every epoch
- :mod:`aae_utils.checkpoints` - ``load_or_train``: cached models, resuming
- :mod:`aae_utils.pretrained` - the release's trained models: downloaded on first use, packed
  by ``make pretrained``
- :mod:`aae_utils.writes` - every file written whole or not at all; a failed write says why
- :mod:`aae_utils.train` - phases, ``TrainConfig``, engine and checkpoints in one import
- :mod:`aae_utils.viz` - image grids, latent scatters, manifold sweeps, loss curves
- :mod:`aae_utils.diagrams` - figures of a mechanism: D(z) over the code plane, q(z|y) against
  p(z|y) per class, a Parzen window in one dimension
- :mod:`aae_utils.metrics` - codes vs prior (MMD, histogram distance with its floor, holes,
  the KL split into information and shape mismatch); error rate, clustering protocols, linear
  probe, k-NN
- :mod:`aae_utils.judge` - a digit classifier that says which digits generated images show
- :mod:`aae_utils.parzen` - the Parzen-window log-likelihood of Table 1, its width, an
  importance-sampled estimate, and the memorising baselines
- :mod:`aae_utils.checks` - how an exercise is checked, hinted and graded
- :mod:`aae_utils.answers` - how an answer is compared (numbers, tensors, what a step leaves)
- :mod:`aae_utils.exercises` - each notebook's exercises: cases, references, wrong answers
- :mod:`aae_utils.recipes` - the models the notebooks train, defined once
- :mod:`aae_utils.reproduction` - the recorded full-length runs of ``bench/reproduce.py``
- :mod:`aae_utils.notebook` - ``setup_notebook()``, the opening cell of every notebook
- :mod:`aae_utils.widgets` - the interactive latent explorer
- :mod:`aae_utils.links` - Binder / Colab links pinned to the release
"""

__version__ = "0.2.0"

from .config import checkpoint_dir, data_root, get_device, is_fast, seed_everything  # noqa: E402
from .notebook import setup_notebook  # noqa: E402

__all__ = [
    "__version__",
    "checkpoint_dir",
    "data_root",
    "get_device",
    "is_fast",
    "seed_everything",
    "setup_notebook",
]
