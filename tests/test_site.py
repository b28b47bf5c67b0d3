"""`make site`: the course site builds from the stored outputs, with one page per notebook in order."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aae_utils.config import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"


def test_toc_lists_every_notebook_in_course_order():
    toc = (REPO_ROOT / "site" / "_toc.yml").read_text()
    listed = re.findall(r"^\s*- file: notebooks/(\S+)$", toc, re.M)
    assert listed == [p.stem for p in NOTEBOOKS], "site/_toc.yml must follow notebooks/ in order"


def test_site_repository_is_the_courses():
    from aae_utils.links import REPOSITORY

    assert f'url: "https://github.com/{REPOSITORY}"' in (REPO_ROOT / "site" / "_config.yml").read_text()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    if not JUPYTER_BOOK.exists() and shutil.which("jupyter-book") is None:
        pytest.skip("jupyter-book is not installed (pip install -e '.[dev]' brings it)")
    exe = str(JUPYTER_BOOK) if JUPYTER_BOOK.exists() else "jupyter-book"
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [exe, "build", ".", "--config", "site/_config.yml", "--toc", "site/_toc.yml",
         "--path-output", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "_build" / "html"


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
