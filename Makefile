# Two commands do all the set-up: `make run` and `make test` (see README.md).
VENV    ?= .venv
PY      := $(VENV)/bin/python
LUMINA  := $(VENV)/bin/lumina
STAMP   := $(VENV)/.lumina-installed
PORT    ?= 8501
HOST    ?= 127.0.0.1
export LUMINA_HOME ?= $(CURDIR)/data
export HF_HUB_OFFLINE ?= 1
# vLLM on CPU: keep every core for the engine and give the KV cache an explicit size.
export VLLM_CPU_NUM_OF_RESERVED_CPU ?= 0
export VLLM_CPU_KVCACHE_SPACE ?= 1

.PHONY: install run test bench models demo chromium clean

install: $(STAMP)

# Re-runs only when the pins or the package definition change: a second `make install` is instant.
$(STAMP): pyproject.toml requirements/cpu.lock.txt requirements/models.txt requirements/test.txt scripts/install.sh
	bash scripts/install.sh
	@touch $@

models: install
	$(LUMINA) models prepare

demo: models
	$(LUMINA) demo

# Another HOST (e.g. 0.0.0.0) needs a sign-in configured first: docs/deploying.md.
run: demo
	$(LUMINA) serve --host $(HOST) --port $(PORT)

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "==> installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: install chromium
	$(PY) -m pytest

bench: install
	$(PY) benchmarks/generation.py
	$(PY) benchmarks/review.py
	$(PY) benchmarks/training.py

clean:
	rm -rf $(VENV) .cache .pytest_cache
