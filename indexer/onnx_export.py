"""Exports the sentence-transformers model to ONNX locally, once, and caches the files.

The ONNX and OpenVINO backends run a graph exported here with ``torch.onnx`` from the
weights the model folder ships (no hub, no optimum): the transformer, mean pooling and L2
normalisation in one graph, so a runtime returns finished sentence vectors. The int8 files
are made from it with ONNX Runtime's quantizer (int8 weights, uint8 activations: the VNNI
instructions' format) or, for OpenVINO, NNCF's calibrated static quantization (an IR), one
file per recipe (:data:`RECIPES`); each recipe is a vector space of its own
(:func:`indexer.embedding.vector_space`), so an index never mixes them.

Files live under ``HOME/models/<name>-<hash>/`` (or ``embedding.models_dir``), where the
hash covers the source weights, the model's configuration and this exporter's version: a
changed model lands in a new folder and is exported again. Concurrent first uses are
safe: one process exports under a file lock, each file is written to a temporary name and
renamed into place, and the others find the finished files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path

from filelock import FileLock

from indexer.errors import ConfigError
from indexer.telemetry import block_vendor_telemetry

log = logging.getLogger(__name__)
EXPORT_VERSION = 1  # bump when the exported graph changes: old caches are then ignored
OPSET = 17
# Files whose content decides the vectors; weights first.
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
_CONFIGS = ("config.json", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json",
            "tokenizer.json")


def _sha_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weights_hash(model_dir: str | Path, memo_dir: Path | None = None) -> str:
    """SHA-256 over the model's weights and the configuration that shapes its vectors.

    Hashing 90 MB costs ~0.2 s, so the result is remembered in ``memo_dir`` under the
    files' sizes and modification times; any change to them hashes again."""
    root = Path(model_dir)
    weights = next((root / n for n in _WEIGHTS if (root / n).is_file()), None)
    if weights is None:
        raise ConfigError(f"embedding.backend: no {' or '.join(_WEIGHTS)} in {root} to export")
    files = [weights] + [root / n for n in _CONFIGS if (root / n).is_file()]
    stamp = hashlib.sha256(json.dumps(
        [[str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    ).encode()).hexdigest()[:32]
    memo = memo_dir / f"hash-{stamp}.txt" if memo_dir else None
    if memo is not None and memo.is_file():
        return memo.read_text().strip()
    h = hashlib.sha256(f"export-v{EXPORT_VERSION}".encode())
    for p in files:
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + _sha_file(p).encode())
    digest = h.hexdigest()
    if memo is not None:
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write_bytes(memo, digest.encode())
        except OSError as exc:  # a read-only models folder: hash again next time
            log.debug("could not remember the weights hash in %s: %s", memo, exc)
    return digest


def export_dir(models: Path, model_name: str, digest: str) -> Path:
    """The folder of one model's exported files under the models cache ``models``."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in model_name.lower())
    return models / f"{safe}-{digest[:16]}"


# Quantization recipes → the file each one writes. ``dynamic`` (``quantize = true``) keeps
# the file name it has always had, so caches and indexes made before recipes stay valid.
RECIPES: dict[str, str] = {
    "dynamic": "model.int8.onnx",
    "dynamic-ffn-fp32": "model.int8-ffn-fp32.onnx",
    "nncf": "model.int8-nncf.xml",  # an OpenVINO IR (its weights in the .bin beside it)
}
# Recipes whose file only OpenVINO reads.
OPENVINO_RECIPES = {"nncf"}
# Calibration for the static recipe: paragraphs of the bundled sample handbook, a fixed
# set in a fixed order, so every install calibrates alike.
CALIBRATION_PARAGRAPHS = 300
CALIBRATION_TOKENS = 256  # what the runtimes read at most (embedding.max_tokens default)


def recipe_name(quantize: bool | str) -> str | None:
    """The recipe ``embedding.quantize`` asks for: ``None`` for fp32, ``True`` → dynamic."""
    if quantize is False or quantize is None:
        return None
    recipe = "dynamic" if quantize is True else str(quantize)
    if recipe not in RECIPES:
        raise ConfigError(f"embedding.quantize: unknown recipe {quantize!r}; "
                          f"use false, true or one of {sorted(RECIPES)}")
    return recipe


def ensure_onnx(model_dir: str | Path, models: Path, model_name: str,
                quantize: bool | str) -> Path:
    """The path of the model file for ``quantize`` (fp32 ``model.onnx`` when false, a
    recipe's int8 file otherwise) in the models cache ``models`` (``HOME/models`` unless
    ``embedding.models_dir`` says otherwise), exported and quantized now when absent."""
    recipe = recipe_name(quantize)
    digest = weights_hash(model_dir, models / ".hashes")
    folder = export_dir(models, model_name, digest)
    fp32 = folder / "model.onnx"
    target = folder / (RECIPES[recipe] if recipe else "model.onnx")
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / ".export.lock")):
        if not fp32.is_file():
            log.info("exporting the embedding model to ONNX in %s (once per model)", folder)
            _atomic(fp32, lambda tmp: export_onnx(model_dir, tmp))
        if recipe in OPENVINO_RECIPES and not target.is_file():
            log.info("quantizing the embedding model to int8 with NNCF, calibrated on the "
                     "sample handbook (once per model, ~30 s)")
            quantize_nncf(fp32, target, model_dir)
        elif recipe and not target.is_file():
            log.info("quantizing the ONNX embedding model to int8, recipe %s (once per "
                     "model)", recipe)
            _atomic(target, lambda tmp: quantize_int8(fp32, tmp, recipe))
        (folder / "source.json").write_text(json.dumps(
            {"model": model_name, "source": str(model_dir), "weights_sha256": digest,
             "export_version": EXPORT_VERSION}, indent=1))
    return target


def _atomic(dest: Path, write: object) -> None:
    """Let ``write(tmp_path)`` produce the file, then rename it over ``dest``."""
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        write(Path(tmp))  # type: ignore[operator]
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _atomic_write_bytes(dest: Path, data: bytes) -> None:
    _atomic(dest, lambda tmp: tmp.write_bytes(data))


def export_onnx(model_dir: str | Path, out: Path) -> None:
    """Transformer + mean pooling + L2 normalisation as one ONNX graph, from local files."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # Eager attention: the SDPA path decides things in Python (skip an all-ones mask)
    # that tracing would freeze into the graph.
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a weights bar in the middle of `policybot demo`
    try:
        bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True,
                                         attn_implementation="eager")
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    bert.eval()

    class SentenceGraph(torch.nn.Module):
        """What sentence-transformers computes: masked mean of the token vectors, then
        ``F.normalize`` (eps 1e-12) — the same operations, so the vectors match."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            summed = (tokens * mask).sum(1)
            mean = summed / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1, eps=1e-12)

    # A padded example: a mask with zeros keeps the masking in the traced graph.
    ids = torch.full((2, 16), 1000, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    dynamic = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer's notes on this graph are known and harmless: the padding check it
        # flags is an all-ones-mask shortcut eager attention never takes (the exported
        # vectors are compared with torch's in the tests), and opset 17's index lowering
        # is how every BERT export looks. Left in, they greet a first `make demo`.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="Exporting aten::index operator",
                                category=UserWarning)
        torch.onnx.export(
            SentenceGraph(), (ids, mask, torch.zeros_like(ids)), str(out),
            dynamo=False, input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["sentence_embedding"], opset_version=OPSET,
            dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic,
                          "token_type_ids": dynamic, "sentence_embedding": {0: "batch"}})


def _ffn_outputs(fp32: Path) -> list[str]:
    """The FFN output projections' MatMul nodes (the exporter names them after the BERT
    modules: ``/bert/encoder/layer.N/output/dense/MatMul`` is layer N's)."""
    import onnx

    graph = onnx.load(str(fp32), load_external_data=False).graph
    return [n.name for n in graph.node if n.op_type == "MatMul"
            and n.name.endswith("/output/dense/MatMul") and "/attention/" not in n.name]


