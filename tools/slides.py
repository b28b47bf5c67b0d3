"""Reveal.js slides of the notebooks, for the lecture part of the course: ``make slides``.

    python tools/slides.py [NOTEBOOK ...] [--out FOLDER]   # write the slides (build/slides/)
    python tools/slides.py --mark [NOTEBOOK ...]           # set the slide types in the notebooks

``NOTEBOOK`` is a number (``02``), a file name (``02_vae_kl.ipynb``) or a path; none means all
of ``notebooks/``. The slides are written from the stored outputs (nothing is executed) by
nbconvert's ``SlidesExporter`` with a small template (``tools/slides_template/``) that loads
nothing from the network: reveal.js (pinned, :data:`REVEAL_VERSION`, fetched once with
``npm pack`` into ``build/vendor/`` and checked against :data:`REVEAL_INTEGRITY`) and MathJax 3
(from the Python package ``sphinx-mathjax-offline``) are copied next to the decks.

**Presenting.** Open ``build/slides/02_vae_kl.slides.html`` in a browser (``build/slides/index.html``
lists every deck); no server and no network are needed. Right and left move between the
notebook's sections, down and up through the slides of a section, space through all of them.
Press ``S`` for the speaker view (a second window with the next slide, a clock and the notes:
the solutions of the exercises; allow the pop-up), ``F`` for full screen, ``Esc`` for the
overview. A slide longer than the screen scrolls. Figures and tables show without the code
that draws them (the notebook has it); the code the lecture is about stays on its slide.

**What goes on the slides** is stored in the notebooks, as Jupyter's slide types
(``metadata.slideshow.slide_type``; JupyterLab's property inspector shows and edits them), and
``--mark`` sets them by this rule, the first line that matches a cell deciding:

======================================================  ========  ================================
cell                                                    type      why
======================================================  ========  ================================
markdown tagged ``solution``, or a "What to notice"     notes     the answer, speaker view only
right after a notes cell
markdown starting with a ``#`` or ``##`` heading        slide     a section: the next to the right
markdown starting with a ``###`` (or deeper) heading    subslide  a step: the next slide down
"**What to notice:**" of at most 600 characters, right  fragment  the point of the figure, under
after a figure on a slide of its own                              it at the next key press
any other markdown                                      subslide  one point per slide
code with nothing in it                                 skip
the opening cell, and code before the first ``##``      skip      set-up and imports
a check cell (``check("NN.name", ...)``)                skip      the learner's feedback
a "Your turn" cell (``### BEGIN SOLUTION``)             notes     the class writes it in the lab
a cell that prints an exercise's answer                 notes     the answer, speaker view only
(``yours(..., withhold=True)``)
code that shows a figure, a table or a widget, right    ``-``     the figure under its title
after markdown that opens a slide and whose last part
(after its last heading) is at most 300 characters
other code that shows a figure, a table or a widget     subslide  the figure on its own slide
other code right after a figure, a fragment, or        subslide  code on a slide of its own
markdown whose last part is over 600 characters
any other code                                          ``-``     under the text before it
======================================================  ========  ================================

On the slides (not in the notebooks), a markdown cell with headings inside it is cut before each
heading, as if each part were a cell of its own.

A type chosen by hand is kept when it says so: ``"slideshow": {"slide_type": "fragment",
"by_hand": true}``. ``--mark`` is idempotent, changes cell metadata only, and prints every type
it changes; ``tests/test_slides.py`` fails while a cell's type is not the rule's (nor by hand),
so a new cell cannot be left off, or forgotten on, the slides.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path, PurePosixPath

from aae_utils import links
from aae_utils.writes import atomic_write

REPO = Path(__file__).resolve().parents[1]
TOOLS = Path(__file__).resolve().parent
NOTEBOOKS = REPO / "notebooks"
OUT = REPO / "build" / "slides"
VENDOR = REPO / "build" / "vendor"

#: The reveal.js the decks use: the last 4.x (nbconvert's reveal template is written for 4.x).
REVEAL_VERSION = "4.6.1"
#: ``npm view reveal.js@4.6.1 dist.integrity``: the tarball's SHA-512, base64.
REVEAL_INTEGRITY = ("sha512-1CW0auaXNPmwmvQ7TwpszwVxMi2Xr5cTS3J3EBC/HHgbPF32Dn7aiu/LKWDOGjMbaDwKQiGmf"
                    "qcoGQ74HUHCMw==")
#: What the decks need of reveal.js (paths in its package) and of MathJax 3: the component that
#: reads TeX and writes HTML, its fonts, the TeX extensions it loads on demand (\boldsymbol ...),
#: and what its right-click menu loads (the accessibility options).
REVEAL_PARTS = ("LICENSE", "dist/reveal.js", "dist/reveal.css", "dist/reset.css", "dist/theme/white.css",
                "dist/theme/fonts/source-sans-pro/", "plugin/notes/notes.js")
MATHJAX_PARTS = ("tex-chtml.js", "input/tex/extensions/", "output/chtml/fonts/woff-v2/", "ui/", "a11y/",
                 "sre/")
#: Where the decks find them, relative to the decks.
REVEAL_DIR, MATHJAX_DIR = "reveal.js", "mathjax"

#: A figure stays on the slide of a markdown cell whose last part (after its last heading) is this
#: short; other code, unless that part is longer than LONG_LEAD ...
SHORT_LEAD, LONG_LEAD = 300, 600
#: ... and a "What to notice" this short after a figure is shown under it, at the next key press.
NOTICE, SHORT_NOTICE = "**What to notice:**", 600
SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")
_CHECK = re.compile(r"^(from aae_utils\.checks import [^\n]+\n\n?)?check\(")
_HEADING = re.compile(r"^(#+)\s")
_SHOWN = ("image/png", "image/jpeg", "image/svg+xml", "text/html", "text/markdown",
          "application/vnd.jupyter.widget-view+json")
_REMOTE_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*https?://[^)]*\)")
_REMOTE_IMG_TAG = re.compile(r"<img\b[^>]*\bsrc=[\"']?https?://[^>]*>", re.IGNORECASE)


class SlidesError(RuntimeError):
    """What stops the slides from being written, in one line that names the fix."""


# --- the rule ------------------------------------------------------------------------------------


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def _shows(cell) -> bool:
    """Whether a code cell's stored outputs hold a figure, a table or a widget."""
    return any(mime in out.get("data", {}) for out in cell.get("outputs", []) for mime in _SHOWN)


