#!/usr/bin/env bash
# Starts `vllm serve` with the arguments given, except that a `--lora-modules NAME=PATH`
# entry whose PATH holds no trained adapter (no adapter_config.json) is left out, with a
# line on stderr. vLLM refuses to start when a listed adapter is missing, and on day one
# there is usually no adapter yet: the base model serves until one is copied in. Then
# restart vLLM, or load it at runtime (POST /v1/load_lora_adapter; see docs/deploy.md).
#
# Used by deploy/compose.yaml (mounted from this file) and by deploy/k8s/vllm.yaml (the
# same text in the vllm-launcher ConfigMap; tests/test_deploy.py keeps the two identical).
set -euo pipefail

args=()
adapters=()
in_lora=0
for arg in "$@"; do
  if [[ $in_lora == 1 && $arg != -* ]]; then
    name=${arg%%=*}
    path=${arg#*=}
    if [[ -f $path/adapter_config.json ]]; then
      adapters+=("$arg")
    else
      echo "serve-vllm: LoRA adapter '$name' not served: no adapter_config.json in $path" >&2
    fi
    continue
  fi
  in_lora=0
  if [[ $arg == --lora-modules ]]; then
    in_lora=1
    continue
  fi
  args+=("$arg")
done
if (( ${#adapters[@]} )); then
  args+=(--lora-modules "${adapters[@]}")
fi
exec vllm serve "${args[@]}"
