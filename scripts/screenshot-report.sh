#!/usr/bin/env bash
# Screenshot an offline report (or any local HTML page) with headless Debian chromium, to check by
# eye that the plotly figures render (issue 6: "rendered, not blank"). Optional: nothing else needs it.
#
#   scripts/screenshot-report.sh results/<run>/report.html report.png [width,height]
#
# Installs chromium with apt-get when missing and running as root (Debian/Ubuntu); otherwise says how.
# The page is self-contained (plotly.js inline), so chromium is kept off the network entirely.
set -euo pipefail

if [[ $# -lt 2 || "$1" == "-h" || "$1" == "--help" ]]; then
  echo "usage: $0 <report.html> <out.png> [width,height (default 1400,3000)]" >&2
  exit 2
fi
page="$1"; out="$2"; size="${3:-1400,3000}"
[[ -f "$page" ]] || { echo "$0: $page: no such file (write it first: writeReportHtml(runDir))" >&2; exit 2; }

browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [[ -z "$browser" ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "$0: installing chromium (apt-get)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
    browser="$(command -v chromium)"
  else
    echo "$0: chromium not found; install it (Debian: sudo apt-get install chromium) and rerun" >&2
    exit 3
  fi
fi

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
abs_page="$(cd "$(dirname "$page")" && pwd)/$(basename "$page")"
mkdir -p "$(dirname "$out")"
abs_out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"

# --virtual-time-budget lets plotly finish drawing before the capture; stderr noise (dbus, GPU) dropped
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
  --user-data-dir="$profile" --window-size="$size" --virtual-time-budget=5000 \
  --screenshot="$abs_out" "file://$abs_page" 2> "$profile/chromium.log" || {
    echo "$0: chromium failed; its log:" >&2; cat "$profile/chromium.log" >&2; exit 1; }

[[ -s "$abs_out" ]] || { echo "$0: no screenshot written; chromium log:" >&2; cat "$profile/chromium.log" >&2; exit 1; }
echo "$abs_out"
