#!/usr/bin/env bash
# Reproduce the figures of models/REPORT.md on ../shared/data (CPU-sized; see the report).
#   bash models/report/run.sh [DATA] [OUT]
# Every step is a geowarn command; the JSON each writes is what the report quotes.
set -euo pipefail
DATA=${1:-../shared/data}
OUT=${2:-runs/report}
GW=${GEOWARN:-geowarn}
EPOCHS=${EPOCHS:-4}
ABL_EPOCHS=${ABL_EPOCHS:-1}
mkdir -p "$OUT"

# Crack / no-crack patch sets (64 px) cut from the pavement and concrete segmentation sets:
# train from their train splits, test from their val splits (never trained or selected on).
[ -d "$OUT/patches/source-train" ] || $GW patches -q --data "$DATA/crack-seg/crack500" "$DATA/crack-seg/deepcrack" \
  --split train --size 64 --max-per-class 1500 --seed 0 --out "$OUT/patches/source-train"
[ -d "$OUT/patches/source-test" ] || $GW patches -q --data "$DATA/crack-seg/crack500" "$DATA/crack-seg/deepcrack" \
  --split val --size 64 --max-per-class 500 --seed 1 --out "$OUT/patches/source-test"

train() {  # NAME MODEL DATA EXTRA...
  local name=$1 model=$2 data=$3; shift 3
  [ -f "$OUT/$name/best.pt" ] || $GW train classify --config config/train/report/classify.yaml --model "$model" \
    --data "$data" --out "$OUT/$name" --no-progress -q "$@"
}
evaluate() {  # NAME TEST_DATA
  $GW eval classify --checkpoint "$OUT/$1/best.pt" --data "$2" --json "$OUT/$1/test.json" -q --no-progress
}

# (a) seven-model comparison (seed 000 paper), same data, schedule and epochs for all.
for m in lenet5 alexnet lenet5-inception-a lenet5-inception-e resnet18 mobilenet-v1 vit-tiny; do
  train "cmp/$m" "$m" "$OUT/patches/source-train" --epochs "$EPOCHS"
  evaluate "cmp/$m" "$OUT/patches/source-test"
done

# (b) transfer learning to brick walls: 200 + 200 images train, the other 300 test (split by name, seeded).
python3 models/report/split_folder.py "$DATA/crack-cls/brickwork" "$OUT/brickwork" --train-per-class 200 --seed 0
T="$OUT/brickwork/train"; TEST="$OUT/brickwork/test"
train tl/scratch lenet5 "$T" --epochs 15
train tl/finetune lenet5 "$T" --epochs 15 --init-from "$OUT/cmp/lenet5/best.pt" --strategy finetune --lr 0.003
train tl/freeze lenet5 "$T" --epochs 15 --init-from "$OUT/cmp/lenet5/best.pt" --strategy freeze-backbone
train tl/merge lenet5 "$T" --epochs "$EPOCHS" --strategy merge --set "data.merge_with=[{root: $OUT/patches/source-train, split: null}]"
for r in scratch finetune freeze merge; do evaluate "tl/$r" "$TEST"; done

# (c) ASPP ablation (bridge-crack paper): ResNet50 vs ResNet50 + ASPP(DSConv) by insertion point and rates.
SUB=(--epochs "$ABL_EPOCHS" --set data.limit=600)
train abl/resnet50 resnet50 "$OUT/patches/source-train" "${SUB[@]}"
for at in conv1 layer1 layer2 layer3 layer4; do
  train "abl/aspp-$at-248" resnet50-aspp "$OUT/patches/source-train" "${SUB[@]}" --set "model.options={insert_after: $at}"
done
for rates in 246 369; do
  r="[${rates:0:1}, ${rates:1:1}, ${rates:2:1}]"
  train "abl/aspp-layer1-$rates" resnet50-aspp "$OUT/patches/source-train" "${SUB[@]}" \
    --set "model.options={insert_after: layer1, rates: $r}"
done
for d in "$OUT"/abl/*/; do evaluate "abl/$(basename "$d")" "$OUT/patches/source-test"; done

# (d) cascade vs segmenter alone: F1 on every test split and false alarms on australia.tif.
[ -n "${SKIP_DEFAULTS:-}" ] || $GW eval defaults --data "$DATA" --json "$OUT/cascade.json" -q --no-progress

python3 models/report/tables.py "$OUT" | tee "$OUT/tables.md"
