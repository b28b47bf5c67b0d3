"""The Parzen-window estimator (paper Table 1) against cases whose answer is known exactly."""

import math

import pytest
import torch

from aae_utils import parzen
from aae_utils.parzen import choose_sigma, importance_sampled, log_likelihood, parzen_score


def gaussian_log_density(x, mean, var):
    """log N(x; mean, var I) per row, in closed form."""
    d = x.shape[1]
    return -0.5 * d * math.log(2 * math.pi * var) - ((x - mean) ** 2).sum(1) / (2 * var)


def test_one_sample_is_one_gaussian_at_784_dimensions():
    gen = torch.Generator().manual_seed(0)
    x, s = torch.rand(50, 784, generator=gen), torch.rand(1, 784, generator=gen)
    expected = torch.distributions.Normal(s.double(), 0.2).log_prob(x.double()).sum(1)
    torch.testing.assert_close(log_likelihood(x, s, 0.2), expected, rtol=1e-6, atol=1e-3)


def test_gaussian_samples_give_the_convolved_gaussian():
    # Samples of N(m, s^2 I): as S grows the window's density is N(m, (s^2 + sigma^2) I), so the
    # mean test log-likelihood of fresh N(m, s^2 I) points is known in closed form. A formula
    # without the 1/S, with sigma instead of sigma^2 in the normaliser, or without the 1/2 in
    # the exponent misses by nats, not by the 0.02 allowed here. (m = 0.5 and s = 0.06 keep the
    # points inside [0, 1], as pixels are: 8 standard deviations from either end.)
    gen = torch.Generator().manual_seed(1)
    m, s, sigma, d = 0.5, 0.06, 0.02, 2
    samples = m + s * torch.randn(40_000, d, generator=gen)
    x = m + s * torch.randn(4_000, d, generator=gen)
    got = log_likelihood(x, samples, sigma)
    exact = gaussian_log_density(x.double(), m, s**2 + sigma**2)
    assert abs(float(got.mean() - exact.mean())) < 0.02
    # and the expectation over x of that density, as a number: -d/2 log(2 pi v) - d s^2 / (2 v)
    v = s**2 + sigma**2
    assert abs(float(exact.mean()) - (-0.5 * d * math.log(2 * math.pi * v) - d * s**2 / (2 * v))) < 0.05


def test_blocks_do_not_change_the_answer(monkeypatch):
    gen = torch.Generator().manual_seed(2)
    x, s = torch.rand(37, 20, generator=gen), torch.rand(101, 20, generator=gen)
    whole = log_likelihood(x, s, [0.1, 0.3])
    monkeypatch.setattr(parzen, "BLOCK_ELEMENTS", 16)  # 1 row x 16 samples at a time
    torch.testing.assert_close(log_likelihood(x, s, [0.1, 0.3]), whole, rtol=1e-6, atol=1e-4)


def test_several_widths_in_one_pass_match_one_at_a_time():
    gen = torch.Generator().manual_seed(3)
    x, s = torch.rand(30, 16, generator=gen), torch.rand(200, 16, generator=gen)
    both = log_likelihood(x, s, [0.1, 0.4])
    assert both.shape == (2, 30)
    torch.testing.assert_close(both[0], log_likelihood(x, s, 0.1))
    torch.testing.assert_close(both[1], log_likelihood(x, s, 0.4))


def test_a_narrow_window_far_from_every_sample_stays_finite():
    # exp(-|x - s|^2 / (2 sigma^2)) underflows to 0 for every sample; the log-sum-exp must not
    x, s = torch.zeros(3, 784), torch.ones(5, 784)
    ll = log_likelihood(x, s, 0.01)
    assert torch.isfinite(ll).all()
    expected = -784 / (2 * 0.01**2) - 0.5 * 784 * math.log(2 * math.pi * 0.01**2)
    torch.testing.assert_close(ll, torch.full((3,), expected, dtype=torch.float64))


def test_a_memoriser_scores_its_own_images_by_the_peak_of_the_kernel():
    gen = torch.Generator().manual_seed(4)
    s = torch.rand(100, 784, generator=gen)
    ll = log_likelihood(s[:10], s, 0.05)
    peak = -0.5 * 784 * math.log(2 * math.pi * 0.05**2) - math.log(100)
    torch.testing.assert_close(ll, torch.full((10,), peak, dtype=torch.float64), rtol=0, atol=0.02)


def test_the_width_is_chosen_on_validation_near_the_best_one():
    # 1-D N(0.5, 0.05^2) with 1,000 samples: the best width is near Silverman's rule,
    # 1.06 * 0.05 * S^(-1/5) = 0.013
    gen = torch.Generator().manual_seed(5)
    samples = 0.5 + 0.05 * torch.randn(1000, 1, generator=gen)
    val = 0.5 + 0.05 * torch.randn(20_000, 1, generator=gen)
    bw = choose_sigma(val, samples, (0.05 * torch.logspace(-2, 0.5, 40)).tolist())
    assert 0.006 < bw.sigma < 0.03
    assert bw.validation_ll[bw.sigmas.index(bw.sigma)] == max(bw.validation_ll)
    assert len(bw.sigmas) == len(bw.validation_ll) == 40


