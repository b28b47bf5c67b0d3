"""README is a front page for learners and instructors; the rest lives where its readers look."""

import json
import re

import pytest

from aae_utils.config import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
PAGES = ["README.md", "bench/README.md", "CONTRIBUTING.md", "data/README.md"]
LINK = re.compile(r"\]\((?!https?://|#|mailto:)([^)\s]+)\)")


def test_readme_is_a_front_page():
    readme = (REPO_ROOT / "README.md").read_text()
    assert len(readme.encode()) < 10_000, "README.md grew past 10 KB: move detail to CONTRIBUTING.md"
    for nb in NOTEBOOKS:
        assert f"(notebooks/{nb.name})" in readme, f"README's notebook table lacks {nb.name}"
    for page in ("bench/README.md", "CONTRIBUTING.md", "notebooks/09_reproducing_the_paper.ipynb"):
        assert f"]({page})" in readme, f"README does not point to {page}"


@pytest.mark.parametrize("page", PAGES)
def test_relative_links_open_what_they_name(page):
    path = REPO_ROOT / page
    missing = [target for target in LINK.findall(path.read_text())
               if not (path.parent / target.split("#")[0]).exists()]
    assert not missing, f"{page} links to files that do not exist: {missing}"


#: The teaching notebooks' prose budget: about what d2l or the UvA notebooks spend on this much
#: material. Notebook 09 is the reproduction appendix and is not counted.
PROSE_TOTAL, PROSE_EACH = 15_000, 2_300


def _markdown_words(path) -> int:
    cells = json.loads(path.read_text())["cells"]
    return sum(len("".join(c["source"]).split()) for c in cells if c["cell_type"] == "markdown")


def test_the_teaching_notebooks_keep_to_their_prose_budget():
    teaching = [p for p in NOTEBOOKS if not p.name.startswith("09")]
    words = {p.name: _markdown_words(p) for p in teaching}
    over = {name: n for name, n in words.items() if n > PROSE_EACH}
    assert not over, f"notebooks over {PROSE_EACH} words of markdown: {over}; say less, or move run " \
                     "logs and caveats to notebook 09"
    assert sum(words.values()) <= PROSE_TOTAL, (
        f"notebooks 00-08 hold {sum(words.values())} words of markdown, over the {PROSE_TOTAL} budget; "
        "cut before adding")
