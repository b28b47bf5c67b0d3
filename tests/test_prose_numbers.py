"""Every number stated in prose is backed by something a reader can check (issue 17).

A decimal number or a percentage in a notebook's markdown cells or in README.md (and the other
pages of :data:`PAGES`) must come from a
stored output of that notebook, from a JSON in ``bench/results/`` that the text cites, or from the
paper. Integers (epochs, sizes, digits, counts) are not checked, nor are code, math, links,
versions, arXiv ids, dates and section or table numbers (:data:`SKIPPED` says why for each).
A stated number is *backed* when it appears at its printed precision in one of:

- **outputs**: the stored outputs of the same notebook (streams, ``text/plain``,
  ``text/markdown``). For README.md: the tables ``bench/report.py`` renders now from
  ``bench/results/`` (so a stale generated block fails too), and the outputs of the notebooks
  the paragraph names ("notebook 06's labels-only baseline ...");
- **results**: the numbers of ``bench/results/*.json``, for a document whose prose names
  ``bench/results`` (notebooks 06 and 07, README): that is how a text cites the recorded runs.
  A JSON stores fractions, so 4.46% is backed by 0.0446 there, never by 4.46; a per-epoch
  history backs a number only in a sentence that names what it measures (:data:`HISTORY_WORDS`);
- **settings**: a number the prose names as a setting (:data:`SETTING_WORDS`: "noise (std 0.3)",
  "within 10%") and that equals, unrounded, a numeric literal of ``aae_utils/recipes.py``, of
  the notebook's code cells or of its exercise module ``aae_utils/exercises/nbXX.py``;
- **the paper** (:data:`PAPER_NUMBERS`), in a sentence that names the paper or one of its tables;
- **goals** (:data:`GOALS`) the team set for the course, in a sentence that calls them goals;
- **constants** (:data:`CONSTANTS`), in a sentence with the words that say which constant.

"At its printed precision": 4.46% is backed by a printed 4.46% or 0.0446, or by a JSON value
0.04463 (rounded to the stated precision); 0.131 by a printed 0.131 or 0.1312, but not by a
printed 0.13, which is too coarse to back three decimals. Signs are ignored ("fell by 0.5" may
quote a printed -0.5).

A chance match is still possible (a stated 2.8% "backed" by an unrelated printed 2.807): the
test catches numbers with no source at all, it does not prove that the source is the right one.

On failure, one line per unbacked number: the document, the cell (or README line), the number
and the words around it. Fix the prose (quote the stored output, print the number the prose
needs, or move arithmetic into ``$...$``) rather than widening the rules.
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
import re
import tokenize
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path

import pytest

from aae_utils.config import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
README = REPO_ROOT / "README.md"
#: The pages of prose besides the notebooks, each checked like README.
PAGES = [README, REPO_ROOT / "bench" / "README.md", REPO_ROOT / "CONTRIBUTING.md"]
RESULTS = REPO_ROOT / "bench" / "results"

# --------------------------------------------------------------------------------------------
# Allowlists. Keep them short: every entry is a number the course does not measure.
# --------------------------------------------------------------------------------------------

#: The paper's numbers (Makhzani et al., 2015, arXiv 1511.05644), from the course's notes on the
#: paper (shared/notes/aae-paper-facts.md), by the table they come from. Only decimals are listed:
#: integers (Table 1's 340 ± 2, 2252 ± 16, ...) are never checked. They back a number only in a
#: sentence that names the paper or a table (:data:`PAPER_CONTEXT`), so that a "0.10" or a
#: "std 0.3" elsewhere still needs its own source.
PAPER_NUMBERS = {
    "Table 1, Parzen-window log-likelihood on MNIST (nats): Deep GSN 214 ± 1.1, "
    "Stacked CAE 121 ± 1.6": ("1.1", "1.6"),
    "Table 2, semi-supervised error on MNIST (%): 100 labels 1.90 ± 0.10, 1000 labels "
    "1.60 ± 0.08 (unverified), all labels 0.85 ± 0.02": ("1.90", "0.10", "1.60", "0.08", "0.85", "0.02"),
    "Table 2, SVHN with 1000 labels (%): 17.70 ± 0.30": ("17.70", "0.30"),
    "Table 2, VAE M1+M2 (Kingma et al.) on MNIST with 100 labels (%): 3.33 ± 0.14": ("3.33", "0.14"),
    "Table 3, unsupervised clustering error on MNIST (%): 16 clusters 9.55 ± 2.05, "
    "30 clusters 4.10 ± 1.13, CatGAN (20 clusters) 9.70": ("9.55", "2.05", "4.10", "1.13", "9.70"),
}
PAPER_CONTEXT = re.compile(r"paper|Table\s*\d|Makhzani", re.IGNORECASE)

#: Goals the team set for the course in its issues (not measurements): they back a number only in
#: a sentence that calls it a goal, so that a measured "3.5%" still needs its record.
GOALS = {
    "2.5": "semi-supervised test error with 1,000 labels, %",
    "3.5": "semi-supervised test error with 100 labels, %",
    "70": "the engine's share of the float32 matmul bound, %",
}
GOAL_CONTEXT = re.compile(r"\bgoals?\b", re.IGNORECASE)

#: Constants the prose states outside math mode, each with the words that must share its
#: sentence, so that a "std 0.5" cannot pass for one half. Constants written in ``$...$``
#: (ln 2 = 0.693, ln 4 = 1.386, ln 10 = 2.303) are skipped with the math and need no entry;
#: arithmetic of the course (a sum of KL terms, 5 * sqrt(pi/2)) belongs in math or in an output.
CONSTANTS = (
    # value, what it is, words naming it in the sentence
    (0.1, "chance: one of ten (about) equally frequent digits", r"chance|each digit|one digit"),
    (0.5, "one half: sigmoid(0), and the output and accuracy of a discriminator that cannot "
          "tell codes from prior samples", r"discriminator|everywhere"),
)

# --------------------------------------------------------------------------------------------
# What is not checked, blanked out (same length, newlines kept) before numbers are read.
# --------------------------------------------------------------------------------------------

SKIPPED = (
    # Code is not prose: its numbers are settings and identifiers, checked by running it.
    re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1", re.MULTILINE | re.DOTALL),  # fenced blocks
    re.compile(r"(`+).+?\1", re.DOTALL),  # inline code spans
    # Math: equations hold constants (1/2, 0.5) and worked derivations, not measurements.
    re.compile(r"\$\$.*?\$\$", re.DOTALL),
    re.compile(r"\\\[.*?\\\]", re.DOTALL),
    re.compile(r"\\begin\{([a-z]+\*?)\}.*?\\end\{\1\}", re.DOTALL),
    re.compile(r"(?<![\\$])\$[^$]+?(?<!\\)\$", re.DOTALL),
    re.compile(r"\\\(.*?\\\)", re.DOTALL),
    # Addresses: link targets, bare URLs, HTML tags and comments (badges hold version tags).
    re.compile(r"<!--.*?-->", re.DOTALL),
    re.compile(r"\]\([^)\s]*\)"),
    re.compile(r"https?://\S+"),
    re.compile(r"</?[a-zA-Z][^>]*>"),
    # Versions: a dotted triple (2.14.1, v0.2.0), or a number after a package name or a
    # comparison (Python >= 3.10, torch 2.1).
    re.compile(r"\bv?\d+\.\d+\.\d+[\w.+-]*"),
    re.compile(r"(?i)\b(python|torch|torchvision|numpy|ipywidgets|jupyter book|version)"
               r"\s*(>=|<=|==|~=|>|<)?\s*\d+(\.\d+)*"),
    re.compile(r"(>=|<=|==|~=)\s*\d+(\.\d+)*"),
    # arXiv identifiers (1511.05644): YYMM.NNNNN, never a measurement.
    re.compile(r"(?i)\barxiv:?\s*\d{4}\.\d{4,5}(v\d+)?"),
    re.compile(r"\b\d{4}\.\d{4,5}\b"),
    # Dates (2026-11-26).
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    # References to sections, tables, figures and equations (Section 5.1, Tables 2 and 3),
    # and numbered headings (## 3.2 Training).
    re.compile(r"(?i)\b(sections?|sec\.|tables?|fig\.|figs\.|figures?|eqs?\.|equations?|appendix|§)"
               r"\s*\d+(\.\d+)*(\s*(-|–|and|,)\s*\d+(\.\d+)*)*"),
    re.compile(r"^#+\s*\d+(\.\d+)*", re.MULTILINE),
    # An example given to explain a unit or a format ("a difference of accuracies, such as 0.1
    # for 10 points") claims nothing.
    re.compile(r"(?i)\b(such as|e\.g\.,?|for example|for instance)\s+\d+(\.\d+)?\s?%?"),
)

# Words that name a setting just before its value ("noise (std 0.3)", "learning rate 0.1",
# "within 10%", a check's tolerance): such a number is backed by an equal literal in the code.
SETTING_WORDS = re.compile(
    r"(?i)\b(std|standard deviation|lr|learning rate|dropout|noise|momentum|radius|beta|β|"
    r"decay|within|tolerance)\b[^.;:]*$")
#: What each per-epoch history of a results JSON measures, as the prose names it. A history holds
#: dozens of values per run, so one of them backs a number only in a sentence naming its measure:
#: otherwise a percentage would find a chance match among thousands (histories not listed here
#: are named by their key: "clusters used").
HISTORY_WORDS = {
    "test_error": r"error", "val_error": r"error", "test_error_majority": r"error",
    "class": r"cross-entropy|classification", "recon": r"reconstruction",
    "disc": r"discriminator", "gen": r"generator", "disc_acc_y": r"accuracy", "disc_acc_z": r"accuracy",
    "seconds": r"seconds|per epoch",
    "parzen_ll": r"parzen_ll|log-likelihood|Parzen", "parzen_stderr": r"standard error",
    "is_ll": r"is_ll|importance", "parzen_ll_is_images": r"Parzen",
    "sigma": r"σ|sigma|width",
}
# How README names a notebook whose outputs a paragraph quotes: "notebook 04", "notebooks 06 and 07".
NOTEBOOK_REFERENCE = re.compile(r"(?i)\bnotebooks?\s+\d\d(\s*(,|and|or|-|–)\s*\d\d)*")

# A number as prose writes it: 0.131, 45.5, 4.46%, 83.0 %, 1.8e-4, 1,234.5. Not the tail of an
# identifier or of another number (x86, cu130, 1,234), not followed by more digits or a dot and
# a digit (what is left of a version). Integers are read too, so that a range "38-39%" can make
# 38 a percentage, and are dropped afterwards.
NUMBER = re.compile(
    r"(?<![\w.,])"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<exp>[eE][-+]?\d+)?"
    r"(?P<pct>\s?%)?"
    r"(?!\d|\.\d)"
)
# "3.16-5.03%", "2.61 ± 0.13%", "3.16 to 5.03%": the percent sign belongs to both numbers.
SHARED_PERCENT = re.compile(r"\s*(-|–|—|±|to)\s*")
# Numbers in outputs: any decimal, with thousands separators or an exponent, and its percent sign.
PRINTED = re.compile(
    r"(?<![\d.])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<exp>[eE][-+]?\d+)?(?!\d|\.\d)"
    r"(?P<pct>\s?%)?")
# Versions in outputs (the opening cell prints "torchvision 0.29.1"): not measurements either.
PRINTED_VERSION = re.compile(r"\bv?\d+\.\d+\.\d+[\w.+-]*")


@dataclass(frozen=True)
class Stated:
    """A number as the prose states it."""

    where: str  # "cell 12" or "line 40"
    text: str  # as written: "4.46%"
    value: Decimal  # 4.46
    percent: bool
    context: str  # the words around it, on one line
    before: str  # the words just before it, where a setting is named ("noise (std ")
    sentence: str
    paragraph: str

    @property
    def readings(self) -> list[Decimal]:
        """What a source may hold: the number itself and, for a percentage, the fraction."""
        return [self.value, self.value.scaleb(-2)] if self.percent else [self.value]

    @property
    def fraction(self) -> Decimal:
        """The value a JSON or a setting holds: 4.46% is 0.0446 there, 0.131 is 0.131."""
        return self.value.scaleb(-2) if self.percent else self.value


# --------------------------------------------------------------------------------------------
# Reading the prose
# --------------------------------------------------------------------------------------------


def blank_unchecked(text: str) -> str:
    """``text`` with code, math, links, versions, ids, dates and references blanked out."""
    for pattern in SKIPPED:
        text = pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    return text


def _around(text: str, start: int, end: int, stops: str) -> str:
    """The stretch of ``text`` around [start, end) up to the nearest ``stops`` on each side."""
    before = [m.end() for m in re.finditer(stops, text[:start])]
    after = re.search(stops, text[end:])
    return text[before[-1] if before else 0: end + after.start() if after else len(text)]


def numbers_in_prose(text: str, where) -> list[Stated]:
    """Decimals and percentages stated in a markdown ``text``; ``where(offset)`` names the place."""
    checked = blank_unchecked(text)
    matches = list(NUMBER.finditer(checked))
    found = []
    for i, m in enumerate(matches):
        percent = bool(m["pct"])
        if not percent and i + 1 < len(matches) and matches[i + 1]["pct"]:
            between = checked[m.end(): matches[i + 1].start()]
            percent = bool(SHARED_PERCENT.fullmatch(between))
        if "." not in m["num"] and not m["exp"] and not percent:
            continue  # an integer: epochs, sizes, digits, counts
        value = Decimal(m["num"].replace(",", "") + (m["exp"] or ""))
        a, b = max(0, m.start() - 30), min(len(text), m.end() + 30)
        found.append(Stated(
            where=where(m.start()), text=m.group(0).replace(" ", ""), value=value, percent=percent,
            context=" ".join(text[a:b].split()), before=text[max(0, m.start() - 25): m.start()],
            sentence=_around(text, m.start(), m.end(), r"[.!?;](\s|$)|\n\s*\n"),
            paragraph=_around(text, m.start(), m.end(), r"\n\s*\n"),
        ))
    return found


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def stated_numbers(doc: Path) -> list[Stated]:
    """Every checked number of a notebook's markdown cells, or of README.md."""
    if doc.suffix == ".md":
        text = doc.read_text(encoding="utf-8")
        return numbers_in_prose(text, lambda offset: f"line {text.count(chr(10), 0, offset) + 1}")
    found = []
    for i, cell in enumerate(_cells(doc)):
        if cell["cell_type"] == "markdown":
            found += numbers_in_prose(_source(cell), lambda offset, i=i: f"cell {i}")
    return found