def test_parzen_score_reports_mean_and_standard_error():
    gen = torch.Generator().manual_seed(6)
    samples = 0.5 + 0.05 * torch.randn(2000, 3, generator=gen)
    val = 0.5 + 0.05 * torch.randn(500, 3, generator=gen)
    test = 0.5 + 0.05 * torch.randn(400, 3, generator=gen)
    score = parzen_score(samples, val, test, (0.05 * torch.logspace(-1.5, 0.5, 20)).tolist())
    ll = log_likelihood(test, samples, score.sigma)
    assert score.mean == pytest.approx(float(ll.mean()))
    assert score.stderr == pytest.approx(float(ll.std()) / 20)
    assert (score.n_samples, score.n_test) == (2000, 400)
    assert "nats" in str(score)


def test_importance_sampling_is_exact_for_a_linear_gaussian_model():
    # decoder m(z) = W z + b, p(z) = N(0, I), p(x|z) = N(m(z), sigma^2 I): then
    # p(x) = N(b, W W^T + sigma^2 I), and with the exact posterior every weight is equal.
    # (scaled so that x, like pixels, lies in [0, 1])
    gen = torch.Generator().manual_seed(7)
    d, k, sigma = 6, 2, 0.015
    w = 0.05 * torch.randn(d, k, generator=gen).double()
    b = 0.5 + 0.05 * torch.randn(d, generator=gen).double()
    x = (0.5 + 0.05 * torch.randn(25, d, generator=gen)).double()
    cov = w @ w.T + sigma**2 * torch.eye(d, dtype=torch.float64)
    exact = torch.distributions.MultivariateNormal(b, cov).log_prob(x)
    post_cov = torch.linalg.inv(torch.eye(k, dtype=torch.float64) + w.T @ w / sigma**2)
    post_mu = (x - b) @ w @ post_cov / sigma**2
    logvar = post_cov.diagonal().log().expand(len(x), k)  # diagonal only: exact posterior is not
    got = importance_sampled(x, lambda z: z @ w.T + b, post_mu, logvar, sigma, samples=4000, seed=0)
    torch.testing.assert_close(got, exact, rtol=0, atol=0.05)
    # one sample from a diagonal q gives a lower bound on average, below the exact value
    one = importance_sampled(x, lambda z: z @ w.T + b, post_mu, logvar, sigma, samples=1, seed=0)
    assert float(one.mean()) < float(exact.mean())


@pytest.mark.parametrize("call, match", [
    (lambda: log_likelihood(torch.rand(3, 4), torch.rand(5, 6), 0.1),
     r"^x must be a batch of images of shape \(N, 6\)"),
    (lambda: log_likelihood(torch.rand(3, 4), torch.rand(5, 4), 0.0), "sigma must be a positive"),
    (lambda: log_likelihood(torch.rand(3, 4), torch.rand(5, 4), [0.1, -1]), "sigma must be a positive"),
    (lambda: log_likelihood(torch.rand(3, 4), torch.rand(0, 4), 0.1), "samples is empty"),
    (lambda: log_likelihood(torch.full((2, 4), float("nan")), torch.rand(5, 4), 0.1), "^x holds 8 NaN"),
    (lambda: log_likelihood(torch.rand(2, 4) * 2, torch.rand(5, 4), 0.1),
     r"^x must have pixel values in \[0, 1\]"),
    (lambda: parzen.memoriser(torch.randn(20, 4), 5), r"^train must have pixel values in \[0, 1\]"),
    (lambda: choose_sigma(torch.rand(3, 4), torch.rand(5, 4), [0.1]), "at least two widths"),
    (lambda: choose_sigma(torch.rand(50, 2), torch.rand(500, 2), [5.0, 6.0, 7.0]), "end of the grid"),
])
def test_bad_input_is_refused_with_the_fix(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_images_follow_the_courses_rules():
    # the rules of aae_utils.inputs.images, as everywhere else: 0-255 grey levels are divided by
    # 255, NumPy arrays and (N, H, W) images are accepted
    gen = torch.Generator().manual_seed(9)
    grey = torch.randint(0, 256, (4, 28, 28), generator=gen, dtype=torch.uint8)
    samples = torch.rand(6, 784, generator=gen)
    expected = log_likelihood(grey.reshape(4, -1).float() / 255, samples, 0.2)
    torch.testing.assert_close(log_likelihood(grey, samples, 0.2), expected)
    torch.testing.assert_close(log_likelihood(grey.numpy(), samples.numpy(), 0.2), expected)
    with pytest.raises(TypeError, match="^x must be a torch tensor or a NumPy array, got a list"):
        log_likelihood([[0.5] * 784], samples, 0.2)


def test_memoriser_draws_distinct_training_images():
    train = torch.arange(40.0).view(20, 2) / 40
    picked = parzen.memoriser(train, 5, seed=1)
    assert picked.shape == (5, 2)
    assert len({tuple(r.tolist()) for r in picked}) == 5
    assert all(any(torch.equal(r, t) for t in train) for r in picked)
    with pytest.raises(ValueError, match="n must be a whole number from 1 to len"):
        parzen.memoriser(train, 21)


def test_kmeans_finds_well_separated_groups():
    gen = torch.Generator().manual_seed(8)
    centres = torch.tensor([[0.1, 0.1], [0.9, 0.1], [0.1, 0.9]])
    train = (centres.repeat(50, 1) + 0.01 * torch.randn(150, 2, generator=gen))
    found = parzen.kmeans_centroids(train, 3, iterations=20, seed=0)
    nearest = torch.cdist(centres, found).min(1).values
    assert (nearest < 0.01).all(), found
    with pytest.raises(ValueError, match="k must be a whole number"):
        parzen.kmeans_centroids(train, 0)
