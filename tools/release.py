"""Make a release: ``make release VERSION=x.y.z`` (or ``python tools/release.py x.y.z``).

Links on ``main`` name ``main`` (:data:`aae_utils.links.REF`), a ref every clone has. A release
gives learners links that never move: this script

1. sets the version (``pyproject.toml``, ``aae_utils.__version__``) and ``REF = "vx.y.z"``,
   re-stamps README, the instructors' page and every notebook (``aae_utils.links``) and
   rewrites the student edition
   (its badges open the student edition at the tag);
2. checks that every badge, install line and student notebook names the tag, commits
   ("Release vx.y.z") and tags that commit ``vx.y.z`` (annotated);
3. stamps ``main`` back and commits again, so that ``main`` keeps naming ``main``;
4. checks the tag: its README, notebooks and student edition name the tag.

Then push both: ``git push origin main vx.y.z``, and attach the pretrained models to the
GitHub release of the tag (``make pretrained``; ``site/instructors.md``, "Starting a lab
without training").

Refused, changing nothing: a version that is not ``x.y.z``, a tag that exists, uncommitted
changes to tracked files, a branch other than ``main`` (``--branch`` to override).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VERSION = re.compile(r"^\d+\.\d+\.\d+$")
#: Where a link names a ref: Colab's /blob/<ref>/, Binder's /<ref>?urlpath, pip's @<ref>.
REF_PATTERNS = (r"adversarial-autoencoders/blob/([\w.-]+)/", r"adversarial-autoencoders/([\w.-]+)\?urlpath",
                r"adversarial-autoencoders@([\w.-]+)")


class ReleaseError(RuntimeError):
    """A release that cannot be made as asked; the message says why and what to do."""


def _git(*args: str, root: Path = REPO) -> str:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def _replace_once(path: Path, pattern: str, new: str) -> None:
    from aae_utils.writes import atomic_write

    text = path.read_text(encoding="utf-8")
    updated, n = re.subn(pattern, new, text, count=1, flags=re.M)
    if n != 1:
        raise ReleaseError(f"{path.relative_to(REPO)}: no line matches {pattern!r}")
    atomic_write(path, updated)


def _stamp(ref: str, version: str | None = None) -> None:
    """Write ``ref`` (and ``version``) into the sources, then re-stamp links and the student
    edition in a fresh interpreter (this one has the old ``aae_utils.links`` imported)."""
    _replace_once(REPO / "aae_utils" / "links.py", r'^REF = "[^"]*"$', f'REF = "{ref}"')
    if version is not None:
        _replace_once(REPO / "pyproject.toml", r'^version = "[^"]*"$', f'version = "{version}"')
        _replace_once(REPO / "aae_utils" / "__init__.py", r'^__version__ = "[^"]*"$',
                      f'__version__ = "{version}"')
    env_code = ("import sys; sys.path[:0] = [{root!r}, {tools!r}]; "
                "from aae_utils import links; links.stamp(links.Path({root!r})); "
                "import editions; editions.write_student_edition(links.Path({root!r}) / 'student')")
    code = env_code.format(root=str(REPO), tools=str(REPO / "tools"))
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise ReleaseError(f"stamping {ref} failed:\n{result.stderr[-2000:]}")


def names_only(ref: str, treeish: str | None = None) -> list[str]:
    """The files (README, notebooks, student edition) whose links name another ref than ``ref``,
    in the working tree or, with ``treeish``, in that commit."""
    files = ["README.md", "site/instructors.md"] + [
        f"{folder}/{p.name}" for folder in ("notebooks", "student/notebooks")
        for p in sorted((REPO / folder).glob("*.ipynb"))]
    wrong = []
    for name in files:
        text = (_git("show", f"{treeish}:{name}") if treeish else
                (REPO / name).read_text(encoding="utf-8"))
        refs = {m for pattern in REF_PATTERNS for m in re.findall(pattern, text)}
        if not refs or refs != {ref}:
            wrong.append(f"{name} names {sorted(refs) or 'no ref'}")
    return wrong


def release(version: str, branch: str = "main") -> str:
    """Make release ``version`` as the module docstring says; returns the tag."""
    if not isinstance(version, str) or not VERSION.match(version):
        raise ReleaseError(f"VERSION must look like 1.2.3, got {version!r}")
    tag = f"v{version}"
    if _git("tag", "--list", tag):
        raise ReleaseError(f"tag {tag} exists already; choose the next version")
    if _git("status", "--porcelain", "--untracked-files=no"):
        raise ReleaseError("tracked files have uncommitted changes; commit or stash them first")
    current = _git("rev-parse", "--abbrev-ref", "HEAD")
    if current != branch:
        raise ReleaseError(f"releases are made on {branch}, this clone is on {current} "
                           f"(git switch {branch}, or pass --branch {current})")
    start = _git("rev-parse", "HEAD")
    try:
        _stamp(tag, version)
        wrong = names_only(tag)
        if wrong:
            raise ReleaseError("after stamping, links still name another ref: " + "; ".join(wrong))
        _git("add", "-A", "README.md", "site/instructors.md", "pyproject.toml", "aae_utils", "notebooks",
             "student/notebooks")
        _git("commit", "-q", "-m", f"Release {tag}",
             "-m", f"Every badge and the Colab install line name {tag}; main names main again "
                   "in the next commit.")
        _git("tag", "-a", tag, "-m", f"Release {tag}")
        _stamp("main")
        _git("add", "-A", "README.md", "site/instructors.md", "aae_utils", "notebooks", "student/notebooks")
        _git("commit", "-q", "-m", f"Links name main again after {tag}",
             "-m", f"The release commit is tagged {tag}; main's badges open main.")
    except BaseException:
        # Leave the clone as it was: no half-stamped files, no tag without its commit.
        subprocess.run(["git", "tag", "-d", tag], cwd=REPO, capture_output=True)
        subprocess.run(["git", "reset", "-q", "--hard", start], cwd=REPO, capture_output=True)
        raise
    wrong = names_only(tag, treeish=tag) + names_only("main")
    if wrong:
        raise ReleaseError("the release commit or main names the wrong ref: " + "; ".join(wrong))
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("version", help="x.y.z (the tag will be vx.y.z)")
    parser.add_argument("--branch", default="main", help="the branch releases are made on")
    args = parser.parse_args(argv)
    try:
        tag = release(args.version, branch=args.branch)
    except ReleaseError as err:
        print(f"release: {err}", file=sys.stderr)
        return 1
    print(f"tagged {tag}; main names main again. Push both: git push origin {args.branch} {tag}; "
          f"then attach the pretrained models (make pretrained) to the GitHub release {tag}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
