# Two commands do all setup on a fresh machine: `make demo` and `make test`.
# Each creates the virtualenv in .venv on first use and installs the project.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed

.PHONY: demo test lint fonts

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Service certificates are drawn with a CJK font (Debian: fonts-noto-cjk); installed when missing.
fonts:
	@ls /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
		>/dev/null 2>&1 || fc-list :lang=zh file 2>/dev/null | grep -q . || { \
		echo "installing fonts-noto-cjk (service certificates need a CJK font)"; \
		apt-get install -y -q fonts-noto-cjk >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q fonts-noto-cjk >/dev/null; } \
		|| echo "could not install fonts-noto-cjk: install it (or set WENMING_CJK_FONT) for certificates"; }

demo: $(STAMP) fonts
	$(VENV)/bin/wenming demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint fonts
	$(VENV)/bin/pytest
