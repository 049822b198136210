"""The prompt that makes a model answer only from numbered passages and cite them.

Shared by every LLM backend and by LoRA training data, so the adapter learns exactly the
format it is served with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from model.passages import NumberedPassage, Turn

SYSTEM_PROMPT = """You are PolicyBot, who answers employees' questions about company policies.
Rules:
- Answer ONLY from the numbered passages below. Do not use outside knowledge.
- After every sentence that states a fact, cite the passage(s) it comes from as [1], [2].
- Cite only passage numbers that appear below.
- If the passages do not contain the answer, say: "The policies I can see don't cover this."
  and do not guess.
- Be brief: two to five sentences, plain language, no preamble."""

NO_ANSWER = "The policies I can see don't cover this."
EVIDENCE_TEXT = ("I couldn't find a direct answer. This is the closest the handbook comes; "
                 "read it to check whether it applies.")


def says_not_covered(text: str) -> bool:
    """Whether ``text`` contains the "not covered" sentence, whatever its final stop."""
    return NO_ANSWER.lower().rstrip(".") in text.lower()


def format_passages(passages: Sequence[NumberedPassage],
                    budget_tokens: int | None = None,
                    count_tokens: Callable[[str], int] | None = None) -> str:
    """Numbered passages, cut to ``budget_tokens`` (later passages dropped first)."""
    count = count_tokens or (lambda text: len(text.split()) * 4 // 3 + 1)
    blocks: list[str] = []
    used = 0
    for p in passages:
        body = p.window
        block = f"[{p.n}] {p.title} — {p.section}\n{body}"
        cost = count(block)
        if budget_tokens is not None and used + cost > budget_tokens:
            if not blocks:  # always give at least a trimmed first passage
                words = block.split()
                blocks.append(" ".join(words[: max(16, budget_tokens * 3 // 4)]))
            break
        blocks.append(block)
        used += cost
    return "\n\n".join(blocks)


def build_messages(question: str, passages: Sequence[NumberedPassage],
                   history: Sequence[Turn] = (), budget_tokens: int | None = None,
                   count_tokens: Callable[[str], int] | None = None) -> list[dict[str, str]]:
    """Chat messages: system rules, earlier turns, then passages and the question."""
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    for turn in history[-2:]:
        messages.append({"role": "user", "content": turn.question})
        messages.append({"role": "assistant", "content": turn.answer})
    context = format_passages(passages, budget_tokens, count_tokens)
    messages.append({"role": "user", "content": f"Passages:\n\n{context}\n\nQuestion: {question}"})
    return messages
