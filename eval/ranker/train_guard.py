#!/usr/bin/env python3
"""Trains the meaning-based guard of Hỏi Luật (src/answer/guard.rs) and reports its
cross-validated quality.

Input: the rows of `hoiluat eval --dump-features FILE`, each with the question's e5 embedding as
`ask` computes it. Classes: `not_law`, `unlawful` and `prediction` from the labelled kinds of
eval/out_of_scope.jsonl (its `not_in_corpus` questions are legal questions the corpus has no text
for: they count as `legal`, and their decline is the confidence's job), `legal` from every
answerable question, and from the lawful questions of eval/questions/phrasing-dev.jsonl, which ask
in the words unlawful requests use too ("làm sao", "cách", "soạn giúp", "giả", "trốn").

A multinomial logistic regression over two parts: the question's words and word pairs, without
diacritics, weighted by TF-IDF (what the question asks for: "mà không bị phát hiện", "làm giả",
"lách"), and the e5 embedding times --embedding-scale (what it is about). A question is declined
when P(legal) is below a threshold chosen on out-of-fold probabilities so that at most
--max-false-decline of the answerable questions are declined (or of the lawful questions of the
--threshold-set sets only: a round-7 experiment, eval/README.md). The questions written from
articles to train the ranker (eval/questions/train-written.jsonl) are left out unless
--with-written (the same experiment: out of fold it helped, held out it did not). Every number
reported is out-of-fold (stratified k-fold, a written pair in one fold, the vocabulary fitted inside each fold); the shipped model is
then fitted on everything. src/answer/guard.rs computes the same features; the rows of
src/answer/guard_check.json hold scikit-learn's own probabilities, which a Rust test reproduces.

Round 17 (not shipped, eval/README.md): --hidden N trains a network with one hidden layer of N
rectified units over the same two parts instead (model format 3), and --augment DUMP adds synthetic
lawful questions (make_howto.py) to the `legal` class of every fold's training part.

Usage: eval/ranker/.venv/bin/python eval/ranker/train_guard.py --dump data/ranker/guard-pools.jsonl \
           --dump data/ranker/pools.jsonl [--folds 5] [--max-false-decline 0.01] \
           [--threshold-set questions/phrasing-dev ...] [--with-written] [--no-words] \
           [--report eval/reports/NAME-guard.md]
"""
import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.neural_network import MLPClassifier

from train import WRITTEN_SETS

ROOT = Path(__file__).resolve().parents[2]
MODEL_OUT = ROOT / "src/answer/guard_model.json"
CHECK_OUT = ROOT / "src/answer/guard_check.json"
# `prediction` (asking how a court will decide one's own case) is a class only with
# --with-prediction. In round 3, 22 examples did not teach it (54.5% recall out of fold), and what it
# learned overlapped the way people ask ordinary legal questions ("có đòi được không", "ai phải
# đền"). With the 120 prediction pairs of guard-written.jsonl it declined four more held-out
# prediction requests and no held-out lawful question (round 11), and the shipped guard is trained
# with it. Without the flag its questions are left out of training, and the patterns of
# prompts/out_of_scope.toml decline the clear cases.
CLASSES = ["legal", "not_law", "unlawful"]
GUARD_KINDS = {"not_law": "not_law", "unlawful": "unlawful", "prediction": "prediction"}
# Contrastive pairs written for the guard (round 10, eval/questions/README.md): an unlawful request
# and a lawful question on the same topic in the same words, or a message that is not law and a
# legal question on the same everyday subject. A pair shares an id stem ("gw-a017-u", "gw-a017-l")
# and always the same fold, so that no question is judged by a model that learnt its twin.
# guard-written-2 (round 11) holds the pairs of four more writers, in the same format.
GUARD_WRITTEN = {"questions/guard-written", "questions/guard-written-2"}


def fold(text):
    """Lower case without diacritics, as src/answer/guard.rs folds (text::strip_diacritics): NFD,
    marks (general category M) dropped, đ -> d."""
    text = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    return "".join(c for c in text if not unicodedata.category(c).startswith("M"))


