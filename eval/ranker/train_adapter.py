"""Trains the query adapter of the dense channel (src/answer/adapter.rs).

The passages keep e5-small's vectors; only the question's vector is mapped, by a 384 x 384 matrix
(started at the identity), before the dense search of `ask`'s ranked pool. It is a query-side
version of contrastive fine-tuning, small enough for a 2-core CPU: nothing of the compendium is
embedded again.

Training pairs: a question's query vector (as `ask` embeds it: the dump's `query_vector`) and the
best-scoring chunk of its gold article, against the 64 best chunks of other articles under the
current matrix (hard negatives, refreshed every epoch), with an InfoNCE loss at temperature 0.05.
By default it learns from the synthetic heading questions and ALQAC only, so that every question
set the ranker is evaluated on (zalo dev, citizen-dev, fields-dev, the held-out sets) stays unseen
by the adapter too, and the ranker's out-of-fold numbers stay honest.

Inputs: the ranker's dump (`data/ranker/pools.jsonl`, README) and every chunk's vector with its
article (`cargo run --release --example chunk_vectors -- data/ranker/chunks`).

    eval/ranker/.venv/bin/python eval/ranker/train_adapter.py --dump data/ranker/pools.jsonl \
        --chunks data/ranker/chunks --report eval/reports/<date>-adapter.md
"""

import argparse
import json
import struct
import sys
from pathlib import Path

import numpy as np

DIM = 384
EVAL_SETS = ["zalo-phapdien/dev", "questions/citizen-dev", "questions/fields-dev"]
TRAIN_SETS = ["ranker/synthetic", "alqac/train2024_verified"]
MAGIC = b"HLQA"
FORMAT = 1


def load_chunks(prefix):
    ids = Path(f"{prefix}.ids").read_text(encoding="utf-8").split("\n")[:-1]
    vectors = np.fromfile(f"{prefix}.f32", dtype="<f4").reshape(len(ids), DIM)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    names = sorted(set(ids))
    index = {name: i for i, name in enumerate(names)}
    return vectors, np.array([index[a] for a in ids]), index


def load_questions(dump, article_index):
    questions = []
    with open(dump, encoding="utf-8") as file:
        for line in file:
            row = json.loads(line)
            if row["excluded"] or row["expect"] != "answer":
                continue
            gold = [article_index[g] for g in row["gold"] if g in article_index]
            if gold:
                vector = np.array(row["query_vector"], dtype=np.float32)
                questions.append((row["set"], vector, set(gold)))
    return questions


def article_lists(queries, matrix, chunks, chunk_article, depth=50):
    """Each query's first `depth` articles by their best chunk under `matrix`."""
    lists = []
    for start in range(0, len(queries), 256):
        scores = (queries[start:start + 256] @ matrix.T) @ chunks.T
        for row in scores:
            top = np.argpartition(-row, 400)[:400]
            top = top[np.argsort(-row[top], kind="stable")]
            seen = []
            for chunk in top:
                article = chunk_article[chunk]
                if article not in seen:
                    seen.append(article)
                    if len(seen) == depth:
                        break
            lists.append(seen)
    return lists


def metrics(lists, golds):
    r1 = r10 = mrr = r50 = 0.0
    for seen, gold in zip(lists, golds):
        hits = [k for k, article in enumerate(seen) if article in gold]
        if hits:
            first = hits[0]
            r1 += first == 0
            r10 += first < 10
            mrr += 1 / (first + 1) if first < 10 else 0
            r50 += 1
    n = max(len(golds), 1)
    return r1 / n, r10 / n, mrr / n, r50 / n


