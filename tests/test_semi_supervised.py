"""The semi-supervised AAE (notebook 06), its clustering use (notebook 07) and their metrics."""

import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from aae_utils.metrics import cluster_error, cluster_labels, error_rate
from aae_utils.models import build_model
from aae_utils.recipes import recipe
from aae_utils.train import (
    TrainConfig,
    classification_phase,
    fit,
    head_penalty,
    ss_discriminator_phase,
    ss_generator_phase,
    ss_reconstruction_phase,
)

SMALL = {"num_classes": 10, "style_dim": 4, "hidden": [64, 64]}


def _model(**kw):
    torch.manual_seed(0)
    return build_model("ssaae", **{**SMALL, **kw})


def test_encoder_heads_and_decoder_shapes():
    model = _model()
    x = torch.rand(7, 784)
    logits, z = model.encoder(x)
    assert logits.shape == (7, 10) and z.shape == (7, 4)
    assert model.decode(F.softmax(logits, 1), z).shape == (7, 784)
    proba = model.predict_proba(x)
    assert torch.allclose(proba.sum(1), torch.ones(7))
    assert torch.equal(model.classify(x), proba.argmax(1))
    assert model.images(F.one_hot(torch.arange(7) % 10, 10).float(), z).max() <= 1


def test_encoder_noise_only_while_training_and_eval_helpers_restore_mode():
    model = _model(encoder_noise=0.5)
    x = torch.rand(5, 784)
    model.train()
    assert not torch.equal(model.encoder(x)[0], model.encoder(x)[0])  # noisy
    assert torch.equal(model.predict_proba(x), model.predict_proba(x))  # evaluated clean
    assert model.training  # predict_proba put it back in training mode


def test_cluster_heads_representation():
    model = _model(num_classes=16, style_dim=2, head_dim=2)
    x = torch.rand(5, 784)
    r = model.representation(x)
    assert r.shape == (5, 2)
    assert torch.allclose(r, model.predict_proba(x) @ model.cluster_heads + model.encode(x))
    with pytest.raises(ValueError, match="head_dim"):
        _model().representation(x)
    with pytest.raises(ValueError, match="style_dim must equal head_dim"):
        _model(style_dim=3, head_dim=2)


def test_head_penalty_is_zero_once_heads_are_apart():
    heads = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    assert head_penalty(heads, 2.0).item() == 0
    # pairs at distance 3, 4 and 5: with eta = 4.5, (4.5-3) + (4.5-4) = 2
    assert head_penalty(heads, 4.5).item() == pytest.approx(2.0)


def test_each_phase_moves_only_its_networks(mnist_small):
    model = _model()
    x, y = mnist_small.x[:100], mnist_small.y[:100]

    def moved(run) -> set[str]:
        before = {n: p.clone() for n, p in model.named_parameters()}
        run()
        return {n.split(".")[0] for n, p in model.named_parameters() if not torch.equal(p, before[n])}

    sgd = lambda mods: torch.optim.SGD([p for m in mods for p in m.parameters()], lr=0.1)  # noqa: E731
    discs = [model.class_discriminator, model.style_discriminator]
    assert moved(lambda: ss_reconstruction_phase(model, x, sgd([model.encoder, model.decoder]))) == {
        "encoder", "decoder"}
    y_real = F.one_hot(torch.randint(10, (100,)), 10).float()
    assert moved(lambda: ss_discriminator_phase(model, x, y_real, torch.randn(100, 4), sgd(discs))) == {
        "class_discriminator", "style_discriminator"}
    assert moved(lambda: ss_generator_phase(model, x, sgd([model.encoder]))) == {"encoder"}
    assert moved(lambda: classification_phase(model, x, y, sgd([model.encoder]))) == {"encoder"}
    assert all(p.requires_grad for m in discs for p in m.parameters())  # unfrozen again


