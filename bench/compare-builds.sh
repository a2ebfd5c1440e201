#!/usr/bin/env bash
# Two vgrow binaries on the same `vgrow bench` loop, alternating (and swapping which goes
# first) round by round so drift in the machine's load hits both; prints each round's median seconds per outer loop and the
# ratio of the medians (old / new: above 1 means the new binary is faster).
#
#   bench/compare-builds.sh OLD_VGROW NEW_VGROW [--rounds 2] [-- bench arguments]
#   (default bench arguments: the paper's loop at width 32 on 2 threads, 3 loops after 1)
set -euo pipefail
old=$1 new=$2
shift 2
rounds=2
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "compare-builds.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
  args=(paper-fashion-mnist model.g_width=32 model.d_width=32 run.threads=2 --loops 3 --warmup 1)
fi
seconds() {  # the median seconds per loop from the bench's JSON line
  "$1" bench "${args[@]}" | grep '^{' | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["seconds_per_loop"])'
}
old_times=() new_times=()
for round in $(seq 1 "$rounds"); do
  # Odd rounds run the old binary first, even rounds the new one: neither always goes first.
  if [ $((round % 2)) -eq 1 ]; then o=$(seconds "$old"); n=$(seconds "$new")
  else n=$(seconds "$new"); o=$(seconds "$old"); fi
  old_times+=("$o"); new_times+=("$n")
  echo "round $round: old $o s/loop, new $n s/loop"
done
python3 - "${old_times[*]}" "${new_times[*]}" <<'PY'
import statistics, sys
old = [float(x) for x in sys.argv[1].split()]
new = [float(x) for x in sys.argv[2].split()]
o, n = statistics.median(old), statistics.median(new)
print(f"median old {o:.4f} s/loop, new {n:.4f} s/loop: old/new = {o / n:.3f}")
PY