def _figure(cell) -> bool:
    return cell.get("cell_type") == "code" and any(
        mime.startswith("image/") for out in cell.get("outputs", []) for mime in out.get("data", {}))


def rule(cells: list) -> list[str]:
    """The slide type the rule (module docstring) gives each of ``cells`` (a notebook's cells, as
    dicts or nbformat nodes), in order."""
    types, in_section = [], False
    for i, cell in enumerate(cells):
        source = _text(cell.get("source", "")).strip()
        tags = cell.get("metadata", {}).get("tags", [])
        before = types[-1] if types else None
        if cell.get("cell_type") == "markdown":
            heading = _HEADING.match(source)
            if heading and len(heading[1]) >= 2:
                in_section = True  # past the title: the lecture's first section
            if "solution" in tags or (source.startswith(NOTICE) and before == "notes"):
                kind = "notes"
            elif heading and len(heading[1]) <= 2:
                kind = "slide"
            elif heading:
                kind = "subslide"
            elif (source.startswith(NOTICE) and len(split_at_headings(source)[0].strip()) <= SHORT_NOTICE
                  and i > 0 and _figure(cells[i - 1]) and before in ("subslide", "slide")):
                kind = "fragment"
            else:
                kind = "subslide"
        elif cell.get("cell_type") != "code" or not source:
            kind = "skip"
        elif not in_section or "setup_notebook(" in source:
            kind = "skip"
        elif _CHECK.match(source):
            kind = "skip"
        elif "### BEGIN SOLUTION" in source or "withhold=True" in source:
            kind = "notes"
        else:
            after_text = (i > 0 and cells[i - 1].get("cell_type") == "markdown"
                          and before not in ("notes", "skip"))
            parts = split_at_headings(_text(cells[i - 1].get("source", ""))) if after_text else [""]
            text = len(parts[-1].strip())  # what is on the slide above this cell
            opens = after_text and (before in ("slide", "subslide") or len(parts) > 1)
            if _shows(cell):
                kind = "-" if opens and text <= SHORT_LEAD else "subslide"
            elif (after_text and (text > LONG_LEAD or before == "fragment")) or (
                    i > 0 and _shows(cells[i - 1]) and before not in ("notes", "skip")):
                kind = "subslide"
            else:
                kind = "-"
        types.append(kind)
    return types


def _by_hand(cell) -> bool:
    show = cell.get("metadata", {}).get("slideshow", {})
    return bool(show.get("by_hand")) and show.get("slide_type") in SLIDE_TYPES


