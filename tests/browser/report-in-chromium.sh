#!/usr/bin/env bash
# Renders the HTML report of a short run, and of two runs side by side, in headless Chromium.
# Fails on a console message (errors, uncaught exceptions), an image or plot that is not
# shown, a layout wider than the window at 1280 or 420 px, overlapping panels, or a slider
# that does not move; keeps a screenshot of each report in ARTIFACTS.
# Usage: report-in-chromium.sh VGROW_CLI CHROMIUM ARTIFACTS_DIR
set -euo pipefail
cli=$1 chromium=$2 artifacts=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/vgrow-browser-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
export VGROW_CACHE_DIR=$work/cache

# Two short Fashion-MNIST runs, scored while training with the shipped classifier.
for divergence in kl js; do
  "$cli" train --quiet run.out_dir="$work/runs" run.minutes=0 run.loops=6 run.sample_every=2 \
    run.threads=1 data.limit=512 model.g_width=8 model.d_width=8 flow.divergence=$divergence \
    eval.metrics=fid,kid eval.every=3 eval.count=200
done
one=$(ls -d "$work"/runs/*-kl) two=$(ls -d "$work"/runs/*-js)
"$cli" report "$one" -o "$work/one.html"
"$cli" report "$one" "$two" -o "$work/two.html"
cp "$here/check-report.html" "$work/"

browse() {  # chromium ARGS...: stdout is the page's DOM (--dump-dom), stderr the log
  "$chromium" --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --allow-file-access-from-files --enable-logging=stderr --v=0 "$@"
}

status=0
# report file, runs, plots (7 training curves + fid and kid)
for case in "one.html 1 9" "two.html 2 9"; do
  set -- $case
  log=$work/${1%.html}.log
  browse --virtual-time-budget=15000 --dump-dom \
    "file://$work/check-report.html?report=$1&runs=$2&plots=$3" >"$work/dom.html" 2>"$log"
  result=$(sed -n 's/.*<pre id="result">\([^<]*\)<\/pre>.*/\1/p' "$work/dom.html")
  echo "$1: $result"
  if [ -z "$result" ] || [ "$result" = "not run" ]; then
    echo "FAIL $1: the check did not run"; status=1
  elif ! grep -q '"problems":\[\]' <<<"$result"; then
    echo "FAIL $1: problems found"; status=1
  fi
  if grep -q ':CONSOLE' "$log"; then
    echo "FAIL $1: console messages:"; grep ':CONSOLE' "$log"; status=1
  fi
  browse --window-size=1280,2400 --screenshot="$artifacts/report-${1%.html}-run.png" \
    "file://$work/$1" >/dev/null 2>&1
  [ -s "$artifacts/report-${1%.html}-run.png" ] || { echo "FAIL $1: no screenshot"; status=1; }
done
echo "screenshots: $artifacts/report-one-run.png $artifacts/report-two-run.png"
exit $status