# --------------------------------------------------------------------------------------------
# What can back a number
# --------------------------------------------------------------------------------------------


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation:  # hex, complex or otherwise not a plain number
        return None


def printed_numbers(text: str) -> list[Decimal]:
    """Numbers as a text prints them, each keeping the precision it was printed at.

    An integer counts only with a percent sign ("41%"): bare integers in outputs are counts,
    epochs and sizes, and would back every whole percentage by chance.
    """
    text = PRINTED_VERSION.sub(" ", text)
    return [_decimal(m["num"] + (m["exp"] or "")) for m in PRINTED.finditer(text)
            if "." in m["num"] or m["exp"] or m["pct"]]


def _output_text(output: dict) -> str:
    if output["output_type"] == "stream":
        return "".join(output["text"])
    data = output.get("data", {})
    texts = [data.get(kind, "") for kind in ("text/plain", "text/markdown")]
    return "\n".join("".join(t) if isinstance(t, list) else t for t in texts)


def notebook_outputs(path: Path) -> str:
    """The stored text outputs of a notebook's code cells: streams, ``text/plain`` and
    ``text/markdown`` (a table shown with ``display(Markdown(...))`` has no other text)."""
    return "\n".join(_output_text(out) for cell in _cells(path) if cell["cell_type"] == "code"
                     for out in cell.get("outputs", []))


