import json

import pytest
import torch

from aae_utils.data import ImageData
from aae_utils.models import build_model
from aae_utils.priors import GaussianMixturePrior, GaussianPrior
from aae_utils.train import (
    TrainConfig,
    discriminator_phase,
    fit,
    generator_phase,
    load_or_train,
    reconstruction_phase,
)

SMALL = {"latent_dim": 2, "hidden": [64, 64]}


def _aae(**kw):
    torch.manual_seed(0)
    return build_model("aae", **{**SMALL, **kw})


def test_a_few_aae_steps_lower_reconstruction_and_discriminator_sees_both(mnist_small):
    model = _aae()
    x = mnist_small.x[:500]
    prior = GaussianPrior(2)
    opt_rec = torch.optim.Adam([*model.encoder.parameters(), *model.decoder.parameters()], 1e-3)
    opt_disc = torch.optim.Adam(model.discriminator.parameters(), 1e-3)
    opt_gen = torch.optim.Adam(model.encoder.parameters(), 1e-3)
    first = reconstruction_phase(model, x, opt_rec).item()
    for _ in range(30):
        last = reconstruction_phase(model, x, opt_rec).item()
        real = prior.sample(len(x))
        d_loss, acc = discriminator_phase(model, x, real, opt_disc)
        generator_phase(model, x, opt_gen)
    assert last < 0.8 * first
    with torch.no_grad():
        real_logits = model.discriminator(prior.sample(len(x)))
        fake_logits = model.discriminator(model.encode(x))
    # The discriminator has learned something about both classes: it calls most prior samples
    # real and most codes fake (it is ahead of the encoder this early in training).
    assert (real_logits > 0).float().mean() > 0.5
    assert (fake_logits <= 0).float().mean() > 0.5
    assert 0.5 < acc.item() <= 1.0


def test_phases_update_only_their_networks(mnist_small):
    model = _aae()
    x = mnist_small.x[:100]
    snapshot = {n: p.clone() for n, p in model.named_parameters()}
    opt_disc = torch.optim.SGD(model.discriminator.parameters(), lr=0.1)
    discriminator_phase(model, x, GaussianPrior(2).sample(100), opt_disc)
    for n, p in model.named_parameters():
        assert torch.equal(p, snapshot[n]) != n.startswith("discriminator"), n
    snapshot = {n: p.clone() for n, p in model.named_parameters()}
    opt_gen = torch.optim.SGD(model.encoder.parameters(), lr=0.1)
    generator_phase(model, x, opt_gen)
    for n, p in model.named_parameters():
        assert torch.equal(p, snapshot[n]) != n.startswith("encoder"), n
    assert all(p.requires_grad for p in model.discriminator.parameters())  # unfrozen again


@pytest.mark.parametrize("kind", ["ae", "vae", "aae"])
def test_fit_returns_history_and_learns(mnist_small, kind):
    torch.manual_seed(0)
    model = build_model(kind, **SMALL)
    history = fit(model, mnist_small, TrainConfig(epochs=3, batch_size=100),
                  prior=GaussianPrior(2), progress=False)
    expected = {"ae": {"recon"}, "vae": {"recon", "kl", "loss"},
                "aae": {"recon", "disc", "gen", "disc_acc"}}[kind] | {"seconds"}
    assert set(history) == expected
    assert all(len(v) == 3 for v in history.values())
    assert history["recon"][-1] < history["recon"][0]
    if kind == "aae":
        assert all(0.0 <= a <= 1.0 for a in history["disc_acc"])


def test_fit_is_repeatable_with_a_seed(mnist_small):
    data = mnist_small.subset(slice(0, 500))
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        model = build_model("aae", **SMALL)
        h = fit(model, data, TrainConfig(epochs=2, seed=3), prior=GaussianPrior(2), progress=False)
        runs.append((h["recon"], h["disc"], model.encoder.net[0].weight.clone()))
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    assert torch.equal(runs[0][2], runs[1][2])


def test_label_regularised_aae_with_unlabelled_examples(mnist_small):
    labels = mnist_small.y.clone()
    labels[1000:] = -1  # half unlabelled: matched to the whole mixture
    model = _aae(disc_cond_dim=11)
    h = fit(model, mnist_small, TrainConfig(epochs=1), prior=GaussianMixturePrior(10),
            labels=labels, progress=False)
    assert len(h["disc"]) == 1
    with pytest.raises(ValueError, match="disc_cond_dim = classes"):
        fit(_aae(disc_cond_dim=10), mnist_small, TrainConfig(epochs=1),
            prior=GaussianMixturePrior(10), labels=labels, progress=False)


def test_supervised_decoder_gets_labels(mnist_small):
    model = _aae(decoder_cond_dim=10)
    h = fit(model, mnist_small, TrainConfig(epochs=1), prior=GaussianPrior(2), progress=False)
    assert h["recon"][0] > 0


