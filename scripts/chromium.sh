#!/usr/bin/env bash
# Install Debian's chromium for the console's browser tests (test/browser), if missing. Idempotent.
# playwright-core drives it; nothing is downloaded by playwright itself.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "chromium: installing Debian's chromium package"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