def code_literals(code: str) -> set[Decimal]:
    """Numeric literals of Python code (notebook magics and all): settings written in code.

    Only NUMBER tokens count, so a number in a comment or a string is not a setting.
    """
    found = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.NUMBER and (d := _decimal(tok.string)) is not None:
                found.add(abs(d))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass  # a cell the tokenizer cannot finish (a shell escape): keep what was read
    return found


def json_numbers(value) -> list[Decimal]:
    """Every number in a parsed JSON document (not the numbers inside its strings)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [abs(Decimal(repr(value)))] if math.isfinite(value) else []
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [d for child in children for d in json_numbers(child)]


def report_tables() -> str:
    """README's generated tables as ``bench/report.py`` renders them now from ``bench/results/``."""
    spec = importlib.util.spec_from_file_location("report", REPO_ROOT / "bench" / "report.py")
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    return "\n".join(line for lines in report.generated_blocks(RESULTS).values() for line in lines)


def _rounded(value: Decimal, exponent: int) -> set[Decimal]:
    """``value`` rounded to ``exponent`` both ways a half can go (printers differ)."""
    quantum = Decimal(1).scaleb(exponent)
    return {value.quantize(quantum, rounding=mode) for mode in (ROUND_HALF_EVEN, ROUND_HALF_UP)}


