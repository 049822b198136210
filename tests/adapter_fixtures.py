"""Helpers for adapter tests: tiny adapters of any shape, and `transformers serve` over a
private hub cache that holds a base model and a LoRA adapter for it.

`transformers serve` without a pinned model loads whatever the request's ``model`` names
from the hub cache, and loads a folder holding ``adapter_config.json`` through peft on top
of its base: the same "the adapter is a model name" contract vLLM has.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.llm_fixtures import transformers_serve
from tests.tiny_model import install_in_hub_cache


def build_handbook_model(directory: Path, seed: int = 0, positions: int = 4096) -> Path:
    """A tiny random Llama like ``tests.tiny_model``'s, whose word-level vocabulary also
    covers the sample handbook and whose window fits five real passages.

    With the shared tiny model nearly every handbook word is ``<unk>``, a special token
    that decodes to nothing, so an adapter trained on handbook answers would "answer" with
    empty text; here answers decode to words and a trained adapter visibly changes them."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from indexer.sample import SAMPLE_DIR
    from tests.tiny_model import CHAT_TEMPLATE, SPECIALS, policy_corpus, save_tiny_llama

    texts = policy_corpus() + [p.read_text(encoding="utf-8", errors="ignore")
                               for p in sorted(SAMPLE_DIR.rglob("*"))
                               if p.suffix in (".md", ".txt", ".html")]
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(texts, trainer=trainers.WordLevelTrainer(
        vocab_size=6000, special_tokens=SPECIALS))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
        pad_token="<pad>", additional_special_tokens=SPECIALS[4:], chat_template=CHAT_TEMPLATE,
        model_max_length=positions, clean_up_tokenization_spaces=False)
    return save_tiny_llama(tokenizer, directory, seed, positions)


def make_adapter(model_dir: Path, out: Path, seed: int = 0, **lora: Any) -> Path:
    """A peft LoRA adapter for ``model_dir`` with non-zero weights and any LoraConfig."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    options = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"],
               "init_lora_weights": False, "task_type": "CAUSAL_LM", **lora}
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir), LoraConfig(**options))
    model.save_pretrained(out, safe_serialization=True)
    return out


def hub_with_adapter(model_dir: Path, adapter_dir: Path, hub: Path, base_id: str,
                     adapter_id: str) -> None:
    """Base and adapter as hub-cache repos; the adapter repo names the base by its id and
    carries the tokenizer and config files `transformers serve` reads before the weights."""
    install_in_hub_cache(model_dir, hub, base_id)
    staged = hub.parent / "adapter-repo"
    shutil.copytree(adapter_dir, staged, ignore=shutil.ignore_patterns("checkpoints"))
    config = json.loads((staged / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = base_id
    (staged / "adapter_config.json").write_text(json.dumps(config))
    for f in model_dir.iterdir():
        if "token" in f.name or f.name in ("config.json", "generation_config.json",
                                           "chat_template.jinja"):
            shutil.copy(f, staged / f.name)
    install_in_hub_cache(staged, hub, adapter_id)


@contextmanager
def serve_hub(hub: Path) -> Iterator[str]:
    """`transformers serve` over ``hub`` with no pinned model; yields ``http://…/v1``."""
    with transformers_serve(hub) as url:
        yield url
