"""The runtimes behind :class:`indexer.embedding.Embedder`: torch, ONNX Runtime, OpenVINO.

Each takes a list of texts and returns L2-normalised float32 vectors, the way
sentence-transformers computes them (tokens truncated at the model's limit, masked mean
pooling, normalisation). The exported runtimes tokenize with the ``tokenizers`` library
and the model's own ``tokenizer.json``, so neither torch nor transformers is imported at
question time. Texts are sorted by length before batching, as sentence-transformers does,
so a batch pads to similar lengths.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from indexer.telemetry import block_vendor_telemetry

log = logging.getLogger(__name__)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def available_cores() -> int:
    """CPUs this process may run on (a container's or taskset's share, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def load_tokenizer(model_dir: str, max_tokens: int, pad_multiple: int | None = None) -> Any:
    """The model's fast tokenizer, truncating at ``max_tokens`` and padding to the
    longest text of a batch (the file itself says 128 and fixed padding; the model reads
    up to ``max_seq_length``, which is what sentence-transformers uses), rounded up to
    ``pad_multiple`` tokens when given."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tok.enable_truncation(max_length=max_tokens)
    pad_id = tok.token_to_id("[PAD]")
    tok.enable_padding(pad_id=0 if pad_id is None else pad_id,
                       pad_token="[PAD]" if pad_id is not None else tok.id_to_token(0),
                       pad_to_multiple_of=pad_multiple)
    return tok


def feeds(encodings: list[Any]) -> dict[str, np.ndarray]:
    """The exported graph's inputs for one batch of ``tokenizers`` encodings (padded
    alike): what every runtime and the int8 calibration feed the model."""
    return {"input_ids": np.array([e.ids for e in encodings], np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], np.int64)}


class ExportedRuntime:
    """Shared batching and tokenizing; subclasses run one padded batch."""

    def __init__(self, tokenizer: Any, batch_size: int) -> None:
        self.tokenizer, self.batch_size = tokenizer, batch_size

    def run_batch(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def encode(self, texts: list[str], progress: bool = False,
               batch_size: int | None = None) -> np.ndarray:
        size = batch_size or self.batch_size
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out: np.ndarray | None = None
        steps = range(0, len(texts), size)
        if progress:
            from tqdm import tqdm

            steps = tqdm(steps, desc="Batches", unit="batch")
        for start in steps:
            idx = order[start:start + size]
            enc = self.tokenizer.encode_batch([texts[i] for i in idx])
            vectors = self.run_batch(feeds(enc))
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[idx] = vectors
        assert out is not None
        return out


class OnnxRuntime(ExportedRuntime):
    """ONNX Runtime on the CPU: fp32, or int8 MatMuls on the VNNI instructions."""

    def __init__(self, onnx_path: Path, tokenizer: Any, batch_size: int, threads: int) -> None:
        super().__init__(tokenizer, batch_size)
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3  # its warnings about unused initializers are noise
        self.session = ort.InferenceSession(str(onnx_path), opts,
                                            providers=["CPUExecutionProvider"])
        self.names = [i.name for i in self.session.get_inputs()]

    def run_batch(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        # InferenceSession.run is thread-safe: the bot's workers share one session.
        out = self.session.run(None, {k: feeds[k] for k in self.names})[0]
        return np.asarray(out, dtype=np.float32)


class OpenVinoRuntime(ExportedRuntime):
    """OpenVINO on the CPU, reading the exported ONNX file or the NNCF int8 IR.

    OpenVINO prepares its kernels for each input shape it meets, which costs a new shape's
    first call 50-100 ms; its tokenizer therefore pads to :data:`PAD_MULTIPLE` tokens, so a
    process meets a few shapes, not one per question length (the padding is masked out:
    the vectors are those of the unpadded text)."""

    PAD_MULTIPLE = 16

    def __init__(self, onnx_path: Path, tokenizer: Any, batch_size: int, threads: int) -> None:
        super().__init__(tokenizer, batch_size)
        block_vendor_telemetry()
        import openvino as ov

        core = ov.Core()
        # Compiled blobs cached beside the model: a process starts ~0.3 s sooner (it is a
        # cache: OpenVINO keys it by model, settings and version, and recompiles on a miss).
        # A read-only models folder (one baked into an image) simply goes without.
        cache = Path(onnx_path).parent / "openvino-cache"
        if os.access(cache if cache.is_dir() else cache.parent, os.W_OK):
            core.set_property({"CACHE_DIR": str(cache)})
        # f32: on CPUs with bf16 units OpenVINO would otherwise compute in bf16 and the
        # vectors would drift from the model's.
        self.compiled = core.compile_model(str(onnx_path), "CPU", {
            "INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32",
            "PERFORMANCE_HINT": "LATENCY"})
        self.names = [i.get_any_name() for i in self.compiled.inputs]
        self.request = self.compiled.create_infer_request()
        self._lock = threading.Lock()

    def run_batch(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        # One inference at a time per process. Two threads inferring at once (the warm-up
        # and the first question of a starting `serve`) deadlocked inside OpenVINO's Python
        # bindings while each set its request's input shape (tests/test_replicas.py hung on
        # a fresh clone, one start in three). The LATENCY hint gives each inference every
        # thread anyway; still, serialising cost Slack-load throughput 17.9 -> 14.3
        # answers/s (docs/benchmarks.md section 15), a price paid for never hanging.
        with self._lock:
            result = self.request.infer({k: feeds[k] for k in self.names})
            return np.array(result[self.compiled.outputs[0]], dtype=np.float32)


class TorchRuntime:
    """sentence-transformers on torch: the reference, and the path for GPU hosts."""

    def __init__(self, model_dir: str, device: str, batch_size: int,
                 threads: int | None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the weight-loading bar is noise in a CLI
        if threads:
            torch.set_num_threads(threads)
        self.model = SentenceTransformer(model_dir, device=device)
        self.batch_size = batch_size

    def encode(self, texts: list[str], progress: bool = False,
               batch_size: int | None = None) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=batch_size or self.batch_size,
                                    normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=progress)
        return np.asarray(vectors, dtype=np.float32)
