"""Binder's build inputs follow repo2docker's conventions and cover what the package needs.

(No conda or docker here to build the image itself; these checks catch the usual breakages:
a dependency added to pyproject.toml but not to environment.yml, a postBuild that is not
executable or that lets pip pull a second torch.)"""

import os
import re

import pytest

from aae_utils.config import REPO_ROOT

yaml = pytest.importorskip("yaml", reason="PyYAML comes with the dev tools")

# pip name -> conda-forge name, where they differ.
CONDA_NAME = {"torch": "pytorch-cpu"}


def _floors(requirements: list[str]) -> dict[str, str]:
    out = {}
    for req in requirements:
        m = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*(?:>=\s*([0-9.]+))?", req)
        out[m.group(1).lower()] = m.group(2) or ""
    return out


def test_environment_has_every_runtime_dependency():
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = _floors([d for d in env["dependencies"] if isinstance(d, str)])
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", pyproject, re.S | re.M).group(1)
    runtime = _floors(re.findall(r'"([^"]+)"', block))
    for name in runtime:
        assert CONDA_NAME.get(name, name) in conda, f"{name} is missing from environment.yml"
    for name in ("python", "jupyterlab", "ipykernel", "pip"):
        assert name in conda, f"{name} is missing from environment.yml"


def test_postbuild_installs_the_package_without_dependencies():
    post = REPO_ROOT / "postBuild"
    assert os.access(post, os.X_OK), "postBuild must be executable (git update-index --chmod=+x)"
    text = post.read_text()
    assert text.startswith("#!/usr/bin/env bash")
    assert re.search(r"pip install --no-deps -e \.", text), "postBuild must not let pip pull torch"


#: Import name -> the distribution in pyproject's dependencies that provides it. ``google`` is
#: Colab's own module (imported only there); PIL comes with torchvision and matplotlib.
PROVIDED_BY = {"sklearn": "scikit-learn", "PIL": "torchvision", "google": None}


def test_every_module_the_package_imports_is_a_runtime_dependency():
    """What aae_utils imports must be installed by `pip install aae-utils` (the outside-a-clone
    test borrows the test environment's packages, so it cannot catch a missing one)."""
    import ast
    import sys

    imported = set()
    for path in (REPO_ROOT / "aae_utils").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m not in sys.stdlib_module_names and m != "aae_utils"}
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", pyproject, re.S | re.M).group(1)
    runtime = set(_floors(re.findall(r'"([^"]+)"', block)))
    for module in sorted(third_party):
        dist = PROVIDED_BY.get(module, module)
        assert dist is None or dist.lower() in runtime, (
            f"aae_utils imports {module}, but pyproject.toml's dependencies do not list {dist}")
