"""Experiment (issue 12): does the dense cosine of an article's heading alone, which the ranker's
features lack, put the right article first more often? Nothing here is shipped; the answer decides
whether the service should store a vector per article heading.

Two steps, in two environments:

  1. embed: the heading ("Điều 8. Điều kiện kết hôn") of every candidate article in the dumped
     pools, with the served int8 e5 model through onnxruntime (eval/peers/.venv has it):
       eval/peers/.venv/bin/python eval/ranker/heading_cosine.py embed \\
           --dump data/ranker/pools.jsonl --out data/ranker/heading-vectors.npz
  2. train: the pools with two more features (the heading cosine, and its gap to the best heading
     cosine in the pool), cross-validated exactly as train.py does, model not written:
       eval/ranker/.venv/bin/python eval/ranker/heading_cosine.py train \\
           --dump data/ranker/pools.jsonl --vectors data/ranker/heading-vectors.npz \\
           --report eval/reports/NAME-heading-cosine.md
"""
import argparse
import json
import re
import sys
import unicodedata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "eval/peers"))
from article_ids import document_slug  # noqa: E402  (the service's article ids)

ARTICLE = re.compile(r"^#+\s*Điều\s+(\d+[a-zđ]?)\.\s*(.*)$")


def headings_of(text, into):
    """Article id → heading of one corpus document (front matter, then `### Điều N. …` lines)."""
    text = unicodedata.normalize("NFC", text)
    _, front, body = text.split("---", 2)
    so_hieu = next(line.split(":", 1)[1].strip() for line in front.splitlines() if line.startswith("so_hieu:"))
    slug = document_slug(so_hieu)
    for line in body.splitlines():
        m = ARTICLE.match(line.strip())
        if m:
            into.setdefault(f"{slug}.dieu-{m.group(1).lower()}", line.strip().lstrip("# "))


def corpus_headings():
    import subprocess

    headings = {}
    for path in sorted((ROOT / "corpus").glob("*.md")):
        if path.name not in ("README.md", "FORMAT.md"):
            headings_of(path.read_text(encoding="utf-8"), headings)  # the curated core wins
    bundle = subprocess.run(["zstd", "-dc", str(ROOT / "corpus/phap-dien.md.zst")],
                            check=True, capture_output=True).stdout.decode("utf-8")
    for part in bundle.split("%%% "):
        body = part.partition("\n")[2]  # after the file-name line
        if body.startswith("---"):
            headings_of(body, headings)
    return headings


def embed(args):
    from peer import E5

    ids = set()
    with open(args.dump) as f:
        for line in f:
            ids.update(c["article_id"] for c in json.loads(line)["candidates"])
    headings = corpus_headings()
    known = sorted(i for i in ids if i in headings)
    print(f"{len(ids)} candidate articles, {len(known)} with a heading", file=sys.stderr)
    e5 = E5(ROOT / "models", threads=2)
    vectors = np.zeros((len(known), 384), dtype=np.float32)
    # Batches of similar length (little padding), as the service batches passages.
    order = sorted(range(len(known)), key=lambda i: len(headings[known[i]]))
    for start in range(0, len(order), 64):
        batch = order[start:start + 64]
        out = e5.embed([f"passage: {headings[known[i]]}" for i in batch])
        vectors[batch] = out
        if start % 6400 == 0:
            print(f"{start}/{len(order)}", file=sys.stderr)
    np.savez_compressed(args.out, ids=np.array(known), vectors=vectors)


def train(args):
    sys.path.insert(0, str(ROOT / "eval/ranker"))
    import train as trainer

    data = np.load(args.vectors)
    index = {i: n for n, i in enumerate(data["ids"])}
    vectors = data["vectors"]
    augmented = Path(args.dump).with_suffix(".heading.jsonl")
    with open(args.dump) as f, open(augmented, "w") as out:
        for line in f:
            row = json.loads(line)
            q = np.asarray(row["query_vector"], dtype=np.float32)
            q /= max(np.linalg.norm(q), 1e-12)
            cosines = [float(vectors[index[c["article_id"]]] @ q) if c["article_id"] in index else 0.0
                       for c in row["candidates"]]
            best = max(cosines, default=0.0)
            for c, cos in zip(row["candidates"], cosines):
                c["features"] = c["features"] + [cos, best - cos]
            out.write(json.dumps(row) + "\n")
    names = trainer.feature_names() + ["heading_cosine", "heading_cosine_gap"]
    trainer.feature_names = lambda: names
    sys.argv = ["train.py", "--dump", str(augmented), "--no-write", "--report", args.report] + args.train_args
    trainer.main()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    e = sub.add_parser("embed")
    e.add_argument("--dump", required=True)
    e.add_argument("--out", required=True)
    t = sub.add_parser("train")
    t.add_argument("--dump", required=True)
    t.add_argument("--vectors", required=True)
    t.add_argument("--report", required=True)
    args, rest = parser.parse_known_args()
    args.train_args = rest  # passed on to train.py (e.g. --synthetic-weight 0)
    embed(args) if args.step == "embed" else train(args)


if __name__ == "__main__":
    main()
