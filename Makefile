# Two commands do everything on a fresh machine:
#   make demo   create .venv if missing, then run the embedded demo job
#   make test   same environment, run the test suite
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.gan_matting_installed
# torch is pinned here only (setup.cfg declares a range): these builds lie on this machine's disk
TORCH  ?= torch==2.14.1 torchvision==0.29.1
PYTEST_ARGS ?=

.PHONY: demo test test-fast bench reproduce install clean-venv browser

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch, torchvision" 2>/dev/null || $(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/gan-matting demo

# the web page's test drives Debian's headless Chromium through chromedriver: installed here when it can be
# (root with apt-get, as in CI); elsewhere that one test skips and says why
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium + chromium-driver for the browser test"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
	      || echo "warning: apt-get could not install chromium; the browser test will skip" >&2; \
	  else echo "note: chromium/chromedriver not installed (needs root + apt-get); the browser test will skip" >&2; fi; \
	fi

# pytest exits 5 when it collected no test: that must fail, not pass quietly
test: $(STAMP) browser
	@$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# the same suite without the tests marked slow (multi-process DDP, SIGKILL resume, benches)
test-fast: PYTEST_ARGS += -m "not slow"
test-fast: test

bench: $(STAMP)
	$(VENV)/bin/gan-matting bench all

# every README table and figure (hours on 2 CPU cores; re-running resumes the trainings)
reproduce: $(STAMP)
	bash experiments/reproduce.sh all

clean-venv:
	rm -rf $(VENV)
