"""Reproducibility, safe checkpoints, resuming, training guards and bad input (issue: reliability)."""

import pytest
import torch

from aae_utils import checkpoints, phases, resume
from aae_utils.models import build_model
from aae_utils.priors import GaussianPrior
from aae_utils.train import TrainConfig, fit, load_or_train

SMALL = {"latent_dim": 2, "hidden": [32, 32]}
AAE_CONFIG = {"model": {"kind": "aae", **SMALL, "posterior": "gaussian", "input_noise": 0.2},
              "train": {"epochs": 3}}


def _train_fn(data, epochs=3, ema_decay=0.0):
    return lambda m: fit(m, data, TrainConfig(epochs=epochs, lr_decay=0.5, ema_decay=ema_decay),
                         prior=GaussianPrior(2), progress=False)


def _same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(),
                                                  strict=True))


def _numbers(history):
    return {k: v for k, v in history.items() if k != "seconds"}


@pytest.fixture
def data(mnist_small):
    return mnist_small.subset(slice(0, 600))


def test_same_seed_same_history_and_weights_bit_for_bit(data, tmp_path):
    # Gaussian posterior and discriminator noise: every source of randomness is exercised.
    m1, h1 = load_or_train("a", AAE_CONFIG, _train_fn(data), directory=tmp_path / "1")
    m2, h2 = load_or_train("a", AAE_CONFIG, _train_fn(data), directory=tmp_path / "2")
    assert _numbers(h1) == _numbers(h2)
    assert _same_weights(m1, m2)


@pytest.mark.parametrize("ema_decay", [0.0, 0.9])  # with averaging, the average is resumed too
def test_interrupted_run_resumes_to_the_same_result(data, tmp_path, monkeypatch, capsys, ema_decay):
    train = _train_fn(data, ema_decay=ema_decay)
    reference, ref_history = load_or_train("a", AAE_CONFIG, train, directory=tmp_path / "ref")

    calls = {"n": 0}
    real_phase = phases.PHASE_NAMES["aae"]["generator"]
    steps_per_epoch = len(data) // 100

    def interrupt_in_epoch_2(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == steps_per_epoch + 3:  # third step of the second epoch
            raise KeyboardInterrupt
        return real_phase(*args, **kwargs)

    monkeypatch.setitem(phases.PHASE_NAMES["aae"], "generator", interrupt_in_epoch_2)
    directory = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        load_or_train("a", AAE_CONFIG, train, directory=directory)
    out = capsys.readouterr().out
    assert "Interrupted in epoch 2" in out and "run the same cell (or command) again" in out
    assert (directory / "a.partial.pt").exists()
    assert not (directory / "a.pt").exists()  # no finished checkpoint was faked

    monkeypatch.setitem(phases.PHASE_NAMES["aae"], "generator", real_phase)
    resumed, history = load_or_train("a", AAE_CONFIG, train, directory=directory)
    assert "Resuming after epoch 1" in capsys.readouterr().out
    assert _numbers(history) == _numbers(ref_history)
    assert _same_weights(resumed, reference)
    assert not (directory / "a.partial.pt").exists()


def test_partial_state_of_another_config_is_ignored(data, tmp_path, capsys):
    directory = tmp_path / "run"
    directory.mkdir()
    target = checkpoints.ResumeTarget(directory / "a.partial.pt", {"other": 1})
    model = build_model(**AAE_CONFIG["model"])
    opt = torch.optim.Adam(model.parameters())
    resume.save_state(target, model, [opt], [], torch.Generator(), {"recon": [1.0]}, 1)
    _, history = load_or_train("a", AAE_CONFIG, _train_fn(data), directory=directory)
    assert "belongs to another config" in capsys.readouterr().out
    assert len(history["recon"]) == 3


def test_corrupt_manifest_means_retrain(data, tmp_path, capsys):
    load_or_train("a", AAE_CONFIG, _train_fn(data, 1), directory=tmp_path)
    (tmp_path / "a.json").write_text("{not json")
    load_or_train("a", AAE_CONFIG, _train_fn(data, 1), directory=tmp_path)
    assert "manifest is unreadable" in capsys.readouterr().out


def test_nan_names_the_phase_epoch_and_step(data):
    calls = {"n": 0}
    real_phase = phases.discriminator_phase

    def nan_at_step_4(*args, **kwargs):
        calls["n"] += 1
        loss, acc = real_phase(*args, **kwargs)
        return (torch.tensor(float("nan")) if calls["n"] == 4 else loss), acc

    model = build_model("aae", **SMALL)
    with pytest.raises(FloatingPointError, match=r"discriminator loss became nan in epoch 1, step 4.*"
                                                 r"lower the learning rate"):
        fit(model, data, TrainConfig(epochs=2), prior=GaussianPrior(2), progress=False,
            phases={"discriminator": nan_at_step_4})


def test_a_discriminator_that_always_wins_is_flagged(data):
    def always_right(*args, **kwargs):
        loss, _ = phases.discriminator_phase(*args, **kwargs)
        return loss, torch.tensor(1.0)

    with pytest.warns(RuntimeWarning, match=r"discriminator \(disc_acc\) told every code"):
        history = fit(build_model("aae", **SMALL), data, TrainConfig(epochs=1),
                      prior=GaussianPrior(2), progress=False, phases={"discriminator": always_right})
    assert len(history["warnings"]) == 1


def test_images_outside_unit_range_are_refused(data):
    bad = data.to("cpu")
    bad.x = bad.x * 255
    with pytest.raises(ValueError, match=r"pixel values in \[0, 1\].*divide 0-255 pixels by 255"):
        fit(build_model("ae", **SMALL), bad, TrainConfig(epochs=1), progress=False)


def test_decoder_labels_out_of_range_are_refused(data):
    model = build_model("aae", **SMALL, decoder_cond_dim=10)
    labels = data.y.clone()
    labels[0] = 12
    with pytest.raises(ValueError, match=r"decoder labels must lie in \[0, 9\]"):
        fit(model, data, TrainConfig(epochs=1), prior=GaussianPrior(2), labels=labels, progress=False)
