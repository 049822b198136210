"""A tiny random-weight Llama and LoRA adapter, built in seconds on CPU, for LLM tests.

Tests check protocol and plumbing (streaming, errors, adapters), never answer quality, so
the weights are random; what matters is that everything is real: a trained tokenizer, a
chat template, safetensors, a generation config and a peft adapter, as a hub model has.
The build is seeded, so the same torch version always gives the same bytes and outputs.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

TINY_MODEL_ID = "policybot/tiny-llama"  # the hub id it is served under in tests
SPECIALS = ["<unk>", "<s>", "</s>", "<pad>", "<|system|>", "<|user|>", "<|assistant|>"]
# Renders each turn as "<|role|>\ncontent</s>\n"; add_generation_prompt opens the answer.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' }}\n{{ message['content'] }}{{ eos_token }}\n"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}\n{% endif %}"
)

_TOPICS = ["annual leave", "sick leave", "parental leave", "remote work", "expenses", "travel",
           "laptops", "security", "overtime", "bonuses", "training", "pensions", "gifts"]
_VERBS = ["must", "may", "should", "can", "cannot"]
_ACTIONS = ["request approval from their manager", "submit the form in the HR portal",
            "keep receipts for seven years", "report the incident within 24 hours",
            "take up to 25 days per year", "work from home two days a week",
            "book travel through the approved agency", "complete the course by March"]
_WHO = ["Employees", "Managers", "Contractors", "New starters", "Part-time staff", "Everyone"]


def policy_corpus(lines: int = 400, seed: int = 0) -> list[str]:
    """Policy-like sentences, questions and cited answers: the tokenizer's training text."""
    from model.prompts import NO_ANSWER, SYSTEM_PROMPT

    rng = random.Random(seed)
    out = SYSTEM_PROMPT.splitlines() + [NO_ANSWER, "Passages:", "Question:"]
    for _ in range(lines):
        topic, verb, action = rng.choice(_TOPICS), rng.choice(_VERBS), rng.choice(_ACTIONS)
        n = rng.randint(1, 9)
        out.append(f"{rng.choice(_WHO)} {verb} {action} for {topic} [{n}].")
        out.append(f"[{n}] {topic.title()} Policy — Section {n}.{rng.randint(1, 9)}")
        out.append(f"What is the policy on {topic}? How do I {action}?")
    return out


def _train_tokenizer(vocab_size: int = 600) -> object:
    """A WordLevel tokenizer: every token decodes to a whole word, so streams are per word."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, special_tokens=SPECIALS)
    tok.train_from_iterator(policy_corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
        pad_token="<pad>", additional_special_tokens=SPECIALS[4:], chat_template=CHAT_TEMPLATE,
        model_max_length=512, clean_up_tokenization_spaces=False)


def save_tiny_llama(tokenizer: Any, directory: Path | str, seed: int = 0,
                    positions: int = 512) -> Path:
    """Save a tiny Llama (2 layers, hidden 32) over ``tokenizer`` to ``directory``."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ("<s>", "</s>", "<pad>")}
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=positions,
        bos_token_id=ids["<s>"], eos_token_id=ids["</s>"], pad_token_id=ids["<pad>"])
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    # min_new_tokens: a random model may pick </s> first, and an empty answer is an error.
    model.generation_config = GenerationConfig(
        bos_token_id=ids["<s>"], eos_token_id=ids["</s>"], pad_token_id=ids["<pad>"],
        max_new_tokens=16, min_new_tokens=2, do_sample=False)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return directory


def build_tiny_model(directory: Path | str, seed: int = 0) -> Path:
    """Save a tiny Llama (2 layers, hidden 32) with its tokenizer to ``directory``."""
    return save_tiny_llama(_train_tokenizer(), directory, seed)


def build_tiny_adapter(model_dir: Path | str, out_dir: Path | str, seed: int = 0) -> Path:
    """Save a LoRA adapter (r=4 on q_proj, v_proj) whose B weights are non-zero.

    peft's default init makes B zero, so a fresh adapter changes nothing; tests that check
    an adapter is really applied need one that does, hence ``init_lora_weights=False``.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    out_dir = Path(out_dir)
    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model_dir)
    config = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                        init_lora_weights=False, task_type="CAUSAL_LM")
    peft_model = get_peft_model(base, config)
    peft_model.save_pretrained(out_dir, safe_serialization=True)
    return out_dir


def install_in_hub_cache(model_dir: Path | str, cache_dir: Path | str,
                         repo_id: str = TINY_MODEL_ID) -> str:
    """Lay ``model_dir`` out as a Hugging Face hub cache entry; return the repo id.

    ``transformers serve`` lists models (GET /v1/models) by scanning the hub cache, not the
    forced model, so a model in a plain folder would never appear in the list.
    """
    revision = "0" * 40
    repo = Path(cache_dir) / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    shutil.copytree(model_dir, snapshot, dirs_exist_ok=True)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return repo_id
