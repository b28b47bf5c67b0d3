"""Checkpoints know the data they were trained on, and nothing a learner passes to load_or_train
makes a finished training run vanish."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from aae_utils.checkpoints import ResumeTarget, data_record, load_or_train, plain_history
from aae_utils.config import checkpoint_dir
from aae_utils.data import ImageData
from aae_utils.engine import fit
from aae_utils.recipes import recipe, train_recipe
from aae_utils.train_config import TrainConfig

SMALL = {"kind": "ae", "latent_dim": 2, "hidden": [16, 16]}
CONFIG = {"model": SMALL, "train": {"epochs": 1}}


def _fashion_like(n=2000, seed=0):
    """Images that are not MNIST, under the name the course gives Fashion-MNIST."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 784), generator=g).float() / 255
    return ImageData(x, torch.randint(0, 10, (n,), generator=g), "fashion-mnist")


def test_a_recipe_trained_on_mnist_is_not_reused_for_fashion_mnist(mnist_small, tmp_path, monkeypatch,
                                                                    capsys):
    monkeypatch.setenv("AAE_CHECKPOINT_DIR", str(tmp_path))
    r = replace(recipe("aae-supervised", fast=True), n_train=400, train=TrainConfig(epochs=1))
    on_mnist, _ = train_recipe(r, mnist_small)
    assert "Training aae-supervised: no checkpoint yet" in capsys.readouterr().out
    on_fashion, _ = train_recipe(r, _fashion_like())
    out = capsys.readouterr().out
    assert "Loaded" not in out
    assert "Training aae-supervised: it was trained with a different config (dataset: 'mnist' -> " \
           "'fashion-mnist')" in out
    manifest = json.loads((checkpoint_dir() / "aae-supervised.json").read_text())
    assert manifest["config"]["dataset"] == "fashion-mnist"
    assert manifest["data"]["name"] == "fashion-mnist" and manifest["data"]["n"] == 400
    assert not torch.equal(on_mnist.decoder.net[0].weight, on_fashion.decoder.net[0].weight)
    train_recipe(r, _fashion_like())
    assert "Loaded aae-supervised" in capsys.readouterr().out  # the same data: reused


def test_same_name_and_config_but_other_images_retrains(tmp_path, capsys):
    a = _fashion_like(300)
    b = ImageData(a.x.clone(), a.y.clone(), a.name)
    b.x[7, 100] = 0.5  # one pixel of one image differs
    train = lambda d: lambda m: fit(m, d, TrainConfig(epochs=1), progress=False)  # noqa: E731
    load_or_train("m", CONFIG, train(a), data=a, directory=tmp_path)
    load_or_train("m", CONFIG, train(b), data=b, directory=tmp_path)
    out = capsys.readouterr().out
    assert "Training m: it was trained on other data (fashion-mnist, 300 images, sha256 " in out
    assert data_record(a) != data_record(b) and data_record(a)["n"] == data_record(b)["n"]
    load_or_train("m", CONFIG, train(b), data=b, directory=tmp_path)
    assert "Loaded m" in capsys.readouterr().out


def test_a_checkpoint_without_a_data_record_is_retrained_when_data_is_given(tmp_path, capsys):
    d = _fashion_like(200)
    load_or_train("m", CONFIG, lambda m: {"recon": [1.0]}, directory=tmp_path)
    manifest = json.loads((tmp_path / "m.json").read_text())
    del manifest["data"]  # as written before checkpoints recorded their data
    (tmp_path / "m.json").write_text(json.dumps(manifest))
    load_or_train("m", CONFIG, lambda m: {"recon": [1.0]}, data=d, directory=tmp_path)
    assert "does not say which data it was trained on" in capsys.readouterr().out


def test_resume_state_of_other_data_is_ignored(tmp_path, capsys):
    target = ResumeTarget(tmp_path / "a.partial.pt", {"c": 1}, {"name": "mnist", "n": 1, "sha256": "0"})
    target.save({"epochs_done": 1})
    assert target.load() == {"config": {"c": 1}, "data": target.data, "epochs_done": 1}
    assert ResumeTarget(target.path, {"c": 1}, {"name": "x", "n": 1, "sha256": "1"}).load() is None
    assert "trained on other data" in capsys.readouterr().out


def _train_returning(value):
    def train(model):
        with torch.no_grad():
            model.decoder.net[0].bias += 1.0  # "training": the returned model must carry it
        return value

    return train


@pytest.mark.parametrize("history, stored", [
    ({"recon": [torch.tensor(1.5), torch.tensor(0.5)]}, {"recon": [1.5, 0.5]}),
    ({"recon": torch.tensor([1.5, 0.5])}, {"recon": [1.5, 0.5]}),
    ({"recon": [np.float32(1.5), np.float64(0.5)], "steps": [np.int64(3)]},
     {"recon": [1.5, 0.5], "steps": [3]}),
    ({"recon": np.array([1.5, 0.5])}, {"recon": [1.5, 0.5]}),
    ({"recon": [np.longdouble(1.5)]}, {"recon": [1.5]}),
], ids=["0-d tensors", "1-d tensor", "numpy scalars", "numpy array", "numpy longdouble"])
def test_history_of_tensors_or_numpy_numbers_is_stored_as_floats(tmp_path, capsys, history, stored):
    model, returned = load_or_train("m", CONFIG, _train_returning(history), directory=tmp_path)
    assert returned == stored and all(type(v) in (float, int) for vs in returned.values() for v in vs)
    assert json.loads((tmp_path / "m.json").read_text())["history"] == stored
    again, loaded = load_or_train("m", CONFIG, _train_returning({}), directory=tmp_path)
    assert "Loaded m" in capsys.readouterr().out and loaded == stored
    assert torch.equal(again.decoder.net[0].bias, model.decoder.net[0].bias)


