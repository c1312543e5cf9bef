"""Sentence embeddings shipped with cxdesk: a static (model2vec) model distilled from all-MiniLM-L6-v2.

The weights live in ``cx/search/embedding_model/`` (15 MB, made by ``scripts/distill_embeddings.py``); loading
them needs only numpy, safetensors and tokenizers and never touches the network (HF_HUB_OFFLINE is forced).
Encoding is a token lookup and a mean, ~8,000 short texts/s on one core, so tickets and articles can be
embedded inside a request.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

MODEL_DIR = Path(__file__).resolve().parent / "embedding_model"
MAX_CHARS = 4000  # the static model averages token vectors; the head of a long article carries its topic

_model = None
_lock = threading.Lock()


def _load():
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                os.environ["HF_HUB_OFFLINE"] = "1"
                from model2vec import StaticModel

                _model = StaticModel.from_pretrained(str(MODEL_DIR))
    return _model


def embedding_dimensions() -> int:
    return int(_load().dim)


def embed_texts(texts: list[str]) -> np.ndarray:
    """L2-normalised float32 vectors, one row per text (a zero row for a text with no known tokens)."""
    if not texts:
        return np.zeros((0, embedding_dimensions()), dtype=np.float32)
    vectors = _load().encode([t[:MAX_CHARS] for t in texts], show_progress_bar=False).astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def token_ids(texts: list[str]) -> list[list[int]]:
    """Token ids of each text as the model encodes it (same truncation as ``embed_texts``)."""
    return [list(ids) for ids in _load().tokenize([t[:MAX_CHARS] for t in texts])]


_table: np.ndarray | None = None


def token_table() -> np.ndarray:
    """The token vectors as float32 (read-only; converted once per process)."""
    global _table
    if _table is None:
        model = _load()  # outside the lock: _load takes it too
        with _lock:
            if _table is None:
                table = np.asarray(model.embedding, dtype=np.float32).copy()
                table.setflags(write=False)
                _table = table
    return _table
