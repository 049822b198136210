"""Adapter training end to end on the sample handbook and the tiny model.

The dataset is built over a real index (the real embedder) from a curated file and 👍/👎
feedback stored through BotHistory; one feedback answer's document is then edited, as
happens between an answer and a training run. The tiny model's weights are random, so the
tests check mechanics: what is kept, dropped and renumbered, what the loss is taken on,
that training is seeded and resumable, and that the adapter is really applied wherever it
is served.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.answering import numbered
from bot.cli import AppContext, main
from bot.history import BotHistory
from bot.settings import load_app_settings
from indexer.index import PolicyIndex
from indexer.sample import SAMPLE_DIR
from model.answer import Answer, Citation
from model.generators.openai_http import fit_messages
from model.prompts import NO_ANSWER
from model.training.dataset import build_dataset, curated_candidates, in_validation
from model.training.encoding import IGNORE, encode_chat, read_examples
from model.training.trainer import TrainConfig, train
from tests.adapter_fixtures import build_handbook_model

STALE_QUOTE = "Submit every claim within 30 days of the date of the expense."
Q_LEAVE = "How many days of annual leave do I get?"
Q_EXPENSES = "What is the deadline to submit expenses?"
Q_ABROAD = "Can I work from another country?"
Q_LAPTOP = "What happens if my laptop is stolen?"


def _cite(p: Any, quote: str, n: int = 1) -> Citation:
    return Citation(n, p.title, p.url, p.source, p.path, p.section, quote, p.doc_version,
                    p.doc_id)


def _vote(history: BotHistory, question: str, text: str, cites: list[Citation],
          votes: dict[str, str], abstained: bool = False) -> None:
    answer = Answer(question=question, text=text, citations=cites, abstained=abstained,
                    grounded=bool(cites), generator="openai")
    answer_id = history.record_answer(answer, user_id="U0", channel_id="C1", thread_ts=None,
                                      visibility="public", model="policy")
    for user, rating in votes.items():
        history.record_feedback(answer_id, user, rating)


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> dict[str, Any]:
    """A synced copy of the sample handbook, feedback recorded against it, then one of the
    cited documents edited and re-synced. (Module-scoped, so built like ``make_index``
    builds an index rather than through that function-scoped fixture.)"""
    root = tmp_path_factory.mktemp("handbook")
    docs = shutil.copytree(SAMPLE_DIR, root / "docs")
    settings = load_app_settings(home=root / "home", database_url=None, lancedb_uri=None,
                                 sources=[{"name": "handbook", "type": "directory",
                                           "path": str(docs)}])
    index = PolicyIndex(settings, embedder=embedder)
    assert index.sync().ok
    retriever = index.retriever()

    def retrieve(question: str) -> list[Any]:
        return numbered(retriever.search(question, k=settings.answer.passages))

    history = BotHistory(settings.db_url)
    leave = retrieve(Q_LEAVE)
    glossary = next(p for p in leave if p.path == "general/glossary-and-faq.md")
    leave_quote = next(s for s in glossary.text.split(". ") if "Portugal" in s)
    _vote(history, Q_LEAVE, "You get 25 working days a year in Portugal [1].",
          [_cite(glossary, leave_quote)], {"U1": "up", "U2": "up"})
    expenses = retrieve(Q_EXPENSES)[0]
    assert STALE_QUOTE in expenses.window
    _vote(history, Q_EXPENSES, "Submit claims within 30 days [1].",
          [_cite(expenses, STALE_QUOTE)], {"U1": "up"})
    abroad = retrieve(Q_ABROAD)[1]
    _vote(history, Q_ABROAD, "Up to 30 days a year [1].",
          [_cite(abroad, abroad.text.split(". ")[0])], {"U1": "up"})
    _vote(history, Q_ABROAD.lower(), "Yes, whenever you like [1].",
          [_cite(abroad, abroad.text.split(". ")[0])], {"U2": "down"})
    laptop = retrieve(Q_LAPTOP)[0]
    _vote(history, Q_LAPTOP, "Report it [1].", [_cite(laptop, "report it within 1 hour")],
          {"U3": "up"})
    _vote(history, "Can I bring my dog?", NO_ANSWER, [], {"U1": "up"}, abstained=True)
    # The expenses policy changes after the answer was liked: its quote no longer exists.
    path = docs / "finance" / "expenses.md"
    path.write_text(path.read_text().replace("within 30 days of the date of the expense",
                                             "within 45 days of the date of the expense"))
    assert index.sync().ok
    parental = retrieve("How long is parental leave?")
    curated = [
        {"question": "what happens if my LAPTOP is stolen",
         "answer": "Report it within 1 hour of noticing, day or night [1]."},
        {"question": "How long is parental leave?",
         "answer": "Tell your manager at least 15 weeks before the birth [1].",
         "citations": [{"doc_id": "handbook:people/parental-leave.md",
                        "quote": "Tell your manager and the People team at least 15 weeks"}]},
        {"question": "Can I bring my dog to the office?", "answer": NO_ANSWER},
        {"question": "How do I book travel?", "answer": "Use the agency [9]."},
        {"question": "When are expense claims due?", "answer": "Within 45 days [1]."},
        {"question": "How often are laptops replaced?",
         "answer": "Every 4 years, or 3 for Engineering machines [1].",
         "citations": [{"doc_id": "handbook:it-security/equipment-and-laptops.md",
                        "quote": "Laptops are replaced every 4 years"}]},
        {"question": "How much sick pay do I get?",
         "answer": "Full salary for the first 15 working days a year [1].",
         "citations": [{"doc_id": "handbook:people/sick-leave.md",
                        "quote": "Fernhill pays your full salary for the first 15 working days"}]},
    ]
    return {"settings": settings, "index": index, "retrieve": retrieve, "history": history,
            "curated": curated, "glossary": glossary, "parental": parental, "root": root}


def _build(hb: dict[str, Any], curated: list[dict[str, Any]] | None = None) -> Any:
    history, gen = hb["history"], hb["settings"].generator
    return build_dataset(
        curated_candidates(hb["curated"] if curated is None else curated),
        history.feedback_records("up"), history.feedback_records("down"), hb["retrieve"],
        val_fraction=0.2, seed=0,
        messages_for=lambda q, ps: fit_messages(q, ps, (), gen.context_tokens, 400))


@pytest.fixture(scope="module")
def built(handbook: dict[str, Any]) -> Any:
    return _build(handbook)


def _by_question(build: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for ex in build.train + build.validation:
        question = ex["messages"][-2]["content"].rsplit("Question: ", 1)[1]
        out[question] = ex
    return out


def test_feedback_is_rechecked_renumbered_and_filtered(handbook: dict[str, Any],
                                                       built: Any) -> None:
    report, examples = built.report, _by_question(built)
    leave = examples[Q_LEAVE]["messages"]
    assert leave[-1]["content"] == f"You get 25 working days a year in Portugal " \
        f"[{handbook['glossary'].n}]."  # [1] then, the glossary's number now
    assert handbook["glossary"].n != 1 and report["renumbered"] >= 1
    assert Q_EXPENSES not in examples and Q_ABROAD not in examples
    assert report["dropped"] == {"downvoted": 1, "duplicate": 1, "abstained": 1,
                                 "quote_missing": 1, "marker_unknown": 1}
    assert report["inputs"] == {"curated": 7, "feedback_answers": 5, "feedback_votes": 6,
                                "downvoted_questions": 1}
    drops = {(d["question"], d["reason"]) for d in report["drops"]}
    assert (Q_EXPENSES, "quote_missing") in drops and (Q_LAPTOP, "duplicate") in drops
    assert examples["what happens if my LAPTOP is stolen"]  # the curated answer wins


def test_examples_use_the_inference_prompt(handbook: dict[str, Any], built: Any) -> None:
    examples = _by_question(built)
    parental = examples["How long is parental leave?"]["messages"]
    first = next(p for p in handbook["parental"]
                 if "Tell your manager and the People team at least 15 weeks" in p.window)
    assert parental[-1]["content"].endswith(f"[{first.n}].")
    gen = handbook["settings"].generator
    question = "How long is parental leave?"
    assert parental[:-1] == fit_messages(question, handbook["retrieve"](question), (),
                                         gen.context_tokens, 400)
    assert [m["role"] for m in parental] == ["system", "user", "assistant"]
    assert examples["Can I bring my dog to the office?"]["messages"][-1]["content"] == NO_ANSWER


def test_split_is_stable_across_runs_and_additions(handbook: dict[str, Any],
                                                   built: Any) -> None:
    again = _build(handbook)
    assert again.train == built.train and again.validation == built.validation
    more = _build(handbook, [*handbook["curated"], {"question": "Who approves travel?",
                                                    "answer": "Your manager [1]."}])
    before = {q: q in _by_question(type(built)(built.validation)) for q in _by_question(built)}
    after_validation = set(_by_question(type(built)(more.validation)))
    assert all((q in after_validation) == in_val for q, in_val in before.items())
    assert all(in_validation(q, 0.2) == in_val for q, in_val in before.items())
    assert built.validation and built.train


def test_dataset_command_writes_files_and_report(handbook: dict[str, Any], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    settings = handbook["settings"]
    config = tmp_path / "policybot.toml"
    config.write_text(f'home = "{settings.home}"\n[[sources]]\nname = "handbook"\n'
                      f'type = "directory"\npath = "{settings.sources[0].path}"\n')
    curated = tmp_path / "curated.jsonl"
    curated.write_text("\n".join(json.dumps(c) for c in handbook["curated"]) + "\n")
    monkeypatch.setattr(AppContext, "index", lambda self: handbook["index"])
    monkeypatch.setenv("POLICYBOT_HOME", str(settings.home))  # the feedback's database
    outs = []
    for run in ("a", "b"):
        result = CliRunner().invoke(main, ["--config", str(config), "adapters", "dataset",
                                           "--out", str(tmp_path / run), "--curated",
                                           str(curated), "--val-fraction", "0.2"])
        assert result.exit_code == 0, result.output
        outs.append(tmp_path / run)
    assert "quote_missing" in result.output and "examples:" in result.output
    for name in ("train.jsonl", "validation.jsonl"):
        assert (outs[0] / name).read_text() == (outs[1] / name).read_text()
    report = json.loads((outs[0] / "report.json").read_text())
    assert report["dropped"]["quote_missing"] == 1
    assert len(read_examples(outs[0] / "train.jsonl")) == report["train"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x"}\n')
    result = CliRunner().invoke(main, ["--config", str(config), "adapters", "dataset",
                                       "--out", str(tmp_path / "c"), "--curated", str(bad)])
    assert result.exit_code == 1 and "curated line 1" in result.output


# --- training --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def long_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_handbook_model(tmp_path_factory.mktemp("handbook-llm") / "model")


@pytest.fixture(scope="module")
def data_dir(built: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data")
    for name, rows in (("train", built.train), ("validation", built.validation)):
        (out / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / "report.json").write_text(json.dumps(built.report))
    return out


def _config(long_model: Path, data: Path, out: Path, **kw: Any) -> TrainConfig:
    options = {"rank": 8, "alpha": 16, "epochs": 3, "lr": 2e-2, "batch_size": 2,
               "max_seq_len": 4096, "seed": 0, "dropout": 0.1, **kw}
    return TrainConfig(base=str(long_model), data=data, out=out, **options)


@pytest.fixture(scope="module")
def trained(long_model: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("adapter") / "policy"
    return out, train(_config(long_model, data_dir, out), progress=False)


def test_loss_is_taken_on_the_answer_only(long_model: Path, built: Any) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(long_model)
    messages = built.train[0]["messages"]
    encoded = encode_chat(tokenizer, messages)
    prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True,
                                           tokenize=True, return_dict=True)["input_ids"]
    assert encoded.input_ids[:len(prompt)] == list(prompt)  # exactly the inference prompt
    assert encoded.labels[:len(prompt)] == [IGNORE] * len(prompt)
    answer = [t for t in encoded.labels if t != IGNORE]
    assert encoded.labels[len(prompt):] == answer == encoded.input_ids[len(prompt):]
    assert tokenizer.decode(answer) == tokenizer.decode(
        tokenizer(messages[-1]["content"] + tokenizer.eos_token, add_special_tokens=False)
        ["input_ids"])


def test_training_lowers_the_loss_and_writes_a_servable_adapter(
        trained: tuple[Path, dict[str, Any]]) -> None:
    out, metrics = trained
    losses = [e["train_loss"] for e in metrics["epochs"]]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert all(e["val_loss"] is not None for e in metrics["epochs"])
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md",
            "training_metrics.json"} <= {p.name for p in out.iterdir()}
    card = (out / "README.md").read_text()
    assert "base_model: " in card and "| 3 |" in card and "tokens/s" in card
    assert metrics["tokens_per_s"] > 0 and metrics["data"]["dataset_report"]["examples"] > 0
    assert "drops" not in metrics["data"]["dataset_report"]  # no questions in the card
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == 8 and set(config["target_modules"]) == {"q_proj", "v_proj"}


def test_same_seed_same_losses_and_resume_continues_exactly(
        long_model: Path, data_dir: Path, tmp_path: Path,
        trained: tuple[Path, dict[str, Any]]) -> None:
    options = {"epochs": 2, "save_every": 2}
    full = train(_config(long_model, data_dir, tmp_path / "full", **options), progress=False)
    again = train(_config(long_model, data_dir, tmp_path / "again", **options), progress=False)
    assert full["epochs"] == again["epochs"]
    other = train(_config(long_model, data_dir, tmp_path / "other", seed=1, **options),
                  progress=False)
    assert other["epochs"] != full["epochs"]
    kept = sorted((tmp_path / "full" / "checkpoints").iterdir())
    assert len(kept) == 2  # older checkpoints pruned
    middle = tmp_path / "resumed" / "checkpoints" / kept[0].name
    shutil.copytree(kept[0], middle)
    resumed = train(_config(long_model, data_dir, tmp_path / "resumed", resume=True,
                            **options), progress=False)
    assert resumed["epochs"] == full["epochs"]
    with pytest.raises(Exception, match="rank changed"):
        train(_config(long_model, data_dir, tmp_path / "resumed", resume=True, rank=4,
                      **options), progress=False)


# --- the trained adapter, wherever it is served ------------------------------------------

def test_trained_adapter_validates_and_changes_greedy_output(
        trained: tuple[Path, dict[str, Any]], long_model: Path) -> None:
    from model.adapters.validate import has_errors, validate_adapter
    from model.generators.local import LocalTransformersGenerator

    out, _ = trained
    findings = validate_adapter(out, max_rank=16, base=str(long_model))
    assert not has_errors(findings), findings
    assert {f.check for f in findings} >= {"config", "rank", "modules", "base", "weights"}
    question, passages = Q_LEAVE, numbered_passages()
    base = LocalTransformersGenerator(long_model, options={"max_tokens": 8})
    tuned = LocalTransformersGenerator(long_model, out, options={"max_tokens": 8})
    assert "".join(tuned.generate(question, passages)) != "".join(base.generate(question,
                                                                                passages))


def numbered_passages() -> list[Any]:
    from model.passages import NumberedPassage

    return [NumberedPassage(1, "leave", "Annual leave", "How much leave you get",
                            "Employees in Portugal get 25 working days a year."),
            NumberedPassage(2, "faq", "Glossary and FAQ", "Frequently asked questions",
                            "25 working days a year if you are employed in Portugal.")]


def test_served_adapter_is_chosen_by_name_per_channel(
        trained: tuple[Path, dict[str, Any]], long_model: Path, tmp_path: Path) -> None:
    """`transformers serve` holds the base and the trained adapter; the registry picks the
    adapter for a channel, the health check confirms it is listed, and the same OpenAI
    client code the bot uses sends its name and gets the adapter's (greedy) answer."""
    from bot.answering import with_adapter
    from bot.lora.health import AdapterHealth
    from bot.lora.registry import AdapterRegistry
    from model.generators.local import LocalTransformersGenerator
    from model.generators.openai_http import OpenAICompatibleGenerator
    from tests.adapter_fixtures import hub_with_adapter, serve_hub

    out, _ = trained
    base_id, adapter_id = "policybot/tiny-long", "policybot/policy-adapter"
    hub_with_adapter(long_model, out, tmp_path / "hub", base_id, adapter_id)
    settings = load_app_settings(home=tmp_path / "home", generator={"model": base_id},
                                 adapters={"paths": {adapter_id: str(out)}},
                                 channels=[{"id": "CHR", "adapter": adapter_id},
                                           {"id": "CALL"}])
    registry = AdapterRegistry(settings)
    question, passages = Q_LEAVE, numbered_passages()
    local = "".join(LocalTransformersGenerator(long_model, out, options={"max_tokens": 8})
                    .generate(question, passages))
    with serve_hub(tmp_path / "hub") as url:
        generator = OpenAICompatibleGenerator(url, base_id, options={"max_tokens": 8,
                                                                     "temperature": 0})
        health = AdapterHealth(registry, generator.list_models, interval_s=0)
        assert health.check() and health.state == {adapter_id: adapter_id}
        assert registry.model_for("CHR") == adapter_id and registry.model_for("CALL") is None

        class Holder:  # the one attribute with_adapter swaps
            def __init__(self, gen: Any) -> None:
                self.generator = gen

        chosen = with_adapter(Holder(generator), registry.model_for("CHR")).generator
        assert chosen.model == adapter_id and chosen._client is generator._client
        tuned = "".join(chosen.generate(question, passages))
        plain = "".join(generator.generate(question, passages))
    assert tuned != plain
    assert tuned.split() == local.split()  # the served adapter is the trained one