@dataclass
class Pool:
    """Numbers that a stated number may be a rounding of."""

    numbers: list[Decimal] = field(default_factory=list)
    # A printed number backs only numbers stated no more precisely than it was printed (0.13 does
    # not back 0.131); a JSON number is exact and backs any rounding of itself.
    printed: bool = True
    _by_exponent: dict[int, set[Decimal]] = field(default_factory=dict, repr=False)

    def holds(self, reading: Decimal) -> bool:
        exponent = reading.as_tuple().exponent
        if exponent not in self._by_exponent:
            self._by_exponent[exponent] = {
                r for d in self.numbers if not self.printed or d.as_tuple().exponent <= exponent
                for r in _rounded(d, exponent)}
        return reading in self._by_exponent[exponent]


def _notebook(number: str) -> Path | None:
    return next((nb for nb in NOTEBOOKS if nb.name.startswith(number)), None)


@cache
def outputs_pool(notebooks: tuple[Path, ...], with_report: bool = False) -> Pool:
    """What the given notebooks printed (and, for README, what ``bench/report.py`` renders)."""
    text = "\n".join(notebook_outputs(nb) for nb in notebooks)
    return Pool(printed_numbers(text + ("\n" + report_tables() if with_report else "")))


@dataclass
class Results:
    """The numbers of ``bench/results/*.json``: fractions there (an error of 3.16% is 0.0316)."""

    scalars: Pool  # settings, final errors, timings: anything but a per-epoch history
    histories: dict[str, Pool]  # per-epoch values, by the history's name ("test_error")


