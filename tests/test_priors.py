import math

import pytest
import torch

from aae_utils.priors import (
    CategoricalPrior,
    GaussianMixturePrior,
    GaussianPrior,
    SwissRollPrior,
    make_prior,
)

G = torch.Generator


def test_gaussian_statistics_and_log_prob():
    prior = GaussianPrior(3, std=5.0)
    z = prior.sample(50_000, generator=G().manual_seed(0))
    assert z.shape == (50_000, 3)
    assert z.mean(0).abs().max() < 0.1
    assert (z.std(0) - 5.0).abs().max() < 0.1
    ref = torch.distributions.Normal(0.0, 5.0).log_prob(z[:10]).sum(1)
    assert torch.allclose(prior.log_prob(z[:10]), ref, atol=1e-5)


def test_mixture_components_follow_labels():
    prior = GaussianMixturePrior(10, radius=4.0)
    labels = torch.arange(10).repeat_interleave(2000)
    z = prior.sample(labels, generator=G().manual_seed(0))
    for c in range(10):
        centre = z[labels == c].mean(0)
        assert torch.allclose(centre, prior.means[c], atol=0.08)
    # Nearly every code is most likely under its own component (they touch near the centre).
    own = (prior.component_log_prob(z).argmax(1) == labels).float().mean()
    assert own > 0.97


def test_mixture_log_prob_is_a_density():
    prior = GaussianMixturePrior(10, radius=4.0)
    ticks = torch.linspace(-8, 8, 401)
    xx, yy = torch.meshgrid(ticks, ticks, indexing="ij")
    grid = torch.stack([xx.flatten(), yy.flatten()], 1)
    mass = prior.log_prob(grid).exp().sum() * (ticks[1] - ticks[0]) ** 2
    assert abs(float(mass) - 1.0) < 0.01


def test_mixture_unconditional_samples_cover_all_components():
    prior = GaussianMixturePrior(10)
    z = prior.sample(5000, generator=G().manual_seed(0))
    counts = torch.bincount(prior.component_log_prob(z).argmax(1), minlength=10)
    assert counts.min() > 400


def test_swiss_roll_segments_in_order():
    prior = SwissRollPrior(10, scale=4.0)
    labels = torch.arange(10).repeat_interleave(500)
    z = prior.sample(labels, generator=G().manual_seed(0))
    radius = z.norm(dim=1)
    mean_r = torch.stack([radius[labels == c].mean() for c in range(10)])
    assert (mean_r[1:] > mean_r[:-1]).all()  # later labels lie further out
    assert radius.max() <= 4.0 + 1e-5
    assert torch.allclose(prior.point_at(torch.tensor([1.0])), torch.tensor([[4.0, 0.0]]), atol=1e-5)
    with pytest.raises(NotImplementedError):
        prior.log_prob(z)
    assert (prior.assign(z) == labels).float().mean() > 0.99
    t = torch.tensor([0.05, 0.5, 0.95])
    assert torch.allclose(prior.position(prior.point_at(t)), t, atol=1e-3)


def test_mixture_assign_and_unsplit_prior():
    prior = GaussianMixturePrior(10)
    assert torch.equal(prior.assign(prior.means * 1.2), torch.arange(10))
    with pytest.raises(NotImplementedError, match="not split"):
        GaussianPrior(2).assign(torch.zeros(3, 2))


def test_categorical_one_hot_and_uniform():
    prior = CategoricalPrior(10)
    z = prior.sample(20_000, generator=G().manual_seed(0))
    assert ((z == 0) | (z == 1)).all() and (z.sum(1) == 1).all()
    freq = z.mean(0)
    assert (freq - 0.1).abs().max() < 0.01
    assert torch.allclose(prior.log_prob(z[:3]), torch.full((3,), -math.log(10)))
    assert prior.log_prob(torch.full((1, 10), 0.1)).item() == -math.inf


def test_bad_requests_are_explained():
    with pytest.raises(ValueError, match="not split by label"):
        GaussianPrior(2).sample(torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        GaussianMixturePrior(10).sample(torch.tensor([3, 10]))
    with pytest.raises(ValueError, match="integer"):
        GaussianMixturePrior(10).sample(torch.tensor([0.5]))
    with pytest.raises(ValueError, match="non-negative int"):
        GaussianPrior(2).sample(-3)
    with pytest.raises(ValueError, match="unknown prior"):
        make_prior("laplace")
    assert isinstance(make_prior("swiss-roll"), SwissRollPrior)
