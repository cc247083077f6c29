#!/usr/bin/env bash
# `npm run notebooks`: execute every notebook headless (Jupyter nbclient + the tslab kernel) in
# smoke mode; executed copies with outputs go to results/notebooks/. Fails on any cell error.
#   scripts/run-notebooks.sh [notebooks/NN-name.ipynb ...] [--out dir] [--timeout seconds]
# Needs Debian's Jupyter (/usr/bin/python3 with nbclient; scripts/setup.sh installs it) and the
# tslab kernelspec (npx tslab install --python=/usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
py="${CLIPFACE_JUPYTER_PYTHON:-/usr/bin/python3}"
if ! "$py" -c 'import nbclient, nbformat' 2>/dev/null; then
  echo "notebooks: $py cannot import nbclient; install Debian's Jupyter (bash scripts/setup.sh, or apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel) or set CLIPFACE_JUPYTER_PYTHON" >&2
  exit 2
fi
if ! "$py" -c 'from jupyter_client.kernelspec import KernelSpecManager as K; K().get_kernel_spec("tslab")' 2>/dev/null; then
  echo "notebooks: no tslab kernelspec for $py; run: npx tslab install --python=$py" >&2
  exit 2
fi
exec node --import tsx scripts/notebooks/execute.ts "$@"
