"""``make release VERSION=...`` (tools/release.py) on a throw-away clone: the tag's links name the
tag, main's name main, the tag installs with pip, and a release that cannot be made changes
nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from aae_utils.config import REPO_ROOT

pytestmark = pytest.mark.skipif(not (REPO_ROOT / ".git").exists(), reason="not a git clone of the course")
GIT_ENV = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@localhost",
           "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@localhost"}


def _git(*args, root: Path) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True,
                          env={**os.environ, **GIT_ENV}).stdout.strip()


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("release") / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(root)], check=True)
    return root


def _release(clone: Path, *args: str) -> subprocess.CompletedProcess:
    branch = _git("rev-parse", "--abbrev-ref", "HEAD", root=clone)
    env = {**os.environ, **GIT_ENV, "PYTHONPATH": str(clone)}
    return subprocess.run([sys.executable, str(clone / "tools" / "release.py"), *args,
                           "--branch", branch], cwd=clone, capture_output=True, text=True, env=env,
                          timeout=600)


@pytest.fixture(scope="module")
def released(clone) -> Path:
    result = _release(clone, "9.9.9")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tagged v9.9.9" in result.stdout
    return clone


def test_the_tag_names_itself_and_main_names_main(released):
    show = lambda what: _git("show", what, root=released)  # noqa: E731
    assert re.search(r'^REF = "v9\.9\.9"$', show("v9.9.9:aae_utils/links.py"), re.M)
    assert re.search(r'^version = "9\.9\.9"$', show("v9.9.9:pyproject.toml"), re.M)
    assert re.search(r'^REF = "main"$', show("HEAD:aae_utils/links.py"), re.M)
    name = "03_adversarial_autoencoder.ipynb"
    tagged, student = show(f"v9.9.9:notebooks/{name}"), show(f"v9.9.9:student/notebooks/{name}")
    assert f"/blob/v9.9.9/notebooks/{name}" in tagged and "adversarial-autoencoders@v9.9.9" in tagged
    assert f"/blob/v9.9.9/student/notebooks/{name}" in student
    assert "@main" not in tagged and "/blob/main/" not in student
    assert "/v9.9.9?urlpath=lab/tree/notebooks/" in show("v9.9.9:README.md")
    assert "blob/v9.9.9/student/notebooks/00_setup.ipynb" in show("v9.9.9:site/instructors.md")
    assert "blob/main/student/notebooks/00_setup.ipynb" in show("HEAD:site/instructors.md")
    head = show(f"HEAD:notebooks/{name}")
    assert "adversarial-autoencoders@main" in head and "v9.9.9" not in head
    assert not _git("status", "--porcelain", "--untracked-files=no", root=released)


def test_the_tag_installs(released, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    spec = f"aae-utils @ git+file://localhost{released}@v9.9.9"
    result = subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps",
                             "--disable-pip-version-check", spec],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    version = subprocess.run([python, "-c", "import importlib.metadata as m; print(m.version('aae-utils'))"],
                             capture_output=True, text=True, env=env, cwd=tmp_path)
    assert version.stdout.strip() == "9.9.9"


@pytest.mark.parametrize("args, message", [
    (["9.9"], "VERSION must look like 1.2.3"),
    (["v1.0.0"], "VERSION must look like 1.2.3"),
    (["9.9.9"], "tag v9.9.9 exists already"),
])
def test_a_release_that_cannot_be_made_changes_nothing(released, args, message):
    head = _git("rev-parse", "HEAD", root=released)
    result = _release(released, *args)
    assert result.returncode == 1 and message in result.stderr
    assert _git("rev-parse", "HEAD", root=released) == head


def test_uncommitted_changes_are_refused(released):
    readme = released / "README.md"
    text = readme.read_text()
    readme.write_text(text + "\nedited\n")
    try:
        result = _release(released, "9.9.10")
        assert result.returncode == 1 and "uncommitted changes" in result.stderr
        assert not _git("tag", "--list", "v9.9.10", root=released)
    finally:
        readme.write_text(text)
