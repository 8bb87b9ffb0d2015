#!/usr/bin/env python3
"""Trains the meaning-based guard of Hỏi Luật (src/answer/guard.rs) and reports its
cross-validated quality.

Input: the rows of `hoiluat eval --dump-features FILE`, each with the question's e5 embedding as
`ask` computes it. Classes: `not_law`, `unlawful` and `prediction` from the labelled kinds of
eval/out_of_scope.jsonl (its `not_in_corpus` questions are legal questions the corpus has no text
for: they count as `legal`, and their decline is the confidence's job), `legal` from every
answerable question. A multinomial logistic regression over the embedding; a question is declined
when P(legal) is below a threshold chosen on out-of-fold probabilities so that at most
--max-false-decline of the answerable questions are declined. Every number reported is
out-of-fold (stratified k-fold); the shipped model is then fitted on everything.

Usage: eval/ranker/.venv/bin/python eval/ranker/train_guard.py --dump data/ranker/pools.jsonl \
           [--folds 5] [--max-false-decline 0.01] [--report eval/reports/NAME-guard.md]
"""
import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[2]
MODEL_OUT = ROOT / "src/answer/guard_model.json"
# `prediction` (asking how a court will decide one's own case) is not a guard class by default: 22
# examples did not teach it (54.5% recall out of fold), and what it learned overlaps the way people
# ask ordinary legal questions ("có đòi được không", "ai phải đền"). Its questions are left out of
# training; the patterns of prompts/out_of_scope.toml decline the clear cases.
CLASSES = ["legal", "not_law", "unlawful"]
GUARD_KINDS = {"not_law": "not_law", "unlawful": "unlawful", "prediction": "prediction"}


def label_of(row):
    if row["excluded"]:
        return None
    if row["set"].endswith("out_of_scope"):
        if row["kind"] in GUARD_KINDS:
            label = GUARD_KINDS[row["kind"]]
            return label if label in CLASSES else None
        return "legal"
    if row["expect"] == "answer" and row["gold"] and not row["set"].startswith("ranker/"):
        return "legal"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump", action="append", required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-false-decline", type=float, default=0.01)
    parser.add_argument("--C", type=float, default=4.0)
    parser.add_argument("--with-prediction", action="store_true",
                        help="train `prediction` as a guard class too")
    parser.add_argument("--report")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.with_prediction:
        CLASSES.append("prediction")

    X, y, sets, questions = [], [], [], []
    seen = set()
    for path in args.dump:
        with open(path, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                label = label_of(row)
                if label is None or row["question"] in seen:
                    continue
                seen.add(row["question"])
                X.append(row["query_vector"])
                y.append(CLASSES.index(label))
                sets.append(row["set"])
                questions.append(row["question"])
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    counts = Counter(CLASSES[i] for i in y)
    print("training questions:", dict(counts), file=sys.stderr)

    def model():
        return LogisticRegression(C=args.C, max_iter=3000, class_weight="balanced")

    oof = np.zeros((len(y), len(CLASSES)))
    for train_i, test_i in StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=5).split(X, y):
        fitted = model().fit(X[train_i], y[train_i])
        oof[np.ix_(test_i, fitted.classes_)] = fitted.predict_proba(X[test_i])
    legal = oof[:, 0]
    answerable = y == 0
    # The largest threshold that declines at most the allowed share of answerable questions.
    candidates = sorted(set(np.round(legal[answerable], 4)))
    threshold = 0.0
    for t in candidates:
        if np.mean(legal[answerable] < t) <= args.max_false_decline:
            threshold = t
    declined = legal < threshold
    lines = ["# Guard: cross-validated quality", "",
             f"- command: `eval/ranker/.venv/bin/python eval/ranker/train_guard.py {' '.join(sys.argv[1:])}`",
             f"- {args.folds}-fold stratified cross-validation; multinomial logistic regression (C={args.C}, balanced classes) over the 384-dimension e5 query embedding",
             f"- questions: {dict(counts)}",
             f"- threshold: a question is declined when P(legal) < {threshold:.4f}, the largest value that declines at most {args.max_false_decline:.0%} of the answerable questions out of fold",
             "", "| class | questions | declined by the guard (out of fold) |", "|---|---|---|"]
    for index, name in enumerate(CLASSES):
        mask = y == index
        if mask.any():
            lines.append(f"| {name} | {int(mask.sum())} | {np.mean(declined[mask]):.1%} |")
    lines += ["", "Answerable questions declined, per set (out of fold):", ""]
    for s in sorted(set(sets)):
        mask = np.asarray([x == s for x in sets]) & answerable
        if mask.any():
            lines.append(f"- {s}: {int(declined[mask].sum())} of {int(mask.sum())}")
    misses = [questions[i] for i in range(len(y)) if y[i] != 0 and not declined[i]]
    lines += ["", f"Must-decline questions the guard lets through out of fold ({len(misses)}; the patterns of prompts/out_of_scope.toml may still catch them):", ""]
    lines += [f"- {q}" for q in misses[:40]]
    final = model().fit(X, y)
    weights = np.zeros((len(CLASSES), X.shape[1]))
    bias = np.zeros(len(CLASSES))
    weights[final.classes_] = final.coef_
    bias[final.classes_] = final.intercept_
    if not args.no_write:
        MODEL_OUT.write_text(json.dumps({
            "format": 1,
            "trained": "eval/ranker/train_guard.py " + " ".join(sys.argv[1:]),
            "dimension": X.shape[1],
            "classes": CLASSES,
            "weights": weights.astype(np.float32).tolist(),
            "bias": bias.astype(np.float32).tolist(),
            "legal_below": float(threshold),
        }, separators=(",", ":")) + "\n", encoding="utf-8")
    report = "\n".join(lines) + "\n"
    if args.report:
        Path(args.report).write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