def words(text):
    """The terms of a question: its words (runs of a-z and 0-9 once folded) and word pairs."""
    w = [x for x in re.split(r"[^0-9a-z]+", fold(text)) if x]
    return w + [a + " " + b for a, b in zip(w, w[1:])]


class Features:
    """TF-IDF of the words (sublinear tf, smoothed idf, L2 norm; terms in 2+ questions) beside the
    embedding times a scale."""

    def __init__(self, use_words, scale):
        self.use_words, self.scale = use_words, scale
        self.vectorizer = TfidfVectorizer(analyzer=words, sublinear_tf=True, min_df=2)

    def fit(self, questions, X):
        if self.use_words:
            self.vectorizer.fit(questions)
        return self

    def __call__(self, questions, X):
        dense = csr_matrix(X * self.scale)
        if not self.use_words:
            return dense
        return hstack([self.vectorizer.transform(questions), dense]).tocsr()


def decline_label(row):
    """A must-decline item's class by its kind, or None when that class is not trained
    (`prediction` without --with-prediction)."""
    label = GUARD_KINDS.get(row["kind"])
    return label if label in CLASSES else None


def label_of(row, with_written=False, decline_sets=()):
    if row["excluded"]:
        return None
    # Written from an article's text to train the ranker, not asked by anyone (train.py).
    if row["set"] in WRITTEN_SETS and not with_written:
        return None
    if row["set"] in GUARD_WRITTEN:
        # The lawful half of a prediction pair is there to contrast a class that is trained only
        # with --with-prediction.
        if row["kind"] == "lawful_story" and "prediction" not in CLASSES:
            return None
        if row["expect"] == "answer":
            return "legal"
        return decline_label(row)
    if row["set"].endswith("out_of_scope"):
        return decline_label(row) if row["kind"] in GUARD_KINDS else "legal"
    # Sets written like the held-out ones (round 16): their must-decline items are labelled by
    # kind, as those of out_of_scope.jsonl are.
    if row["set"] in decline_sets and row["expect"] == "decline":
        return decline_label(row)
    if row["expect"] == "answer" and row["gold"] and not row["set"].startswith("ranker/"):
        return "legal"
    # Lawful questions asked in the words unlawful requests also use ("làm sao", "cách", "soạn
    # giúp", "giả", "trốn"): no gold, since whether the index answers them is not the guard's job.
    if row["expect"] == "answer" and row["set"].endswith("phrasing-dev"):
        return "legal"
    return None


def threshold_for(lawful_legal, max_false_decline):
    """The largest threshold on P(legal), among those lawful questions' own probabilities rounded to
    4 digits, that declines at most `max_false_decline` of them (0 when none does)."""
    threshold = 0.0
    for t in sorted(set(np.round(lawful_legal, 4))):
        if np.mean(lawful_legal < t) <= max_false_decline:
            threshold = t
    return threshold


