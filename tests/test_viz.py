import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from aae_utils import viz
from aae_utils.models import Decoder
from aae_utils.priors import GaussianPrior


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_image_grid_layout():
    fig = viz.image_grid(torch.rand(25, 784), nrow=10, title="x")
    assert isinstance(fig, Figure)
    canvas = fig.axes[0].images[0].get_array()
    assert canvas.shape == (3 * 30, 10 * 30)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        viz.image_grid(torch.randn(4, 784) * 5)


def test_latent_scatter_and_prior_vs_posterior():
    z = torch.randn(300, 2)
    labels = torch.arange(300) % 10
    fig = viz.latent_scatter(z, labels, prior_samples=GaussianPrior(2).sample(200), title="t")
    assert isinstance(fig, Figure) and len(fig.axes[0].collections) == 2
    fig = viz.prior_vs_posterior(GaussianPrior(2).sample(300), z, labels)
    assert len([a for a in fig.axes if a.get_title()]) == 2
    with pytest.raises(ValueError, match=">=2"):
        viz.latent_scatter(torch.randn(5, 1))


def test_manifold_sweep_decodes_a_grid():
    dec = Decoder(2, 784, hidden=(8,))
    fig = viz.manifold_sweep(dec, lim=2, n=5)
    assert fig.axes[0].images[0].get_array().shape == (5 * 30, 5 * 30)
    with pytest.raises(ValueError, match="2-D code"):
        viz.manifold_sweep(Decoder(3, 784, hidden=(8,)))


def test_loss_curves_one_panel_per_key():
    fig = viz.loss_curves({"recon": [3, 2, 1], "disc_acc": [0.9, 0.6, 0.5], "seconds": [1, 1, 1]})
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="history has no"):
        viz.loss_curves({"recon": [1]}, keys=["kl"])