def _kept_fp32(fp32: Path, recipe: str) -> list[str]:
    """The MatMul nodes a recipe leaves in fp32 (the exporter names them after the BERT
    modules: ``/bert/encoder/layer.N/output/dense/MatMul`` is layer N's FFN output)."""
    if recipe != "dynamic-ffn-fp32":
        return []
    names = _ffn_outputs(fp32)
    if not names:  # another architecture or exporter: refuse rather than quantize them all
        raise ConfigError(f"embedding.quantize = {recipe!r}: no FFN output MatMuls found "
                          f"in {fp32}; use quantize = true or false for this model")
    return names


def quantize_int8(fp32: Path, out: Path, recipe: str = "dynamic") -> None:
    """Dynamic int8 quantization (weights int8 per output channel, activations uint8
    quantized per batch at run time).

    Per-channel weight scales: per-tensor ones cost too much accuracy on this model
    (cosine to fp32 as low as 0.84 on handbook chunks, against 0.98 per channel).
    ``dynamic-ffn-fp32`` keeps each layer's FFN output projection (1536 → 384) in fp32:
    its input, the GELU output, has the widest range of the model, so one uint8 scale per
    batch flattens it most; left in fp32 the vectors' worst cosine to fp32 rose from 0.98
    to 0.99 (docs/benchmarks.md section 10)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if recipe not in RECIPES or recipe in OPENVINO_RECIPES:
        raise ConfigError(f"embedding.quantize: {recipe!r} is not an ONNX Runtime recipe")
    root = logging.getLogger()  # the quantizer logs hundreds of INFO lines on the root
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
                         nodes_to_exclude=_kept_fp32(fp32, recipe))
    finally:
        root.setLevel(level)


def calibration_texts(limit: int = CALIBRATION_PARAGRAPHS) -> list[str]:
    """Paragraphs of the bundled sample handbook (Markdown files, sorted by path): policy
    prose of the kind an index holds, shipped with PolicyBot, so calibration is offline
    and the same everywhere."""
    from indexer.sample import SAMPLE_DIR

    texts: list[str] = []
    for path in sorted(SAMPLE_DIR.rglob("*.md")):
        for para in path.read_text(encoding="utf-8").split("\n\n"):
            if len(para.split()) >= 6:
                texts.append(para.strip())
    return texts[:limit]


def _edge_ffn_outputs(fp32: Path) -> list[str]:
    """The FFN output MatMuls of the first and the last layer, which the ``nncf`` recipe
    keeps in fp32 (see :func:`quantize_nncf`)."""
    names = _ffn_outputs(fp32)
    if not names:
        raise ConfigError(f"embedding.quantize = 'nncf': no FFN output MatMuls found in "
                          f"{fp32}; use quantize = false for this model")

    def layer(name: str) -> int:
        digits = "".join(c for c in name.split("layer.")[-1].split("/")[0] if c.isdigit())
        return int(digits or 0)

    ordered = sorted(names, key=layer)
    return sorted({ordered[0], ordered[-1]})


def quantize_nncf(fp32: Path, out_xml: Path, model_dir: str | Path) -> None:
    """Static int8 for OpenVINO by NNCF's post-training quantization for transformers
    (SmoothQuant, then fast bias correction), calibrated on :func:`calibration_texts`,
    with the first and last layers' FFN output projections kept fp32.

    Which of those to keep was chosen on the slack-dev *dev* questions (even ids): all six
    fp32 and the first and last two tied, the first and last fewer cost less speed; none
    lost a rank-1 question to fp32 there, plain NNCF int8 lost one (docs/benchmarks.md
    section 15).

    Unlike ONNX Runtime's dynamic recipe, activation scales are fixed at calibration, so
    OpenVINO runs whole int8 kernels; SmoothQuant moves BERT's activation outliers into the
    weights first, which plain static quantization could not survive (docs/benchmarks.md
    section 10). The IR and its weights are written under temporary names and renamed into
    place, the .bin first, so a reader that finds the .xml finds its weights."""
    block_vendor_telemetry()
    try:
        import nncf
        import openvino as ov
    except ImportError as exc:
        raise ConfigError("embedding.quantize = 'nncf' needs OpenVINO and NNCF (PolicyBot's "
                          "dependencies): pip install openvino nncf") from exc
    from indexer.embed_runtimes import feeds, load_tokenizer

    tok = load_tokenizer(str(model_dir), CALIBRATION_TOKENS)
    texts = calibration_texts()
    dataset = nncf.Dataset(texts, lambda text: feeds([tok.encode(text)]))
    nncf_log = logging.getLogger("nncf")
    level = nncf_log.level
    nncf_log.setLevel(logging.WARNING)  # its INFO lines per step are noise
    try:
        # NNCF draws its progress bars on standard output: they belong on standard error,
        # where they cannot mix with an answer or a --json document.
        with contextlib.redirect_stdout(sys.stderr):
            model = nncf.quantize(ov.Core().read_model(str(fp32)), dataset,
                                  model_type=nncf.ModelType.TRANSFORMER,
                                  subset_size=len(texts),
                                  ignored_scope=nncf.IgnoredScope(names=_edge_ffn_outputs(fp32)))
    finally:
        nncf_log.setLevel(level)
    fd, tmp = tempfile.mkstemp(prefix=out_xml.stem + ".", suffix=".xml", dir=out_xml.parent)
    os.close(fd)
    tmp_xml = Path(tmp)
    try:
        ov.save_model(model, str(tmp_xml), compress_to_fp16=False)
        os.replace(tmp_xml.with_suffix(".bin"), out_xml.with_suffix(".bin"))
        # The IR names its weights file after itself: rewrite nothing, keep the pair's
        # stem by renaming the .xml last (OpenVINO finds <stem>.bin beside <stem>.xml).
        os.replace(tmp_xml, out_xml)
    finally:
        for leftover in (tmp_xml, tmp_xml.with_suffix(".bin")):
            if leftover.exists():
                leftover.unlink()