def train(questions, chunks, chunk_article, epochs, lr, tau, negatives, seed):
    matrix = np.eye(DIM, dtype=np.float32)
    queries = np.stack([q[1] for q in questions])
    golds = [q[2] for q in questions]
    first_moment = np.zeros_like(matrix)
    second_moment = np.zeros_like(matrix)
    step = 0
    for epoch in range(epochs):
        # Hard negatives under the current matrix; the positive is the gold article's best chunk.
        candidates = []
        for start in range(0, len(queries), 256):
            scores = (queries[start:start + 256] @ matrix.T) @ chunks.T
            for offset, row in enumerate(scores):
                gold_mask = np.isin(chunk_article, list(golds[start + offset]))
                gold_chunks = np.nonzero(gold_mask)[0]
                positive = gold_chunks[np.argmax(row[gold_chunks])]
                others = np.where(gold_mask, -np.inf, row)
                hard = np.argpartition(-others, negatives)[:negatives]
                candidates.append(np.concatenate([[positive], np.sort(hard)]))
        candidates = np.stack(candidates)
        total = 0.0
        order = np.random.default_rng([seed, epoch]).permutation(len(queries))
        for start in range(0, len(queries), 64):
            batch = order[start:start + 64]
            x = queries[batch]
            passages = chunks[candidates[batch]]
            logits = np.einsum("bkd,bd->bk", passages, x @ matrix.T) / tau
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            total += float(-np.log(p[:, 0] + 1e-12).sum())
            p[:, 0] -= 1.0
            p /= tau * len(batch)
            grad = np.einsum("bk,bkd->bd", p, passages).T @ x
            step += 1
            first_moment = 0.9 * first_moment + 0.1 * grad
            second_moment = 0.999 * second_moment + 0.001 * grad * grad
            matrix -= lr * (first_moment / (1 - 0.9 ** step)) / (
                np.sqrt(second_moment / (1 - 0.999 ** step)) + 1e-8
            )
        print(f"epoch {epoch + 1}: loss {total / len(queries):.3f}", file=sys.stderr)
    return matrix


def write_model(path, matrix):
    with open(path, "wb") as file:
        file.write(MAGIC)
        file.write(struct.pack("<II", FORMAT, DIM))
        file.write(matrix.astype("<f4").tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", default="data/ranker/pools.jsonl")
    parser.add_argument("--chunks", default="data/ranker/chunks")
    parser.add_argument("--train-set", action="append", help="sets to learn from (default: synthetic, ALQAC)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-5)
    parser.add_argument("--tau", type=float, default=0.05)
    parser.add_argument("--negatives", type=int, default=64)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--out", default="src/answer/query_adapter.bin")
    parser.add_argument("--check", default="src/answer/query_adapter_check.json")
    parser.add_argument("--report")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    train_sets = args.train_set or TRAIN_SETS
    overlap = set(train_sets) & set(EVAL_SETS)
    if overlap:
        print(f"warning: {sorted(overlap)} are learnt from and reported: their rows are not unseen", file=sys.stderr)

    chunks, chunk_article, article_index = load_chunks(args.chunks)
    questions = load_questions(args.dump, article_index)
    training = [q for q in questions if q[0] in train_sets]
    print(f"{len(chunks)} chunks; learning from {len(training)} questions of {train_sets}", file=sys.stderr)
    matrix = train(training, chunks, chunk_article, args.epochs, args.lr, args.tau, args.negatives, args.seed)

    lines = [
        "# Query adapter of the dense channel",
        "",
        f"Learnt from {len(training)} questions ({', '.join(train_sets)}); {args.epochs} epochs, "
        f"lr {args.lr}, temperature {args.tau}, {args.negatives} hard negatives. Dense channel alone, "
        "articles by their best chunk over every chunk of the index (no validity filter).",
        "",
        "| set | questions | vectors | R@1 | R@10 | MRR@10 | R@50 |",
        "|---|---|---|---|---|---|---|",
    ]
    identity = np.eye(DIM, dtype=np.float32)
    for name in EVAL_SETS:
        rows = [q for q in questions if q[0] == name]
        if not rows:
            continue
        queries = np.stack([q[1] for q in rows])
        golds = [q[2] for q in rows]
        for label, m in [("e5 as is", identity), ("adapted", matrix)]:
            r1, r10, mrr, r50 = metrics(article_lists(queries, m, chunks, chunk_article), golds)
            lines.append(f"| {name} | {len(rows)} | {label} | {r1:.3f} | {r10:.3f} | {mrr:.3f} | {r50:.3f} |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.report:
        Path(args.report).write_text(report, encoding="utf-8")
    if args.no_write:
        return
    write_model(args.out, matrix)
    # Rows the Rust evaluation must reproduce: raw query vectors and their adapted, normalised images.
    sample = [q[1] for q in questions[:: max(len(questions) // 5, 1)][:5]]
    check = []
    for vector in sample:
        adapted = matrix.astype(np.float64) @ vector.astype(np.float64)
        adapted /= np.linalg.norm(adapted)
        check.append({"input": [float(v) for v in vector], "output": [float(v) for v in adapted]})
    Path(args.check).write_text(json.dumps(check) + "\n", encoding="utf-8")
    print(f"wrote {args.out} and {args.check}", file=sys.stderr)


if __name__ == "__main__":
    main()
