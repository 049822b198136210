"""LoRA adapters in service: the registry, health checks, pushes into vLLM, evaluation."""
