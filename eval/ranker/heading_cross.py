"""Experiment (issue 12, round 13): a learnt vocabulary between questions and article headings.

The commonest miss quotes a neighbouring article of the right document first. Headings are what
tell such articles apart ("Thời hạn …", "Thẩm quyền …", "Hồ sơ …"), and the hand-written cues of
`prompts/vocabulary.toml` ([[asks]]: "bao lâu" → thời hạn, "ở đâu" → thẩm quyền) gave the largest
gain of any hand-made signal (eval/README.md, "Experiments"). This learns such pairs instead: a
logistic regression over the crosses (question word × heading word) of each candidate in the pool,
with the pool's other articles as negatives, and gives the ranker its score as a feature.

It must not be fitted on the questions it scores, and neither must the ranker that reads it, so the
evaluation is nested: within each of train.py's outer folds, the feature of the training questions
comes from an inner 5-fold cross-fit on those training questions only, and the feature of the
test fold from a model fitted on all of them. The outer folds are train.py's, so the baseline row
(the same ranker without the feature) is train.py's own number for that split. Nothing is written
to the service.

Round 13 (eval/README.md): out of fold it put a gold article first for 4-8 more of fields-dev's 84
questions in every split, but the gain came from the written questions whose gold articles are
fields-dev's too (`--disjoint` leaves one question of it), and held out it did not carry over; the
service does not use it.

Usage: eval/ranker/.venv/bin/python eval/ranker/heading_cross.py --dump data/ranker/pools-r12.jsonl \\
           --split-seed 11 [--cross-sets SET ...] [--disjoint] [--keep N] [--report FILE]
"""
import argparse
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import SGDClassifier

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "eval/ranker"))
import train as trainer  # noqa: E402
from heading_cosine import corpus_headings  # noqa: E402
from train_guard import fold  # noqa: E402  (as the service folds)

DEV_SETS = {"zalo-phapdien/dev", "questions/citizen-dev", "questions/fields-dev"}
WORD = re.compile(r"[^\W\d_]+")
# Words of every heading and question that say nothing of what is asked.
STOP = set("va cua cac the nao co khong la duoc trong cho ve doi voi theo nhung mot nay do hoac tai "
           "thi neu khi toi minh em anh chi a oi nhe a ha vay ai gi bi".split())


def plain_words(text):
    """Lower-case syllables without diacritics (questions come with and without them)."""
    return [w for w in WORD.findall(fold(text)) if w not in STOP]


def terms(words):
    """Syllables and syllable pairs (Vietnamese words are mostly two syllables)."""
    return set(words) | {f"{a}_{b}" for a, b in zip(words, words[1:])}


