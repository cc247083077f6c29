#!/usr/bin/env bash
# One-shot set-up for a fresh Debian/Ubuntu machine, then the main job (the offline demo).
# - npm packages from the npm registry only (tfjs-node/-gpu are optional: their install downloads
#   libtensorflow and is skipped where that is impossible; see README "GPU");
# - Debian's Jupyter (nbconvert/nbclient/ipykernel) and the tslab kernel for the notebooks;
# - then `npm run -s demo`.
# Safe to re-run. Needs root or sudo for apt-get; set CLIPFACE_SKIP_APT=1 to skip that part.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ -z "${CLIPFACE_SKIP_APT:-}" ]; then
  if ! /usr/bin/python3 -c 'import nbclient, nbconvert, ipykernel' 2>/dev/null; then
    echo "setup: installing Debian's Jupyter (jupyter-nbconvert python3-nbclient python3-ipykernel)" >&2
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q jupyter-nbconvert python3-nbclient python3-ipykernel
  fi
fi

echo "setup: npm ci" >&2
npm ci --no-audit --no-fund

# tslab's kernel spec, bound to Debian's python (the python3 first on PATH may lack Jupyter)
if /usr/bin/python3 -c 'import ipykernel' 2>/dev/null; then
  npx tslab install --python=/usr/bin/python3 >&2
fi

echo "setup: done; running the demo (npm run -s demo)" >&2
npm run -s demo
