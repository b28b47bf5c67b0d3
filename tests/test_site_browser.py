"""Real-browser test of the course site, offline: pages of the built site (the session's ``site``
fixture, tests/conftest.py) open in headless Chromium from ``file://`` with every other request
aborted, as a lecturer with no network would see them.

Asserts that math is typeset by MathJax (every ``.math`` element holds an ``mjx-container``, no
TeX error, no raw ``\\(`` left in the text), that the results tables are ``<table>`` elements with
the notebooks' header cells, that every image loaded, that nothing the page asked for was blocked
or missing (scripts, stylesheets, images, fonts), and that a 110-column code line fits a code
cell at 1366x900 and 1920x1080 with no code cell or output scrolling sideways.

Screenshots go to ``AAE_ARTEFACTS`` (default ``build/test-artefacts/``) under ``site/``. Skipped,
with the reason, when Playwright or a Chromium binary is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_browser import CHROMIUM_FLAGS, _chromium  # one launch recipe for both browser tests
from test_site import stored_tables

from aae_utils.config import REPO_ROOT

TIMEOUT_MS = 60_000
PAGES = ["03_adversarial_autoencoder", "06_semi_supervised_aae", "08_judging_generative_models"]
#: The width the notebooks' code is written to (pyproject: ruff's line-length).
CODE_COLUMNS = 110
LAPTOP, DESKTOP = {"width": 1366, "height": 900}, {"width": 1920, "height": 1080}


@pytest.fixture(scope="module")
def artefacts() -> Path:
    path = Path(os.environ.get("AAE_ARTEFACTS", REPO_ROOT / "build" / "test-artefacts")) / "site"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser():
    if _chromium() is None:
        pytest.skip("no Chromium binary (apt-get install chromium, or set AAE_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


class Offline:
    """One page of the site opened with the network blocked; ``blocked`` lists every request
    that was not for a file (resource type, URL), ``missing`` every file request that failed."""

    def __init__(self, browser, site: Path, name: str, viewport: dict):
        self.context = browser.new_context(viewport=viewport)
        self.blocked: list[tuple[str, str]] = []
        self.missing: list[tuple[str, str]] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("requestfailed", lambda r: self.missing.append((r.resource_type, r.url)))
        self.page.goto((site / "notebooks" / f"{name}.html").as_uri(), timeout=TIMEOUT_MS)
        self.page.wait_for_load_state("load")

    def _route(self, route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.blocked.append((route.request.resource_type, route.request.url))
            route.abort()

    def typeset(self) -> None:
        """Wait until MathJax has typeset the page (its startup promise resolves after that)."""
        try:
            # MathJax's script is deferred, so it has run by the load event: a short wait is plenty,
            # and a page whose MathJax was blocked fails in seconds.
            self.page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                        timeout=10_000)
        except Exception as error:  # playwright's TimeoutError
            raise AssertionError(f"MathJax never started (blocked: {self.blocked}, missing: "
                                 f"{self.missing})") from error
        self.page.evaluate("() => MathJax.startup.promise.then(() => true)")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_offline(browser, site):
    opened = []

    def _open(name: str, viewport: dict = LAPTOP) -> Offline:
        opened.append(Offline(browser, site, name, viewport))
        return opened[-1]

    yield _open
    for visit in opened:
        visit.close()


@pytest.mark.parametrize("name", PAGES)
def test_page_needs_nothing_from_the_network(open_offline, artefacts, name):
    visit = open_offline(name)
    visit.typeset()
    page = visit.page
    # Walk down the page so that anything loaded on scroll is requested too.
    height = page.evaluate("() => document.body.scrollHeight")
    for y in range(0, height, 800):
        page.evaluate(f"() => window.scrollTo(0, {y})")
    page.wait_for_load_state("networkidle")
    page.evaluate("() => document.fonts.ready.then(() => true)")
    images = page.evaluate("""() => [...document.images].map(
        img => ({src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0}))""")
    broken_fonts = page.evaluate(
        "() => [...document.fonts].filter(f => f.status === 'error').map(f => f.family)")
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(artefacts / f"{name}-top.png"))

    assert not visit.blocked, f"{name} asked the network for {visit.blocked}"
    assert not visit.missing, f"{name} asked for files that are not in the build: {visit.missing}"
    assert len(images) >= 2, f"{name}: expected the badge and at least one figure, got {images}"
    assert all(image["ok"] for image in images), [i["src"] for i in images if not i["ok"]]
    assert not broken_fonts, f"{name}: fonts failed to load: {broken_fonts}"


@pytest.mark.parametrize("name", ["02_vae_kl", "03_adversarial_autoencoder"])
def test_math_is_typeset_offline(open_offline, artefacts, name):
    visit = open_offline(name)
    visit.typeset()
    page = visit.page
    math = page.evaluate("""() => {
        const all = [...document.querySelectorAll('.bd-article .math')];
        const wide = [...document.querySelectorAll('.bd-article mjx-container[display="true"]')]
            .filter(e => e.scrollWidth > e.clientWidth + 2).map(e => e.textContent.slice(0, 40));
        return {count: all.length,
                typeset: all.filter(e => e.querySelector('mjx-container')).length,
                errors: document.querySelectorAll('mjx-merror').length, wide: wide}
    }""")
    # The article's prose: code cells may hold backslashes of their own. Raw TeX is a \( or \[
    # left for MathJax, or a TeX command that markdown kept as text (a "$" math span that a
    # stray list item broke, say).
    raw = page.evaluate("""() => {
        const article = document.querySelector('.bd-article').cloneNode(true);
        article.querySelectorAll('pre, code, mjx-container').forEach(e => e.remove());
        const text = article.textContent;
        return {inline: text.split('\\\\(').length - 1, display: text.split('\\\\[').length - 1,
                commands: (text.match(/\\\\(frac|tfrac|big|mathrm|log|mid|phi)\\b/g) || []).length}
    }""")
    display = page.locator(".bd-article div.math").first
    display.scroll_into_view_if_needed()
    page.evaluate("() => window.scrollBy(0, -250)")  # the prose before the equation too
    page.screenshot(path=str(artefacts / f"{name[:2]}-math.png"))

    assert math["count"] >= 20, f"{name} should have plenty of math, found {math}"
    assert math["typeset"] == math["count"], f"untypeset math elements: {math}"
    assert math["errors"] == 0, f"MathJax reported {math['errors']} TeX errors"
    assert raw == {"inline": 0, "display": 0, "commands": 0}, f"raw TeX left in the page: {raw}"
    assert not math["wide"], f"{name}: displayed equations wider than the page: {math['wide']}"
    assert not visit.blocked


@pytest.mark.parametrize("name", [n for n in PAGES if stored_tables(REPO_ROOT / "notebooks" / f"{n}.ipynb")])
def test_results_tables_are_tables(open_offline, artefacts, name):
    visit = open_offline(name)
    page = visit.page
    headers = page.evaluate("""() => [...document.querySelectorAll('.bd-article table')].map(
        t => [...t.querySelectorAll('th')].map(th => th.textContent.trim().replace(/\\u2019/g, "'")))""")
    expected = stored_tables(REPO_ROOT / "notebooks" / f"{name}.ipynb")
    for header in expected:
        assert header in headers, f"{name}: no <table> with the header cells {header}; tables: {headers}"
    table = page.locator(".bd-article table", has=page.locator("th", has_text=expected[0][1])).first
    table.scroll_into_view_if_needed()
    table.screenshot(path=str(artefacts / f"{name}-table.png"))
    rows = table.locator("tbody tr").count()
    assert rows >= 2, f"{name}: the results table has {rows} body rows"
    if name.startswith("08"):
        figure = page.locator(".bd-article .cell_output img").first
        figure.scroll_into_view_if_needed()
        figure.screenshot(path=str(artefacts / f"{name}-figure.png"))


@pytest.mark.parametrize("viewport", [LAPTOP, DESKTOP], ids=["1366x900", "1920x1080"])
def test_long_code_lines_fit(open_offline, artefacts, viewport):
    visit = open_offline("03_adversarial_autoencoder", viewport)
    page = visit.page
    size = f"{viewport['width']}x{viewport['height']}"
    fit = page.evaluate("""(columns) => {
        const pres = [...document.querySelectorAll('.bd-article div.cell pre')];
        const code = [...document.querySelectorAll('.bd-article div.cell_input pre')];
        const longest = code.reduce((a, b) => Math.max(...b.textContent.split('\\n').map(l => l.length))
            > Math.max(...a.textContent.split('\\n').map(l => l.length)) ? b : a);
        // How wide `columns` characters are in the code cell's own font.
        const probe = document.createElement('span');
        probe.style.whiteSpace = 'pre';
        probe.textContent = 'x'.repeat(columns);
        longest.appendChild(probe);
        const needed = probe.getBoundingClientRect().width;
        probe.remove();
        const style = getComputedStyle(longest);
        const room = longest.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        longest.setAttribute('data-longest', '1');
        return {needed, room, fontPx: parseFloat(style.fontSize), cells: pres.length,
                sideways: pres.filter(p => p.scrollWidth > p.clientWidth + 1).length}
    }""", CODE_COLUMNS)
    longest = page.locator("pre[data-longest]")
    longest.scroll_into_view_if_needed()
    page.screenshot(path=str(artefacts / f"03-code-{size}.png"))

    assert fit["cells"] > 20
    assert fit["needed"] <= fit["room"], f"a {CODE_COLUMNS}-column line does not fit at {size}: {fit}"
    assert fit["fontPx"] >= 12, f"code set too small to read at {size}: {fit}"
    assert fit["sideways"] == 0, f"{fit['sideways']} code cells or outputs scroll sideways at {size}"
