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
    ("negative lr", lambda: TrainConfig(lr=-1.0), "lr must be a positive number"),
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


# --- settings: every TrainConfig field and every build_model setting, named in its refusal -------

#: For each field: values it must refuse (a wrong type, a bool, a non-finite or out-of-range value).
BAD_TRAIN_SETTINGS = {
    "epochs": [0, 2.5, True, "10"],
    "batch_size": [0, -100, 100.0, None],
    "lr": [0, -1e-3, float("nan"), float("inf"), "1e-3", True, None],
    "disc_lr": [0, -1.0, float("nan"), "fast"],
    "gen_lr": [0, float("inf"), "2e-4"],
    "optimizer": ["rmsprop", "Adam", 1, None],
    "momentum": [-0.1, 1.0, float("nan"), "0.9"],
    "adv_momentum": [1.5, "0.1", True],
    "adv_betas": [(0.5,), (0.5, 1.0), (0.5, "x"), 0.5, "0.5,0.9", (0.5, 0.9, 0.99)],
    "recon": ["l1", None],
    "generator": ["wasserstein", 0],
    "lr_decay": [0, 1.5, -0.1, float("nan"), "0.05"],
    "beta": [-1, float("inf"), "1"],
    "seed": [-1, 1.5, "0", True],
    "class_lr": [0, "0.1", float("nan")],
    "head_spacing": [-1.0, float("nan"), "3"],
    "label_shift": [-1, 14, 1.5, True],
    "consistency": [-0.5, float("inf"), "1"],
    "consistency_shift": [0, 14, 2.0],
    "marginal_entropy": [-0.5, float("nan"), "1"],
    "conditional_entropy": [-1.0, float("inf"), None],
    "lr_milestones": [(0,), (10, 5), (5, 5), (2.5,), 50, "50"],
    "ema_decay": [1.0, -0.1, float("nan"), "0.999"],
}


def test_every_train_setting_has_bad_values_in_the_table():
    from dataclasses import fields

    assert set(BAD_TRAIN_SETTINGS) == {f.name for f in fields(TrainConfig)}


@pytest.mark.parametrize("name, value", [(k, v) for k, vs in BAD_TRAIN_SETTINGS.items() for v in vs],
                         ids=lambda x: repr(x))
def test_a_bad_train_setting_is_refused_by_name(name, value):
    extra = {"lr_decay": 1.0} if name == "lr_milestones" else {}
    with pytest.raises(ValueError) as info:
        TrainConfig(**{name: value}, **extra)
    message = str(info.value)
    assert message.startswith(name), message  # the field first (adv_betas[1] for one of a pair)
    assert "got" in message and "must be" in message, message


def test_good_settings_in_other_types_are_kept_as_plain_python():
    import json

    import numpy as np

    c = TrainConfig(epochs=np.int64(3), lr=np.float32(0.01), adv_betas=[0.5, 0.999], lr_milestones=[2])
    assert type(c.epochs) is int and type(c.lr) is float and c.adv_betas == (0.5, 0.999)
    assert c.lr_milestones == (2,)
    json.dumps(c.to_dict())  # a checkpoint's config must stay JSON


BAD_MODEL_SETTINGS = [
    ("ssaae", "hiden", [10], r"^'hiden' is not a setting of a 'ssaae' model; its settings are in_dim, "),
    ("ssaae", "hidden", "1000", r"^hidden must be a non-empty list of positive whole numbers"),
    ("ssaae", "hidden", [0, 10], r"^hidden must be a non-empty list"),
    ("aae", "disc_hidden", [], r"^disc_hidden must be a non-empty list .* or None"),
    ("ssaae", "style_dim", 2.5, r"^style_dim must be a positive int"),
    ("ssaae", "num_classes", 1, r"^num_classes must be an int >= 2"),
    ("aae", "latent_dim", 0, r"^latent_dim must be a positive int"),
    ("aae", "input_noise", float("nan"), r"^input_noise must be a std >= 0"),
    ("ssaae", "encoder_noise", "0.3", r"^encoder_noise must be a std >= 0 .*the text '0.3'"),
    ("ssaae", "encoder_dropout", 1.0, r"^encoder_dropout must be a rate in \[0, 1\)"),
    ("ssaae", "init_std", -0.01, r"^init_std must be a positive std or None"),
    ("ssaae", "head_dim", -2, r"^head_dim must be an int >= 0"),
    ("aae", "posterior", "laplace", r"^posterior must be 'deterministic' or 'gaussian'"),
    ("vae", "decoder_cond_dim", True, r"^decoder_cond_dim must be an int >= 0 .*a bool"),
]


@pytest.mark.parametrize("kind, name, value, message", BAD_MODEL_SETTINGS,
                         ids=[f"{k}-{n}-{v!r}" for k, n, v, _ in BAD_MODEL_SETTINGS])
def test_a_bad_model_setting_is_refused_by_name(kind, name, value, message):
    with pytest.raises(ValueError, match=message):
        build_model(kind, **{name: value})


def test_every_checked_model_setting_is_a_real_one():
    import inspect

    from aae_utils.models import MODELS
    from aae_utils.settings import _MODEL_SETTINGS

    real = {p for cls in MODELS.values() for p in inspect.signature(cls).parameters}
    assert set(_MODEL_SETTINGS) | {"posterior"} == real


@pytest.mark.parametrize("item, message", [
    ("train.lr=abc", r"^--set train.lr=abc: lr must be a positive number .*the text 'abc'"),
    ("train.epochs=2.5", r"^--set train.epochs=2.5: epochs must be a positive int"),
    ("train.adv_betas=[0.5]", r"^--set train.adv_betas=\[0.5\]: adv_betas must be two numbers"),
    ("train.learning_rate=1", r"^--set train.learning_rate=1: unknown training setting 'learning_rate'; "
                              r"the settings are epochs, batch_size, lr"),
    ("model.hiden=[10]", r"^--set model.hiden=\[10\]: 'hiden' is not a setting of a 'ssaae' model"),
    ("model.hidden=[0]", r"^--set model.hidden=\[0\]: hidden must be a non-empty list"),
    ('model.style_dim="4"', r"^--set model.style_dim=\"4\": style_dim must be a positive int"),
    ("lr=1", r"^--set expects model.<name>=<value> or train.<name>=<value>, got 'lr=1'"),
])
def test_the_harness_names_the_bad_set_item(reproduce, item, message):
    from aae_utils.recipes import recipe

    with pytest.raises(SystemExit, match=message):
        reproduce.apply_overrides(recipe("ssaae-100", fast=True), [item])
