"""The learnt vocabulary between questions and article headings (src/answer/heading_pairs.rs).

A logistic regression over every (question term, heading term) pair of a candidate article, and
each heading term alone, with the pool's other articles as negatives. Its score, the gap to the
pool's best score and the rank in the pool are three of the ranker's features. Terms are folded
syllables and syllable pairs; `terms` must stay the same as `terms` in heading_pairs.rs (a Rust test
checks the scores written by `write_model`).

The score of a training question must come from a model that never saw it, or the ranker learns to
trust it more than an unseen question bears out: `cross_fit` gives every row its score from a model
fitted on the other folds.
"""
import json
import random
import re
import unicodedata

import numpy as np
from scipy import sparse
from sklearn.linear_model import SGDClassifier

NAMES = ["heading_pairs", "heading_pairs_gap", "heading_pairs_rank"]
WORD = re.compile(r"[^\W\d_]+")
# Words that say nothing of what is asked: STOP_WORDS in heading_pairs.rs.
STOP = set("va cua cac the nao co khong la duoc trong cho ve doi voi theo nhung mot nay do hoac tai "
           "thi neu khi toi minh em anh chi a oi nhe ha vay ai gi bi".split())
# Weights the service holds: the largest ones (measured: 200,000 of 9.8 million lose about a
# question per set against all of them).
KEEP = 200_000
ALPHA = 1e-5
SHIFT = 1 << 24  # column key of a pair: (question term + 1) × SHIFT + heading term


def terms(text):
    """Lower-case syllables without diacritics, stop words out, and each neighbouring pair."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    words = [w for w in WORD.findall(text) if w not in STOP]
    return set(words) | {f"{a}_{b}" for a, b in zip(words, words[1:])}


class Pairs:
    """The candidates of the rows a model scores, as one sparse matrix of pair columns."""

    def __init__(self, rows):
        self.vocab = {}
        ids = lambda ts: np.asarray(sorted(self.vocab.setdefault(t, len(self.vocab)) for t in ts), dtype=np.int64)
        heading_ids = {}
        self.spans, labels, indptr, keys = [], [], [0], []
        for row in rows:
            start = len(labels)
            if row["candidates"]:  # every row is scored (the calibration reads them all); some learn
                q = ids(terms(row["question"])) + 1
                for c in row["candidates"]:
                    h = heading_ids.get(c["title"])
                    if h is None:
                        h = heading_ids[c["title"]] = ids(terms(c["title"]))
                    cols = np.concatenate([(q[:, None] * SHIFT + h[None, :]).ravel(), h])
                    keys.append(cols)
                    indptr.append(indptr[-1] + len(cols))
                    labels.append(c["label"])
            self.spans.append((start, len(labels)))
        self.keys, columns = np.unique(np.concatenate(keys) if keys else np.zeros(0, np.int64), return_inverse=True)
        self.X = sparse.csr_matrix((np.ones(indptr[-1], dtype=np.float32), columns, np.asarray(indptr)),
                                   shape=(len(labels), len(self.keys)))
        self.labels = np.asarray(labels)

    def fit(self, row_ids, trainable):
        idx = [np.arange(*self.spans[i]) for i in row_ids if trainable(i)]
        idx = np.concatenate(idx)
        y = self.labels[idx]
        # Balanced: a pool has one or two gold articles among thirty-odd.
        w = np.where(y == 1, (y == 0).sum() / max((y == 1).sum(), 1), 1.0)
        model = SGDClassifier(loss="log_loss", alpha=ALPHA, max_iter=15, tol=None, random_state=7)
        model.fit(self.X[idx], y, sample_weight=w)
        coef = model.coef_[0]
        if np.count_nonzero(coef) > KEEP:
            cut = np.partition(np.abs(coef), -KEEP)[-KEEP]
            coef[np.abs(coef) < cut] = 0.0
        return model

    def score(self, model, row_ids, into):
        for i in row_ids:
            a, b = self.spans[i]
            if b > a:
                into[i] = model.decision_function(self.X[a:b])

    def write_model(self, model, path, trained, check_path, rows, row_ids):
        """The pruned model as heading_pairs.json (weights to 6 significant digits), and rows whose
        scores heading_pairs.rs must reproduce, scored from the written file by `score`."""
        coef = model.coef_[0]
        names = {i: t for t, i in self.vocab.items()}
        used = {}
        term = lambda i: used.setdefault(names[i], len(used))
        pairs, headings = [], []
        for col in np.flatnonzero(coef):
            key, weight = int(self.keys[col]), float(f"{coef[col]:.6g}")
            q, h = divmod(key, SHIFT)
            if q == 0:
                headings.append([term(h), weight])
            else:
                pairs.append([term(q - 1), term(h), weight])
        out = {"format": 1, "trained": trained, "terms": list(used), "pairs": pairs,
               "headings": headings, "bias": float(f"{model.intercept_[0]:.6g}")}
        path.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
        check = []
        for i in row_ids:
            a, _ = self.spans[i]
            for offset, c in enumerate(rows[i]["candidates"][:3]):
                written = score(out, rows[i]["question"], c["title"])
                fitted = float(model.decision_function(self.X[a + offset:a + offset + 1])[0])
                assert abs(written - fitted) < 1e-3, (rows[i]["question"], c["title"], written, fitted)
                check.append({"question": rows[i]["question"], "heading": c["title"], "score": written})
        check_path.write_text(json.dumps(check, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


def score(model, question, heading):
    """The score of a written model, computed as heading_pairs.rs computes it."""
    index = {t: i for i, t in enumerate(model["terms"])}
    pairs = {(q, h): w for q, h, w in model["pairs"]}
    alone = dict((h, w) for h, w in model["headings"])
    q_terms = [index[t] for t in terms(question) if t in index]
    total = model["bias"]
    for h in (index[t] for t in terms(heading) if t in index):
        total += alone.get(h, 0.0) + sum(pairs.get((q, h), 0.0) for q in q_terms)
    return total


def trainable(rows, sets=None):
    """Rows the model learns from: answerable, gold in the pool, not the excluded variant."""
    return lambda i: (not rows[i]["excluded"] and rows[i]["expect"] == "answer"
                      and any(c["label"] for c in rows[i]["candidates"])
                      and (sets is None or rows[i]["set"] in sets))


def cross_fit(pairs, rows, row_ids, folds, seed, learn):
    """Scores of `row_ids` each from a model fitted on the other folds of `row_ids`."""
    keys = sorted({rows[i]["key"] for i in row_ids})
    random.Random(seed).shuffle(keys)
    fold_of = {key: n % folds for n, key in enumerate(keys)}
    scores = {}
    for fold in range(folds):
        fit_ids = [i for i in row_ids if fold_of[rows[i]["key"]] != fold]
        pairs.score(pairs.fit(fit_ids, learn), [i for i in row_ids if fold_of[rows[i]["key"]] == fold], scores)
    return scores


def with_features(row, scores, base):
    """The row with the three features after its first `base` ones (the dump's own values of them,
    computed by the shipped model, are replaced)."""
    n = len(row["candidates"])
    if scores is None or len(scores) != n:  # a variant the model does not score
        scores = np.zeros(n)
    best = float(scores.max()) if n else 0.0
    rank = np.empty(n)
    rank[np.argsort(-scores, kind="stable")] = np.arange(n)
    out = dict(row)
    out["candidates"] = [dict(c, features=c["features"][:base] + [float(s), best - float(s), float(r)])
                         for c, s, r in zip(row["candidates"], scores, rank)]
    return out
