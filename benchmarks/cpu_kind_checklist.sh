#!/usr/bin/env bash
# Every measurement whose result depends on the kind of CPU, in one run, for the first session on a CPU kind
# not measured yet (an Intel Xeon with AMX so far): speed against the official DarkIR code, float32 and
# bfloat16 (issue 26, items 1-3), FSIDNet compiled against eager (item 4), bfloat16 accuracy on LOL eval15
# for every shipped model (item 3), and peak memory of a 12 MP photo and of a mixed-size folder (issue 23,
# item 10). Run it on a quiet machine (no training beside it).
#
#   bash benchmarks/cpu_kind_checklist.sh ~/ref/DarkIR ../shared/data/lol-eval15 cpu_kind_report/
#
# OFFICIAL is a checkout of github:cidautai/DarkIR (outside this repository; only its archs/ is read).
# Every table is also written under OUT, with `lscpu` and the date, for the README.
set -euo pipefail
official=${1:?usage: bash benchmarks/cpu_kind_checklist.sh OFFICIAL_DARKIR_DIR LOL_EVAL15_DIR [OUT]}
eval15=${2:?usage: bash benchmarks/cpu_kind_checklist.sh OFFICIAL_DARKIR_DIR LOL_EVAL15_DIR [OUT]}
out=${3:-cpu_kind_report}
mkdir -p "$out"
{ date -u; lscpu; } > "$out/machine.txt"
grep -m1 "model name" /proc/cpuinfo
run() {  # name, command...
    local name=$1
    shift
    echo "== $name: $*"
    "$@" 2>"$out/$name.log" | tee "$out/$name.md"
}
precisions="fp32"
bf16_variants=""
if grep -qE "avx512_bf16|amx_bf16" /proc/cpuinfo; then
    precisions="fp32 bf16"
    bf16_variants="bf16 compiled_bf16"
fi
# shellcheck disable=SC2086
run darkir_speed python benchmarks/cpu_speed.py --model darkir_m --official "$official" --rounds 3 \
    --variants channels_last compiled $bf16_variants
run fsidnet_speed python benchmarks/cpu_speed.py --model fsidnet --rounds 3 --variants eager channels_last compiled
models="darkir_m.lol_v1 darkir_m.robust fsidnet.lol_v1 fsidnet.robust lucentvision zero_dce"
for precision in $precisions; do
    # shellcheck disable=SC2086
    run "eval15_$precision" lowlight evaluate --model $models --data "$eval15" --device cpu -q \
        --precision "$precision" -o "$out/eval15_$precision"
done
run memory_12mp python benchmarks/large_image_memory.py --allocators tuned
run memory_mixed python benchmarks/large_image_memory.py --mixed 8 --skip-large --allocators tuned
echo "tables in $out/"
