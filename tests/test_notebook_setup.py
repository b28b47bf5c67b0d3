import torch

from aae_utils.notebook import _version_tuple, setup_notebook


def test_setup_reports_and_returns(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("AAE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AAE_FAST", "1")
    s = setup_notebook(seed=3)
    out = capsys.readouterr().out
    assert s.seed == 3 and s.fast and isinstance(s.device, torch.device)
    assert "seed: 3" in out and "FAST" in out and "will download" in out
    assert str(tmp_path.parent) not in out or "<" in out


def test_version_parsing():
    assert _version_tuple("2.14.1+cu130") == (2, 14)
    assert _version_tuple("2.1.0a0") == (2, 1)


def test_colab_gets_its_widget_manager(capsys, monkeypatch, tmp_path):
    """On Colab with ipywidgets 8 the opening cell turns on Colab's custom widget manager."""
    import sys
    import types

    calls = []
    output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("on"))
    colab = types.ModuleType("google.colab")
    colab.output = output
    google = types.ModuleType("google")
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setenv("AAE_DATA_DIR", str(tmp_path))
    s = setup_notebook(seed=0)
    assert s.colab and "running on Colab" in capsys.readouterr().out
    import ipywidgets

    assert calls == (["on"] if _version_tuple(ipywidgets.__version__) >= (8, 0) else [])