def test_fit_semi_supervised_learns_from_few_labels(mnist_small):
    data = mnist_small.subset(slice(0, 1500))
    test_x, test_y = mnist_small.x[1500:], mnist_small.y[1500:]
    labels = data.y.new_full(data.y.shape, -1)
    labels[:300] = data.y[:300]
    model = _model()
    history = fit(model, data, TrainConfig(epochs=8, lr=1e-3), labels=labels, progress=False,
                  callback=lambda e, m: {"test_error": error_rate(m.classify(test_x), test_y)})
    assert set(history) >= {"recon", "disc", "gen", "disc_acc_y", "disc_acc_z", "class", "test_error"}
    assert history["recon"][-1] < history["recon"][0]
    assert history["class"][-1] < history["class"][0]
    # chance is 90%; 300 labels and eight epochs on 1,500 images get well below it
    assert history["test_error"][-1] < 0.5


def test_fit_without_labels_trains_a_clustering_model(mnist_small):
    model = _model(num_classes=16)
    history = fit(model, mnist_small.subset(slice(0, 1000)), TrainConfig(epochs=1), progress=False)
    assert history["class"] == [0.0]  # no classification phase without labels
    assert model.predict_proba(mnist_small.x[:10]).shape == (10, 16)


def test_fit_with_cluster_heads_keeps_heads_apart(mnist_small):
    model = _model(num_classes=10, style_dim=2, head_dim=2)
    with torch.no_grad():
        model.cluster_heads.zero_()  # all heads on top of each other
    fit(model, mnist_small.subset(slice(0, 1000)), TrainConfig(epochs=2, head_spacing=1.0, lr=1e-2),
        progress=False)
    assert head_penalty(model.cluster_heads.detach(), 1.0) < 45 * 1.0  # started at 45


def test_bad_semi_supervised_labels_are_refused(mnist_small):
    data = mnist_small.subset(slice(0, 200))
    with pytest.raises(ValueError, match=r"values in \[0, 9\] or -1"):
        fit(_model(), data, TrainConfig(epochs=1), labels=data.y + 5, progress=False)


def test_error_rate_and_cluster_protocols():
    assert error_rate(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 0, 0])) == 0.5
    with pytest.raises(ValueError, match="same length"):
        error_rate(torch.tensor([1, 2]), torch.tensor([1]))
    # three clusters; validation: cluster 0's most confident image is a "7", but most of its
    # members are "1"s; cluster 2 has no members (argmax) yet still gets a label.
    val_p = torch.tensor([[0.99, 0.01, 0.0], [0.6, 0.4, 0.0], [0.7, 0.3, 0.0], [0.1, 0.8, 0.1]])
    val_y = torch.tensor([7, 1, 1, 3])
    assert cluster_labels(val_p, val_y).tolist() == [7, 3, 3]
    assert cluster_labels(val_p, val_y, rule="majority").tolist() == [1, 3, 3]
    test_p = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]])
    assert cluster_error(test_p, torch.tensor([1, 3]), val_p, val_y) == 0.5
    assert cluster_error(test_p, torch.tensor([1, 3]), val_p, val_y, rule="majority") == 0.0
    with pytest.raises(ValueError, match="rule"):
        cluster_labels(val_p, val_y, rule="best")


def test_part2_recipes():
    for n in (100, 1000):
        r = recipe(f"ssaae-{n}", fast=False)
        assert r.labelled_per_class * 10 == n and r.n_train == 50_000
        assert r.model["hidden"] == [1000, 1000]  # the paper's size
        fast = recipe(f"ssaae-{n}", fast=True)
        assert fast.labelled_per_class <= r.labelled_per_class and fast.n_train < 50_000
    assert recipe("cluster-30", fast=False).model["num_classes"] == 30
    assert "10 classes + 10-D style" in recipe("ssaae-100", fast=False).describe()


def test_old_checkpoint_configs_unchanged_by_new_training_fields():
    # class_lr and head_spacing came later; at their defaults they must not enter the config,
    # or every cached checkpoint of notebooks 01-04 would be retrained.
    d = TrainConfig().to_dict()
    assert "class_lr" not in d and "head_spacing" not in d and "label_shift" not in d
    assert TrainConfig(class_lr=1e-4).to_dict()["class_lr"] == 1e-4
    assert TrainConfig(label_shift=2).to_dict()["label_shift"] == 2


