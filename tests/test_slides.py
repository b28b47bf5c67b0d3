"""The lecture slides (tools/slides.py, ``make slides``): every notebook marked as the rule says,
and decks that open in a real browser with the network cut off.

The browser test writes the slides of notebooks 02 and 06 into a temporary folder, opens them in
the system's Chromium through Playwright with every request that is not ``file://`` aborted and
recorded, and walks through every slide: reveal.js is initialised, MathJax 3 has typeset the
math (no raw TeX left in the text), every image has loaded, no code line is cut, and nothing
asked for the network. Screenshots (a title, a math and a figure slide) go to ``AAE_ARTEFACTS``
(default ``build/test-artefacts/``). Skipped, saying why, without Chromium, Playwright or npm
(reveal.js is fetched once with ``npm pack`` into ``build/vendor/``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_browser import CHROMIUM_FLAGS, _chromium

from aae_utils.config import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import slides  # noqa: E402

DECKS = ["02", "06"]
TIMEOUT_MS = 60_000


# --- the slide types stored in the notebooks ---------------------------------------------------


def test_every_notebook_is_marked_as_the_rule_says():
    found = {path.name: slides.differences(json.loads(path.read_text(encoding="utf-8")))
             for path in slides.notebooks([])}
    found = {name: lines for name, lines in found.items() if lines}
    assert not found, ("run `python tools/slides.py --mark` (a slide type you chose by hand stays "
                       f'when "by_hand": true sits beside it): {found}')


def test_mark_is_idempotent_and_touches_slide_types_only():
    for path in slides.notebooks([]):
        text = path.read_text(encoding="utf-8")
        nb = json.loads(text)
        assert slides.mark(nb) == [] and slides.notebook_text(nb) == text, path.name
        for cell in nb["cells"]:  # from nothing, the rule gives back the stored file, byte for byte
            del cell["metadata"]["slideshow"]
        assert slides.mark(nb) and slides.notebook_text(nb) == text, path.name


def _cell(kind, source, **extra):
    cell = {"cell_type": kind, "metadata": {}, "source": source, **extra}
    if kind == "code":
        cell.setdefault("outputs", [])
    return cell


FIGURE = [{"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"},
           "metadata": {}}]


def test_the_rule_cell_by_cell():
    cells = [
        _cell("markdown", "# 02 · Title\ntext"),                                  # slide
        _cell("code", "from aae_utils import setup_notebook\nsetup = setup_notebook(seed=0)"),  # skip
        _cell("code", "import torch"),                                            # skip: before ##
        _cell("markdown", "## A section\nshort"),                                 # slide
        _cell("code", "plot()", outputs=FIGURE),                                  # - : under a short text
        _cell("markdown", "**What to notice:** the point."),                      # subslide: figure not alone
        _cell("code", "x = 2"),                                                   # -
        _cell("code", "plot()", outputs=FIGURE),                                  # subslide
        _cell("markdown", "**What to notice:** the point."),                      # fragment
        _cell("markdown", "### Your turn: x\nWrite `f`."),                        # subslide
        _cell("code", "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"),  # notes
        _cell("code", 'check("02.f", f)'),                                        # skip
        _cell("code", "y = f()\nprint(y)"),                                       # -
        _cell("markdown", "**Solution.** One.", metadata={"tags": ["solution"]}),  # notes
        _cell("markdown", "long " * 200),                                         # subslide
        _cell("code", "x = 1"),                                                   # subslide: after long text
        _cell("code", "plot()", outputs=FIGURE),                                  # subslide
        _cell("code", "y = 2"),                                                   # subslide: after a figure
        _cell("code", ""),                                                        # skip
    ]
    assert slides.rule(cells) == [
        "slide", "skip", "skip", "slide", "-", "subslide", "-", "subslide", "fragment", "subslide", "notes",
        "skip", "-", "notes", "subslide", "subslide", "subslide", "subslide", "skip"]


def test_mark_keeps_a_type_chosen_by_hand_and_says_what_it_changes():
    nb = {"cells": [_cell("markdown", "# T"), _cell("markdown", "## S"), _cell("markdown", "text")]}
    nb["cells"][1]["metadata"]["slideshow"] = {"slide_type": "fragment", "by_hand": True}
    nb["cells"][2]["metadata"]["slideshow"] = {"slide_type": "skip"}
    assert slides.differences(nb) == ["cell 0: stored None, the rule says 'slide'",
                                      "cell 2: stored 'skip', the rule says 'subslide'"]
    changes = slides.mark(nb)
    assert changes[0] == "cell 0: 'slide'" and "was 'skip'" in changes[1] and "by_hand" in changes[1]
    types = [c["metadata"]["slideshow"]["slide_type"] for c in nb["cells"]]
    assert types == ["slide", "fragment", "subslide"]
    assert slides.differences(nb) == [] and slides.mark(nb) == []


def test_split_at_headings_leaves_code_and_math_whole():
    source = "## A\ntext\n```python\n# a comment\n```\n$$\n# not a heading\n$$\n### B\nmore\n## C\n"
    assert slides.split_at_headings(source) == [
        "## A\ntext\n```python\n# a comment\n```\n$$\n# not a heading\n$$\n", "### B\nmore\n", "## C\n"]


def test_a_notebook_name_that_matches_none_says_what_to_give():
    assert [p.name for p in slides.notebooks(["2", "06_semi_supervised_aae.ipynb"])] == [
        "02_vae_kl.ipynb", "06_semi_supervised_aae.ipynb"]
    with pytest.raises(slides.SlidesError, match=r"notebook '12': no notebook .* give a number \(02\)"):
        slides.notebooks(["12"])


# --- fetching reveal.js -------------------------------------------------------------------------


def test_without_npm_it_says_so_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(slides.shutil, "which", lambda name: None)
    monkeypatch.setattr(slides, "VENDOR", tmp_path / "vendor")  # no copy fetched earlier
    with pytest.raises(slides.SlidesError) as info:
        slides.reveal_tarball(tmp_path)
    message = str(info.value)
    assert "npm is not installed" in message and "apt-get install npm" in message and "\n" not in message
    assert slides.main(["02", "--out", str(tmp_path / "out")]) == 1  # an error line, no traceback
    assert not (tmp_path / "out").exists()


def test_a_tarball_with_another_hash_is_refused_and_not_kept(tmp_path, monkeypatch):
    def fake_pack(cmd, **kwargs):  # what a damaged download would leave
        staging = Path(cmd[cmd.index("--pack-destination") + 1])
        (staging / f"reveal.js-{slides.REVEAL_VERSION}.tgz").write_bytes(b"x")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(slides.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.setattr(slides.subprocess, "run", fake_pack)
    with pytest.raises(slides.SlidesError, match="not the pinned sha512-"):
        slides.reveal_tarball(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_npm_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(slides.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.setattr(slides.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(
        cmd, 1, "", "npm error code ENOTFOUND\nnpm error network request failed"))
    with pytest.raises(slides.SlidesError, match=r"npm pack reveal.js@4\.\d+\.\d+ failed \(npm error network "
                                                 r"request failed\): .*check the network"):
        slides.reveal_tarball(tmp_path)


# --- the decks ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> list[Path]:
    """The slides of :data:`DECKS`, written into a temporary folder (reveal.js from build/vendor/)."""
    out = tmp_path_factory.mktemp("slides")
    try:
        return slides.write_slides(slides.notebooks(DECKS), out)
    except slides.SlidesError as err:
        if "npm" in str(err) and "integrity" not in str(err):
            pytest.skip(f"reveal.js could not be fetched: {err}")
        raise


class _Sources(HTMLParser):
    """Every address a page loads by itself: script, stylesheet, image, frame and media sources."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "video", "audio", "embed") and attrs.get("src"):
            self.found.append(f"<{tag} src={attrs['src'][:80]}>")
        if tag == "link" and attrs.get("href"):
            self.found.append(f"<link href={attrs['href'][:80]}>")


