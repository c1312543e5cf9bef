"""The intent classifier's second model: the shipped static embeddings fine-tuned on the labelled examples.

The shipped model (cx.search, distilled from all-MiniLM-L6-v2) embeds a text as the mean of its token vectors.
Here those token vectors are trained together with a linear head over the intents (torch on the CPU wheel:
mean-pooled, L2-normalised and scaled, dropout, AdamW with a linear decay, label smoothing), so words that
separate the intents move apart. Only the vectors of tokens in the examples change; the trained model keeps
just those rows (float16) and the head, and predicting is numpy only: token lookup, mean, normalise, linear,
softmax — as fast as the shipped embeddings. Pure computation, no Django.
"""

from __future__ import annotations

import random
import time
from typing import Any

import numpy as np

EPOCHS = 3
BATCH_SIZE = 32
TOKEN_LR = 5e-3
HEAD_LR = 3e-3
SCALE = 10.0  # normalised vectors x SCALE: a softmax temperature that lets the head reach confident scores
DROPOUT = 0.1
LABEL_SMOOTHING = 0.1


def _lookup():
    from cx.search.selectors import embedding_token_ids, embedding_token_table

    return embedding_token_ids, embedding_token_table


class TunedEmbeddingClassifier:
    """``fit(texts, targets, n_labels)`` with targets as label indices; ``predict_proba`` columns = indices."""

    def __init__(self, *, epochs: int = EPOCHS, seed: int = 0) -> None:
        self.epochs = epochs
        self.seed = seed
        self.rows: np.ndarray = np.zeros(0, dtype=np.int64)  # token ids whose vectors were trained
        self.vectors: np.ndarray = np.zeros((0, 0), dtype=np.float16)  # their trained vectors
        self.weight: np.ndarray = np.zeros((0, 0), dtype=np.float32)  # head: labels x dims
        self.bias: np.ndarray = np.zeros(0, dtype=np.float32)
        self.training_seconds = 0.0
        self._table: np.ndarray | None = None  # the full token table with the trained rows, once per process

    def fit(self, texts: list[str], targets: list[int], n_labels: int) -> TunedEmbeddingClassifier:
        import torch

        token_ids, token_table = _lookup()
        started = time.perf_counter()
        generator = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        rng = random.Random(self.seed)
        ids = token_ids(texts)
        base = token_table()
        tokens = torch.nn.EmbeddingBag.from_pretrained(torch.from_numpy(base.copy()), freeze=False, mode="mean")
        head = torch.nn.Linear(base.shape[1], n_labels)
        optimiser = torch.optim.AdamW([{"params": tokens.parameters(), "lr": TOKEN_LR},
                                       {"params": head.parameters(), "lr": HEAD_LR}], weight_decay=0.0)
        steps = max(1, self.epochs * ((len(texts) + BATCH_SIZE - 1) // BATCH_SIZE))
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: max(0.0, (steps - step) / steps))
        y = torch.tensor(targets, dtype=torch.long)
        for _epoch in range(self.epochs):
            order = list(range(len(texts)))
            rng.shuffle(order)
            for start in range(0, len(order), BATCH_SIZE):
                batch = order[start:start + BATCH_SIZE]
                flat, offsets = _bag([ids[i] for i in batch])
                pooled = torch.nn.functional.normalize(tokens(torch.from_numpy(flat), torch.from_numpy(offsets)),
                                                       dim=-1) * SCALE
                keep = torch.rand(pooled.shape, generator=generator) >= DROPOUT
                logits = head(pooled * keep / (1 - DROPOUT))
                loss = torch.nn.functional.cross_entropy(logits, y[batch], label_smoothing=LABEL_SMOOTHING)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                scheduler.step()
        trained = tokens.weight.detach().numpy()
        used = np.unique(np.fromiter((t for row in ids for t in row), dtype=np.int64))
        self.rows = used
        self.vectors = trained[used].astype(np.float16)
        self.weight = head.weight.detach().numpy().astype(np.float32)
        self.bias = head.bias.detach().numpy().astype(np.float32)
        self.training_seconds = time.perf_counter() - started
        self._table = None
        return self

    def _tuned_table(self) -> np.ndarray:
        if self._table is None:
            _token_ids, token_table = _lookup()
            table = token_table().copy()
            table[self.rows] = self.vectors.astype(np.float32)
            self._table = table
        return self._table

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        token_ids, _token_table = _lookup()
        table = self._tuned_table()
        flat, offsets = _bag(token_ids(texts))
        sums = np.add.reduceat(table[flat], offsets, axis=0) if len(flat) else np.zeros((0, table.shape[1]))
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        logits = (sums / norms * SCALE) @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_table"] = None
        return state


def _bag(ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Flat token ids and each text's start offset (a text without known tokens gets the padding token 0:
    its vector is then the same for every such text, and the head's bias decides)."""
    rows = [row or [0] for row in ids]
    lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    offsets = np.zeros(len(rows), dtype=np.int64)
    if len(rows) > 1:
        offsets[1:] = np.cumsum(lengths[:-1])
    flat = np.fromiter((t for row in rows for t in row), dtype=np.int64)
    return flat, offsets
