"""The developer tooling is wired up: pre-commit's configuration is valid."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aae_utils.config import REPO_ROOT


def test_pre_commit_config_is_valid():
    exe = Path(sys.executable).parent / "pre-commit"
    if not exe.exists():
        found = shutil.which("pre-commit")
        if found is None:
            pytest.skip("pre-commit is not installed (pip install -e '.[dev]' brings it)")
        exe = Path(found)
    result = subprocess.run([str(exe), "validate-config", ".pre-commit-config.yaml"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
