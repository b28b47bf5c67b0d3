"""`make site`: the course site builds from the stored outputs, with one page per notebook in order,
and a page needs nothing from the network: every script, stylesheet, font and image it loads is
in the build (MathJax included), and the results tables are tables.

The ``site`` fixture (tests/conftest.py) builds the site once per session; tests/test_site_browser.py
opens its pages in Chromium with the network blocked.
"""

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from aae_utils.config import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
REMOTE_BADGES = ("https://colab.research.google.com/assets/colab-badge.svg", "https://mybinder.org/badge_logo.svg")


def stored_tables(notebook: Path) -> list[list[str]]:
    """Header cells of every pipe table a notebook prints as a stored markdown output (the results
    tables of 06-09), e.g. ``[["setting", "paper (error %)", ...]]``."""
    headers = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            markdown = "".join(output.get("data", {}).get("text/markdown", ""))
            lines = markdown.strip().splitlines()
            if len(lines) >= 2 and lines[0].startswith("|") and set(lines[1]) <= set("|-: "):
                headers.append([c.strip() for c in lines[0].strip().strip("|").split("|")])
    return headers


class _Resources(HTMLParser):
    """What a page loads by itself: ``<script src>``, ``<link href>`` (stylesheets, preloads,
    icons) and any other element's ``src`` (images, frames, media). ``<a href>`` is only a link."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self.tables: list[list[str]] = []
        self._in_th = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("href"):
            self.found.append((f"<link rel={attrs.get('rel')}>", attrs["href"]))
        for name in ("src", "data", "poster"):
            if attrs.get(name) and tag != "a":
                self.found.append((f"<{tag} {name}>", attrs[name]))
        if tag == "table":
            self.tables.append([])
        self._in_th = tag == "th" or (self._in_th and tag != "td")

    def handle_endtag(self, tag):
        if tag == "th":
            self._in_th = False

    def handle_data(self, data):
        if self._in_th and self.tables:
            self.tables[-1].append(data)


def _parse(page: Path) -> _Resources:
    parser = _Resources()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _header_cells(parser: _Resources) -> list[list[str]]:
    """Each table's header texts (a header cell's text may come in several pieces)."""
    # Sphinx's smartquotes turn ' into ’ in the page.
    return [[t.strip().replace("\u2019", "'") for t in table if t.strip()] for table in parser.tables]


def test_toc_lists_every_notebook_in_course_order():
    toc = (REPO_ROOT / "site" / "_toc.yml").read_text()
    listed = re.findall(r"^\s*- file: notebooks/(\S+)$", toc, re.M)
    assert listed == [p.stem for p in NOTEBOOKS], "site/_toc.yml must follow notebooks/ in order"


def test_site_repository_is_the_courses():
    from aae_utils.links import REPOSITORY

    assert f'url: "https://github.com/{REPOSITORY}"' in (REPO_ROOT / "site" / "_config.yml").read_text()


def test_every_notebook_has_a_page(site):
    assert (site / "index.html").exists()
    for nb in NOTEBOOKS:
        page = site / "notebooks" / f"{nb.stem}.html"
        assert page.exists(), f"no page for {nb.name}"
        title = re.search(r"<title>(.*?)</title>", page.read_text(encoding="utf-8"), re.S)
        assert title and nb.stem[:2] in title.group(1)


def test_pages_carry_the_stored_figures(site):
    page = (site / "notebooks" / "03_adversarial_autoencoder.html").read_text(encoding="utf-8")
    images = re.findall(r'<img [^>]*src="\.\./_images/([^"]+)"', page)
    assert len(images) >= 5
    assert all((site / "_images" / name).exists() for name in images)
    # The explorer shows its still (no kernel on a static page) right after its heading.
    explorer = page[page.find('id="explore-the-code-space-yourself"'):]
    explorer = explorer[: explorer.find('id="three-choices-of-posterior"')]
    assert "<img " in explorer


def test_every_page_loads_only_files_of_the_build(site):
    # _static/ holds the theme's Jinja macro files (.html, never served as pages).
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    assert len(pages) > len(NOTEBOOKS)
    problems = []
    for page in pages:
        for what, url in _parse(page).found:
            parts = urlsplit(url)
            if parts.scheme == "data":
                continue
            if parts.scheme or url.startswith("//"):
                problems.append(f"{page.relative_to(site)}: {what} {url} comes from the network")
            elif not (page.parent / unquote(parts.path)).exists():
                problems.append(f"{page.relative_to(site)}: {what} {url} is not in the build")
    # The stylesheets' own references: fonts, icons, @import.
    for css in sorted((site / "_static").rglob("*.css")):
        for url in re.findall(r"(?:url\(\s*[\"']?|@import\s+[\"'])((?:https?:)?//[^\"')\s]+)", css.read_text(
                encoding="utf-8", errors="replace")):
            problems.append(f"{css.relative_to(site)} loads {url}")
    assert not problems, "pages must work offline:\n" + "\n".join(problems[:30])


def test_mathjax_is_served_from_the_build(site):
    page = site / "notebooks" / "03_adversarial_autoencoder.html"
    scripts = [url for what, url in _parse(page).found if what == "<script src>" and "mathjax" in url.lower()]
    assert scripts == ["../_static/mathjax/tex-chtml.js"], scripts
    mathjax = site / "_static" / "mathjax"
    # tex-chtml.js loads its fonts and TeX extensions from beside itself when a page needs them.
    assert sorted(p.name for p in (mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert (mathjax / "input" / "tex" / "extensions" / "ams.js").exists()
    assert "\\(" in page.read_text(encoding="utf-8"), "notebook 03 should have inline math to typeset"


def test_results_tables_are_tables(site):
    checked = 0
    for nb in NOTEBOOKS:
        expected = stored_tables(nb)
        if not expected:
            continue
        html = (site / "notebooks" / f"{nb.stem}.html").read_text(encoding="utf-8")
        assert not re.search(r"<p>\s*\|", html), f"{nb.stem}: a stored table came out as a paragraph of pipes"
        tables = _header_cells(_parse(site / "notebooks" / f"{nb.stem}.html"))
        for header in expected:
            assert header in tables, f"{nb.stem}: no <table> with the header {header}; tables: {tables}"
            checked += 1
    assert checked >= 6, "notebooks 06-09 print at least six results tables"


def test_badges_show_a_local_copy(site):
    for nb in NOTEBOOKS:
        html = (site / "notebooks" / f"{nb.stem}.html").read_text(encoding="utf-8")
        assert not any(badge in html for badge in REMOTE_BADGES), f"{nb.stem} still loads a remote badge"
        badge = re.search(r'<img alt="Open in Colab" src="\.\./(_images/[^"]+\.svg)"', html)
        assert badge, f"{nb.stem}: no local Open in Colab badge"
        assert "Open in Colab" in (site / badge.group(1)).read_text(encoding="utf-8")
