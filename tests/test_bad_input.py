"""Each mistake a learner is likely to make gets a ValueError/TypeError that names the argument,
what it got and what it expects."""

import pytest
import torch

from aae_utils.config import get_device, seed_everything
from aae_utils.data import balanced_subset, load_dataset
from aae_utils.losses import gaussian_kl, reconstruction_loss
from aae_utils.models import Discriminator, build_model
from aae_utils.priors import CategoricalPrior, GaussianMixturePrior, GaussianPrior, make_prior
from aae_utils.train import TrainConfig

CASES = [
    ("optimizer name", lambda: TrainConfig(optimizer="rmsprop"), "optimizer must be 'adam' or 'sgd'"),
    ("recon name", lambda: TrainConfig(recon="l1"), "recon must be 'bce' or 'mse'"),
    ("generator form", lambda: TrainConfig(generator="wasserstein"), "generator must be"),
    ("negative lr", lambda: TrainConfig(lr=-1.0), "lr must be positive"),
    ("non-int epochs", lambda: TrainConfig(epochs=2.5), "epochs must be a positive int"),
    ("bool batch size", lambda: TrainConfig(batch_size=True), "batch_size must be a positive int"),
    ("kl shapes", lambda: gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 4)), "same shape"),
    ("reduction", lambda: reconstruction_loss(torch.zeros(1, 4), torch.zeros(1, 4), reduction="avg"),
     "reduction must be one of"),
    ("prior log_prob dim", lambda: GaussianPrior(2).log_prob(torch.zeros(5, 3)), r"shape \(N, 2\)"),
    ("prior name", lambda: make_prior("uniform"), "unknown prior 'uniform'"),
    ("prior std", lambda: GaussianPrior(2, std=0.0), "must be positive"),
    ("categorical classes", lambda: CategoricalPrior(1), "num_classes must be >= 2"),
    ("mixture label range", lambda: GaussianMixturePrior(10).sample(torch.tensor([-1])), r"\[0, 9\]"),
    ("dataset limit", lambda: load_dataset("mnist", limit=0), "limit must be a positive int"),
    ("dataset name", lambda: load_dataset("svhn"), "unknown dataset 'svhn'"),
    ("per_class", lambda: balanced_subset(torch.arange(10), 0), "per_class must be a positive int"),
    ("subset labels 2-D", lambda: balanced_subset(torch.zeros(2, 5, dtype=torch.long), 1), "1-D"),
    ("noise std", lambda: Discriminator(2, hidden=(4,), input_noise=-0.1), "input_noise must be >= 0"),
    ("model kind", lambda: build_model("vqvae"), "unknown model kind 'vqvae'"),
    ("latent vs decoder", lambda: build_model("ae", latent_dim=2, hidden=(4,)).decoder(torch.zeros(3, 5)),
     r"z must be a batch of shape \(N, 2\), one row per example, got \(3, 5\)"),
    ("device name", lambda: get_device("gpu"), "device 'gpu' is unknown"),
    ("seed", lambda: seed_everything("42"), "seed must be a non-negative int"),
]


@pytest.mark.parametrize("make, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_explained(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


# Found by trying to fool the input rules (each was a silent wrong answer or a crash that named
# nothing); the table in test_inputs.py covers the rest.


def test_histogram_distance_refuses_a_nan_range():
    from aae_utils.metrics import histogram_distance

    z = torch.randn(50, 2)
    with pytest.raises(ValueError, match="lim must be positive"):
        histogram_distance(z, z * 100 + 50, lim=float("nan"))  # once: 0.0, "a perfect match"


def test_unlabelled_points_are_drawn_grey_not_as_a_digit():
    import matplotlib.pyplot as plt

    from aae_utils.viz import latent_scatter

    z, labels = torch.randn(30, 2), torch.arange(30) % 10
    labels[:5] = -1
    fig = latent_scatter(z, labels, colorbar=False)
    grey, digits = fig.axes[0].collections
    assert len(grey.get_offsets()) == 5 and tuple(grey.get_facecolor()[0][:3]) == (0.6, 0.6, 0.6)
    assert len(digits.get_offsets()) == 25 and digits.get_array().min() >= 0
    plt.close(fig)


def test_fit_takes_replaced_labels_and_names_data_y(mnist_small):
    from aae_utils.engine import fit
    from aae_utils.train_config import TrainConfig

    data = mnist_small.subset(slice(0, 200)).to("cpu")
    data.y = data.y.numpy().astype("int32")  # replaced after ImageData checked it
    model = build_model("ssaae", num_classes=10, style_dim=2, hidden=[8])
    assert len(fit(model, data, TrainConfig(epochs=1), progress=False)["recon"]) == 1
    data.y = None
    with pytest.raises(TypeError, match="^data.y must be a torch tensor or a NumPy array, got NoneType"):
        fit(model, data, TrainConfig(epochs=1), progress=False)


def test_checkpoint_data_record_takes_replaced_numpy_images(mnist_small):
    from aae_utils.checkpoints import data_record

    data = mnist_small.subset(slice(0, 50))
    numpy_copy = mnist_small.subset(slice(0, 50))
    numpy_copy.x = numpy_copy.x.numpy()
    assert data_record(numpy_copy) == data_record(data)


def test_sample_and_positions_name_their_argument():
    from aae_utils.metrics import nearest_distance
    from aae_utils.priors import SwissRollPrior

    with pytest.raises(TypeError, match=r"^labels must be a tensor or a NumPy array .*torch.tensor"):
        GaussianMixturePrior(10).sample([0, 1, 2])
    with pytest.raises(ValueError, match="^labels must be 1-D"):
        GaussianMixturePrior(10).sample(torch.tensor(5))  # a 0-d tensor is not 5 labels
    with pytest.raises(ValueError, match="^t must hold finite positions"):
        SwissRollPrior().point_at(torch.tensor([0.5, float("nan")]))
    assert nearest_distance(torch.zeros(1, 2), torch.ones(3, 2)).shape == (1,)  # one query is fine
