import pytest
import torch

from aae_utils.models import (
    Decoder,
    Discriminator,
    Encoder,
    GaussianEncoder,
    build_model,
    count_parameters,
    mlp,
)


def test_paper_sizes_by_default():
    enc = Encoder()
    linears = [m for m in enc.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 1000), (1000, 1000), (1000, 8)]
    assert sum(isinstance(m, torch.nn.ReLU) for m in enc.net) == 2  # linear code layer
    dec = Decoder()
    assert dec(torch.zeros(3, 8)).shape == (3, 784)
    assert Discriminator()(torch.zeros(3, 8)).shape == (3,)


def test_widths_and_latent_size_configurable():
    enc = Encoder(784, 5, hidden=(64, 32, 16))
    assert enc(torch.rand(4, 784)).shape == (4, 5)
    assert Decoder(5, 784, hidden=(16, 32))(torch.zeros(2, 5)).shape == (2, 784)


def test_gaussian_encoder_heads_and_reparameterisation():
    enc = GaussianEncoder(784, 3, hidden=(32,))
    mu, logvar = enc(torch.rand(6, 784))
    assert mu.shape == logvar.shape == (6, 3)
    z = GaussianEncoder.reparameterise(mu, logvar)
    z.sum().backward()  # gradients reach both heads through the sample
    assert enc.mean.weight.grad is not None and enc.logvar.weight.grad is not None
    # With a tiny variance the sample sits on the mean.
    zero = GaussianEncoder.reparameterise(torch.ones(1000, 1), torch.full((1000, 1), -30.0))
    assert torch.allclose(zero, torch.ones(1000, 1), atol=1e-5)


def test_conditioned_decoder_and_discriminator():
    dec = Decoder(2, 784, hidden=(16,), cond_dim=10)
    onehot = torch.nn.functional.one_hot(torch.tensor([1, 2]), 10)
    assert dec(torch.zeros(2, 2), onehot).shape == (2, 784)
    with pytest.raises(ValueError, match="needs cond"):
        dec(torch.zeros(2, 2))
    disc = Discriminator(2, hidden=(16,), cond_dim=11)
    assert disc(torch.zeros(2, 2), torch.zeros(2, 11)).shape == (2,)
    with pytest.raises(ValueError, match="cond_dim=0"):
        Discriminator(2, hidden=(16,))(torch.zeros(2, 2), torch.zeros(2, 11))


def test_discriminator_input_noise_only_while_training():
    disc = Discriminator(2, hidden=(8,), input_noise=0.3)
    z = torch.zeros(5, 2)
    disc.eval()
    assert torch.equal(disc(z), disc(z))
    disc.train()
    assert not torch.equal(disc(z), disc(z))


def test_wrong_input_shape_is_explained():
    x, encoder = torch.rand(2, 784), Encoder()
    assert torch.equal(encoder(x.view(2, 28, 28)), encoder(x))  # (N, 28, 28) is flattened
    with pytest.raises(ValueError, match=r"x must be a batch of images of shape \(N, 784\).*got \(2, 100\)"):
        Encoder()(torch.rand(2, 100))
    with pytest.raises(ValueError, match=r"\(N, 8\)"):
        Decoder()(torch.rand(2, 3))


def test_build_model_kinds():
    for kind in ("ae", "vae", "aae"):
        model = build_model(kind, latent_dim=2, hidden=(16,))
        assert model.kind == kind
        assert model.encode(torch.rand(3, 784)).shape == (3, 2)
    gauss = build_model("aae", latent_dim=2, hidden=(16,), posterior="gaussian")
    assert gauss.code(torch.rand(3, 784)).shape == (3, 2)
    with pytest.raises(ValueError, match="unknown model kind"):
        build_model("gan")
    with pytest.raises(ValueError, match="posterior"):
        build_model("aae", posterior="universal")


def test_mlp_and_parameter_count():
    net = mlp([3, 4, 2])
    assert count_parameters(net) == 3 * 4 + 4 + 4 * 2 + 2
    with pytest.raises(ValueError):
        mlp([3])


def test_semi_supervised_options_of_the_paper_preset():
    import torch.nn as nn

    torch.manual_seed(0)
    model = build_model("ssaae", num_classes=10, style_dim=5, hidden=[64, 64], init_std=0.01,
                        encoder_input_dropout=0.2)
    weights = torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, nn.Linear)])
    assert abs(weights.std().item() - 0.01) < 0.001
    assert all(m.bias.abs().max() == 0 for m in model.modules() if isinstance(m, nn.Linear))
    assert isinstance(model.encoder.body[0], nn.Dropout) and model.encoder.body[0].p == 0.2
    with pytest.raises(ValueError, match="init_std must be a positive std"):
        build_model("ssaae", init_std=0.0)
    with pytest.raises(ValueError, match=r"encoder_input_dropout must be a rate in \[0, 1\)"):
        build_model("ssaae", encoder_input_dropout=1.0)
