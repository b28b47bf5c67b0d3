# Two commands for learners: `make lab` (open the course) and `make test` (check it works).
# Both create .venv on first use and install the course package with its tools into it.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))

.PHONY: help install lab test unit notebooks lint hygiene hooks course site slides student assignments release pretrained clean-checkpoints

help:
	@echo "make lab     - set up .venv if needed and open the course in JupyterLab"
	@echo "make test    - set up .venv if needed, lint, unit tests, every notebook in fast mode"
	@echo "make course  - run every notebook in default mode and store its outputs"
	@echo "make site    - build the course site (static HTML) from the stored outputs"
	@echo "make slides  - write reveal.js slides of the notebooks to build/slides/ (offline; SLIDES=\"02 06\" for some)"
	@echo "make student - write the student edition (solutions replaced by placeholders) to student/"
	@echo "make assignments - write an nbgrader course folder (graded checks) to assignments/"
	@echo "make pretrained - pack the trained default-mode models for the release (build/pretrained/)"
	@echo "make hooks   - install the pre-commit hook (ruff, links, clean notebook outputs)"
	@echo "make release VERSION=x.y.z - tag a release whose links name it (main keeps naming main)"
	@echo "make clean-checkpoints - delete cached trained models (AAE_CHECKPOINT_DIR, default data/checkpoints)"

# Reinstall when pyproject.toml changes (new dependency or floor).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "This course needs Python >= 3.10; run e.g. make PYTHON=python3.11 ...")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $@

install: $(STAMP)

# Jupyter refuses to run as root unless told; containers (Docker, some cloud shells) run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

# The whole suite. AAE_FAST=1 makes every notebook train on tiny subsets for seconds. Both
# editions run: nbval executes the instructor's (solutions in place); tests/test_student_edition.py
# executes the student's and requires every check in it to say "not done yet".
test: $(STAMP) lint
	AAE_FAST=1 AAE_PROGRESS=0 $(BIN)/python -m pytest tests $(NOTEBOOKS) \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:cacheprovider

unit: $(STAMP)
	$(BIN)/python -m pytest tests -p no:cacheprovider

# ruff reads notebooks natively (pyproject: extend-include *.ipynb), so one tool covers all.
lint: $(STAMP)
	$(BIN)/ruff check aae_utils tests notebooks bench tools

# What the pre-commit hook checks besides ruff: links pinned to the release, clean outputs.
hygiene: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_notebook_outputs.py tests/test_links.py

# Install the git pre-commit hook (.pre-commit-config.yaml).
hooks: $(STAMP)
	$(BIN)/pre-commit install

# Default mode, outputs stored in place (what GitHub shows). Reuses cached checkpoints, but never
# downloads the release's: the models it trains are the next release's (make pretrained). Widget
# state is not stored: without a kernel the explorers show their still PNG, and the state would
# only add the same pictures again (about 100 kB per explorer).
course: $(STAMP)
	AAE_FAST=0 AAE_PROGRESS=0 AAE_PRETRAINED_URL=off \
		$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=3600 --ExecutePreprocessor.store_widget_state=False $(NOTEBOOKS)

# The student edition, for lecturers to hand out (tools/editions.py: nbgrader's ClearSolutions).
student: $(STAMP)
	$(BIN)/python tools/editions.py student

# nbgrader's course folder: solution cells, graded check cells (tools/editions.py). Then, in
# assignments/: nbgrader generate_assignment <notebook>; nbgrader autograde <notebook> --create.
assignments: $(STAMP)
	$(BIN)/python tools/editions.py assignments

# A release: links stamped to the tag in a commit of its own, tagged, then main again (tools/release.py).
release: $(STAMP)
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=x.y.z"; exit 2; }
	$(BIN)/python tools/release.py $(VERSION)

# The release's pretrained models: every finished checkpoint of make course, with index.json, in
# build/pretrained/; it prints the gh command that uploads them (aae_utils/pretrained.py).
pretrained: $(STAMP)
	$(BIN)/python -m aae_utils.pretrained pack

# Every cached model, where AAE_CHECKPOINT_DIR says (default data/checkpoints/); other files stay.
clean-checkpoints: $(STAMP)
	@$(BIN)/python -c 'from aae_utils.checkpoints import clean_checkpoints as c; from aae_utils.config \
		import default_checkpoint_dir as d; print(f"deleted {len(c())} files of cached models in {d()}")' 

# Static HTML of the course from the stored outputs (nothing is executed): site/_build/html.
# --all rewrites every page: Sphinx skips a build with no changed page, and with it the copy of
# site/_static (an edited stylesheet would not reach the site). A full build takes seconds.
site: $(STAMP)
	$(BIN)/jupyter-book build . --all --config site/_config.yml --toc site/_toc.yml --path-output site
	@echo "open site/_build/html/index.html"

# Lecture slides from the stored outputs (nothing is executed), opening with no network:
# build/slides/<notebook>.slides.html, S for the speaker view (tools/slides.py). Fetches the
# pinned reveal.js once with npm into build/vendor/. SLIDES="02 06" writes only those.
slides: $(STAMP)
	$(BIN)/python tools/slides.py $(SLIDES)
