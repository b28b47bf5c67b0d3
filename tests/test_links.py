"""Badges, the Colab install line and the release tag agree everywhere (aae_utils.links)."""

import json
import re
import shutil

import pytest

from aae_utils import __version__, links
from aae_utils.config import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


def test_release_is_the_package_version():
    assert links.RELEASE == f"v{__version__}"
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()  # tomllib is 3.11+, the course 3.10+
    assert re.search(rf'^version = "{re.escape(__version__)}"$', pyproject, re.M), (
        "bump pyproject.toml and aae_utils.__version__ together"
    )
    assert f'Repository = "https://github.com/{links.REPOSITORY}"' in pyproject


def test_everything_is_stamped():
    stale = links.stamp(REPO_ROOT, write=False)
    assert not stale, f"run `python -m aae_utils.links` to re-stamp {stale}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_in_colab_and_installs_the_release(path):
    cells = json.loads(path.read_text())["cells"]
    title = "".join(cells[0]["source"])
    assert links.colab_url(path.name) in title
    assert f"/blob/{links.RELEASE}/notebooks/{path.name}" in links.colab_url(path.name)
    opening = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
    assert f'%pip install --quiet "{links.pip_spec()}"' in opening
    assert '"google.colab" in sys.modules' in opening  # only on Colab
    assert opening.rstrip().endswith("setup = setup_notebook(seed=0)")


def test_readme_has_binder_and_colab_badges():
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"]({links.binder_url()})" in readme
    assert "mybinder.org/v2/gh/" in links.binder_url() and links.RELEASE in links.binder_url()
    assert f"]({links.colab_url('00_setup.ipynb')})" in readme


def test_stamping_is_idempotent_and_repairs(tmp_path):
    (tmp_path / "notebooks").mkdir()
    shutil.copy(REPO_ROOT / "README.md", tmp_path / "README.md")
    nb = tmp_path / "notebooks" / "01_x.ipynb"
    nb.write_text(json.dumps({"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# 01 · X\n", "\n", "text"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["from aae_utils import setup_notebook\n", "\n", "setup = setup_notebook(seed=0)"]},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert links.stamp(tmp_path) == ["notebooks/01_x.ipynb"]
    assert links.stamp(tmp_path) == []
    cells = json.loads(nb.read_text())["cells"]
    assert "".join(cells[0]["source"]).startswith(f"# 01 · X\n{links.colab_badge('01_x.ipynb')}\n")
    assert "".join(cells[1]["source"]).count("%pip install") == 1


def test_bad_notebook_is_refused(tmp_path):
    (tmp_path / "notebooks").mkdir()
    shutil.copy(REPO_ROOT / "README.md", tmp_path / "README.md")
    (tmp_path / "notebooks" / "bad.ipynb").write_text(json.dumps({"cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "source": ["1"]}]}))
    with pytest.raises(ValueError, match="first cell must be the markdown title"):
        links.stamp(tmp_path)


def test_check_mode_exit_status(capsys):
    assert links.main(["--check"]) == 0
    assert links.RELEASE in capsys.readouterr().out


def test_stamping_outside_a_clone_says_what_to_do(monkeypatch, tmp_path, capsys):
    from aae_utils import config

    monkeypatch.setattr(config, "_in_repo", lambda: False)
    with pytest.raises(SystemExit):
        links.main(["--check"])
    assert "outside a clone" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        links.main(["--check", "--root", str(tmp_path)])
    assert "is not a clone of the course" in capsys.readouterr().err
