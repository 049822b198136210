"""Serving LoRA adapters: what vLLM will accept, its runtime loading API, the promotion gate."""