def heading_terms(heading):
    # "Điều 12. Thời hạn giải quyết": the number is not a word of what the article settles.
    return terms(plain_words(re.sub(r"^Điều\s+\S+\s*", "", heading)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump", required=True)
    parser.add_argument("--split-seed", type=int, default=11)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--inner-folds", type=int, default=5)
    parser.add_argument("--cross-sets", nargs="*", default=None,
                        help="sets the cross model learns from (default: every set the ranker learns from)")
    parser.add_argument("--alpha", type=float, default=1e-5)
    parser.add_argument("--disjoint", action="store_true",
                        help="the cross model does not learn from written questions whose gold article is gold for a question of the dev sets")
    parser.add_argument("--keep", type=int, default=0, help="keep only the N largest weights (0: all)")
    parser.add_argument("--report")
    args = parser.parse_args()

    headings = corpus_headings()
    names = trainer.feature_names()
    rows = trainer.load([args.dump])
    heading_cache = {}
    q_of = {}
    for row in rows:
        q_of[row["key"]] = terms(plain_words(row["question"]))
    vocab = {}

    def ids(term_set):
        return np.asarray(sorted(vocab.setdefault(t, len(vocab)) for t in term_set), dtype=np.int64)

    # One matrix of every candidate the experiment scores, sliced by fold below: a column per
    # (question term, heading term) pair met, and one per heading term alone (how often a heading
    # word is right at all). Exact pairs, not hashed ones, so that the service can hold the table.
    v = 1 << 24
    spans, labels, indptr, keys_all = [], [], [0], []
    for row in rows:
        start = len(labels)
        if not row["excluded"] and row["expect"] == "answer":
            q = ids(q_of[row["key"]]) + 1
            for c in row["candidates"]:
                h = heading_cache.get(c["article_id"])
                if h is None:
                    h = heading_cache[c["article_id"]] = ids(heading_terms(headings.get(c["article_id"], "")))
                cols = np.concatenate([(q[:, None] * v + h[None, :]).ravel(), h])  # q = 0: the heading alone
                keys_all.append(cols)
                indptr.append(indptr[-1] + len(cols))
                labels.append(c["label"])
        spans.append((start, len(labels)))
    pair_keys, columns = np.unique(np.concatenate(keys_all), return_inverse=True)
    X = sparse.csr_matrix((np.ones(indptr[-1], dtype=np.float32), columns, np.asarray(indptr)),
                          shape=(len(labels), len(pair_keys)))
    labels = np.asarray(labels)
    print(f"{X.shape[0]} candidates, {X.nnz} crosses, {len(pair_keys)} pairs, {len(vocab)} terms", file=sys.stderr)

    dev_gold = {g for row in rows if row["set"] in DEV_SETS for g in row["gold"]}

    def trainable(row):
        return (not row["excluded"] and row["expect"] == "answer"
                and any(c["label"] for c in row["candidates"])
                and (args.cross_sets is None or row["set"] in args.cross_sets)
                and not (args.disjoint and row["set"] == "questions/train-written" and dev_gold & set(row["gold"])))

    def fit_cross(row_ids):
        idx = np.concatenate([np.arange(*spans[i]) for i in row_ids if trainable(rows[i])])
        y = labels[idx]
        # Balanced: a pool has one or two gold articles among thirty-odd.
        w = np.where(y == 1, (y == 0).sum() / max((y == 1).sum(), 1), 1.0)
        model = SGDClassifier(loss="log_loss", alpha=args.alpha, max_iter=15, tol=None, random_state=7)
        model.fit(X[idx], y, sample_weight=w)
        if args.keep:
            # The service holds only the largest weights: measure the model it would hold.
            coef = model.coef_[0]
            if np.count_nonzero(coef) > args.keep:
                cut = np.partition(np.abs(coef), -args.keep)[-args.keep]
                coef[np.abs(coef) < cut] = 0.0
        return model

    def score_rows(model, row_ids, into):
        for i in row_ids:
            a, b = spans[i]
            if b > a:
                into[i] = model.decision_function(X[a:b])

    def augment(row, cross):
        if len(cross) != len(row["candidates"]):  # a variant the cross model does not score
            cross = np.zeros(len(row["candidates"]))
        best = float(cross.max()) if len(cross) else 0.0
        order = np.argsort(-cross, kind="stable")
        rank = np.empty(len(cross))
        rank[order] = np.arange(len(cross))
        out = dict(row)
        out["candidates"] = [dict(c, features=c["features"] + [float(s), best - float(s), float(r)])
                             for c, s, r in zip(row["candidates"], cross, rank)]
        return out

    keys = sorted({row["key"] for row in rows})
    rng = random.Random(args.split_seed)
    rng.shuffle(keys)
    fold_of = {key: i % args.folds for i, key in enumerate(keys)}
    extra = ["heading_cross", "heading_cross_gap", "heading_cross_rank"]

    oof_base, oof_aug = {}, {}
    for fold in range(args.folds):
        train_ids = [i for i, r in enumerate(rows) if fold_of[r["key"]] != fold]
        test_ids = [i for i, r in enumerate(rows) if fold_of[r["key"]] == fold]
        cross = {}
        # Inner cross-fit: the training questions' feature from models that never saw them.
        inner_keys = sorted({rows[i]["key"] for i in train_ids})
        random.Random(args.split_seed * 1000 + fold).shuffle(inner_keys)
        inner_of = {key: n % args.inner_folds for n, key in enumerate(inner_keys)}
        for inner in range(args.inner_folds):
            fit_ids = [i for i in train_ids if inner_of[rows[i]["key"]] != inner]
            score_rows(fit_cross(fit_ids), [i for i in train_ids if inner_of[rows[i]["key"]] == inner], cross)
        score_rows(fit_cross(train_ids), test_ids, cross)
        empty = np.zeros(0)
        train_aug = [augment(rows[i], cross.get(i, empty)) for i in train_ids]
        base = trainer.fit_ranker([rows[i] for i in train_ids], names)
        aug = trainer.fit_ranker(train_aug, names + extra)
        for i in test_ids:
            key = (rows[i]["key"], rows[i]["excluded"])
            oof_base[key] = trainer.predict(base, rows[i])
            oof_aug[key] = trainer.predict(aug, augment(rows[i], cross.get(i, empty)))
            oof_aug[("cross",) + key] = cross.get(i, empty)
        print(f"fold {fold + 1}/{args.folds}", file=sys.stderr)

    by_set = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row["excluded"] or row["expect"] != "answer" or not row["gold"]:
            continue
        key = (row["key"], False)
        labels_row = [c["label"] for c in row["candidates"]]
        for name, scores in (("ranker", oof_base[key]), ("ranker + heading cross", oof_aug[key]),
                             ("heading cross alone", oof_aug[("cross",) + key])):
            order = np.argsort(-np.asarray(scores), kind="stable") if len(labels_row) else []
            by_set[row["set"]][name].append([labels_row[i] for i in order])
    lines = [f"# Heading cross, split seed {args.split_seed}", "",
             f"- command: `eval/ranker/.venv/bin/python eval/ranker/heading_cross.py {' '.join(sys.argv[1:])}`",
             "", "| set | order | questions | R@1 | R@10 | MRR@10 |", "|---|---|---|---|---|---|"]
    for s in sorted(by_set):
        for name, orders in by_set[s].items():
            m = trainer.metrics(orders)
            lines.append(f"| {s} | {name} | {m['questions']} | {m['recall_at_1']:.3f} | {m['recall_at_10']:.3f} | {m['mrr_at_10']:.3f} |")
    trainer.write_report(lines, args.report)


if __name__ == "__main__":
    main()
