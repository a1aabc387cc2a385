# The README's two commands: `make test` and `make demo`. Both install the system packages the project needs where
# the machine allows it (scripts/system-packages.sh: root with apt-get; otherwise it says what it skipped), then
# create .venv when it is missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test demo bench clean-venv system-packages

system-packages:
	@PYTHON=$(PYTHON) sh scripts/system-packages.sh

$(BIN)/pbtnas: pyproject.toml | system-packages
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: on the reference machine these wheels come from local disk (about a minute)
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	# with the tune extra (about 30 s more): the BOHB baseline's tests run in the suite, not skipped
	$(BIN)/pip install --quiet -e '.[dev,tune]'
	touch $(BIN)/pbtnas

test: system-packages $(BIN)/pbtnas
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=25 tests

demo: system-packages $(BIN)/pbtnas
	$(BIN)/python -m pbtnas.demo

bench: $(BIN)/pbtnas
	$(BIN)/python benchmarks/compile.py

clean-venv:
	rm -rf $(VENV)