def test_lr_decay_reaches_its_final_fraction(mnist_small, monkeypatch):
    seen = []
    real_step = torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    data = mnist_small.subset(slice(0, 300))
    fit(build_model("ae", **SMALL), data, TrainConfig(epochs=3, lr=1e-3, lr_decay=0.1), progress=False)
    per_epoch = len(seen) // 3
    assert seen[0] == pytest.approx(1e-3)
    assert seen[per_epoch] == pytest.approx(0.55e-3)
    assert seen[-1] == pytest.approx(1e-4)


def test_callback_values_join_history(mnist_small):
    model = build_model("ae", **SMALL)
    h = fit(model, mnist_small, TrainConfig(epochs=2), progress=False,
            callback=lambda epoch, m: {"epoch_seen": epoch})
    assert h["epoch_seen"] == [0.0, 1.0]


def test_fit_rejects_bad_arguments(mnist_small):
    model = build_model("aae", **SMALL)
    with pytest.raises(ValueError, match="needs a prior"):
        fit(model, mnist_small, TrainConfig(epochs=1))
    with pytest.raises(ValueError, match="latent_dim is 2"):
        fit(model, mnist_small, TrainConfig(epochs=1), prior=GaussianPrior(8))
    with pytest.raises(TypeError, match="TrainConfig"):
        fit(model, mnist_small, {"epochs": 1}, prior=GaussianPrior(2))
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        TrainConfig(batch_size=-5)
    with pytest.raises(ValueError, match="lr_decay"):
        TrainConfig(lr_decay=0.0)
    with pytest.raises(ValueError, match="larger than the 2000"):
        fit(model, mnist_small, TrainConfig(epochs=1, batch_size=5000), prior=GaussianPrior(2))


def test_a_nan_pixel_is_refused_up_front_not_reported_as_divergence(mnist_small):
    # A NaN compares false with 0 and 1, so a range check alone let it through, and training
    # later stopped with "training diverged ... lower the learning rate": the wrong cause.
    model = build_model("ae", **SMALL)
    data = mnist_small.subset(slice(0, 200)).to("cpu")
    data.x = data.x.clone()  # subset() shares storage; keep the session fixture intact
    data.x[3, 7] = float("nan")
    with pytest.raises(ValueError, match=r"data.x holds 1 NaN value\(s\) \(the first at index \(3, 7\)\)"):
        fit(model, data, TrainConfig(epochs=1), progress=False)
    data.x[3, 7] = float("inf")
    with pytest.raises(ValueError, match=r"data.x holds 1 infinite value"):
        fit(model, data, TrainConfig(epochs=1), progress=False)
    with pytest.raises(ValueError, match=r"^x holds 1 infinite value"):
        ImageData(data.x, data.y)  # the same check when the data is made


def _config(epochs=1):
    return {"model": {"kind": "ae", **SMALL}, "train": TrainConfig(epochs=epochs).to_dict()}


def test_load_or_train_caches_and_reuses(mnist_small, tmp_path, capsys):
    calls = []

    def train(model):
        calls.append(1)
        return fit(model, mnist_small, TrainConfig(epochs=1), progress=False)

    m1, h1 = load_or_train("ae-test", _config(), train, directory=tmp_path)
    assert "Training ae-test: no checkpoint yet" in capsys.readouterr().out
    m2, h2 = load_or_train("ae-test", _config(), train, directory=tmp_path)
    assert "Loaded ae-test" in capsys.readouterr().out
    assert len(calls) == 1 and h1 == h2
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    manifest = json.loads((tmp_path / "ae-test.json").read_text())
    assert manifest["config"]["model"]["kind"] == "ae" and len(manifest["sha256"]) == 64
    assert not list(tmp_path.glob("*.tmp"))  # no temporary files left behind


def test_load_or_train_retrains_on_new_config_or_corruption(mnist_small, tmp_path, capsys):
    calls = []

    def train(model):
        calls.append(1)
        return fit(model, mnist_small, TrainConfig(epochs=1), progress=False)

    load_or_train("ae", _config(1), train, directory=tmp_path)
    load_or_train("ae", _config(2), train, directory=tmp_path)
    assert "different config" in capsys.readouterr().out
    weights = tmp_path / "ae.pt"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated file
    load_or_train("ae", _config(2), train, directory=tmp_path)
    assert "corrupt" in capsys.readouterr().out
    assert len(calls) == 3
    load_or_train("ae", _config(2), train, directory=tmp_path)
    assert len(calls) == 3  # the retrained checkpoint is good again


def test_load_or_train_rejects_bad_names_and_configs(tmp_path):
    with pytest.raises(ValueError, match="checkpoint name"):
        load_or_train("../escape", _config(), lambda m: {}, directory=tmp_path)
    with pytest.raises(ValueError, match='"model" dict'):
        load_or_train("x", {"epochs": 1}, lambda m: {}, directory=tmp_path)
    with pytest.raises(TypeError, match="JSON"):
        load_or_train("x", {**_config(), "bad": object()}, lambda m: {"recon": [1.0]},
                      directory=tmp_path)


