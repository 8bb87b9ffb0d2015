#!/usr/bin/env python3
"""Compares guards by their out-of-fold trade-off (round 17, eval/README.md): for each setting, the
threshold is set where the guard declines 85%, 88%, 90% or 92% of the must-decline items that were
not written as pairs, and the lawful questions declined there are counted: all those of G8's
threshold sets ("pool"), phrasing-dev's ("phr"), the written pairs' lawful halves ("gwL"), and
the written pairs' must-decline share ("gwD"). Uses train_guard.py's labels, features and folds
on G8's dumps; synthetic lawful questions (make_howto.py) join the training part of every fold.

Usage: eval/ranker/.venv/bin/python eval/ranker/guard_sweep.py [--split 5] [--augment DUMP] [--only NAME]
"""
import argparse
import json
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.neural_network import MLPClassifier

import train_guard as tg

DUMPS = ["guard-pools-r16.jsonl", "guard-pools-2-r16.jsonl", "pools-r14-vocab.jsonl", "pools-fresh-spent.jsonl",
         "pools-fresh-test-5.jsonl", "pools-fresh-test-6-7.jsonl"]
FRESH = ["questions/fresh-test"] + [f"questions/fresh-test-{i}" for i in range(2, 8)]
THRESHOLD_SETS = ["zalo-phapdien/dev", "alqac/train2024_verified", "questions/citizen-dev", "questions/fields-dev",
                  "questions/phrasing-dev", "eval/out_of_scope"] + FRESH
WRITTEN = sorted(tg.GUARD_WRITTEN)


def load(augment):
    tg.CLASSES.append("prediction")
    X, y, sets, questions, groups, seen = [], [], [], [], [], set()
    for name in DUMPS:
        with open(tg.ROOT / "data/ranker" / name, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                label = tg.label_of(row, False, FRESH)
                if label is None or row["question"] in seen:
                    continue
                seen.add(row["question"])
                X.append(row["query_vector"]); y.append(tg.CLASSES.index(label)); sets.append(row["set"])
                questions.append(row["question"]); groups.append(tg.group_of(row))
    AX, Aq = [], []
    for path in augment:
        with open(path, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                if row["question"] not in seen:
                    seen.add(row["question"]); AX.append(row["query_vector"]); Aq.append(row["question"])
    return (np.asarray(X), np.asarray(y), np.asarray(sets), np.asarray(questions, dtype=object), groups,
            np.asarray(AX).reshape(-1, len(X[0])), np.asarray(Aq, dtype=object))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", type=int, default=5, help="the folds' random state (train_guard.py: 5)")
    parser.add_argument("--augment", action="append", default=[])
    parser.add_argument("--only", help="run only the settings whose name contains this")
    args = parser.parse_args()
    X, y, sets, questions, groups, AX, Aq = load(args.augment)

    def run(name, make, scale=1.5, augment=0, augment_weight=1.0, min_df=2):
        if args.only and args.only not in name:
            return
        started = time.time()
        augment = min(augment, len(Aq))
        oof = np.zeros((len(y), len(tg.CLASSES)))
        splitter = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=args.split)
        for train, test in splitter.split(X, y, groups):
            train_q = np.concatenate([questions[train], Aq[:augment]])
            train_X = np.vstack([X[train], AX[:augment]])
            train_y = np.concatenate([y[train], np.zeros(augment, dtype=int)])
            weight = np.concatenate([np.ones(len(train)), np.full(augment, augment_weight)])
            features = tg.Features(True, scale)
            features.vectorizer.min_df = min_df
            features.fit(train_q, train_X)
            model = make().fit(features(train_q, train_X), train_y, sample_weight=weight)
            oof[np.ix_(test, model.classes_)] = model.predict_proba(features(questions[test], X[test]))
        legal = oof[:, 0]
        pool = (y == 0) & np.isin(sets, THRESHOLD_SETS)
        must = (y != 0) & ~np.isin(sets, WRITTEN)
        phrasing = (y == 0) & (sets == "questions/phrasing-dev")
        written_lawful = (y == 0) & np.isin(sets, WRITTEN)
        written_must = (y != 0) & np.isin(sets, WRITTEN)
        cells = []
        for recall in (0.85, 0.88, 0.90, 0.92):
            declined = legal < np.quantile(legal[must], recall)
            cells.append(f"r{recall}: pool {declined[pool].sum()} phr {declined[phrasing].sum()} "
                         f"gwL {declined[written_lawful].sum()} gwD {declined[written_must].mean():.2f}")
        print(f"{name:40s} {time.time() - started:5.0f}s | " + " | ".join(cells), flush=True)

    def linear(C):
        return lambda: LogisticRegression(C=C, max_iter=3000, class_weight="balanced")

    def network(hidden):
        return lambda: MLPClassifier(hidden_layer_sizes=(hidden,), alpha=1e-3, max_iter=200, random_state=0)

    run("logistic regression C16 x1.5 (G8)", linear(16))
    run("logistic regression C32 x1.5", linear(32))
    run("logistic regression C16 x1.0", linear(16), scale=1.0)
    run("logistic regression C16 x3", linear(16), scale=3)
    run("logistic regression C64 x3", linear(64), scale=3)
    run("network 64", network(64))
    run("network 256", network(256))
    if len(Aq):
        run("logistic regression + 500", linear(16), augment=500)
        run("logistic regression x1.0 + 500", linear(16), scale=1.0, augment=500)
        run("logistic regression + 2500 at 0.2", linear(16), augment=2500, augment_weight=0.2)
        run("logistic regression + 2500", linear(16), augment=2500)
        run("network 64 + 500", network(64), augment=500)
        run("network 64 + 2500 (H)", network(64), augment=2500)
        run("network 32 + 2500", network(32), augment=2500)
        run("network 64 + 2500, terms in >= 4", network(64), augment=2500, min_df=4)


if __name__ == "__main__":
    main()