def test_decks_name_no_network_address(decks):
    for deck in decks:
        text = deck.read_text(encoding="utf-8")
        parser = _Sources()
        parser.feed(text)
        assert parser.found, "the parser found nothing: it would pass anything"
        remote = [s for s in parser.found if "http://" in s or "https://" in s or "src=//" in s]
        assert not remote, f"{deck.name} loads from the network: {remote}"
        assert "url(http" not in text and "MathJax.Hub" not in text, deck.name
        for local in ("reveal.js/dist/reveal.js", "reveal.js/plugin/notes/notes.js", "mathjax/tex-chtml.js"):
            assert f'src="{local}"' in text and (deck.parent / local).is_file(), local
    assert (decks[0].parent / "mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff").is_file()
    index = (decks[0].parent / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{d.name}"' in index for d in decks)


#: Run in the page on the current slide: what a lecturer would see go wrong.
_SLIDE_PROBLEMS = """() => {
  const slide = Reveal.getCurrentSlide();
  const problems = [];
  slide.querySelectorAll('img').forEach(img => {
    if (!img.complete || img.naturalWidth === 0) problems.push('image not loaded: ' + img.src.slice(0, 60));
  });
  slide.querySelectorAll('.jp-RenderedMarkdown, .jp-MarkdownOutput').forEach(md => {
    const text = md.innerText;
    for (const raw of ['$$', '\\\\(', '\\\\[']) {
      if (text.includes(raw)) problems.push('raw TeX ' + raw + ' in: ' + text.slice(0, 80));
    }
  });
  slide.querySelectorAll('.jp-InputArea pre').forEach(pre => {
    if (pre.scrollWidth > pre.clientWidth + 2) {
      problems.push('code cut at the right: ' + pre.innerText.slice(0, 60));
    }
  });
  return {problems, math: slide.querySelectorAll('mjx-container').length,
          images: slide.querySelectorAll('img').length};
}"""


def test_decks_open_offline_in_chromium(decks):
    if _chromium() is None:
        pytest.skip("no Chromium binary (apt-get install chromium, or set AAE_CHROMIUM)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from playwright.sync_api import sync_playwright

    artefacts = Path(os.environ.get("AAE_ARTEFACTS", REPO_ROOT / "build" / "test-artefacts"))
    shutil.rmtree(artefacts / "slides", ignore_errors=True)
    (artefacts / "slides").mkdir(parents=True, exist_ok=True)
    blocked: list[str] = []

    def only_files(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.set_default_timeout(TIMEOUT_MS)
            page.route("**/*", only_files)
            for deck in decks:
                page.goto(deck.as_uri())
                page.wait_for_function("window.Reveal && Reveal.isReady()")
                page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
                page.evaluate("MathJax.startup.promise.then(() => true)")
                page.evaluate("Reveal.configure({transition: 'none'})")
                total = page.evaluate("Reveal.getTotalSlides()")
                assert total >= 15, f"{deck.name}: {total} slides"
                assert page.evaluate("document.querySelectorAll('aside.notes').length") > 0, (
                    f"{deck.name}: no speaker notes (the solutions)")
                where = page.evaluate("Reveal.getSlides().map(s => Reveal.getIndices(s))")
                problems, math_slides, figure_slides = [], [], []
                for k, ix in enumerate(where):
                    page.evaluate(f"Reveal.slide({ix['h']}, {ix.get('v') or 0})")
                    seen = page.evaluate(_SLIDE_PROBLEMS)
                    problems += [f"slide {k + 1}: {p}" for p in seen["problems"]]
                    if seen["math"]:
                        math_slides.append(ix)
                    if seen["images"]:
                        figure_slides.append(ix)
                assert not problems, f"{deck.name}: {problems}"
                assert len(math_slides) >= 5 and figure_slides, (deck.name, math_slides, figure_slides)
                stem = deck.name.split(".")[0][:2]
                shots = {"title": {"h": 0, "v": 0}, "math": math_slides[1], "figure": figure_slides[0]}
                for name, ix in shots.items():
                    page.evaluate(f"Reveal.slide({ix['h']}, {ix.get('v') or 0})")
                    page.evaluate("Reveal.getCurrentSlide().querySelectorAll('.fragment')"
                                  ".forEach(f => f.classList.add('visible'))")
                    page.screenshot(path=str(artefacts / "slides" / f"{stem}-{name}.png"))
        finally:
            browser.close()
    assert not blocked, f"the slides asked for the network: {blocked}"
