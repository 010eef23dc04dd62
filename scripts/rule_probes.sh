#!/usr/bin/env bash
# Seed 0 of the market profile's "rule" schedule on VR-Market1501 (issue "Fidelity IV", item 3):
# each stage trained by the stopping rule (lib.train.schedule), which measures the epochs E it
# needs. Two lanes, one thread each, in the background; each run resumes from its last epoch
# when the script is started again, and a finished run is reused.
#
#   lane 1: PETA pre-training (MSE), then Eq. 5 fine-tuning (Gaussian mask)
#   lane 2: the extractor stage of ResNet (the baseline), then of RIFE
#
# The joint stage has no settings yet (its SR limit is measured first: README), so it is not
# here. Usage: scripts/rule_probes.sh [DATA_ROOT]   (default ../shared/datasets); logs and
# runs under $RIPR_RUNS (default runs/). Prints each lane's PID.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-../shared/datasets}
runs=${RIPR_RUNS:-runs}
mkdir -p "$runs/logs"
common=(--profile market --schedule rule --dataset vr_market1501 --seed 0 --data-root "$root"
        --device cpu --quiet)
py=.venv/bin/python

lane1() {
  local pre
  pre=$($py -m lib train --stage sr_pretrain --model ffsr --sr-images "$root/peta" "${common[@]}" |
        $py -c 'import json, sys, pathlib; t = sys.stdin.read(); print(pathlib.Path(json.loads(t[t.index("{"):])["dir"]).name)')
  $py -m lib train --stage sr_finetune --model ffsr --init "$pre" "${common[@]}"
}

lane2() {
  $py -m lib train --stage extractor --model resnet "${common[@]}"
  $py -m lib train --stage extractor --model rife "${common[@]}"
}

export OMP_NUM_THREADS=1
# the variant first, once: two lanes building it at the same moment would race on its manifest
$py -c "from lib.data.prepare import prepare; prepare('vr_market1501', data_root='$root', seed=0)" \
  >"$runs/logs/rule-prepare.log" 2>&1
lane1 >"$runs/logs/rule-lane1.log" 2>&1 &
echo "lane 1 (SR pre-training, fine-tuning): PID $!, log $runs/logs/rule-lane1.log"
lane2 >"$runs/logs/rule-lane2.log" 2>&1 &
echo "lane 2 (ResNet, RIFE extractors): PID $!, log $runs/logs/rule-lane2.log"
