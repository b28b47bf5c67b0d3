"""The instructors' page (site/instructors.md): generated from the course, on the site, and
everything it tells a lecturer to type exists."""

from __future__ import annotations

import re
import sys

from aae_utils import links
from aae_utils.config import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import instructors  # noqa: E402

PAGE = REPO_ROOT / "site" / "instructors.md"
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


def _text() -> str:
    return PAGE.read_text(encoding="utf-8")


def test_generated_blocks_are_up_to_date():
    assert instructors.render(_text(), instructors.blocks()) == _text(), (
        "run python tools/instructors.py")


def test_the_page_is_on_the_site():
    toc = (REPO_ROOT / "site" / "_toc.yml").read_text()
    assert re.search(r"^\s*- file: site/instructors$", toc, re.M)
    assert "](instructors.md)" in (REPO_ROOT / "site" / "intro.md").read_text()


def test_every_exercise_is_in_the_table():
    names = set(re.findall(r"^\| `(\d\d\.\w+)` \|", _text(), re.M))
    assert names == set(instructors._registry()) and len(names) >= 40


def test_the_time_table_is_the_record(tmp_path):
    record = {"machine": "m", "date": "d", "results": {
        "fast": {"00_a.ipynb": {"seconds": 6.0}},
        "default-cold": {"00_a.ipynb": {"seconds": 90.0}, "01_b.ipynb": {"seconds": 30.0}},
        "default-warm": {"00_a.ipynb": {"seconds": 12.0}}}}
    block = instructors.time_block(record)
    assert "| 00_a | 0.1 | 1.5 | 0.2 |" in block and "| 01_b |  | 0.5 |  |" in block
    assert block[-1] == "| **all** | **0.1** | **2.0** | **0.2** |"


def test_the_plan_covers_every_notebook_once():
    plan = _text().split("## A two-week plan", 1)[1].split("\n## ", 1)[0]
    taught = re.findall(r"\b(\d\d)\b", " ".join(re.findall(r"^\| [\d-]+ \| ([^|]+) \|", plan, re.M)))
    assert sorted(taught) == [p.name[:2] for p in NOTEBOOKS]


def test_what_it_tells_a_lecturer_to_type_exists():
    makefile = (REPO_ROOT / "Makefile").read_text()
    for target in set(re.findall(r"`make ([a-z-]+)", _text())):
        assert re.search(rf"^{target}:", makefile, re.M), f"the page names make {target}; no such target"
    code = "".join(p.read_text() for p in (REPO_ROOT / "aae_utils").rglob("*.py"))
    for variable in set(re.findall(r"`(AAE_[A-Z_]+)", _text())):
        assert f'"{variable}"' in code, f"the page names {variable}; the package never reads it"
    for target in re.findall(r"\]\((?!https?:)([^)#]+)", _text()):
        assert (PAGE.parent / target).exists(), f"relative link {target} opens nothing"


def test_the_handed_out_links_are_the_modules():
    text = _text()
    assert links.colab_url("00_setup.ipynb", "student") in text
    assert links.binder_url(edition="student") in text
