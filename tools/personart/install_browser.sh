#!/usr/bin/env bash
# Headless browser for the PersonArt app's end-to-end test (tests/personart/test_app_browser.py):
# Debian's chromium and its chromedriver (selenium drives them; no browser download from the web).
#   bash tools/personart/install_browser.sh     # apt-get chromium chromium-driver if missing
# Needs root or passwordless sudo; without apt-get it says so and exits 0 (the test then skips
# with that reason). Checked with Debian 12's chromium 156.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
log() { echo "install_browser: $*" >&2; }

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    log "installed: $(chromium --version 2>/dev/null || true)"
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    log "no apt-get here: install chromium and chromedriver yourself (the browser test skips)"
    exit 0
fi
log "installing chromium chromium-driver (apt-get)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver >/dev/null
log "installed: $(chromium --version 2>/dev/null || true)"
