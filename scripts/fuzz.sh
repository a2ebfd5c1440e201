#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, in build-sanitize) and runs each for a bounded time on
# a copy of its seed corpus (fuzz/corpus/<target>/, crash-* files being past findings).
# Any crash, hang (-timeout), memory blow-up (-rss_limit_mb), leak or sanitizer report fails.
# Usage: scripts/fuzz.sh [seconds per target, default 20] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_idx fuzz_cifar10 fuzz_csv_points fuzz_image_folder
                                     fuzz_config fuzz_override fuzz_checkpoint fuzz_classifier
                                     fuzz_stats_cache)
bash scripts/build-sanitize.sh "${targets[@]}"
source scripts/sanitizer-env.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts=build-sanitize/fuzz-artifacts
mkdir -p "$artifacts"
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$work/$t/tmp"
  cp -r "fuzz/corpus/$t" "$work/$t/corpus"
  echo "== $t: ${seconds} s on $(ls "$work/$t/corpus" | wc -l) seed(s)"
  # TMPDIR: the targets write each input to a file there.
  if ! TMPDIR="$work/$t/tmp" "build-sanitize/fuzz/$t" "$work/$t/corpus" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts/$t-" >"$work/$t/log" 2>&1; then
    tail -n 60 "$work/$t/log"
    echo "== $t FAILED; input saved under $artifacts/ (reproduce: build-sanitize/fuzz/$t FILE)"
    failed+=("$t")
  else
    # "Done N runs in S second(s)" and the last coverage line.
    grep -E "^Done [0-9]+ runs" "$work/$t/log" || true
    grep -E "^#[0-9]+" "$work/$t/log" | tail -n 1 | cut -c1-120
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s), ${seconds} s each, no findings"