@cache
def results() -> Results:
    scalars, histories = [], {}
    for path in sorted(RESULTS.glob("*.json")):
        run = json.loads(path.read_text())
        for name, values in run.pop("history", {}).items():
            histories.setdefault(name, []).extend(json_numbers(values))
        scalars += json_numbers(run)
    return Results(Pool(scalars, printed=False),
                   {name: Pool(values, printed=False) for name, values in histories.items()})


@cache
def settings_of(doc: Path) -> frozenset[Decimal]:
    """The numeric literals of ``recipes.py`` and, for a notebook, of its code cells and of its
    exercise module (the checks' tolerances)."""
    code = [(REPO_ROOT / "aae_utils" / "recipes.py").read_text()]
    if doc.suffix == ".ipynb":
        code += [_source(c) for c in _cells(doc) if c["cell_type"] == "code"]
        exercises = REPO_ROOT / "aae_utils" / "exercises" / f"nb{doc.name[:2]}.py"
        code += [exercises.read_text()] if exercises.exists() else []
    return frozenset(d for c in code for d in code_literals(c))


@cache
def cites_results(doc: Path) -> bool:
    """A document cites the recorded runs by naming ``bench/results`` in its prose."""
    text = doc.read_text(encoding="utf-8") if doc.suffix == ".md" else "\n".join(
        _source(c) for c in _cells(doc) if c["cell_type"] == "markdown")
    return "bench/results" in text


