# Two commands do all setup on a fresh machine: `make demo` and `make test`.
# Each creates the virtualenv in .venv on first use and installs the project.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed

.PHONY: demo test lint system-deps fonts nginx chromium turbojpeg

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian packages, installed when missing (as root; otherwise a hint is printed
# and the tests that need them skip, or fail under WENMING_TEST_REQUIRE_SERVICES=1):
#   fonts-noto-cjk  service certificates are drawn with a CJK font (`fonts`)
#   nginx           tests/deploy checks deploy/nginx.conf with a real nginx (`nginx`)
#   chromium        tests/browser drive the staff console in it with Playwright (`chromium`)
#   libturbojpeg0   photos to be turned are turned losslessly with it (`turbojpeg`); its tests
#                   in tests/media fail without it
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends

# ( $(call apt-install,PACKAGE[ ALTERNATIVE...],WHY) ): the first package that
# installs wins (apt-get update once if none does); messages name the last one.
# Run it in a subshell: it ends with `exit`. WHY must not contain a comma.
define apt-install
if [ "$$(id -u)" != 0 ]; then \
	echo "missing: $(lastword $(1)) ($(2)); install it as root: sudo make system-deps"; exit 0; \
fi; \
echo "installing $(lastword $(1)) ($(2))"; \
for pkg in $(1); do $(APT_INSTALL) $$pkg >/dev/null 2>&1 && exit 0; done; \
apt-get update -q >/dev/null; \
for pkg in $(1); do $(APT_INSTALL) $$pkg >/dev/null && exit 0; done; \
echo "could not install $(lastword $(1)): $(2)"
endef

system-deps: fonts nginx chromium turbojpeg

fonts:
	@ls /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
		>/dev/null 2>&1 || fc-list :lang=zh file 2>/dev/null | grep -q . \
		|| ( $(call apt-install,fonts-noto-cjk,service certificates need a CJK font or WENMING_CJK_FONT) )

# nginx-light is Debian 12's small build; later releases have only nginx. Only
# the binary is wanted (tests run `nginx -t` and their own instances): a system
# service this target installed is stopped and disabled again.
nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
		( $(call apt-install,nginx-light nginx,the deploy tests check deploy/nginx.conf with it) ); \
		if [ "$$(id -u)" = 0 ] && test -x /usr/sbin/nginx && command -v systemctl >/dev/null 2>&1; then \
			systemctl disable --now nginx >/dev/null 2>&1 || true; fi; }

# Playwright's own browser download is not used: the tests launch this one by its path.
chromium:
	@test -x /usr/bin/chromium || ( $(call apt-install,chromium,the browser tests drive the staff console in it) )

# Only the shared library is wanted: media/jpeg_transform.py loads it with ctypes.
turbojpeg:
	@test -n "$$(ls /usr/lib/*/libturbojpeg.so.0 /usr/lib/libturbojpeg.so.0 2>/dev/null)" \
		|| ( $(call apt-install,libturbojpeg0,photos to be turned are turned losslessly with it) )

demo: $(STAMP) fonts
	$(VENV)/bin/wenming demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint system-deps
	$(VENV)/bin/pytest
