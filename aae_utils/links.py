"""Where the course lives online: the repository, the git ref every link names, and the Binder
and Colab links built from them, kept in one place.

Every notebook carries an "Open in Colab" badge and an opening cell that, on Colab only,
installs this package from the repository at :data:`REF`; README carries the Binder and Colab
badges. All of them name the same ref, so a learner on Colab gets notebooks and ``aae_utils``
from one branch or tag. The student edition (``student/notebooks/``, committed and kept in step
by ``make student``) has badges that open the student edition itself, not the solutions.

:data:`REF` is ``main`` between releases, a ref every clone has. A release (``make release
VERSION=x.y.z``, ``tools/release.py``) stamps ``v<version>`` into a commit of its own, tags it,
and stamps ``main`` back in the next commit: links in a release open that release, and links on
``main`` open ``main``. ``python -m aae_utils.links`` re-stamps README and every notebook
(``--check`` only reports); a test fails while a badge or the install line disagrees with this
module, and another installs ``aae_utils`` from :data:`REF` of the clone under test.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from .writes import atomic_write

#: GitHub ``owner/name`` of the course repository.
REPOSITORY = "aae-course/adversarial-autoencoders"
#: The git ref badges open and Colab installs ``aae_utils`` from: ``main``, or ``v`` + the package
#: version in a release's own commit (tools/release.py rewrites this line).
REF = "main"
#: Where each edition's notebooks are in the repository.
EDITIONS = {"instructor": "notebooks", "student": "student/notebooks"}

COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE_IMAGE = "https://mybinder.org/badge_logo.svg"

_BADGE_LINE = re.compile(r"^\[!\[Open in Colab\]\([^)]*\)\]\([^)]*\)\n?", re.M)
_COLAB_BLOCK = re.compile(
    r"# On Colab only:.*?\n    %pip install [^\n]*\n\n", re.S
)


def _folder(edition: str) -> str:
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {sorted(EDITIONS)}, got {edition!r}")
    return EDITIONS[edition]


def colab_url(notebook: str, edition: str = "instructor") -> str:
    """Colab's URL for ``notebook`` of ``edition`` (``"instructor"`` or ``"student"``) at :data:`REF`."""
    return (f"https://colab.research.google.com/github/{REPOSITORY}/blob/{REF}/"
            f"{_folder(edition)}/{notebook}")


def binder_url(notebook: str | None = None, edition: str = "instructor") -> str:
    """Binder's URL: JupyterLab on :data:`REF`, opened at ``notebook`` of ``edition`` (or its folder)."""
    return (
        f"https://mybinder.org/v2/gh/{REPOSITORY}/{REF}"
        f"?urlpath=lab/tree/{_folder(edition)}/{notebook or ''}"
    )


def pip_spec() -> str:
    """What Colab's opening cell installs: this package from the repository at :data:`REF`."""
    return f"aae-utils @ git+https://github.com/{REPOSITORY}@{REF}"


def colab_badge(notebook: str, edition: str = "instructor") -> str:
    return f"[![Open in Colab]({COLAB_BADGE_IMAGE})]({colab_url(notebook, edition)})"


def binder_badge(notebook: str | None = None, edition: str = "instructor") -> str:
    return f"[![Launch Binder]({BINDER_BADGE_IMAGE})]({binder_url(notebook, edition)})"


def colab_install_block() -> str:
    """The lines the opening code cell of every notebook starts with."""
    return (
        "# On Colab only: install the course package from the branch or release of this notebook\n"
        "# (torch, torchvision and matplotlib are preinstalled there). Elsewhere: nothing.\n"
        "import sys\n\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "{pip_spec()}"\n\n'
    )


def _source(cell) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def _set_source(cell, text: str) -> None:
    # A notebook read as JSON holds lines; one read by nbformat holds a string.
    cell["source"] = text if isinstance(cell["source"], str) else text.splitlines(True)