def notebooks_named(paragraph: str) -> tuple[Path, ...]:
    """The notebooks a README paragraph names ("notebook 04", "Notebooks 06 and 07")."""
    numbers = [n for m in NOTEBOOK_REFERENCE.finditer(paragraph) for n in re.findall(r"\d\d", m.group(0))]
    return tuple(sorted({nb for n in numbers if (nb := _notebook(n))}))


def outputs_for(stated: Stated, doc: Path) -> Pool:
    """A notebook's own outputs; for README, those of the notebooks its paragraph names."""
    if doc.suffix == ".md":
        return outputs_pool(notebooks_named(stated.paragraph), with_report=True)
    return outputs_pool((doc,))


def in_outputs(stated: Stated, doc: Path) -> bool:
    """Printed as stated (4.46%, 4.46) or, for a percentage, as a fraction (0.0446)."""
    return any(outputs_for(stated, doc).holds(r) for r in stated.readings)


def in_results(stated: Stated, recorded: Results) -> bool:
    """A JSON holds fractions: 4.46% is backed by 0.0446, and a bare 4.46 is not. A per-epoch
    value backs a number only in a sentence that names what the history measures."""
    if recorded.scalars.holds(stated.fraction):
        return True
    return any(pool.holds(stated.fraction) for name, pool in recorded.histories.items()
               if re.search(HISTORY_WORDS.get(name, name.replace("_", " ")), stated.sentence, re.I))


def is_setting(stated: Stated, settings: frozenset[Decimal]) -> bool:
    """Named as a setting in the prose and equal to a literal in the code that sets it."""
    return bool(SETTING_WORDS.search(stated.before)) and stated.fraction in settings


def _matches(reading: Decimal, value: float) -> bool:
    return reading in _rounded(Decimal(repr(value)), reading.as_tuple().exponent)


def allowed(stated: Stated) -> bool:
    """A paper's number in a sentence about the paper, a goal in a sentence calling it one, or a
    constant in a sentence naming it."""
    if GOAL_CONTEXT.search(stated.sentence) and stated.value in {Decimal(g) for g in GOALS}:
        return True
    if PAPER_CONTEXT.search(stated.sentence):
        paper = {Decimal(n) for numbers in PAPER_NUMBERS.values() for n in numbers}
        if stated.value in paper:
            return True
    return any(re.search(words, stated.sentence, re.IGNORECASE) and _matches(stated.fraction, value)
               for value, _, words in CONSTANTS)


def is_backed(stated: Stated, doc: Path) -> bool:
    return (in_outputs(stated, doc)
            or (cites_results(doc) and in_results(stated, results()))
            or is_setting(stated, settings_of(doc))
            or allowed(stated))


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", [*NOTEBOOKS, *PAGES],
                         ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_number_in_prose_is_backed(doc):
    unbacked = [s for s in stated_numbers(doc) if not is_backed(s, doc)]
    if unbacked:
        pytest.fail(
            f"{len(unbacked)} number(s) in {doc.name}'s prose appear in none of its stored outputs, "
            "the results JSON it cites, its code's settings or the allowlists:\n"
            + "\n".join(f"  {doc.name}, {s.where}: {s.text}  ...{s.context}..." for s in unbacked),
            pytrace=False,
        )


