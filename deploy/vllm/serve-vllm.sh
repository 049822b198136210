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

# vLLM requires the key on every /v1 path (VLLM_API_KEY, as --api-key would), the runtime
# LoRA endpoints /v1/load_lora_adapter and /v1/unload_lora_adapter included: without it any
# client that reaches the port could swap the adapter that writes every answer. So vLLM is
# never started without a real one. The key comes from the environment, not the command line,
# where `ps` would show it.
if [[ -z ${VLLM_API_KEY:-} ]]; then
  echo "serve-vllm: VLLM_API_KEY is not set; refusing to serve without an API key" >&2
  exit 64
fi
if [[ $VLLM_API_KEY == *change-me* || ${#VLLM_API_KEY} -lt 16 ]]; then
  echo "serve-vllm: VLLM_API_KEY is the example's placeholder or shorter than 16" \
    "characters; generate one with: openssl rand -hex 32" >&2
  exit 64
fi

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
