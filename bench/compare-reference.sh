#!/usr/bin/env bash
# vgrow vs the authors' PyTorch code on the same outer loop, side by side on this machine.
#
#   git clone https://github.com/xjtuygao/VGrow /path/to/VGrow     # yourself: never shipped here
#   sudo apt-get install python3-torch python3-torchvision python3-pandas python3-matplotlib
#   bench/compare-reference.sh --repo /path/to/VGrow [--width 32] [--threads 2] [--loops 3]
#       [--warmup 1] [--pool-batches 20] [--particle-steps 20] [--rounds 1]
#       [--dataset fashion-mnist|cifar10 --cifar-dir DIR] [--precision fp32|bf16|fp16]
#       [--vgrow build/vgrow]
#
# Both run the paper's loop (ResNet-SN G and D, batch 64, nDiter 1, eta 0.5, RMSprop, 5
# projection passes in the first 200 loops) on Fashion-MNIST or CIFAR-10 with the same width,
# pool, particle steps and thread count, on the GPU when there is one (the reference's own
# choice; vgrow's run.device = auto); each round runs the reference, then vgrow (alternating,
# so drift in the machine's load hits both). --cifar-dir holds cifar-10-batches-bin and
# cifar-10-batches-py (bench/synthetic_cifar10.py writes random ones: loop times do not depend
# on the pixels). --precision applies to vgrow only: the reference is fp32. Reports median
# seconds per outer loop after the warm-up, peak resident memory (GNU time), and the ratio,
# as text and one JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="" width=32 threads=2 loops=3 warmup=1 pool=20 steps=20 rounds=1
dataset=fashion-mnist cifar_dir="" precision=fp32 vgrow=build/vgrow
while [ $# -gt 0 ]; do
  case "$1" in
    --repo) repo="$2" ;; --width) width="$2" ;; --threads) threads="$2" ;;
    --loops) loops="$2" ;; --warmup) warmup="$2" ;; --pool-batches) pool="$2" ;;
    --particle-steps) steps="$2" ;; --rounds) rounds="$2" ;;
    --dataset) dataset="$2" ;; --cifar-dir) cifar_dir="$2" ;; --precision) precision="$2" ;;
    --vgrow) vgrow="$2" ;;
    *) echo "compare-reference: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
[ -n "$repo" ] || { echo "compare-reference: --repo PATH (a checkout of github.com/xjtuygao/VGrow) is required" >&2; exit 2; }
[ -x "$vgrow" ] || { echo "compare-reference: no $vgrow: build vgrow first (bash scripts/build.sh)" >&2; exit 2; }
case "$dataset" in
  fashion-mnist) preset=paper-fashion-mnist ref_data=(--dataset fashionmnist) vgrow_data=() ;;
  cifar10)
    [ -d "$cifar_dir/cifar-10-batches-bin" ] && [ -d "$cifar_dir/cifar-10-batches-py" ] || {
      echo "compare-reference: --cifar-dir must hold cifar-10-batches-bin and cifar-10-batches-py (bench/synthetic_cifar10.py DIR writes both)" >&2; exit 2; }
    preset=paper-cifar10 ref_data=(--dataset cifar10 --cifar-dir "$cifar_dir")
    vgrow_data=(data.path="$cifar_dir/cifar-10-batches-bin") ;;
  *) echo "compare-reference: --dataset must be fashion-mnist or cifar10" >&2; exit 2 ;;
esac
[ -x /usr/bin/time ] || { echo "compare-reference: needs GNU time (apt-get install time)" >&2; exit 2; }
# The same OpenMP setting for both: spin ~50 us between parallel regions, then sleep (vgrow
# sets this itself when the user has not; the reference would otherwise spin 3 ms).
export GOMP_SPINCOUNT=5000
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds: reference (width $width, pool ${pool}x64, $steps particle steps, $threads threads)" >&2
  /usr/bin/time -f "%M" -o "$out/ref-rss-$r" /usr/bin/python3 bench/reference_loop.py --repo "$repo" \
    --width "$width" --threads "$threads" --loops "$loops" --warmup "$warmup" \
    --pool-batches "$pool" --particle-steps "$steps" "${ref_data[@]}" 2>"$out/ref-log-$r" \
    | tail -n 1 >"$out/ref-$r.json"
  echo "round $r/$rounds: vgrow" >&2
  /usr/bin/time -f "%M" -o "$out/vgrow-rss-$r" "$vgrow" bench "$preset" "${vgrow_data[@]}" \
    model.g_width="$width" model.d_width="$width" flow.pool_batches="$pool" \
    flow.particle_steps="$steps" run.threads="$threads" run.precision="$precision" \
    --loops "$loops" --warmup "$warmup" >"$out/vgrow-log-$r"
  cat "$out/vgrow-log-$r" >&2
  tail -n 1 "$out/vgrow-log-$r" >"$out/vgrow-$r.json"
done
/usr/bin/python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
ref = [json.load(open(f"{out}/ref-{r}.json")) for r in range(1, rounds + 1)]
ours = [json.load(open(f"{out}/vgrow-{r}.json")) for r in range(1, rounds + 1)]
rss = lambda name: max(int(open(f"{out}/{name}-rss-{r}").read().split()[-1]) for r in range(1, rounds + 1)) / 1024
t_ref = statistics.median(x["seconds_per_loop"] for x in ref)
t_ours = statistics.median(x["seconds_per_loop"] for x in ours)
print(f"reference {t_ref:.2f} s/loop, vgrow {t_ours:.2f} s/loop: vgrow is {t_ref / t_ours:.2f}x faster")
print(f"peak RSS: reference {rss('ref'):.0f} MiB, vgrow {rss('vgrow'):.0f} MiB")
print(json.dumps({"dataset": ref[0].get("dataset", "fashionmnist"), "device": ours[0]["device"],
                  "reference_device": ref[0].get("device", "cpu"), "precision": ours[0]["precision"],
                  "width": ours[0]["g_width"], "threads": ours[0]["threads"], "pool": ours[0]["pool"],
                  "particle_steps": ours[0]["particle_steps"], "reference_seconds_per_loop": t_ref,
                  "vgrow_seconds_per_loop": t_ours, "speedup": t_ref / t_ours,
                  "vgrow_gflop_per_second": ours[0]["gflop_per_second"],
                  "reference_peak_rss_mib": rss("ref"), "vgrow_peak_rss_mib": rss("vgrow")}))
PY