@pytest.mark.parametrize("bad", [-1, 14, 1.5, True])
def test_label_shift_must_be_a_small_whole_number_of_pixels(bad):
    with pytest.raises(ValueError, match="label_shift must be an int of pixels"):
        TrainConfig(label_shift=bad)


def test_label_shift_reaches_only_the_classification_phase(mnist_small):
    from aae_utils.phases import classification_phase

    data = mnist_small.subset(slice(0, 300))
    labels = data.y.new_full(data.y.shape, -1)
    labels[:50] = data.y[:50]
    seen = []

    def spy(model, x, y, opt):
        seen.append(x.clone())
        return classification_phase(model, x, y, opt)

    for shift in (0, 2):
        seen.clear()
        fit(_model(), data, TrainConfig(epochs=1, label_shift=shift), labels=labels, progress=False,
            phases={"classification": spy})
        shown = torch.cat(seen)
        # each image the classifier saw is a labelled one, moved by at most `shift` pixels
        images = F.pad(data.x[:50].view(50, 28, 28), (2, 2, 2, 2))
        moved = {(dy, dx): images[:, 2 - dy:30 - dy, 2 - dx:30 - dx].reshape(50, 784)
                 for dy in range(-2, 3) for dx in range(-2, 3)}
        match = {k: (shown[:, None] == v[None]).all(-1).any(-1) for k, v in moved.items()}
        assert torch.stack(list(match.values())).any(0).all()
        if shift == 0:
            assert match[(0, 0)].all()
        else:  # offsets spread over the 25 possible ones, not all zero
            assert match[(0, 0)].float().mean() < 0.2 and sum(m.any() for m in match.values()) > 15
    assert "labelled images shifted by up to 2 px" in replace(
        recipe("ssaae-100", fast=False), train=TrainConfig(label_shift=2)).describe()


def test_label_influence_is_zero_when_the_decoder_ignores_y():
    from aae_utils.metrics import label_influence

    model = _model()
    x = torch.rand(20, 784)
    assert label_influence(model, x) > 0
    with torch.no_grad():  # cut the decoder's label inputs: columns 4.. of its first layer
        model.decoder.net[0].weight[:, 4:] = 0
    assert label_influence(model, x) == 0


def test_consistency_phase_is_zero_for_the_same_image_and_moves_only_the_encoder():
    from aae_utils.phases import consistency_phase

    model = _model(encoder_noise=0.0, encoder_dropout=0.0)
    x = torch.rand(8, 784)
    opt = torch.optim.SGD(model.encoder.parameters(), lr=0.1)
    assert consistency_phase(model, x, x, opt).item() == pytest.approx(0.0, abs=1e-6)
    before = {n: p.clone() for n, p in model.named_parameters()}
    moved = torch.roll(x, 3, dims=1)
    loss = consistency_phase(model, x, moved, opt, weight=2.0)
    assert loss.item() > 0
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(n.startswith("encoder.") for n in changed)


def test_consistency_switch_adds_a_phase_and_is_off_by_default(mnist_small):
    labels = torch.full((len(mnist_small),), -1)
    labels[:50] = mnist_small.y[:50]
    runs = {}
    for weight in (0.0, 1.0):
        model = _model()
        runs[weight] = fit(model, mnist_small, TrainConfig(epochs=1, consistency=weight),
                           labels=labels, progress=False)
    assert "consistency" not in runs[0.0] and runs[1.0]["consistency"][0] >= 0
    assert runs[0.0]["class"] != runs[1.0]["class"]  # it trains something
    assert "consistency" not in TrainConfig().to_dict()  # old checkpoints keep matching