def differences(nb: dict) -> list[str]:
    """Each cell of ``nb`` whose stored slide type is not the rule's and not chosen by hand, as
    ``"cell 12: stored 'fragment', the rule says 'subslide'"``; empty when all agree."""
    found = []
    for i, (cell, kind) in enumerate(zip(nb["cells"], rule(nb["cells"]), strict=True)):
        stored = cell.get("metadata", {}).get("slideshow", {}).get("slide_type")
        if stored != kind and not _by_hand(cell):
            found.append(f"cell {i}: stored {stored!r}, the rule says {kind!r}")
    return found


def mark(nb: dict) -> list[str]:
    """Set every cell's ``metadata.slideshow.slide_type`` of ``nb`` (a notebook as parsed JSON)
    to the rule's, in place, except the types chosen by hand; nothing else is touched. Returns
    what changed, one line per cell (empty: the notebook was already marked)."""
    changed = []
    for i, (cell, kind) in enumerate(zip(nb["cells"], rule(nb["cells"]), strict=True)):
        if _by_hand(cell):
            continue
        show = cell.setdefault("metadata", {}).setdefault("slideshow", {})
        old = show.get("slide_type")
        if old != kind:
            show["slide_type"] = kind
            was = "" if old is None else f" (was {old!r}; add \"by_hand\": true beside a type you chose)"
            changed.append(f"cell {i}: {kind!r}{was}")
    return changed


def notebook_text(nb: dict) -> str:
    """A notebook as the course stores it: nbformat's layout (sorted keys, one-space indent,
    UTF-8 kept, a final newline), so that a mark changes only the lines it must."""
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def mark_files(paths: list[Path]) -> dict[Path, list[str]]:
    """:func:`mark` each notebook file and write back the ones that changed. Returns
    ``{path: changes}`` for every notebook."""
    report = {}
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        report[path] = mark(nb)
        if report[path]:
            atomic_write(path, notebook_text(nb))
    return report


# --- what the decks load, local ------------------------------------------------------------------


