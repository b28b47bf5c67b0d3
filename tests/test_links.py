"""Badges, the Colab install line and the git ref agree everywhere (aae_utils.links), the ref
exists in this clone and installs the package with its recorded runs, and a release
(tools/release.py) stamps, tags and hands main back."""

import json
import os
import re
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from aae_utils import __version__, links
from aae_utils.config import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
IS_CLONE = (REPO_ROOT / ".git").exists()
needs_clone = pytest.mark.skipif(not IS_CLONE, reason="not a git clone of the course")


def _git(*args, root=REPO_ROOT) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_ref_is_main_or_this_release():
    assert links.REF in ("main", f"v{__version__}"), (
        f"links.REF is {links.REF!r}: main between releases, v{__version__} in a release commit")
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
    assert f"/blob/{links.REF}/notebooks/{path.name}" in links.colab_url(path.name)
    opening = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
    assert f'%pip install --quiet "{links.pip_spec()}"' in opening
    assert '"google.colab" in sys.modules' in opening  # only on Colab
    assert opening.rstrip().endswith("setup = setup_notebook(seed=0)")


def test_readme_has_binder_and_colab_badges():
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"]({links.binder_url()})" in readme
    assert "mybinder.org/v2/gh/" in links.binder_url() and f"/{links.REF}?" in links.binder_url()
    assert f"]({links.colab_url('00_setup.ipynb')})" in readme
    assert f"]({links.binder_url(edition='student')})" in readme
    assert f"]({links.colab_url('00_setup.ipynb', 'student')})" in readme


def test_unknown_edition_is_refused():
    with pytest.raises(ValueError, match="edition must be one of"):
        links.colab_url("00_setup.ipynb", "teacher")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_badges_open_the_student_edition(path):
    student = REPO_ROOT / "student" / "notebooks" / path.name
    assert student.exists(), "run `make student`: the student edition is committed"
    cells = json.loads(student.read_text(encoding="utf-8"))["cells"]
    title = "".join(cells[0]["source"])
    assert f"]({links.colab_url(path.name, 'student')})" in title
    assert "/blob/" + links.REF + "/notebooks/" not in title  # never the solutions


@needs_clone
def test_ref_exists_in_this_clone():
    assert _git("rev-parse", "--verify", "--quiet", f"{links.REF}^{{commit}}"), (
        f"{links.REF} is not a branch or tag of this clone: every badge would open nothing")


@needs_clone
def test_the_ref_holds_what_the_links_open():
    """What a badge opens at REF is in that commit: every notebook of both editions."""
    committed = set(_git("ls-tree", "-r", "--name-only", links.REF).splitlines())
    for path in NOTEBOOKS:
        assert f"notebooks/{path.name}" in committed
        assert f"student/notebooks/{path.name}" in committed, f"commit student/notebooks/{path.name}"


@needs_clone
def test_the_ref_installs_with_the_recorded_runs(tmp_path):
    """Colab's line, with this clone for the repository: a fresh virtual environment (no
    dependencies) installs ``aae_utils`` from REF and finds the recorded runs in it."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # pip (23.x) reads file:///path as a local path: name the host to make it a URL.
    spec = links.pip_spec().replace(f"https://github.com/{links.REPOSITORY}", f"file://localhost{REPO_ROOT}")
    assert spec.endswith(f"@{links.REF}")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                             "--disable-pip-version-check", spec],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    found = subprocess.run(
        [str(python), "-c", "import importlib.util, pathlib; s = importlib.util.find_spec('aae_utils'); "
                            "print('\\n'.join(sorted(p.name for p in pathlib.Path(s.origin).parent"
                            ".joinpath('recorded').glob('*.json'))))"],
        capture_output=True, text=True, env=env, cwd=tmp_path)
    installed = set(found.stdout.split())
    expected = {Path(p).name for p in _git("ls-tree", "--name-only", f"{links.REF}:aae_utils/recorded")
                .splitlines() if p.endswith(".json")}
    assert expected and installed == expected, found.stderr[-2000:]



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
    assert f"@{links.REF}" in capsys.readouterr().out


def test_stamping_outside_a_clone_says_what_to_do(monkeypatch, tmp_path, capsys):
    from aae_utils import config

    monkeypatch.setattr(config, "_in_repo", lambda: False)
    with pytest.raises(SystemExit):
        links.main(["--check"])
    assert "outside a clone" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        links.main(["--check", "--root", str(tmp_path)])
    assert "is not a clone of the course" in capsys.readouterr().err
