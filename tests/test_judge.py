"""The digit classifier that judges decoded images (aae_utils.judge)."""

import pytest
import torch
from torch import nn

from aae_utils.judge import accuracy, digit_classifier, digit_shares


class _Fixed(nn.Module):
    """Says digit d for every image whose first pixel is d / 10 (a known answer)."""

    def forward(self, x):
        return 20.0 * torch.nn.functional.one_hot((x[:, 0] * 10).round().long(), 10).float()


def test_digit_shares_counts_what_the_classifier_says():
    x = torch.zeros(10, 784)
    x[:, 0] = torch.tensor([0, 0, 0, 0, 1, 1, 3, 3, 3, 9]) / 10
    shares = digit_shares(x, _Fixed())
    assert torch.allclose(shares.share, torch.tensor([.4, .2, 0, .3, 0, 0, 0, 0, 0, .1], dtype=torch.float64))
    assert torch.allclose(shares.confident, shares.share)  # softmax of 20 vs 0: above 0.9
    assert shares.missing() == [2, 4, 5, 6, 7, 8]
    assert str(shares).startswith("0:40% 1:20% 2:0%")
    with pytest.raises(ValueError, match="images"):
        digit_shares(torch.zeros(0, 784), _Fixed())


def test_the_classifier_learns_digits_and_is_cached(mnist_small):
    train = mnist_small.subset(slice(0, 1500))
    test_x, test_y = mnist_small.x[1500:], mnist_small.y[1500:]
    model = digit_classifier(train, epochs=2)
    assert accuracy(model, test_x, test_y) > 0.8  # 1,500 images, 2 epochs; ~98% on all of MNIST
    again = digit_classifier(train, epochs=2)  # loaded, not retrained: identical weights
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 again.state_dict().values(), strict=True))
    with pytest.raises(ValueError, match="epochs"):
        digit_classifier(train, epochs=0)