def test_eval_command_scores_adapter_and_base(handbook: dict[str, Any], tmp_path: Path,
                                              trained: tuple[Path, dict[str, Any]],
                                              long_model: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Structure only: the tiny model's answers are noise (and fall back to extractive)."""
    out = tmp_path / "candidate"
    shutil.copytree(trained[0], out, ignore=shutil.ignore_patterns("checkpoints"))
    qa = tmp_path / "qa.jsonl"
    qa.write_text("".join(json.dumps(i) + "\n" for i in [
        {"id": "1", "question": Q_LEAVE, "gold_paths": ["people/annual-leave.md"]},
        {"id": "2", "question": "Can I bring my dog to the office?", "gold_paths": []}]))
    monkeypatch.setattr(AppContext, "index", lambda self: handbook["index"])
    result = CliRunner().invoke(main, ["adapters", "eval", str(out), "--base", str(long_model),
                                       "--qa", str(qa), "--promote"])
    assert result.exit_code in (0, 1), result.output
    record = json.loads((out / "metrics.json").read_text())
    assert record["questions"] == 2 and record["against"] == "the base model"
    for key in ("gold_cited", "support_rate", "abstain_recall", "fallback_rate"):
        assert key in record["metrics"] and key in record["base_metrics"]
    assert record["promoted"] == (result.exit_code == 0) == record["promotable"]
    assert "compared with: the base model" in result.output
