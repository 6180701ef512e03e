#!/usr/bin/env bash
# DPO training speed at Qwen2-VL-2B's full geometry (28 language layers, 32 vision blocks; random weights, bf16) on one
# GPU: the peers' way, today's path and the fast path at 16 and 32 frames of 224x224, two pairs per step. A few
# minutes on an H100/H200-class GPU. Prints the table and JSON lines of speed/dpo_speed.py; record them with the GPU's
# name. Never run by the tests or CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
python speed/dpo_speed.py --models proxy-2b --frames 16 32 --layers 28 --vision-depth 32 --steps 5 --batch-size 2 "$@"
