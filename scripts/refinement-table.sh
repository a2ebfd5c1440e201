#!/usr/bin/env bash
# Sampling from a trained 2-D run: the raw generator, its EMA, and refinement with the run's
# D in data and latent space (K steps, a few step sizes), each scored by `vgrow eval` on the
# same latents. One toy run per target x seed, trained with model.ema_decay so that raw and
# EMA weights come from the same run (docs/sampling.md holds one measured run of it).
# Usage: scripts/refinement-table.sh [-t "8gaussians swissroll"] [-s "0 1"] [-e 0.99]
#          [-o out_dir] [-- key=value ...]
set -euo pipefail
cd "$(dirname "$0")/.."
vgrow=${VGROW:-build/vgrow}
targets="8gaussians swissroll"
seeds="0 1"
ema=0.99
out=runs/refinement-table
while getopts "t:s:e:o:" opt; do
  case $opt in
    t) targets=$OPTARG ;;
    s) seeds=$OPTARG ;;
    e) ema=$OPTARG ;;
    o) out=$OPTARG ;;
    *) sed -n 2,7p "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ "${1:-}" != "--" ] || shift
[ -x "$vgrow" ] || { echo "refinement-table.sh: $vgrow not built (bash scripts/build.sh)" >&2; exit 1; }
mkdir -p "$out"

# The settings scored for every run: a label, then `vgrow eval` flags.
settings=(
  "G (raw)|--raw"
  "EMA $ema|"
)
for k in 1 5 10 20; do
  for eta in 0.1 0.5; do settings+=("data K=$k eta=$eta|--raw --refine $k --refine-space data --refine-eta $eta"); done
  for eta in 0.05 0.2; do settings+=("latent K=$k eta=$eta|--raw --refine $k --refine-space latent --refine-eta $eta"); done
done

field() { sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" <<<"$2"; }
echo "target,seed,setting,energy_distance,modes_covered,modes,in_mode,seconds" >"$out/results.csv"
for t in $targets; do
  for s in $seeds; do
    dir="$out/$t-seed$s"
    if [ ! -d "$dir" ]; then
      mkdir -p "$dir.partial"
      "$vgrow" train toy-8gaussians --quiet "data.target=$t" "run.seed=$s" "model.ema_decay=$ema" \
        "run.out_dir=$dir.partial" "$@" >"$dir.partial.log" 2>&1
      mv "$dir.partial" "$dir"
    fi
    run=$(find "$dir" -mindepth 1 -maxdepth 1 -type d | head -n 1)
    for entry in "${settings[@]}"; do
      label=${entry%%|*}
      read -r -a flags <<<"${entry#*|}"
      start=$(date +%s.%N)
      j=$("$vgrow" eval "$run" -n 5000 --seed 0 "${flags[@]}" 2>/dev/null | grep '^{' | tail -n 1)
      secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
      off=$(field off_mode "$j")
      in_mode=""
      [ -z "$off" ] || in_mode=$(awk -v o="$off" 'BEGIN { printf "%.3f", 1 - o }')
      echo "$t,$s,$label,$(field energy_distance "$j"),$(field modes_covered "$j"),$(field modes "$j"),$in_mode,$secs" >>"$out/results.csv"
    done
  done
done

# Per target and setting: energy distance per seed and its mean, modes per seed, in-mode min.
awk -F, 'NR > 1 {
  k = $1 "|" $3; n[k]++; e[k] += $4
  ed[k] = ed[k] (ed[k] == "" ? "" : " / ") sprintf("%.4f", $4)
  m[k] = m[k] (m[k] == "" ? "" : " ") ($5 == "" ? "-" : $5 "/" $6)
  if ($7 != "" && (!(k in lo) || $7 < lo[k])) lo[k] = $7
  if (!(k in order)) { order[k] = ++count; keys[count] = k }
} END {
  print "| target | sampling | energy distance per seed | mean | modes per seed | min in-mode |"
  print "|---|---|---|---|---|---|"
  for (i = 1; i <= count; i++) {
    k = keys[i]; split(k, p, "|")
    printf "| %s | %s | %s | %.4f | %s | %s |\n", p[1], p[2], ed[k], e[k] / n[k], m[k],
           (k in lo) ? lo[k] : "-"
  }
}' "$out/results.csv" | tee "$out/table.md"
