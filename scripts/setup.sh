#!/usr/bin/env bash
# Installs what is missing for ShopCall on Debian 12 (as root): apt packages, a venv with
# the project and its test tools. Safe to re-run; does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(janus janus-tools libjs-janus-gateway chromium ffmpeg nftables iproute2 curl espeak-ng coturn fonts-wqy-microhei)
command -v npm >/dev/null 2>&1 || APT_PKGS+=(nodejs npm)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# The Debian janus package starts a system service on install; ShopCall runs its own Janus.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet janus 2>/dev/null; then
  systemctl stop janus || true; systemctl disable janus >/dev/null 2>&1 || true
fi
# Same for coturn (if its service runs): ShopCall generates its own configuration and supervises its own coturn.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet coturn 2>/dev/null; then
  systemctl stop coturn || true; systemctl disable coturn >/dev/null 2>&1 || true
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "==> installing Python packages"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  rm -f .venv/.installed-*; touch "$stamp"
fi
# Front-end packages (served as-is, no build): RNNoise for noise suppression in the browser.
npm_stamp=node_modules/.installed-$(cat package.json package-lock.json | sha256sum | cut -c1-16)
if [ ! -f "$npm_stamp" ]; then
  echo "==> installing front-end packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$npm_stamp"
fi
echo "==> setup complete"