def group_of(row):
    """Questions that must share a fold: the two halves of a written pair; otherwise each alone."""
    if row["set"] in GUARD_WRITTEN:
        return row["set"] + ":" + row["id"].rsplit("-", 1)[0]
    return row["set"] + ":" + row["id"] + ":" + row["question"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump", action="append", required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-false-decline", type=float, default=0.01)
    parser.add_argument("--threshold-set", action="append", default=[], metavar="SET",
                        help="choose the threshold on these sets' lawful questions only (default: every answerable question)")
    parser.add_argument("--with-written", action="store_true",
                        help="count the written training questions of the ranker as legal too")
    parser.add_argument("--without-set", action="append", default=[], metavar="SET",
                        help="leave this set's questions out entirely (to compare with and without new data)")
    parser.add_argument("--decline-set", action="append", default=[], metavar="SET",
                        help="train on this set's must-decline items too, labelled by their kind (round 16)")
    parser.add_argument("--score-set", action="append", default=[], metavar="SET",
                        help="keep this set out of training and report how the final model treats it "
                             "(writing the model never saw)")
    parser.add_argument("--C", type=float, default=4.0)
    parser.add_argument("--embedding-scale", type=float, default=3.0)
    parser.add_argument("--no-words", action="store_true", help="the embedding alone (the guard before round 6)")
    parser.add_argument("--hidden", type=int, default=0,
                        help="a network with one hidden layer of this many rectified units instead of the "
                             "logistic regression (round 17; model format 3)")
    parser.add_argument("--augment", action="append", default=[], metavar="DUMP",
                        help="a dump of synthetic lawful questions (make_howto.py): `legal` in training only, "
                             "never scored and never setting the threshold (round 17)")
    parser.add_argument("--with-prediction", action="store_true",
                        help="train `prediction` as a guard class too")
    parser.add_argument("--report")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--save-probabilities", metavar="FILE.npz",
                        help="write the out-of-fold and --score-set probabilities, to compare or average guards "
                             "offline (guard_blend.py)")
    args = parser.parse_args()
    if args.hidden and args.no_words:
        parser.error("--hidden reads the words; it cannot go with --no-words")
    if args.with_prediction:
        CLASSES.append("prediction")

    X, y, sets, questions, groups = [], [], [], [], []
    scored = []  # (set, label, question, embedding) of the --score-set sets
    seen = set()
    for path in args.dump:
        with open(path, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                label = label_of(row, args.with_written, args.decline_set)
                if label is None or row["question"] in seen or row["set"] in args.without_set:
                    continue
                seen.add(row["question"])
                if row["set"] in args.score_set:
                    scored.append((row["set"], label, row["question"], row["query_vector"]))
                    continue
                X.append(row["query_vector"])
                y.append(CLASSES.index(label))
                sets.append(row["set"])
                questions.append(row["question"])
                groups.append(group_of(row))
    # Synthetic lawful questions: added to every fold's training part, never to a fold's test part.
    augment_X, augment_questions = [], []
    for path in args.augment:
        with open(path, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                if row["question"] not in seen:
                    seen.add(row["question"])
                    augment_X.append(row["query_vector"])
                    augment_questions.append(row["question"])
    augment_X = np.asarray(augment_X, dtype=np.float64).reshape(-1, len(X[0]))
    augment_questions = np.asarray(augment_questions, dtype=object)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    questions = np.asarray(questions, dtype=object)
    sets = np.asarray(sets)
    scale = 1.0 if args.no_words else args.embedding_scale
    counts = Counter(CLASSES[i] for i in y)
    print("training questions:", dict(counts), file=sys.stderr)

    def model():
        if args.hidden:
            # No class weights (MLPClassifier has none); the threshold on P(legal) balances.
            return MLPClassifier(hidden_layer_sizes=(args.hidden,), alpha=1e-3, max_iter=200, random_state=0)
        return LogisticRegression(C=args.C, max_iter=3000, class_weight="balanced")

    def with_augment(train_questions, train_X, train_y):
        return (np.concatenate([train_questions, augment_questions]), np.vstack([train_X, augment_X]),
                np.concatenate([train_y, np.zeros(len(augment_questions), dtype=int)]))

    oof = np.zeros((len(y), len(CLASSES)))
    splitter = StratifiedGroupKFold(n_splits=args.folds, shuffle=True, random_state=5)
    for train_i, test_i in splitter.split(X, y, groups):
        train_questions, train_X, train_y = with_augment(questions[train_i], X[train_i], y[train_i])
        features = Features(not args.no_words, scale).fit(train_questions, train_X)
        fitted = model().fit(features(train_questions, train_X), train_y)
        oof[np.ix_(test_i, fitted.classes_)] = fitted.predict_proba(features(questions[test_i], X[test_i]))
    legal = oof[:, 0]
    answerable = y == 0
    threshold_sets = args.threshold_set
    chosen_on = answerable & np.isin(sets, threshold_sets) if threshold_sets else answerable
    if not chosen_on.any():
        sys.exit(f"no lawful questions of {threshold_sets} in the dumps")
    threshold = threshold_for(legal[chosen_on], args.max_false_decline)
    declined = legal < threshold
    lines = ["# Guard: cross-validated quality", "",
             f"- command: `eval/ranker/.venv/bin/python eval/ranker/train_guard.py {' '.join(sys.argv[1:])}`",
             f"- {args.folds}-fold stratified cross-validation (a written pair in one fold); " + (f"a network with one hidden layer of {args.hidden} rectified units (L2 1e-3)" if args.hidden else f"multinomial logistic regression (C={args.C}, balanced classes)") + " over " + ("the 384-dimension e5 query embedding" if args.no_words else f"the TF-IDF of the question's words and word pairs without diacritics, beside the 384-dimension e5 query embedding times {scale}"),
             f"- synthetic lawful questions in training only: {len(augment_questions)} ({', '.join(args.augment)})" if args.augment else "- no synthetic questions",
             f"- questions: {dict(counts)}",
             f"- threshold: a question is declined when P(legal) < {threshold:.4f}, the largest value that declines at most {args.max_false_decline:.1%} of the {'lawful questions of ' + ', '.join(threshold_sets) if threshold_sets else 'answerable questions'} out of fold ({int(declined[chosen_on].sum())} of {int(chosen_on.sum())}; all answerable questions: {np.mean(declined[answerable]):.1%})",
             "", "| class | questions | declined by the guard (out of fold) |", "|---|---|---|"]
    for index, name in enumerate(CLASSES):
        mask = y == index
        if mask.any():
            lines.append(f"| {name} | {int(mask.sum())} | {np.mean(declined[mask]):.1%} |")
    lines += ["", "Answerable questions declined, per set (out of fold):", ""]
    for s in sorted(set(sets)):
        mask = (sets == s) & answerable
        if mask.any():
            lines.append(f"- {s}: {int(declined[mask].sum())} of {int(mask.sum())}")
    lines += ["", "Must-decline questions declined, per set (out of fold):", ""]
    for s in sorted(set(sets)):
        for index, name in enumerate(CLASSES[1:], start=1):
            mask = (sets == s) & (y == index)
            if mask.any():
                lines.append(f"- {s}, {name}: {int(declined[mask].sum())} of {int(mask.sum())} ({np.mean(declined[mask]):.1%})")
    misses = [questions[i] for i in range(len(y)) if y[i] != 0 and not declined[i]]
    lines += ["", f"Must-decline questions the guard lets through out of fold ({len(misses)}; the patterns of prompts/out_of_scope.toml may still catch them):", ""]
    lines += [f"- {q}" for q in misses[:40]]
    all_questions, all_X, all_y = with_augment(questions, X, y)
    features = Features(not args.no_words, scale).fit(all_questions, all_X)
    final = model().fit(features(all_questions, all_X), all_y)
    n_terms = len(features.vectorizer.vocabulary_) if not args.no_words else 0
    if args.hidden:
        # The words' first-layer weights (terms x hidden units, 1.1M numbers) are written as signed
        # bytes times one scale per hidden unit: 3.3 MB of model instead of 11. The rest is rounded
        # to 4 significant digits. The stored weights go back into the model, so the check rows
        # below hold what Rust must reproduce.
        words_layer = final.coefs_[0][:n_terms]
        term_scale = np.abs(words_layer).max(axis=0) / 127
        term_scale[term_scale == 0] = 1.0
        term_scale = np.asarray([float(f"{v:.6g}") for v in term_scale])
        quantized = np.clip(np.round(words_layer / term_scale), -127, 127).astype(np.int8)
        before = final.predict_proba(features(all_questions, all_X))
        final.coefs_[0] = np.vstack([quantized * term_scale, np.vectorize(lambda v: float(f"{v:.4g}"))(final.coefs_[0][n_terms:])])
        final.coefs_[1] = np.vectorize(lambda v: float(f"{v:.4g}"))(final.coefs_[1])
        final.intercepts_ = [np.asarray([float(f"{v:.4g}") for v in b]) for b in final.intercepts_]
        after = final.predict_proba(features(all_questions, all_X))
        lines += ["", f"Stored weights against the fitted ones, over the training questions: P(legal) moves by at most "
                      f"{np.abs(after[:, 0] - before[:, 0]).max():.4f}; "
                      f"{int(((after[:, 0] < threshold) != (before[:, 0] < threshold)).sum())} of {len(all_y)} decisions change."]
        # First layer: one row per hidden unit; output layer: one row per class.
        coef = final.coefs_[0].T
        bias = final.intercepts_[0]
        output_weights = np.zeros((len(CLASSES), args.hidden))
        output_bias = np.zeros(len(CLASSES))
        output_weights[final.classes_] = final.coefs_[1].T
        output_bias[final.classes_] = final.intercepts_[1]
    else:
        coef = np.zeros((len(CLASSES), final.coef_.shape[1]))
        bias = np.zeros(len(CLASSES))
        coef[final.classes_] = final.coef_
        bias[final.classes_] = final.intercept_
    # The --score-set questions, as the stored model sees them.
    score_probability = np.zeros((len(scored), len(CLASSES)))
    if scored:
        texts = np.asarray([q for _, _, q, _ in scored], dtype=object)
        vectors = np.asarray([v for _, _, _, v in scored], dtype=np.float64)
        score_probability[:, final.classes_] = final.predict_proba(features(texts, vectors))
        lines += ["", "Sets kept out of training, scored by the final model at the threshold above:", ""]
        held_declined = score_probability[:, 0] < threshold
        for s in sorted({s for s, _, _, _ in scored}):
            for name in CLASSES:
                mask = np.asarray([x == s and label == name for x, label, _, _ in scored])
                if mask.any():
                    lines.append(f"- {s}, {name}: {int(held_declined[mask].sum())} of {int(mask.sum())} declined")
    if args.save_probabilities:
        np.savez_compressed(args.save_probabilities, classes=np.asarray(CLASSES), oof=oof, y=y, sets=sets,
                            questions=questions, score_probability=score_probability,
                            score_sets=np.asarray([s for s, _, _, _ in scored]),
                            score_labels=np.asarray([label for _, label, _, _ in scored]),
                            score_questions=np.asarray([q for _, _, q, _ in scored], dtype=object))
    vocabulary = features.vectorizer.vocabulary_ if not args.no_words else {}
    # The embedding's weights absorb the scale, so Rust multiplies the raw embedding.
    weights = coef[:, n_terms:] * scale
    terms = {}
    for term, index in sorted(vocabulary.items()):
        terms[term] = [float(features.vectorizer.idf_[index])] + [float(w) for w in coef[:, index]]
    if not args.no_write:
        if args.hidden:
            # The embedding's weights with the scale in, rounded again after it.
            first_layer = {"weights": [[float(f"{v:.4g}") for v in row] for row in weights],
                           "bias": [float(v) for v in bias],
                           "term_scale": term_scale.tolist(),
                           "quantized_terms": {
                               term: {"idf": float(features.vectorizer.idf_[index]),
                                      "weights": quantized[index].tobytes().hex()}
                               for term, index in sorted(vocabulary.items())},
                           "output_weights": output_weights.tolist(),
                           "output_bias": output_bias.tolist()}
        else:
            first_layer = {"weights": weights.astype(np.float32).tolist(),
                           "bias": bias.astype(np.float32).tolist(),
                           "terms": {t: [round(v, 6) for v in row] for t, row in terms.items()}}
        MODEL_OUT.write_text(json.dumps({
            "format": 3 if args.hidden else 2,
            "trained": "eval/ranker/train_guard.py " + " ".join(sys.argv[1:]),
            "dimension": X.shape[1],
            "classes": CLASSES,
            **first_layer,
            "legal_below": float(threshold),
        }, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
        # Rows Rust must reproduce: each class, with and without diacritics, and words unseen.
        rng = np.random.default_rng(7)
        picks = [(int(i), questions[i]) for c in range(len(CLASSES))
                 for i in rng.choice(np.flatnonzero(y == c), 4, replace=False)]
        # and words it never saw, beside a known embedding
        picks.append((0, "Đây là câu hỏi chưa từng gặp: xyzzy qwerty 123 ĐẤT ĐAI?"))
        check = []
        for i, text in picks:
            probability = final.predict_proba(features(np.asarray([text], dtype=object), X[i:i + 1]))[0]
            full = np.zeros(len(CLASSES))
            full[final.classes_] = probability
            check.append({"question": text, "embedding": [float(v) for v in X[i].astype(np.float32)],
                          "probabilities": [float(p) for p in full]})
        CHECK_OUT.write_text(json.dumps(check, ensure_ascii=False) + "\n", encoding="utf-8")
    report = "\n".join(lines) + "\n"
    if args.report:
        Path(args.report).write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