def test_stacked_discriminator_pass_matches_two_calls():
    from aae_utils.models import Discriminator
    from aae_utils.phases import _judge

    torch.manual_seed(0)
    disc = Discriminator(3, [16, 16], cond_dim=4)
    real, fake = torch.randn(5, 3), torch.randn(7, 3)
    cond = torch.eye(4)[torch.tensor([0, 1, 2, 3, 0])]
    with pytest.raises(ValueError, match=r"cond must have shape \(12, 4\)"):  # must match both halves
        _judge(disc, real, fake, cond)
    r, f = _judge(disc, real, real * 2, cond)
    assert torch.allclose(r, disc(real, cond), atol=1e-6)
    assert torch.allclose(f, disc(real * 2, cond), atol=1e-6)
    plain = Discriminator(3, [16, 16])
    r, f = _judge(plain, real, fake)
    assert r.shape == (5,) and f.shape == (7,)
    assert torch.allclose(f, plain(fake), atol=1e-6)


def test_a_phase_written_outside_the_library_trains_the_same_model(mnist_small):
    # What notebooks 01, 03 and 06 do with the learner's phases: a plain re-implementation of the
    # discriminator phase (two discriminator calls, no stacking, no freezing) gives the same run
    # up to float rounding.
    from aae_utils.losses import discriminator_accuracy

    def my_discriminator_phase(model, x, prior_samples, opt):
        with torch.no_grad():
            codes = model.code(x)
        real, fake = model.discriminator(prior_samples), model.discriminator(codes)
        loss = torch.nn.functional.softplus(-real).mean() + torch.nn.functional.softplus(fake).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.detach(), discriminator_accuracy(real, fake)

    data = mnist_small.subset(slice(0, 400))
    runs = []
    for phases in (None, {"discriminator": my_discriminator_phase}):
        torch.manual_seed(0)  # the same initial weights
        model = build_model("aae", latent_dim=2, hidden=[64])
        runs.append(fit(model, data, TrainConfig(epochs=2, seed=3), prior=GaussianPrior(2),
                        progress=False, phases=phases))
    for key in ("recon", "disc", "gen", "disc_acc"):
        assert runs[0][key] == pytest.approx(runs[1][key], rel=1e-4), key


def test_fit_names_the_phases_a_model_runs_when_given_an_unknown_one(mnist_small):
    model = build_model("ae", latent_dim=2, hidden=[16])
    with pytest.raises(ValueError, match=r"phases: a 'ae' model runs \['reconstruction'\]; got 'generator'"):
        fit(model, mnist_small.subset(slice(0, 200)), TrainConfig(epochs=1), progress=False,
            phases={"generator": lambda *a: None})


def test_epoch_end_can_stop_a_run_and_load_or_train_does_not_cache_it(tmp_path, capsys):
    from aae_utils.checkpoints import load_or_train
    from aae_utils.data import ImageData
    from aae_utils.engine import fit
    from aae_utils.train_config import TrainConfig

    g = torch.Generator().manual_seed(0)
    data = ImageData(torch.rand(200, 784, generator=g), torch.randint(10, (200,), generator=g), "random")
    cfg = TrainConfig(epochs=3)
    seen = []

    def stop_after_two(epoch, history):
        seen.append((epoch, len(history["recon"])))
        return epoch == 1

    config = {"model": {"kind": "ae", "latent_dim": 2, "hidden": [16]}, "train": cfg.to_dict()}
    model, history = load_or_train(
        "cut", config, lambda m: fit(m, data, cfg, progress=False, epoch_end=stop_after_two),
        data=data, directory=tmp_path)
    assert seen == [(0, 1), (1, 2)]  # called after each epoch, with the history so far
    assert len(history["recon"]) == 2 and history["stopped_after"] == [2.0]
    assert not (tmp_path / "cut.pt").exists()  # a run cut short is never cached as finished
    assert (tmp_path / "cut.partial.pt").exists()
    assert "stopped after epoch 2" in capsys.readouterr().out
    # The same call continues it to the end.
    model, history = load_or_train("cut", config, lambda m: fit(m, data, cfg, progress=False),
                                   data=data, directory=tmp_path)
    assert len(history["recon"]) == 3 and "stopped_after" not in history
    assert (tmp_path / "cut.pt").exists() and not (tmp_path / "cut.partial.pt").exists()


def test_lr_milestones_divide_the_rates_by_ten_after_each():
    from aae_utils.train_config import TrainConfig

    assert TrainConfig(lr_milestones=[2, 5]).lr_milestones == (2, 5)
    for bad in ([5, 2], [0], [2, 2], "50"):
        with pytest.raises(ValueError, match="lr_milestones must be increasing positive epochs"):
            TrainConfig(lr_milestones=bad)
    with pytest.raises(ValueError, match="two schedules"):
        TrainConfig(lr_milestones=[2], lr_decay=0.1)
    assert "lr_milestones" not in TrainConfig().to_dict()  # old checkpoints keep matching
