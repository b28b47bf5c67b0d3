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
