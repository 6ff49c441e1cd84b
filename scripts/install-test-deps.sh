#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine:
# Debian's Chromium headless shell (driven by Playwright, never downloaded by it), CJK and emoji fonts,
# then the pinned Python packages. Java 17 for the Spark test comes with the machine;
# without it that test skips with a reason.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium-headless-shell >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK" \
   || ! fc-list 2>/dev/null | grep -qi "Noto Color Emoji"; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium-headless-shell fonts-noto-cjk fonts-noto-color-emoji >/dev/null
fi
python3 -m pip install -q -r requirements-dev.txt
