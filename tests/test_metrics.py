import pytest
import torch

from aae_utils.metrics import histogram_distance, mmd, nearest_distance


def _gauss(n, shift=0.0, seed=0):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed)) + shift


def test_mmd_near_zero_for_same_distribution_and_grows_with_shift():
    same = mmd(_gauss(800, seed=0), _gauss(800, seed=1))
    small = mmd(_gauss(800, seed=0), _gauss(800, 0.5, seed=1))
    large = mmd(_gauss(800, seed=0), _gauss(800, 2.0, seed=1))
    assert abs(same) < 0.02
    assert same < small < large


def test_histogram_distance_bounds():
    a, b = _gauss(20_000, seed=0), _gauss(20_000, seed=1)
    assert histogram_distance(a, b, lim=4) < 0.05
    far = _gauss(1000, 20.0)  # all outside the square
    assert histogram_distance(a[:1000], far, lim=4) > 0.99
    assert histogram_distance(a, a, lim=4) == 0.0
    with pytest.raises(ValueError, match="2-D"):
        histogram_distance(torch.zeros(5, 3), torch.zeros(5, 3), lim=1)


def test_nearest_distance():
    ref = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    q = torch.tensor([[1.0, 0.0], [7.0, 0.0], [0.0, 3.0]])
    assert torch.allclose(nearest_distance(q, ref), torch.tensor([1.0, 3.0, 3.0]))
    with pytest.raises(ValueError, match="shape"):
        nearest_distance(torch.zeros(3, 2), torch.zeros(3, 3))


def test_linear_probe_reads_linear_information_only_when_present():
    from aae_utils.metrics import linear_probe_accuracy

    g = torch.Generator().manual_seed(0)
    y = torch.randint(3, (600,), generator=g)
    informative = torch.randn(600, 4, generator=g) + 3 * torch.nn.functional.one_hot(y, 4)[:, :4].float()
    noise = torch.randn(600, 4, generator=g)
    assert linear_probe_accuracy(informative[:400], y[:400], informative[400:], y[400:]) > 0.9
    assert linear_probe_accuracy(noise[:400], y[:400], noise[400:], y[400:]) < 0.5
    with pytest.raises(ValueError, match="one label per row"):
        linear_probe_accuracy(noise, y[:10], noise, y)


def test_knn_accuracy():
    from aae_utils.metrics import knn_accuracy

    g = torch.Generator().manual_seed(0)
    y = torch.randint(4, (400,), generator=g)
    centres = torch.tensor([[0.0, 0], [10, 0], [0, 10], [10, 10]])
    codes = centres[y] + torch.randn(400, 2, generator=g)
    assert knn_accuracy(codes[:300], y[:300], codes[300:], y[300:], k=5) > 0.95
    shuffled = y[torch.randperm(400, generator=g)]
    assert knn_accuracy(codes[:300], shuffled[:300], codes[300:], shuffled[300:], k=5) < 0.5
    with pytest.raises(ValueError, match="k must be"):
        knn_accuracy(codes, y, codes, y, k=0)


# --- ELBO surgery: E_x KL(q(z|x) || p) = I(x; z) + KL(q(z) || p) --------------------------------


def test_elbo_surgery_is_zero_when_every_posterior_is_the_prior():
    from aae_utils.metrics import elbo_surgery

    parts = elbo_surgery(torch.zeros(500, 2), torch.zeros(500, 2))
    assert parts.average_kl == 0 and abs(parts.mutual_information) < 1e-12
    assert abs(parts.marginal_kl) < 1e-12


def test_elbo_surgery_puts_the_kl_in_the_mutual_information_when_q_z_is_the_prior():
    # mu ~ N(0, 0.6^2), sigma^2 = 0.64: the aggregated posterior is exactly N(0, I), so the whole
    # average KL is mutual information
    import math

    from aae_utils.metrics import elbo_surgery

    mu = torch.randn(3000, 2, generator=torch.Generator().manual_seed(1)) * 0.6
    parts = elbo_surgery(mu, torch.full((3000, 2), math.log(0.64)))
    assert abs(parts.marginal_kl) < 0.02
    assert abs(parts.mutual_information + parts.marginal_kl - parts.average_kl) < 3 * parts.standard_error
    assert parts.mutual_information > 0.3


def test_elbo_surgery_mutual_information_reaches_log_n_for_separated_posteriors():
    from aae_utils.metrics import elbo_surgery

    mu = torch.randn(1000, 2, generator=torch.Generator().manual_seed(2)) * 3
    parts = elbo_surgery(mu, torch.full((1000, 2), -12.0))  # sigma = 0.0025: no overlap
    assert parts.log_n - 0.05 < parts.mutual_information <= parts.log_n + 1e-9
    assert parts.marginal_kl > 1  # a mixture of spikes is far from N(0, I)
    with pytest.raises(ValueError, match="same number"):
        elbo_surgery(mu, torch.zeros(999, 2))


def test_reference_rows_put_a_floor_under_the_distances_and_a_mismatch_above_it():
    from aae_utils.metrics import reference_distances

    rows = reference_distances(lambda n: torch.randn(n, 2), 5000, lim=3.5)
    (fresh_mmd, fresh_tv), (scaled_mmd, scaled_tv) = rows["fresh prior sample"], rows["prior scaled by 0.8"]
    assert 0.05 < fresh_tv < 0.15  # sampling noise alone: well above 0
    assert abs(fresh_mmd) < 0.01 < scaled_mmd
    assert fresh_tv < scaled_tv
    with pytest.raises(ValueError, match="n must be"):
        reference_distances(lambda n: torch.randn(n, 2), 1, lim=3.5)
