#!/usr/bin/env bash
# Debian's chromium for the console's browser tests (Playwright for Python drives it; no browser is
# downloaded). Installs the package if /usr/bin/chromium is missing; prints the browser's path.
set -euo pipefail
BROWSER=/usr/bin/chromium
if [ ! -x "$BROWSER" ]; then
  echo "chromium.sh: installing Debian's chromium" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -q --no-install-recommends chromium >&2 \
    || { $SUDO apt-get update -q >&2 && $SUDO apt-get install -y -q --no-install-recommends chromium >&2; }
fi
[ -x "$BROWSER" ] || { echo "chromium.sh: error: $BROWSER not installed" >&2; exit 1; }
echo "$BROWSER"