def stamp_cells(cells: list, notebook: str, edition: str = "instructor") -> bool:
    """Put the Colab badge of ``notebook`` (of ``edition``) under the title in ``cells[0]`` and the
    install block atop the opening code cell, in place. Returns whether anything changed.

    Raises:
        ValueError: the first cell is not the markdown title, or the first code cell does not
            call ``setup_notebook()``.
    """
    if not cells or cells[0]["cell_type"] != "markdown":
        raise ValueError(f"{notebook}: the first cell must be the markdown title")
    opening = next((c for c in cells if c["cell_type"] == "code"), None)
    if opening is None or "setup_notebook(" not in _source(opening):
        raise ValueError(f"{notebook}: the first code cell must call setup_notebook()")
    changed = False

    title = _BADGE_LINE.sub("", _source(cells[0]))
    first, _, rest = title.partition("\n")
    new_title = f"{first}\n{colab_badge(notebook, edition)}\n{rest}"
    if new_title != _source(cells[0]):
        _set_source(cells[0], new_title)
        changed = True

    code = _COLAB_BLOCK.sub("", _source(opening))
    new_code = colab_install_block() + code.lstrip("\n")
    if new_code != _source(opening):
        _set_source(opening, new_code)
        changed = True
    return changed


def _stamp_notebook(path: Path, write: bool) -> bool:
    """Badge under the title of the first cell, install block atop the opening code cell."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    changed = stamp_cells(nb["cells"], path.name)
    if changed and write:
        atomic_write(path, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return changed


def _readme_badges() -> str:
    return (f"{binder_badge()} {colab_badge('00_setup.ipynb')}\n\n"
            f"Student edition (exercises blank): {binder_badge(edition='student')} "
            f"{colab_badge('00_setup.ipynb', 'student')}\n")


def _stamp_block(path: Path, write: bool, name: str, body: str) -> bool:
    """Replace what lies between ``<!-- name:start -->`` and ``<!-- name:end -->`` in ``path``."""
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    text = path.read_text(encoding="utf-8")
    if not pattern.search(text):
        raise ValueError(f"{path} has no <!-- {name}:start --> / <!-- {name}:end --> markers")
    new = pattern.sub(lambda m: m.group(1) + body + m.group(2), text)
    if new != text and write:
        atomic_write(path, new)
    return new != text


def _stamp_readme(path: Path, write: bool) -> bool:
    return _stamp_block(path, write, "badges", _readme_badges())


def handout() -> str:
    """The links the instructors' page tells a lecturer to hand out: the student edition."""
    return (f"[Colab, notebook 00]({colab_url('00_setup.ipynb', 'student')}) (change the file name in\n"
            f"the address for each lab) and\n[Binder, the whole student edition]"
            f"({binder_url(edition='student')}).\n")


def _stamp_handout(path: Path, write: bool) -> bool:
    return _stamp_block(path, write, "handout", handout())


def stamp(root: Path, *, write: bool = True) -> list[str]:
    """Bring README's, the instructors' page's and every notebook's links in line with this module.

    Returns the files that changed (or, with ``write=False``, that would change).
    """
    root = Path(root)
    stale = []
    targets = [(root / "README.md", _stamp_readme)]
    if (root / "site" / "instructors.md").exists():
        targets.append((root / "site" / "instructors.md", _stamp_handout))
    targets += [(p, _stamp_notebook) for p in sorted((root / "notebooks").glob("*.ipynb"))]
    for path, fn in targets:
        if fn(path, write):
            stale.append(str(path.relative_to(root)))
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    parser.add_argument("--root", type=Path, default=None,
                        help="the clone to stamp (default: the one this package is in)")
    args = parser.parse_args(argv)
    if args.root is None:
        from .config import REPO_ROOT, _in_repo

        if not _in_repo():  # installed with pip: there is no README or notebooks/ to stamp
            parser.error("aae_utils is installed outside a clone of the course repository; run this "
                         "in a clone (python -m aae_utils.links) or pass --root <clone>")
        args.root = REPO_ROOT
    if not (args.root / "README.md").is_file() or not (args.root / "notebooks").is_dir():
        parser.error(f"--root {args.root} is not a clone of the course (no README.md and notebooks/)")
    stale = stamp(args.root, write=not args.check)
    verb = "out of date" if args.check else "re-stamped"
    for name in stale:
        print(f"{verb}: {name}")
    if not stale:
        print(f"links match {REPOSITORY}@{REF}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
