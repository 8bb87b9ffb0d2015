#!/usr/bin/env bash
# Installs what the browser test of the web widget (tests/widget_browser.rs) needs: Debian's
# `chromium` and `chromium-driver`. Idempotent and quiet: does nothing when both are present.
# Needs root (or sudo) only when something is missing. Waits for a running apt/dpkg to finish.
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "test-deps: chromium/chromedriver missing and not root (no sudo): install the Debian packages chromium and chromium-driver" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# apt-get fails at once when another apt holds the lock; wait for it up to 10 minutes instead.
APT=(-o DPkg::Lock::Timeout=600 -qq)

echo "test-deps: installing chromium and chromium-driver (for tests/widget_browser.rs)…" >&2
$SUDO apt-get "${APT[@]}" update >/dev/null
$SUDO apt-get "${APT[@]}" install -y --no-install-recommends chromium chromium-driver >/dev/null

if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    echo "test-deps: installation finished but /usr/bin/chromium or /usr/bin/chromedriver is still missing" >&2
    exit 1
fi
