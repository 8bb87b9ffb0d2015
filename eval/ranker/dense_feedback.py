"""Experiment (issue 12, round 14): dense pseudo-relevance feedback. Nothing here is shipped.

Rocchio feedback on e5 vectors: the question vector plus the mean of the best chunks of the first
articles, normalised, searched again. It needs no training and no tuning on a question set, so if it
helped it would help any question alike. Two uses are measured:

  recall    the feedback as a second dense search over every chunk of the index (brute force in
            numpy, the same ranking an exact engine gives): article R@1, R@10 and R@40 with and
            without feedback, for a few (articles fed back, weight) settings;
  train     the feedback as four ranker features, cross-validated exactly as train.py does (model
            not written): the candidate's best-chunk cosine with the fed-back vector, its gap to
            the pool's best, its rank in the pool by it, and the mean cosine of its best chunk with
            the best chunks of the fused top 3 (how central it is to what the channels agree on).

The chunk vectors come from `examples/encoder_data.rs` (data/encoder/chunks.f32 and chunks.ids,
read by chunk_vectors.py: every chunk's cached vector with its article, round 12). The question vectors are the dump's.

Usage:
  eval/ranker/.venv/bin/python eval/ranker/dense_feedback.py recall --dump data/ranker/pools.jsonl
  eval/ranker/.venv/bin/python eval/ranker/dense_feedback.py train --dump data/ranker/pools.jsonl \\
      --report eval/reports/NAME-dense-feedback.md [train.py options]
"""
import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

import chunk_vectors
import train as trainer
from chunk_vectors import DIM

ROOT = Path(__file__).resolve().parents[2]
# (articles fed back, weight of their centroid) for the recall check: the usual Rocchio range.
SETTINGS = [(3, 0.5), (5, 0.5), (5, 1.0), (10, 1.0)]
FEATURE_TOP = 3
EXTRA = ["feedback_cosine", "feedback_gap", "feedback_rank", "feedback_centrality"]


def load_chunks(prefix):
    vectors, articles = chunk_vectors.read(prefix)
    rows_of = defaultdict(list)
    for i, article in enumerate(articles):
        rows_of[article].append(i)
    return vectors, np.asarray(articles), rows_of


def answerable(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if not row["excluded"] and row["expect"] == "answer" and row["set"] != "ranker/synthetic":
                yield row


def article_order(scores, articles, limit=40):
    """Articles by their best chunk, best first, and the chunk rows in score order."""
    top = np.argpartition(-scores, 400)[:400]
    top = top[np.argsort(-scores[top])]
    seen, firsts = [], []
    for i in top:
        if articles[i] not in seen:
            seen.append(articles[i])
            firsts.append(i)
        if len(seen) >= limit:
            break
    return seen, firsts


def feed_back(query, vectors, rows, weight):
    query = query + weight * vectors[rows].mean(axis=0)
    return query / np.linalg.norm(query)


def recall(args):
    vectors, articles, _ = load_chunks(args.chunks)
    counts = defaultdict(Counter)
    for row in answerable(args.dump):
        query = np.asarray(row["query_vector"], dtype=np.float32)
        gold = set(row["gold"])
        order, firsts = article_order(vectors @ query, articles)
        count = counts[row["set"]]
        count["questions"] += 1
        runs = {"none": order}
        for top, weight in SETTINGS:
            runs[f"top {top}, weight {weight}"] = article_order(vectors @ feed_back(query, vectors, firsts[:top], weight), articles)[0]
        for name, ranked in runs.items():
            count[(name, 1)] += ranked[0] in gold
            count[(name, 10)] += any(a in gold for a in ranked[:10])
            count[(name, 40)] += any(a in gold for a in ranked[:40])
    print("| set | feedback | questions | R@1 | R@10 | R@40 |\n|---|---|---|---|---|---|")
    for name in sorted(counts):
        count = counts[name]
        n = count["questions"]
        for run in ["none"] + [f"top {t}, weight {w}" for t, w in SETTINGS]:
            print(f"| {name} | {run} | {n} | {count[(run, 1)] / n:.3f} | {count[(run, 10)] / n:.3f} | {count[(run, 40)] / n:.3f} |")


def augment(args, names):
    vectors, _, rows_of = load_chunks(args.chunks)
    fused = names.index("fused_rank")
    out_path = Path(args.dump).with_suffix(".feedback.jsonl")
    with open(args.dump, encoding="utf-8") as f, open(out_path, "w", encoding="utf-8") as out:
        for line in f:
            row = json.loads(line)
            candidates = row["candidates"]
            if candidates:
                query = np.asarray(row["query_vector"], dtype=np.float32)
                # Each candidate's chunk vectors, read once (none: the article has no vectors).
                chunks = [vectors[rows_of[c["article_id"]]] if rows_of.get(c["article_id"]) else None
                          for c in candidates]
                best = np.stack([m[int(np.argmax(m @ query))] if m is not None else np.zeros(DIM, np.float32)
                                 for m in chunks])
                top = np.argsort([c["features"][fused] for c in candidates], kind="stable")[:FEATURE_TOP]
                fed = feed_back(query, best, top, 1.0)
                cosine = np.asarray([float((m @ fed).max()) if m is not None else 0.0 for m in chunks])
                rank = np.argsort(np.argsort(-cosine, kind="stable"), kind="stable")
                for i, c in enumerate(candidates):
                    others = [t for t in top if t != i]
                    centrality = float(np.mean(best[others] @ best[i])) if others else 0.0
                    c["features"] = c["features"] + [float(cosine[i]), float(cosine[i] - cosine.max()), float(rank[i]), centrality]
            out.write(json.dumps(row) + "\n")
    return out_path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["recall", "train"])
    parser.add_argument("--dump", required=True)
    parser.add_argument("--chunks", default=str(ROOT / "data/encoder/chunks"), help="prefix of the .f32 and .ids files")
    parser.add_argument("--report")
    args, rest = parser.parse_known_args()
    if args.step == "recall":
        recall(args)
        return
    augmented = augment(args, trainer.feature_names())
    # train.py's --extra-feature takes features appended to the dump, and never writes a model.
    sys.argv = ["train.py", "--dump", str(augmented)] + [a for name in EXTRA for a in ("--extra-feature", name)] \
        + (["--report", args.report] if args.report else []) + rest
    trainer.main()


if __name__ == "__main__":
    main()
