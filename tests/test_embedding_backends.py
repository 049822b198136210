"""The exported embedding runtimes: same vectors as torch, cached by weights, never mixed.

Real parts throughout: the bundled model's weights exported with torch.onnx, quantized
with ONNX Runtime, run by ONNX Runtime (and OpenVINO where installed), compared with
sentence-transformers on the sample handbook's real chunks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexer.config import EmbeddingSettings, load_settings
from indexer.embedding import Embedder, vector_space
from indexer.onnx_export import ensure_onnx, export_dir, weights_hash

SAMPLE = Path(__file__).resolve().parents[1] / "indexer" / "sample_handbook"


@pytest.fixture(scope="module")
def torch_embedder(model_cache: Path) -> Embedder:
    return Embedder(EmbeddingSettings(backend="torch", quantize=False), model_cache)


@pytest.fixture(scope="module")
def handbook_chunks(tmp_path_factory: pytest.TempPathFactory, torch_embedder: Embedder
                    ) -> list[str]:
    """The texts the sync embeds for the sample handbook (heading path + chunk)."""
    from indexer.chunking import Chunker
    from indexer.config import ChunkingSettings
    from indexer.documents import RawDocument
    from indexer.parsing import parse_document
    from indexer.parsing.cleaning import TemplateCleaner

    chunker = Chunker(torch_embedder.tokenizer, ChunkingSettings(), torch_embedder.max_tokens)
    texts: list[str] = []
    for path in sorted(SAMPLE.rglob("*.md")):
        raw = RawDocument(path=path.relative_to(SAMPLE).as_posix(), version="1",
                          content=path.read_bytes(), media_type="markdown")
        texts += [c.embed_text for c in chunker.chunk(parse_document(raw, TemplateCleaner()))]
    assert len(texts) >= 20
    return texts


@contextlib.contextmanager
def _batch_shapes(embedder: Embedder) -> Iterator[list[tuple[int, ...]]]:
    """The shapes of the batches the real runtime runs meanwhile (it still runs them)."""
    shapes: list[tuple[int, ...]] = []
    runtime = embedder.model
    run_batch = runtime.run_batch

    def recorded(feeds: dict[str, np.ndarray]) -> np.ndarray:
        shapes.append(feeds["input_ids"].shape)
        return run_batch(feeds)

    runtime.run_batch = recorded
    try:
        yield shapes
    finally:
        runtime.run_batch = run_batch


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_exported_fp32_and_int8_vectors_match_torch_on_handbook_chunks(
        backend: str, model_cache: Path, torch_embedder: Embedder,
        handbook_chunks: list[str]) -> None:
    if backend == "openvino":
        pytest.importorskip("openvino")
    reference = torch_embedder.embed(handbook_chunks, progress=False)
    fp32 = Embedder(EmbeddingSettings(backend=backend, quantize=False), model_cache)
    int8 = Embedder(EmbeddingSettings(backend=backend, quantize=True), model_cache)
    v32 = fp32.embed(handbook_chunks, progress=False)
    v8 = int8.embed(handbook_chunks, progress=False)

    folder = export_dir(model_cache / "models", "all-minilm-l6-v2", weights_hash(fp32.path))
    assert (folder / "model.onnx").is_file() and (folder / "model.int8.onnx").is_file()
    assert v32.dtype == v8.dtype == np.float32 and v32.shape == reference.shape
    assert np.allclose(np.linalg.norm(v8, axis=1), 1.0, atol=1e-4)  # normalised like ST
    c32, c8 = _cosines(v32, reference), _cosines(v8, reference)
    assert c32.min() >= 0.9999, f"fp32 export drifted: min cosine {c32.min():.5f}"
    assert c8.min() >= 0.97 and c8.mean() >= 0.985, (c8.min(), c8.mean())
    # Queries (one text, no padding) agree too: the batch path pads, the query path not.
    q = "How many days of annual leave do I get?"
    assert float(fp32.embed_query(q) @ torch_embedder.embed_query(q)) >= 0.9999
    # Token counting needs no torch model and agrees with the model's own tokenizer.
    assert fp32.count_tokens(handbook_chunks[:5]) == torch_embedder.count_tokens(
        handbook_chunks[:5])
    assert fp32.space == vector_space(fp32.settings) == f"all-minilm-l6-v2+{backend}-fp32"
    assert int8.space == f"all-minilm-l6-v2+{backend}-int8"


def test_changed_weights_hash_exports_again_and_the_cache_is_reused(
        tmp_path: Path, model_cache: Path, torch_embedder: Embedder) -> None:
    from safetensors.numpy import load_file, save_file

    original = Path(torch_embedder.path)
    path = ensure_onnx(original, model_cache / "models", "all-minilm-l6-v2", quantize=False)
    stamp = path.stat().st_mtime_ns
    assert ensure_onnx(original, model_cache / "models", "all-minilm-l6-v2", False) == path
    assert path.stat().st_mtime_ns == stamp  # cached: not exported again

    changed = tmp_path / "model"
    shutil.copytree(original, changed)
    weights = load_file(str(changed / "model.safetensors"))
    name = next(k for k in weights if k.endswith("word_embeddings.weight"))
    weights[name] = (weights[name] * 1.5).astype(weights[name].dtype)
    save_file(weights, str(changed / "model.safetensors"), metadata={"format": "pt"})

    assert weights_hash(changed) != weights_hash(original)
    again = ensure_onnx(changed, model_cache / "models", "all-minilm-l6-v2", quantize=False)
    assert again != path and again.is_file()
    assert path.stat().st_mtime_ns == stamp  # the other model's export is untouched
    assert not list(again.parent.glob("*.tmp"))  # written under a temporary name, renamed

    from indexer.embed_runtimes import OnnxRuntime, load_tokenizer

    tok = load_tokenizer(str(original), 256)
    text = ["Everyone gets 25 days of paid annual leave per year."]
    old = OnnxRuntime(path, tok, 8, 1).encode(text)
    new = OnnxRuntime(again, tok, 8, 1).encode(text)
    assert float(old[0] @ new[0]) < 0.999  # the new weights really are in the new export


def test_sync_re_embeds_rows_of_another_backend_instead_of_mixing(
        tmp_path: Path, embedder: Any, torch_embedder: Embedder,
        handbook_chunks: list[str]) -> None:
    from indexer.index import PolicyIndex
    from indexer.rows import content_hash

    assert embedder.space != torch_embedder.space  # the default is an exported runtime
    settings = load_settings(home=tmp_path / "home", sources=[
        {"name": "hb", "type": "directory", "path": str(SAMPLE)}])
    first = PolicyIndex(settings, embedder=embedder)
    chunks = first.sync().total("chunks_embedded")
    assert first.store.spaces() == {embedder.space: chunks}

    switched = PolicyIndex(settings, embedder=torch_embedder)
    retriever = switched.retriever()
    assert retriever.check_space() == {embedder.space: chunks}  # said before any sync
    result = switched.sync()  # no document changed, yet every row is re-embedded
    assert result.total("chunks_embedded") == chunks
    assert switched.store.spaces() == {torch_embedder.space: chunks}
    assert retriever.check_space() == {}
    # Every stored vector is torch's own vector of the chunk's embed text now.
    by_hash = {content_hash(torch_embedder.space, t): t for t in handbook_chunks}
    rows = switched.store.table.search().select(["content_hash", "vector"]).limit(None)\
        .to_list()
    hashes = {r["content_hash"] for r in rows}
    assert not hashes & {content_hash(embedder.space, t) for t in handbook_chunks}
    known = [r for r in rows if r["content_hash"] in by_hash][:8]
    assert len(known) >= 5
    fresh = torch_embedder.embed([by_hash[r["content_hash"]] for r in known], progress=False)
    stored = np.stack([np.asarray(r["vector"]) for r in known])
    assert _cosines(stored, fresh).min() >= 0.9999

    again = PolicyIndex(settings, embedder=torch_embedder).sync()
    assert again.total("chunks_embedded") == 0  # same space: nothing to redo


def test_quantize_with_the_torch_backend_is_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="quantize"):
        EmbeddingSettings(backend="torch", quantize=True)
    assert vector_space(EmbeddingSettings(backend="torch")) == "all-minilm-l6-v2"


def test_ffn_fp32_recipe_exports_quantizes_and_stays_within_0_99_of_fp32_on_handbook_chunks(
        model_cache: Path, handbook_chunks: list[str]) -> None:
    """``quantize = "dynamic-ffn-fp32"``: int8 everywhere but the FFN output projections,
    which the plain dynamic recipe flattens most (docs/benchmarks.md section 10)."""
    import onnx

    fp32 = Embedder(EmbeddingSettings(backend="onnx", quantize=False), model_cache)
    plain = Embedder(EmbeddingSettings(backend="onnx", quantize=True), model_cache)
    mixed = Embedder(EmbeddingSettings(backend="onnx", quantize="dynamic-ffn-fp32"),
                     model_cache)
    reference = fp32.embed(handbook_chunks, progress=False)
    c_plain = _cosines(plain.embed(handbook_chunks, progress=False), reference)
    v_mixed = mixed.embed(handbook_chunks, progress=False)
    c_mixed = _cosines(v_mixed, reference)

    path = mixed.export()
    assert path.name == "model.int8-ffn-fp32.onnx" and path != plain.export()
    nodes = onnx.load(str(path)).graph.node
    float_mm = {n.name for n in nodes if n.op_type == "MatMul"}
    ffn_out = {n for n in float_mm if n.endswith("/output/dense/MatMul")
               and "/attention/" not in n}
    assert len(ffn_out) == 6  # one per layer, kept fp32
    assert sum(n.op_type == "MatMulInteger" for n in nodes) == 30  # the rest is int8
    assert np.allclose(np.linalg.norm(v_mixed, axis=1), 1.0, atol=1e-4)
    assert c_mixed.min() >= 0.99, f"min cosine to fp32 {c_mixed.min():.4f}"
    assert c_mixed.mean() > c_plain.mean() and c_mixed.min() > c_plain.min()
    q = "How many days of annual leave do I get?"
    assert float(mixed.embed_query(q) @ fp32.embed_query(q)) >= 0.99
    # A space of its own: an index never mixes these vectors with plain int8 or fp32 ones.
    assert mixed.space == "all-minilm-l6-v2+onnx-int8-ffn-fp32"
    assert len({mixed.space, plain.space, fp32.space}) == 3


def test_quantize_true_and_dynamic_are_one_recipe_and_unknown_recipes_are_refused(
        model_cache: Path) -> None:
    from pydantic import ValidationError

    true = Embedder(EmbeddingSettings(backend="onnx", quantize=True), model_cache)
    named = Embedder(EmbeddingSettings(backend="onnx", quantize="dynamic"), model_cache)
    # Indexes and caches made with quantize = true before recipes existed stay valid.
    assert true.space == named.space == "all-minilm-l6-v2+onnx-int8"
    assert true.export() == named.export() and true.export().name == "model.int8.onnx"
    with pytest.raises(ValidationError, match="quantize"):
        EmbeddingSettings(backend="onnx", quantize="static")


def test_ffn_fp32_recipe_refuses_a_graph_without_ffn_outputs_rather_than_quantize_all(
        tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from indexer.errors import ConfigError
    from indexer.onnx_export import quantize_int8

    weight = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="/encoder/proj/MatMul")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [weight])
    src = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(src))
    with pytest.raises(ConfigError, match="no FFN output MatMuls"):
        quantize_int8(src, tmp_path / "out.onnx", "dynamic-ffn-fp32")
    assert not (tmp_path / "out.onnx").exists()
    quantize_int8(src, tmp_path / "plain.onnx", "dynamic")  # the plain recipe still works
    assert any(n.op_type == "MatMulInteger" for n in onnx.load(str(tmp_path / "plain.onnx"))
               .graph.node)


def test_a_questions_sentences_embed_in_small_batches_to_the_same_vectors(
        model_cache: Path, handbook_chunks: list[str]) -> None:
    """Question time embeds a few sentences in batches of FEW_BATCH (less padding):
    the vectors must be the ones one big batch gives, or answers would change with it."""
    from indexer.embedding import FEW_BATCH

    fp32 = Embedder(EmbeddingSettings(backend="onnx", quantize=False), model_cache)
    sentences = [s.strip() for chunk in handbook_chunks[:6] for s in chunk.split(". ")
                 if len(s.split()) >= 4][:20]
    assert len(sentences) > FEW_BATCH
    with _batch_shapes(fp32) as shapes:
        few = fp32.embed_few(sentences)
    assert shapes and all(rows <= FEW_BATCH for rows, _ in shapes)
    whole = fp32.embed(sentences, progress=False, batch_size=len(sentences))
    assert float(_cosines(few, whole).min()) > 0.99999


def test_nncf_recipe_quantizes_offline_to_an_openvino_ir_close_to_fp32_on_handbook_chunks(
        model_cache: Path, handbook_chunks: list[str], capfd: pytest.CaptureFixture[str]
        ) -> None:
    """``backend = "openvino", quantize = "nncf"``: static int8 made here from the bundled
    weights (no hub), calibrated on the sample handbook, run by OpenVINO. Its vectors stay
    close to fp32's, it is a vector space of its own, and the quantizer's progress goes
    to standard error, never into an answer or a --json document on standard output."""
    pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    fp32 = Embedder(EmbeddingSettings(backend="onnx", quantize=False), model_cache)
    nncf8 = Embedder(EmbeddingSettings(backend="openvino", quantize="nncf"), model_cache)
    capfd.readouterr()
    path = nncf8.export()
    out, _ = capfd.readouterr()
    assert out == "", f"quantizing wrote to standard output: {out[:200]!r}"
    assert path.name == "model.int8-nncf.xml" and path.with_suffix(".bin").is_file()
    assert not list(path.parent.glob("*.tmp")) and not list(path.parent.glob("*.xml.*"))

    reference = fp32.embed(handbook_chunks, progress=False)
    vectors = nncf8.embed(handbook_chunks, progress=False)
    cos = _cosines(vectors, reference)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert cos.min() >= 0.98 and cos.mean() >= 0.99, (cos.min(), cos.mean())
    q = "How many days of annual leave do I get?"
    assert float(nncf8.embed_query(q) @ fp32.embed_query(q)) >= 0.98
    # The right chunk still wins: the nearest chunk to each of a few chunks' own first
    # sentence is that chunk, as with fp32.
    probes = [c.split("\n")[-1].split(". ")[0] for c in handbook_chunks[:12]]
    assert [int(np.argmax(reference @ fp32.embed_query(p))) for p in probes] == \
        [int(np.argmax(vectors @ nncf8.embed_query(p))) for p in probes]
    assert nncf8.space == "all-minilm-l6-v2+openvino-int8-nncf"
    assert nncf8.export() == path  # cached: a second call quantizes nothing


def test_nncf_recipe_is_openvino_only_and_says_so() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="backend = 'openvino'"):
        EmbeddingSettings(backend="onnx", quantize="nncf")
    from indexer.errors import ConfigError
    from indexer.onnx_export import quantize_int8

    with pytest.raises(ConfigError, match="not an ONNX Runtime recipe"):
        quantize_int8(Path("unused.onnx"), Path("unused.int8.onnx"), "nncf")


def test_openvino_pads_to_a_few_shapes_and_the_padding_changes_no_vector(
        model_cache: Path, handbook_chunks: list[str]) -> None:
    """OpenVINO prepares kernels per input shape; padding to 16 tokens keeps the shapes a
    process meets few, and masked padding must leave every vector as it was."""
    pytest.importorskip("openvino")
    ov32 = Embedder(EmbeddingSettings(backend="openvino", quantize=False), model_cache)
    ort32 = Embedder(EmbeddingSettings(backend="onnx", quantize=False), model_cache)
    texts = handbook_chunks[:10] + ["leave?", "who do i ping if my laptop got nicked"]
    with _batch_shapes(ov32) as shapes:
        padded = ov32.embed(texts, progress=False, batch_size=4)
    assert shapes and all(tokens % 16 == 0 for _, tokens in shapes)
    unpadded = ort32.embed(texts, progress=False, batch_size=4)
    assert float(_cosines(padded, unpadded).min()) > 0.9999


def test_models_dir_moves_the_model_cache_out_of_the_home(
        model_cache: Path, tmp_path: Path) -> None:
    """``embedding.models_dir`` (here from the environment, as a container sets it): the
    exported and quantized files are found there, and nothing is written to the home."""
    from indexer.config import load_settings

    settings = load_settings(home=tmp_path / "home")  # POLICYBOT_EMBEDDING__MODELS_DIR set
    assert settings.embedding.models_dir == model_cache / "models"
    emb = Embedder(settings.embedding, settings.home)
    path = emb.export()
    assert path.is_relative_to(model_cache / "models") and path.name == "model.int8-nncf.xml"
    assert emb.embed_query("How many days of annual leave do I get?").shape == (384,)
    assert not (tmp_path / "home" / "models").exists()
    # Unset, the cache is the home's own models/ folder, as before.
    plain = Embedder(EmbeddingSettings(backend="onnx"), tmp_path / "other-home")
    assert plain.models_dir == tmp_path / "other-home" / "models"


def test_openvino_answers_threads_embedding_at_once_right_after_loading(
        model_cache: Path, handbook_chunks: list[str]) -> None:
    """A starting ``serve`` warms the model while the first questions arrive. The runtime
    runs one inference at a time through one request (OpenVINO deadlocked with two threads
    setting input shapes at once): many threads at once, with new shapes, must neither hang
    nor get each other's vectors."""
    import threading

    pytest.importorskip("openvino")
    texts = [handbook_chunks[i % len(handbook_chunks)][: 40 + 37 * i] for i in range(16)]
    expected = Embedder(EmbeddingSettings(), model_cache).embed(texts, progress=False,
                                                               batch_size=1)
    for _ in range(3):  # a fresh runtime each round: the first calls are the risky ones
        fresh = Embedder(EmbeddingSettings(), model_cache)
        fresh.model  # noqa: B018 - loaded; no shape seen yet
        got: dict[int, np.ndarray] = {}

        def embed(i: int, emb: Embedder = fresh, out: dict[int, np.ndarray] = got) -> None:
            out[i] = emb.embed_query(texts[i])

        threads = [threading.Thread(target=embed, args=(i,), daemon=True)
                   for i in range(len(texts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "embedding threads hung"
        assert sorted(got) == list(range(len(texts)))
        assert float(_cosines(np.stack([got[i] for i in range(len(texts))]),
                              expected).min()) > 0.9999


def test_openvino_and_nncf_send_no_usage_data_home(tmp_path: Path) -> None:
    """OpenVINO reports every ``import openvino`` and NNCF every quantization to Google
    Analytics unless the machine opted out, leaving a client id in ``~/intel``. A process
    of PolicyBot's (outside pytest, which NNCF itself exempts) loads the default embedder,
    embeds a question and imports NNCF as the quantization does: no telemetry package is
    loaded and nothing is written to the user's home."""
    code = textwrap.dedent("""
        import sys
        from pathlib import Path
        from indexer.config import load_settings
        from indexer.embedding import Embedder
        from indexer.telemetry import block_vendor_telemetry

        settings = load_settings(home=Path(sys.argv[1]))
        assert settings.embedding.backend == "openvino", settings.embedding.backend
        Embedder(settings.embedding, settings.home).embed_query("who do I tell?")
        block_vendor_telemetry()  # what quantize_nncf does before importing NNCF
        from nncf.telemetry import wrapper
        # NNCF's reporting object, or its no-op stand-in when the package can't be imported
        print(isinstance(wrapper.telemetry, wrapper.NNCFTelemetry),
              sys.modules.get("openvino_telemetry"))
    """)
    home = tmp_path / "user"
    home.mkdir()
    env = {**os.environ, "HOME": str(home)}
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "pb")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "None"]
    assert not (home / "intel").exists(), list(home.rglob("*"))
    assert "fork" not in run.stderr  # no sender processes forked beside LanceDB
