import random

import numpy as np
import pytest
import torch

from aae_utils import config


def test_fast_mode_reads_environment(monkeypatch):
    monkeypatch.setenv("AAE_FAST", "1")
    assert config.is_fast()
    monkeypatch.setenv("AAE_FAST", "0")
    assert not config.is_fast()
    monkeypatch.delenv("AAE_FAST")
    assert not config.is_fast()


def test_unclear_flag_is_rejected(monkeypatch):
    monkeypatch.setenv("AAE_FAST", "maybe")
    with pytest.raises(ValueError, match="AAE_FAST"):
        config.is_fast()


def test_data_root_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv("AAE_DATA_DIR", raising=False)
    assert config.data_root() == config.REPO_ROOT / "data"
    monkeypatch.setenv("AAE_DATA_DIR", str(tmp_path))
    assert config.data_root() == tmp_path


def test_fast_checkpoints_live_apart(monkeypatch, tmp_path):
    monkeypatch.setenv("AAE_CHECKPOINT_DIR", str(tmp_path))
    monkeypatch.setenv("AAE_FAST", "0")
    assert config.checkpoint_dir() == tmp_path
    monkeypatch.setenv("AAE_FAST", "1")
    assert config.checkpoint_dir() == tmp_path / "fast"


def test_device_order_and_override(monkeypatch):
    monkeypatch.delenv("AAE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert config.get_device().type == expected
    assert config.get_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="unknown"):
        config.get_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            config.get_device("cuda")


def test_seed_everything_repeats_all_generators():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    config.seed_everything(7)
    first = draw()
    config.seed_everything(7)
    assert draw() == first
    with pytest.raises(ValueError):
        config.seed_everything(-1)


def test_display_path_hides_machine_layout(tmp_path, monkeypatch):
    shown = config.display_path(config.REPO_ROOT / "data" / "x")
    assert shown == "<repo>/data/x"
    # outside the clone: the plain path, never a "<repo>/../.." chain
    monkeypatch.delenv("AAE_DATA_DIR", raising=False)
    monkeypatch.delenv("AAE_CHECKPOINT_DIR", raising=False)
    assert config.display_path(tmp_path) == tmp_path.resolve().as_posix()


def test_display_path_outside_a_clone_is_relative_to_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "_in_repo", lambda: False)
    monkeypatch.chdir(tmp_path)
    assert config.display_path(tmp_path / "data" / "MNIST") == "data/MNIST"
    assert config.display_path(tmp_path) == "."
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(config.REPO_ROOT)  # not the working folder of the path below
    assert config.display_path(home / "course" / "data") == "~/course/data"
    for shown in (config.display_path(config.REPO_ROOT / "data"), config.display_path("/")):
        assert ".." not in shown and "<repo>" not in shown
    # a data/ folder that is a link elsewhere is still shown as data/
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "MNIST").mkdir(parents=True)
    work = tmp_path / "work"
    work.mkdir()
    (work / "data").symlink_to(elsewhere)
    monkeypatch.chdir(work)
    assert config.display_path(work / "data" / "MNIST") == "data/MNIST"
    monkeypatch.setenv("AAE_DATA_DIR", str(tmp_path / "mnist-here"))
    assert config.display_path(tmp_path / "mnist-here" / "MNIST") == "$AAE_DATA_DIR/MNIST"