def _put(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` unless it already holds exactly that; whether it wrote."""
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    atomic_write(path, data)
    return True


def integrity(data: bytes) -> str:
    """npm's integrity string of ``data``: ``sha512-`` and the base64 of its SHA-512."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def reveal_tarball(vendor: Path = VENDOR) -> Path:
    """``vendor/reveal.js-<REVEAL_VERSION>.tgz``, fetched with ``npm pack`` unless a copy with the
    pinned integrity is there already.

    Raises:
        SlidesError: npm is missing or failed (offline, registry unreachable), or the tarball's
            SHA-512 is not :data:`REVEAL_INTEGRITY`.
    """
    path = vendor / f"reveal.js-{REVEAL_VERSION}.tgz"
    if path.is_file() and integrity(path.read_bytes()) == REVEAL_INTEGRITY:
        return path
    npm = shutil.which("npm")
    if npm is None:
        raise SlidesError(f"npm is not installed, and the slides need it once to fetch reveal.js "
                          f"{REVEAL_VERSION}: install Node.js with npm (Debian: apt-get install npm), or "
                          f"copy reveal.js-{REVEAL_VERSION}.tgz (npm pack reveal.js@{REVEAL_VERSION}) "
                          f"into {path.parent}")
    spec = f"reveal.js@{REVEAL_VERSION}"
    with tempfile.TemporaryDirectory() as staging:  # npm's own file, outside the repository
        try:
            done = subprocess.run([npm, "pack", spec, "--pack-destination", staging, "--silent"],
                                  capture_output=True, text=True, timeout=300)
            why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            ok = done.returncode == 0
        except (OSError, subprocess.TimeoutExpired) as err:
            why, ok = str(err), False
        fetched = Path(staging) / path.name
        if not ok or not fetched.is_file():
            raise SlidesError(f"npm pack {spec} failed ({why}): the slides need it once; check the "
                              "network and npm's registry (npm config get registry), then run again")
        data = fetched.read_bytes()
    got = integrity(data)
    if got != REVEAL_INTEGRITY:
        raise SlidesError(f"npm pack {spec} gave a tarball whose integrity is {got}, not the pinned "
                          f"{REVEAL_INTEGRITY}: the download is damaged or not that release; run again, "
                          "and if it persists, do not use it")
    atomic_write(path, data)
    return path


def reveal_package(vendor: Path = VENDOR) -> Path:
    """reveal.js's package, extracted from :func:`reveal_tarball` into
    ``vendor/reveal.js-<REVEAL_VERSION>/`` (files only; a path leaving that folder is refused)."""
    tarball = reveal_tarball(vendor)
    dest = vendor / f"reveal.js-{REVEAL_VERSION}"
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            rel = PurePosixPath(member.name)
            if rel.parts[:1] != ("package",) or rel.is_absolute() or ".." in rel.parts:
                raise SlidesError(f"{tarball.name} holds {member.name!r}, outside its package folder: "
                                  "not a tarball npm made; delete it and run again")
            _put(dest.joinpath(*rel.parts[1:]), tar.extractfile(member).read())
    return dest


def mathjax_root() -> Path:
    """MathJax 3's folder in the installed ``sphinx-mathjax-offline`` package.

    Raises:
        SlidesError: the package is not installed, or has no ``tex-chtml.js``.
    """
    try:
        dist = metadata.distribution("sphinx-mathjax-offline")
    except metadata.PackageNotFoundError:
        raise SlidesError("sphinx-mathjax-offline is not installed (the slides take MathJax 3 from "
                          "it): pip install sphinx-mathjax-offline, or make install") from None
    root = Path(dist.locate_file("sphinx-mathjax-offline/static/mathjax"))
    if not (root / "tex-chtml.js").is_file():
        raise SlidesError(f"{root} has no tex-chtml.js: reinstall with pip install --force-reinstall "
                          "sphinx-mathjax-offline")
    return root


def _copy(src: Path, dest: Path, parts: tuple[str, ...]) -> int:
    """Copy the files of ``src`` whose relative path is one of ``parts`` or lies under one that
    ends with ``/``, into ``dest``; how many were written (unchanged files are left alone)."""
    written = 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src).as_posix()
        if path.is_file() and any(rel == p or (p.endswith("/") and rel.startswith(p)) for p in parts):
            written += _put(dest / rel, path.read_bytes())
    return written


def vendor_assets(out: Path, vendor: Path = VENDOR) -> None:
    """Put reveal.js (``out/reveal.js/``) and MathJax (``out/mathjax/``) next to the decks."""
    _copy(reveal_package(vendor), out / REVEAL_DIR, REVEAL_PARTS)
    _copy(mathjax_root(), out / MATHJAX_DIR, MATHJAX_PARTS)


# --- the decks -----------------------------------------------------------------------------------


def split_at_headings(source: str) -> list[str]:
    """``source`` (markdown) cut before each heading line after its first line, outside code
    blocks and ``$$`` math; the pieces, in order (one piece when there is no such heading)."""
    pieces, current, fenced, math = [], [], False, False
    for line in source.splitlines(keepends=True):
        stripped = line.strip()
        if not fenced and not math and current and _HEADING.match(line) and "".join(current).strip():
            pieces.append("".join(current))
            current = []
        current.append(line)
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and stripped.count("$$") % 2 == 1:
            math = not math
    pieces.append("".join(current))
    return pieces


def _for_slides(nb, name: str | None = None):
    """A copy of ``nb`` (the notebook file ``name``) as the slides show it.

    - A markdown cell with headings inside it is cut before each (one slide per heading, typed
      as a cell starting with that heading would be), unless the cell is notes or skipped.
    - A remote image in the markdown (the Colab badge) becomes its alt text: nothing may load
      from the network. The badge opens the student edition: a deck is shown to learners.
    - The code of a figure, a table or a widget is left off (its output stays), and a widget
      shows its stored still image.
    """
    import nbformat

    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type == "markdown":
            cell.source = _REMOTE_IMG_TAG.sub("", _REMOTE_IMAGE.sub(r"\1", cell.source))
            if name is not None:
                cell.source = cell.source.replace(f"]({links.colab_url(name)})",
                                                  f"]({links.colab_url(name, 'student')})")
            kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
            if kind in ("notes", "skip"):
                continue
            first, *rest = split_at_headings(cell.source)
            cell.source = first
            for k, piece in enumerate(rest, start=1):
                level = len(_HEADING.match(piece)[1])
                kind = "slide" if level <= 2 else "subslide"
                cells.append(nbformat.v4.new_markdown_cell(
                    piece, id=f"{cell.get('id', 'cell')}-{k}", metadata={"slideshow": {"slide_type": kind}}))
        elif cell.cell_type == "code" and _shows(cell):
            cell.metadata["transient"] = {"remove_source": True}  # nbconvert's "remove input"
            for out in cell.outputs:
                data = out.get("data", {})
                if "application/vnd.jupyter.widget-view+json" in data and len(data) > 1:
                    del data["application/vnd.jupyter.widget-view+json"]  # no widget state stored
    nb.cells = cells
    return nb


def exporter():
    """nbconvert's slides exporter with the course's template (``tools/slides_template/``)."""
    from nbconvert import SlidesExporter

    return SlidesExporter(
        extra_template_basedirs=[str(TOOLS)], template_name="slides_template",
        template_file="slides.html.j2", exclude_input_prompt=True, exclude_output_prompt=True,
        embed_images=True, reveal_theme="white", reveal_transition="slide", reveal_width="1280",
        reveal_height="720", reveal_url_prefix=REVEAL_DIR)


def deck(path: Path) -> str:
    """The HTML of ``path``'s slides (a notebook file), assets at :data:`REVEAL_DIR` and
    :data:`MATHJAX_DIR` beside it."""
    import nbformat

    nb = _for_slides(nbformat.read(path, as_version=4), path.name)
    resources = {"metadata": {"name": path.stem, "path": str(path.parent)},
                 "slides": {"reveal": REVEAL_DIR, "mathjax": MATHJAX_DIR}}
    body, _ = exporter().from_notebook_node(nb, resources=resources)
    return body


def _index(decks: list[Path]) -> str:
    items = "\n".join(f'<li><a href="{html.escape(p.name)}">{html.escape(p.name.split(".")[0])}</a></li>'
                      for p in decks)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Slides</title></head>\n"
            "<body><h1>Adversarial Autoencoders: slides</h1>\n<p>Open a deck; press S for the speaker "
            f"view, F for full screen, Esc for the overview.</p>\n<ul>\n{items}\n</ul>\n</body></html>\n")


def write_slides(paths: list[Path], out: Path = OUT, vendor: Path = VENDOR) -> list[Path]:
    """Write ``out/<notebook>.slides.html`` for each notebook in ``paths``, reveal.js and MathJax
    beside them, and ``out/index.html`` listing every deck in ``out``. Returns the decks written.

    Raises:
        SlidesError: reveal.js or MathJax could not be had (see :func:`reveal_tarball`).
        aae_utils.writes.WriteError: a file could not be written (it says which and why).
    """
    vendor_assets(out, vendor)
    written = []
    for path in paths:
        dest = out / f"{path.stem}.slides.html"
        atomic_write(dest, deck(path))
        written.append(dest)
    atomic_write(out / "index.html", _index(sorted(out.glob("*.slides.html"))))
    return written


def notebooks(names: list[str], folder: Path = NOTEBOOKS) -> list[Path]:
    """The notebook files ``names`` mean (all of ``folder`` for none).

    Raises:
        SlidesError: a name matches no notebook, or more than one.
    """
    every = sorted(folder.glob("*.ipynb"))
    if not names:
        return every
    found = []
    for name in names:
        if Path(name).is_file():
            found.append(Path(name).resolve())
            continue
        stem = Path(name).name.removesuffix(".ipynb")
        hits = [p for p in every if p.stem == stem or p.stem.split("_", 1)[0] == stem.zfill(2)]
        if len(hits) != 1:
            raise SlidesError(f"notebook {name!r}: {'no' if not hits else 'more than one'} notebook in "
                              f"{folder} matches; give a number (02) or a file name "
                              f"({every[0].name if every else '02_vae_kl.ipynb'})")
        found.append(hits[0])
    return found


def _shown(path: Path) -> str:
    path = path.resolve()
    return path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write reveal.js slides of the notebooks (offline), or mark their slide types.",
        epilog="Present: open build/slides/<notebook>.slides.html; S: speaker view, F: full screen.")
    parser.add_argument("notebook", nargs="*", help="numbers (02) or file names; default: all")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the slides "
                        "(default: build/slides/)")
    parser.add_argument("--mark", action="store_true", help="set the cells' slide types by the rule "
                        "(tools/slides.py's docstring) in the notebooks themselves, and write nothing else")
    args = parser.parse_args(argv)
    try:
        paths = notebooks(args.notebook)
        if args.mark:
            for path, changes in mark_files(paths).items():
                print(f"{path.name}: " + (f"{len(changes)} slide types set" if changes else "marked already"))
                for line in changes:
                    print(f"  {line}")
            return 0
        written = write_slides(paths, args.out, VENDOR)
    except SlidesError as err:
        print(f"slides: {err}", file=sys.stderr)
        return 1
    print(f"slides: {len(written)} decks in {_shown(args.out)}/ (open {_shown(args.out / 'index.html')};"
          " S for the speaker view)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