def _self_containing():
    history = {"recon": [1.0], "a": []}
    history["a"].append(history)
    return history


@pytest.mark.parametrize("history, note", [
    (None, "returned None instead of its history"),
    ([1.0, 2.0], "returned a list, not a history dict"),
    ({"recon": [1.0], "model": torch.nn.Linear(2, 2)}, "history['model'] holds a torch.nn."),
    ({"recon": [1.0], "z": [np.complex128(1 + 2j)]}, "history['z'] holds a builtins.complex"),
    ({"recon": [1.0], "z": torch.tensor([1 + 2j])}, "history['z'] holds a builtins.complex"),
    ({"recon": [1.0], "when": [np.datetime64("2024-01-01")]}, "history['when'] holds a datetime.date"),
    ({1: [1.0], "1": [2.0]}, "history has the keys 1 and '1', both stored as '1'"),
    (_self_containing(), "history['a'] holds a value JSON cannot hold (RecursionError)"),
], ids=["None", "a list", "a module in the history", "numpy complex", "complex tensor", "a date",
        "colliding keys", "a history that contains itself"])
def test_a_history_a_manifest_cannot_hold_never_loses_the_model(tmp_path, capsys, history, note):
    model, returned = load_or_train("m", CONFIG, _train_returning(history), directory=tmp_path)
    out = capsys.readouterr().out
    assert note in out and "the trained model is saved and returned all the same" in out
    assert (model.decoder.net[0].bias > 0.5).any()  # the trained weights, not a fresh model
    assert not (tmp_path / "m.partial.pt").exists()
    _, _ = load_or_train("m", CONFIG, _train_returning({}), directory=tmp_path)
    assert "Loaded m" in capsys.readouterr().out  # cached: a rerun does not train again


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"),
                                   RuntimeError("[enforce fail at inline_container.cc] unexpected pos")],
                         ids=["OSError", "torch's RuntimeError on a full disk"])
def test_a_failed_save_still_returns_the_trained_model(tmp_path, monkeypatch, capsys, error):
    from aae_utils import checkpoints

    def full_disk(*args, **kwargs):
        raise error

    monkeypatch.setattr(checkpoints, "save_checkpoint", full_disk)
    model, history = load_or_train("m", CONFIG, _train_returning({"recon": [1.0]}), directory=tmp_path)
    assert "returned but not cached" in capsys.readouterr().out
    assert history == {"recon": [1.0]} and (model.decoder.net[0].bias > 0.5).any()


def test_bad_arguments_are_refused_before_training(tmp_path):
    calls = []
    train = lambda m: calls.append(1) or {}  # noqa: E731
    with pytest.raises(TypeError, match=r"config\['train'\]\['lr'\] is a torch.Tensor.*float\(x\)"):
        load_or_train("m", {**CONFIG, "train": {"lr": torch.tensor(0.1)}}, train, directory=tmp_path)
    with pytest.raises(TypeError, match="fn must be a function"):
        load_or_train("m", CONFIG, {"recon": [1.0]}, directory=tmp_path)
    with pytest.raises(TypeError, match="data must be the ImageData"):
        load_or_train("m", CONFIG, train, data=torch.zeros(3, 784), directory=tmp_path)
    with pytest.raises(TypeError, match=r"build\(\) must return a torch model"):
        load_or_train("m", CONFIG, train, build=lambda: "model", directory=tmp_path)
    assert calls == []


def test_plain_history_keeps_warnings_and_numbers():
    history, notes = plain_history({"recon": [1.0], "warnings": ["epoch 1: ..."], "seconds": [0.1]})
    assert history == {"recon": [1.0], "warnings": ["epoch 1: ..."], "seconds": [0.1]} and notes == []


def test_clean_checkpoints_deletes_models_only(tmp_path, monkeypatch):
    from aae_utils.checkpoints import clean_checkpoints

    (tmp_path / "fast").mkdir()
    (tmp_path / "reproduce").mkdir()
    models = ["a.pt", "a.json", "b.partial.pt", "fast/c.pt", "fast/c.json", "reproduce/d.partial.pt"]
    kept = ["notes.txt", "e.json", "fast/README.md"]
    for name in models + kept:
        (tmp_path / name).write_text("x")
    monkeypatch.setenv("AAE_CHECKPOINT_DIR", str(tmp_path))
    deleted = clean_checkpoints()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in deleted) == sorted(models)
    assert all((tmp_path / name).exists() for name in kept)
    assert clean_checkpoints() == []
