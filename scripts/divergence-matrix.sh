#!/usr/bin/env bash
# Trains the toy preset for every divergence x 2-D target x seed, scores each run with
# `vgrow eval` and writes the table (docs/divergences.md holds one measured run of it).
# -d takes divergences and the GAN baselines (gan, gan-ns: run.method).
# Usage: scripts/divergence-matrix.sh [-d "kl js ..."] [-t "8gaussians ..."] [-s "0 1 2"]
#          [-j jobs] [-o out_dir] [-- key=value ...]
# Each run uses one thread; -j runs that many at once (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
vgrow=${VGROW:-build/vgrow}
divergences="kl js logd jeffreys pearson reverse-kl hellinger"
targets="8gaussians 25gaussians swissroll"
seeds="0 1 2"
jobs=2
out=runs/divergence-matrix
while getopts "d:t:s:j:o:" opt; do
  case $opt in
    d) divergences=$OPTARG ;;
    t) targets=$OPTARG ;;
    s) seeds=$OPTARG ;;
    j) jobs=$OPTARG ;;
    o) out=$OPTARG ;;
    *) sed -n 2,6p "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ "${1:-}" != "--" ] || shift
[ -x "$vgrow" ] || { echo "divergence-matrix.sh: $vgrow not built (bash scripts/build.sh)" >&2; exit 1; }
mkdir -p "$out"
export vgrow out
overrides=("$@")
export OVERRIDES="${overrides[*]:-}"

# One run: prints "divergence,target,seed,energy_distance,modes,modes_covered,in_mode,seconds".
one() {
  local d=$1 t=$2 s=$3
  local dir="$out/$d-$t-seed$s"
  if [ ! -f "$dir/eval.json" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    local start=$SECONDS
    # shellcheck disable=SC2086
    local method="flow.divergence=$d"
    case $d in gan|gan-ns) method="run.method=$d" ;; esac
    "$vgrow" train toy-8gaussians --quiet run.threads=1 "data.target=$t" "$method" \
      "run.seed=$s" "run.out_dir=$dir" $OVERRIDES >"$dir/train.log" 2>&1 || true
    local run
    run=$(find "$dir" -mindepth 1 -maxdepth 1 -type d | head -n 1)
    if [ -n "$run" ] && "$vgrow" eval "$run" -n 5000 >"$dir/eval.out" 2>&1; then
      grep '^{' "$dir/eval.out" | tail -n 1 >"$dir/eval.json"
    else
      echo '{"failed":true}' >"$dir/eval.json"
    fi
    echo $((SECONDS - start)) >"$dir/seconds"
  fi
  local j
  j=$(cat "$dir/eval.json")
  field() { sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" <<<"$j"; }
  local off
  off=$(field off_mode)
  local in_mode=""
  [ -z "$off" ] || in_mode=$(awk -v o="$off" 'BEGIN { printf "%.3f", 1 - o }')
  echo "$d,$t,$s,$(field energy_distance),$(field modes),$(field modes_covered),$in_mode,$(cat "$dir/seconds")"
}
export -f one

for d in $divergences; do for t in $targets; do for s in $seeds; do echo "$d $t $s"; done; done; done |
  xargs -P "$jobs" -L 1 bash -c 'one "$0" "$1" "$2"' >"$out/results.unsorted.csv"
{
  echo "divergence,target,seed,energy_distance,modes,modes_covered,in_mode,seconds"
  sort -t, -k1,1 -k2,2 -k3,3n "$out/results.unsorted.csv"
} >"$out/results.csv"
rm -f "$out/results.unsorted.csv"

# The table: per divergence and target, energy distance mean +- sd over seeds, the modes each
# seed covered, the smallest in-mode share, and the seeds that missed the bar (all modes,
# >= 0.85 in mode, energy distance < 0.1).
awk -F, 'NR > 1 {
  k = $1 "|" $2; n[k]++; e[k] += $4; e2[k] += $4 * $4
  m[k] = m[k] (m[k] == "" ? "" : " ") ($6 == "" ? "-" : $6 "/" $5)
  if ($7 != "" && (!(k in lo) || $7 < lo[k])) lo[k] = $7
  bad = ($4 == "" || $4 >= 0.1 || ($5 != "" && ($6 < $5 || $7 < 0.85)))
  if (bad) miss[k] = miss[k] (miss[k] == "" ? "" : " ") $3
  if (!(k in order)) { order[k] = ++count; keys[count] = k }
} END {
  print "| divergence | target | energy distance (mean ± sd) | modes per seed | min in-mode | seeds below the bar |"
  print "|---|---|---|---|---|---|"
  for (i = 1; i <= count; i++) {
    k = keys[i]; split(k, p, "|"); mean = e[k] / n[k]
    var = n[k] > 1 ? (e2[k] - n[k] * mean * mean) / (n[k] - 1) : 0; if (var < 0) var = 0
    printf "| %s | %s | %.4f ± %.4f | %s | %s | %s |\n", p[1], p[2], mean, sqrt(var), m[k],
           (k in lo) ? lo[k] : "-", (k in miss) ? miss[k] : "none"
  }
}' "$out/results.csv" | tee "$out/table.md"
echo "divergence-matrix.sh: $(($(wc -l <"$out/results.csv") - 1)) runs; $out/results.csv, $out/table.md"