def test_entropy_phase_is_imsats_two_terms_and_moves_only_the_encoder():
    from aae_utils.phases import entropy_phase

    model = _model(encoder_noise=0.0, encoder_dropout=0.0)
    x = torch.rand(64, 784)

    def entropies():
        with torch.no_grad():
            q = torch.softmax(model.encoder(x)[0], 1)
        q_bar = q.mean(0)
        return float(-(q_bar * q_bar.log()).sum()), float(-(q * q.log()).sum(1).mean()), q.shape[1]

    marginal, conditional, k = entropies()
    before = {n: p.clone() for n, p in model.named_parameters()}
    loss = entropy_phase(model, x, torch.optim.SGD(model.encoder.parameters(), lr=0.0),
                         marginal=2.0, conditional=0.5)
    assert loss.item() == pytest.approx(2.0 * (math.log(k) - marginal) + 0.5 * conditional, rel=1e-4)
    opt = torch.optim.SGD(model.encoder.parameters(), lr=0.5)
    entropy_phase(model, x, opt)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(n.startswith("encoder.") for n in changed)
    for _ in range(20):  # the marginal term alone spreads the batch over the clusters
        entropy_phase(model, x, opt)
    assert entropies()[0] > marginal
    for _ in range(40):  # the conditional term alone makes each answer confident
        entropy_phase(model, x, opt, marginal=0.0, conditional=1.0)
    assert entropies()[1] < conditional


def test_entropy_switches_add_a_phase_and_are_off_by_default(mnist_small):
    runs = {}
    for weights in ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0)):
        config = TrainConfig(epochs=1, marginal_entropy=weights[0], conditional_entropy=weights[1])
        runs[weights] = fit(_model(), mnist_small, config, progress=False)
    assert "entropy" not in runs[(0.0, 0.0)]
    assert 0 <= runs[(1.0, 0.0)]["entropy"][0] <= math.log(10)  # log K - H(q_bar)
    assert 0 <= runs[(0.0, 1.0)]["entropy"][0] <= math.log(10)  # mean H(q(y|x))
    assert runs[(0.0, 0.0)]["recon"] != runs[(1.0, 0.0)]["recon"]  # it trains something
    assert not {"marginal_entropy", "conditional_entropy"} & set(TrainConfig().to_dict())
    assert TrainConfig(conditional_entropy=0.5).to_dict()["conditional_entropy"] == 0.5


@pytest.mark.parametrize("kwargs, message", [
    ({"marginal_entropy": -1.0}, "marginal_entropy must be a weight >= 0"),
    ({"conditional_entropy": float("nan")}, "conditional_entropy must be a weight >= 0"),
    ({"consistency": -1.0}, "consistency must be a weight >= 0"),
    ({"consistency": float("nan")}, "consistency must be a weight >= 0"),
    ({"consistency_shift": 0}, "consistency_shift must be an int of pixels in \\[1, 13\\]"),
])
def test_bad_consistency_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def _flat(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_ema_judges_and_returns_a_moving_average_of_the_weights(mnist_small):
    """TrainConfig(ema_decay=d): the callback sees the average, fit leaves it in the model."""
    labels = torch.full((len(mnist_small),), -1)
    labels[:50] = mnist_small.y[:50]
    start = _flat(_model())  # _model() seeds its weights: every model below starts here
    seen, results = {}, {}
    for decay in (0.0, 1e-9, 0.99):
        model = _model()
        seen[decay] = []
        fit(model, mnist_small, TrainConfig(epochs=1, ema_decay=decay), labels=labels, progress=False,
            callback=lambda epoch, m, d=decay: seen[d].append(_flat(m)) or {})
        results[decay] = _flat(model)
        assert torch.equal(seen[decay][-1], results[decay])  # judged what it returns
    # a vanishing decay averages nothing away: the weights of the run without averaging
    assert torch.allclose(results[1e-9], results[0.0], atol=1e-6)
    # decay 0.99 averages about the last 100 steps, so it trails the raw weights toward the start
    assert (results[0.99] - start).norm() < (results[0.0] - start).norm()
    assert not torch.allclose(results[0.99], results[0.0], atol=1e-4)
    assert "ema_decay" not in TrainConfig().to_dict()  # old checkpoints keep matching


@pytest.mark.parametrize("bad", [-0.1, 1.0, float("nan"), True])
def test_bad_ema_decay_is_named(bad):
    with pytest.raises(ValueError, match=r"ema_decay must be a number in \[0, 1\)"):
        TrainConfig(ema_decay=bad)