def test_the_paper_allowlist_agrees_with_the_library():
    """README's paper column comes from ``aae_utils.reproduction.PAPER_ERRORS``: one set of numbers."""
    from aae_utils.reproduction import PAPER_ERRORS

    allowlisted = {Decimal(n) for numbers in PAPER_NUMBERS.values() for n in numbers}
    assert {Decimal(repr(v)) for pair in PAPER_ERRORS.values() for v in pair} <= allowlisted


@pytest.mark.parametrize("prose", [
    "Python >= 3.10 and torch 2.14.1+cu130, release v0.2.0",
    "the paper (arXiv:1511.05644) in Section 5.1, Tables 2 and 3, Fig. 11",
    "$\\log 4 \\approx 1.39$ and $$D^* = 0.75$$",
    "`GaussianPrior(2, std=5.0)` and\n```python\nlr = 0.001\n```\n",
    "[a link](https://example.org/v1.5/page) measured on 2026-11-26",
    "10 epochs, 784-1000-1000-8, batch 100, 1,497 tests",
])
def test_numbers_outside_prose_are_not_read(prose):
    assert numbers_in_prose(prose, str) == []


def test_decimals_and_percentages_are_read_with_their_precision():
    stated = numbers_in_prose("error 4.46%, loss 0.131, from 3.16-5.03%, 2.61 ± 0.13%, 1.8e-4, 55 %", str)
    assert [(s.text, s.percent) for s in stated] == [
        ("4.46%", True), ("0.131", False), ("3.16", True), ("5.03%", True), ("2.61", True),
        ("0.13%", True), ("1.8e-4", False), ("55%", True)]


@pytest.mark.parametrize(("prose", "pool", "backed"), [
    ("4.46%", Pool([Decimal("4.46")]), True),
    ("4.46%", Pool([Decimal("0.0446")]), True),
    ("0.131", Pool([Decimal("0.1312")]), True),
    ("0.131", Pool([Decimal("0.13")]), False),  # printed too coarsely to back three decimals
    ("0.131", Pool([Decimal("0.1318")]), False),
    ("0.131", Pool([Decimal("0.13")], printed=False), False),
    ("1.8e-4", Pool([Decimal("0.000183")]), True),
])
def test_a_printed_number_backs_a_number_at_its_stated_precision(prose, pool, backed):
    (stated,) = numbers_in_prose(prose, str)
    assert any(pool.holds(r) for r in stated.readings) is backed


@pytest.mark.parametrize(("prose", "backed"), [
    ("an error of 4.46% in the run", True),  # a JSON stores the fraction 0.044631
    ("an error of 4.46 in the run", False),  # ... so it backs no 4.46 without its percent sign
    ("noise (std 0.3) on the input", True),  # a setting, named as one, equal to a literal
    ("an accuracy of 0.3 in the run", False),  # the same number, not named as a setting
    ("noise (std 0.25) on the input", False),  # a setting is quoted, never rounded (0.3 is set)
    ("after 5 epochs the error was 8.1%", True),  # a per-epoch value, its measure named
    ("8.1% of the codes landed there", False),  # ... not named: a chance match in a history
])
def test_results_and_settings_back_what_they_hold(prose, backed):
    (stated,) = numbers_in_prose(prose, str)
    recorded = Results(Pool([Decimal("0.044631")], printed=False),
                       {"test_error": Pool([Decimal("0.0812")], printed=False)})
    assert (in_results(stated, recorded) or is_setting(stated, frozenset({Decimal("0.3")}))) is backed


@pytest.mark.parametrize(("prose", "backed"), [
    ("The course's goal was an error below 3.5% with 100 labels.", True),
    ("Two runs of four are below 3.5%.", False),  # the same number, not called a goal
    ("The goal of 4.5% was met.", False),  # not a goal the team set
    ("The paper reports 1.90 ± 0.10% with 100 labels.", True),
    ("One run reached 1.90% with 100 labels.", False),  # the paper's number, not about the paper
])
def test_goals_and_the_papers_numbers_back_only_where_named(prose, backed):
    stated = numbers_in_prose(prose, str)
    assert all(allowed(s) for s in stated) is backed
