"""The package's rooms: one job per module, small modules, imports that flow one way."""

import ast

import pytest

import aae_utils
from aae_utils.config import REPO_ROOT

PACKAGE = REPO_ROOT / "aae_utils"
MAX_LINES = 500


def _imports(module: str) -> set[str]:
    """The aae_utils modules that ``aae_utils/<module>.py`` imports (relative or absolute)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                found |= {node.module} if node.module else {a.name for a in node.names}
            elif node.module and node.module.startswith("aae_utils."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("aae_utils.")}
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_no_module_is_over_500_lines(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines; split it by job"


@pytest.mark.parametrize("module, forbidden", [
    ("phases", {"engine", "checkpoints", "train", "recipes"}),
    ("engine", {"checkpoints", "train", "recipes"}),
    ("train_config", {"phases", "engine", "checkpoints", "train"}),
    ("losses", {"phases", "engine", "checkpoints", "train"}),
    ("models", {"phases", "engine", "checkpoints", "train"}),
])
def test_imports_flow_one_way(module, forbidden):
    assert not _imports(module) & forbidden


def test_every_name_of_aae_utils_train_still_imports():
    # What notebooks, bench/ and learners imported from aae_utils.train before the split.
    from aae_utils import train

    names = {"TrainConfig", "History", "fit", "load_or_train", "save_checkpoint", "frozen",
             "reconstruction_phase", "discriminator_phase", "generator_phase", "vae_phase",
             "ss_reconstruction_phase", "ss_discriminator_phase", "ss_generator_phase",
             "classification_phase", "head_penalty", "ResumeTarget"}
    assert names <= set(train.__all__)
    from aae_utils import checkpoints, engine, phases

    assert train.fit is engine.fit and train.load_or_train is checkpoints.load_or_train
    assert train.generator_phase is phases.generator_phase


def test_package_docstring_lists_every_module():
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    listed = {m for m in modules if f"aae_utils.{m}`" in aae_utils.__doc__}
    assert listed == modules, f"not in aae_utils/__init__.py's list: {sorted(modules - listed)}"
