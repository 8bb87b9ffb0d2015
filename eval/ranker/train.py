#!/usr/bin/env python3
"""Trains the ranking stage and the calibrated answer probability of Hỏi Luật, and reports their
cross-validated quality.

Input: the candidate pools `hoiluat eval --exclude-gold --dump-features FILE` writes (one JSON line
per question and variant: the question's 30 candidate articles with the features of
src/answer/features.rs and whether each is gold; the `excluded` variant is the same question asked
without its gold documents in the index, whose right outcome is a decline or a review flag).

1. Ranking: LightGBM lambdarank on the questions whose pool holds a gold article. Every number
   reported comes from k-fold cross-validation over questions (GroupKFold: a question and its
   excluded variant are always in the same fold), never from the questions a model trained on.
2. Answer probability: a logistic regression of "the top-ranked article is gold" on statistics of
   the ranked pool (src/answer/ranker.rs CALIBRATION_INPUTS), fitted on the out-of-fold scores,
   so that it learns how sure a ranking of an unseen question is. Excluded variants and
   must-decline questions are its negatives.
3. The final ranker is trained on every question; the model and calibration are written to
   src/answer/ranker_model.json (compiled into the service), and sample rows with the library's
   own predictions to src/answer/ranker_check.json (a Rust test checks the evaluation matches).

Usage (after eval/ranker/setup.sh):
  eval/ranker/.venv/bin/python eval/ranker/train.py --dump data/ranker/pools.jsonl \
      [--target zalo-phapdien/dev] [--folds 5] [--report eval/reports/NAME-ranker.md]
"""
import argparse
import json
import math
import random
import sys
from collections import defaultdict
from pathlib import Path

import lightgbm as lgb
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parents[2]
FEATURES_RS = ROOT / "src/answer/features.rs"
MODEL_OUT = ROOT / "src/answer/ranker_model.json"
CHECK_OUT = ROOT / "src/answer/ranker_check.json"
CALIBRATION_INPUTS = [
    "top_score", "score_gap", "top_dense_cosine", "top_trusted_coverage", "top_heading_match",
    "top_confidence", "top_title_coverage", "question_syllables", "question_has_diacritics",
    "top_plain_score", "top_toned_score", "top_heading_coverage", "top_document_in_pool",
    "third_gap",
]
# Synthetic questions (article headings) teach the ranker the vocabulary of the whole compendium,
# but they are not how people ask: they count for less.
SET_WEIGHTS = {"ranker/synthetic": 0.3}
# Questions written from an article's text to teach the ranker how citizens word what it answers
# (eval/questions/train-written.jsonl): they train the ranking. The calibration leaves them out
# unless --calibrate-on-written: they are not what people really ask, but without them it is
# fitted mostly on Zalo's short, law-worded questions and declines narrative ones three to four
# times as often (eval/README.md, round 15).
WRITTEN_SETS = {"questions/train-written"}
PARAMS = dict(
    objective="lambdarank",
    n_estimators=400,
    learning_rate=0.05,
    num_leaves=31,
    min_child_samples=20,
    subsample=0.8,
    subsample_freq=1,
    colsample_bytree=0.8,
    lambdarank_truncation_level=10,
    verbose=-1,
    random_state=7,
    n_jobs=2,
)
# Rankers averaged, each with its own row and column sampling (--seeds).
SEEDS = 1


def feature_names():
    text = FEATURES_RS.read_text(encoding="utf-8")
    block = text.split("pub const FEATURE_NAMES")[1].split("];")[0]
    import re
    return re.findall(r'"([a-z_]+)"', block)


def load(paths):
    rows = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                row["key"] = f'{row["set"]}::{row["id"]}'
                rows.append(row)
    return rows


def metrics(orders):
    """orders: list of label lists in ranked order (whole pool); gold missing from a pool counts as
    a miss. Returns R@1, R@10, MRR@10 over questions."""
    n = len(orders)
    if n == 0:
        return {"questions": 0}
    r1 = sum(1 for labels in orders if labels[:1] == [1]) / n
    r10 = sum(1 for labels in orders if 1 in labels[:10]) / n
    mrr = sum(1 / (labels.index(1) + 1) for labels in orders if 1 in labels[:10]) / n
    return {"questions": n, "recall_at_1": r1, "recall_at_10": r10, "mrr_at_10": mrr}


def wilson(share, n, z=1.959963984540054):
    """95% Wilson score interval of a share measured on n questions (as in `hoiluat eval`'s report):
    a difference inside it is a question or two on sets this small, not a gain."""
    if n == 0:
        return (0.0, 1.0)
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def write_report(lines, path):
    """Prints a Markdown report, and writes it to `path` when one is given."""
    report = "\n".join(lines) + "\n"
    if path:
        Path(path).write_text(report, encoding="utf-8")
    print(report)


def calibration_inputs(scores, features, names):
    order = np.argsort(-scores, kind="stable")
    top = order[0]
    second = scores[order[1]] if len(order) > 1 else scores[top] - 1.0
    third = scores[order[2]] if len(order) > 2 else second - 1.0
    f = lambda name: float(features[top][names.index(name)])
    return [float(scores[top]), float(scores[top] - second), f("dense_cosine"), f("trusted_coverage"),
            f("heading_match"), f("confidence"), f("title_coverage"), f("question_syllables"),
            f("question_has_diacritics"), f("plain_score"), f("toned_score"), f("heading_coverage"),
            f("document_articles_in_pool"), float(scores[top] - third)], order


def fit_ranker(rows, names):
    X, y, group, weight = [], [], [], []
    for row in rows:
        labels = [c["label"] for c in row["candidates"]]
        if row["excluded"] or row["expect"] != "answer" or 1 not in labels:
            continue
        X.extend(c["features"] for c in row["candidates"])
        y.extend(labels)
        group.append(len(labels))
        weight.extend([SET_WEIGHTS.get(row["set"], 1.0)] * len(labels))
    X, y, weight = np.asarray(X, dtype=np.float32), np.asarray(y), np.asarray(weight)
    models = []
    for seed in range(SEEDS):
        model = lgb.LGBMRanker(**dict(PARAMS, random_state=PARAMS["random_state"] + seed))
        model.fit(X, y, group=group, sample_weight=weight, feature_name=names)
        models.append(model)
    return models


def predict(models, row):
    """The mean score of the models (one unless --seeds): what the service computes from their
    trees concatenated with each leaf divided by the number of models."""
    if not row["candidates"]:
        return np.zeros(0)
    X = np.asarray([c["features"] for c in row["candidates"]], dtype=np.float32)
    return np.mean([model.predict(X) for model in models], axis=0)


def export_trees(booster, names):
    dump = booster.dump_model()
    trees = []
    for info in dump["tree_info"]:
        feature, threshold, default_left, left, right, leaf = [], [], [], [], [], []

        def walk(node):
            if "split_index" not in node:
                leaf.append(node["leaf_value"])
                return ~(len(leaf) - 1)
            if node.get("decision_type", "<=") != "<=":
                raise SystemExit(f"unsupported decision type {node['decision_type']}")
            index = len(feature)
            feature.append(node["split_feature"])
            threshold.append(node["threshold"])
            default_left.append(bool(node["default_left"]))
            left.append(0)
            right.append(0)
            left[index] = walk(node["left_child"])
            right[index] = walk(node["right_child"])
            return index

        root = info["tree_structure"]
        if "split_index" not in root:
            leaf.append(root["leaf_value"])
        else:
            walk(root)
        trees.append({"feature": feature, "threshold": threshold, "default_left": default_left,
                      "left": left, "right": right, "leaf": leaf})
    return trees


def export_ensemble(models, names):
    """The trees of every model, each leaf divided by the number of models: their sum is the mean
    score `predict` computes."""
    trees = []
    for model in models:
        for tree in export_trees(model.booster_, names):
            tree["leaf"] = [value / len(models) for value in tree["leaf"]]
            trees.append(tree)
    return trees


def main():
    global SEEDS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump", action="append", required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--split-seed", type=int, default=11,
                        help="seed of the assignment of questions to folds (to see how much a comparison moves with it)")
    parser.add_argument("--target", action="append", default=[],
                        help="sets reported in detail (all sets are reported in the summary)")
    parser.add_argument("--report", help="write the cross-validated report (Markdown) here")
    parser.add_argument("--no-write", action="store_true", help="report only; keep the shipped model")
    parser.add_argument("--synthetic-weight", type=float, default=SET_WEIGHTS["ranker/synthetic"],
                        help="weight of the synthetic heading questions in the ranker's training")
    parser.add_argument("--set-weight", action="append", default=[], metavar="SET=WEIGHT",
                        help="weight of a set's questions in the ranker's training (default 1)")
    parser.add_argument("--extra-feature", action="append", default=[], metavar="NAME",
                        help="a feature an experiment appended to each candidate of the dump (implies --no-write)")
    parser.add_argument("--leaves", type=int, default=PARAMS["num_leaves"])
    parser.add_argument("--trees", type=int, default=PARAMS["n_estimators"])
    parser.add_argument("--calibration-only", action="store_true",
                        help="keep the shipped trees; write only the refitted answer probability")
    parser.add_argument("--calibrate-on-written", action="store_true",
                        help="fit the answer probability on the written training questions too (round 15)")
    parser.add_argument("--written-set", action="append", default=[], metavar="SET",
                        help="treat this set like train-written: it trains the ranking, not the calibration")
    parser.add_argument("--decline-below", type=float, default=0.05,
                        help="the service's retrieval.decline_below, for the first-quote table of the report")
    parser.add_argument("--seeds", type=int, default=SEEDS,
                        help="average this many rankers that differ only in their sampling seed")
    args = parser.parse_args()
    SET_WEIGHTS["ranker/synthetic"] = args.synthetic_weight
    for pair in args.set_weight:
        name, _, value = pair.partition("=")
        SET_WEIGHTS[name] = float(value)
    PARAMS["num_leaves"] = args.leaves
    PARAMS["n_estimators"] = args.trees
    SEEDS = args.seeds
    WRITTEN_SETS.update(args.written_set)

    names = feature_names() + args.extra_feature
    if args.extra_feature:
        args.no_write = True   # the service computes only the features of features.rs
    rows = load(args.dump)
    for row in rows:
        for candidate in row["candidates"]:
            if len(candidate["features"]) != len(names):
                sys.exit(f"{row['key']}: {len(candidate['features'])} features, expected {len(names)}: re-dump")
    keys = sorted({row["key"] for row in rows})
    rng = random.Random(args.split_seed)
    rng.shuffle(keys)
    fold_of = {key: i % args.folds for i, key in enumerate(keys)}

    # ---- 1. out-of-fold ranking scores
    oof = {}
    for fold in range(args.folds):
        train = [r for r in rows if fold_of[r["key"]] != fold]
        model = fit_ranker(train, names)
        for row in rows:
            if fold_of[row["key"]] == fold:
                oof[(row["key"], row["excluded"])] = predict(model, row)
        print(f"fold {fold + 1}/{args.folds} trained on {sum(1 for r in train if not r['excluded'])} questions", file=sys.stderr)

    # ---- 2. ranking metrics per set: the ranker's out-of-fold order against the fused order and
    # the hand-mixed confidence order (today's hybrid) on the same pools.
    confidence_i, heading_i, fused_i = names.index("confidence"), names.index("heading_match"), names.index("fused_rank")
    by_set = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row["excluded"] or row["expect"] != "answer" or not row["gold"]:
            continue
        labels = np.asarray([c["label"] for c in row["candidates"]])
        feats = np.asarray([c["features"] for c in row["candidates"]], dtype=np.float32) if row["candidates"] else np.zeros((0, len(names)))
        scores = oof[(row["key"], False)]
        orders = {
            "ranker (cross-validated)": np.argsort(-scores, kind="stable"),
            "hybrid (confidence + heading)": np.argsort(-(feats[:, confidence_i] + 0.1 * feats[:, heading_i]), kind="stable") if len(feats) else [],
            "fused (RRF)": np.argsort(feats[:, fused_i], kind="stable") if len(feats) else [],
        }
        for name, order in orders.items():
            by_set[row["set"]][name].append([int(labels[i]) for i in order])
    ranking = {s: {name: metrics(orders) for name, orders in per.items()} for s, per in by_set.items()}

    # ---- 3. calibration on out-of-fold scores
    cal_X, cal_y, cal_group, cal_set, cal_kind = [], [], [], [], []
    for row in rows:
        # Fitted on real questions (and the written ones with --calibrate-on-written), never on
        # synthetic headings: they are easier than what people type, and a calibration learned on
        # them is surer than the service is.
        if not row["candidates"] or row["set"].startswith("ranker/"):
            continue
        if row["set"] in WRITTEN_SETS and not args.calibrate_on_written:
            continue
        scores = oof[(row["key"], row["excluded"])]
        feats = [c["features"] for c in row["candidates"]]
        inputs, order = calibration_inputs(scores, feats, names)
        top_is_gold = row["candidates"][order[0]]["label"] == 1 and not row["excluded"] and row["expect"] == "answer"
        cal_X.append(inputs)
        cal_y.append(int(top_is_gold))
        cal_group.append(row["key"])
        cal_set.append(row["set"])
        cal_kind.append("excluded" if row["excluded"] else ("decline" if row["expect"] != "answer" else "answer"))
    cal_X = np.asarray(cal_X)
    cal_y = np.asarray(cal_y)
    mean, scale = cal_X.mean(axis=0), cal_X.std(axis=0)
    scale[scale == 0] = 1.0
    Z = (cal_X - mean) / scale
    probabilities = np.zeros(len(cal_y))
    for train_i, test_i in GroupKFold(n_splits=args.folds).split(Z, cal_y, cal_group):
        model = LogisticRegression(C=1.0, max_iter=1000).fit(Z[train_i], cal_y[train_i])
        probabilities[test_i] = model.predict_proba(Z[test_i])[:, 1]
    calibrator = LogisticRegression(C=1.0, max_iter=1000).fit(Z, cal_y)
    brier = float(np.mean((probabilities - cal_y) ** 2))

    def share(mask, condition):
        mask = np.asarray(mask)
        return float(np.mean(condition[mask])) if mask.any() else float("nan")

    kinds = np.asarray(cal_kind)
    sweep = []
    for t in [0.02, 0.03, 0.04] + [round(0.05 * i, 2) for i in range(1, 20)]:
        sweep.append((t,
                      share(kinds == "answer", probabilities < t),           # answerable declined at t
                      share(kinds == "excluded", probabilities >= t),        # excluded answered at t
                      share(kinds == "answer", (probabilities >= t) & (cal_y == 1)),  # right and confident
                      share(kinds == "decline", probabilities >= t)))                 # must-decline above t

    def probability(scores, features):
        """The shipped calibration's answer probability for a pool scored by the ranker."""
        inputs, _ = calibration_inputs(np.asarray(scores), features, names)
        z = (np.asarray(inputs) - mean) / scale
        return float(calibrator.predict_proba(z.reshape(1, -1))[0, 1])

    # What a citizen sees, per set: the first quote is gold only if the top article is gold and the
    # answer probability clears decline_below. Probabilities are out of fold where the set is
    # calibration data; elsewhere (written sets) the final calibration is applied to the
    # out-of-fold ranker scores (marked in the report).
    cal_probability = {key: p for key, kind, p in zip(cal_group, cal_kind, probabilities) if kind == "answer"}
    calibrated_sets = set(cal_set)
    first_quote = defaultdict(lambda: [0, 0, 0])   # answerable, first quote gold, declined
    for row in rows:
        if row["excluded"] or row["expect"] != "answer" or row["set"].startswith("ranker/") or not row["candidates"]:
            continue
        scores = oof[(row["key"], False)]
        p = cal_probability.get(row["key"])
        if p is None:
            p = probability(scores, [c["features"] for c in row["candidates"]])
        top = int(np.argmax(scores))
        counts = first_quote[row["set"]]
        counts[0] += 1
        counts[1] += int(p >= args.decline_below and row["candidates"][top]["label"] == 1)
        counts[2] += int(p < args.decline_below)

    # ---- 4. the shipped model
    calibration = {
        "inputs": CALIBRATION_INPUTS,
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "weights": calibrator.coef_[0].tolist(),
        "bias": float(calibrator.intercept_[0]),
    }

    final = None
    if args.calibration_only:
        # The shipped trees stay; the calibration, fitted on this run's out-of-fold scores as
        # always, replaces theirs, and the check rows' probabilities are recomputed with it.
        model_json = json.loads(MODEL_OUT.read_text(encoding="utf-8"))
        if model_json["features"] != names:
            sys.exit("the shipped model has other features than this dump: retrain it whole")
        model_json["calibration"] = calibration
        model_json["trained"] += "; calibration: eval/ranker/train.py " + " ".join(sys.argv[1:])
        check = json.loads(CHECK_OUT.read_text(encoding="utf-8"))
        for row in check:
            row["probability"] = probability(row["scores"], row["features"])
    else:
        final = fit_ranker(rows, names)
        model_json = {
            "format": 1,
            "trained": "eval/ranker/train.py " + " ".join(sys.argv[1:]),
            "features": names,
            "trees": export_ensemble(final, names),
            "calibration": calibration,
        }
        # Rows whose predictions the Rust evaluation must reproduce.
        sample = [row for row in rows if row["candidates"]][:40]
        check = []
        for row in sample:
            scores = predict(final, row)
            features = [c["features"] for c in row["candidates"]]
            check.append({"features": features,
                          "scores": [float(s) for s in scores],
                          "probability": probability(scores, features)})
    if not args.no_write:
        MODEL_OUT.write_text(json.dumps(model_json, separators=(",", ":")) + "\n", encoding="utf-8")
        CHECK_OUT.write_text(json.dumps(check, separators=(",", ":")) + "\n", encoding="utf-8")

    # ---- 5. report
    lines = ["# Ranker: cross-validated quality", "",
             f"- command: `eval/ranker/.venv/bin/python eval/ranker/train.py {' '.join(sys.argv[1:])}`",
             f"- {args.folds}-fold cross-validation over questions ({len(keys)} questions and variants); LightGBM {lgb.__version__} lambdarank, {PARAMS['n_estimators']} trees of {PARAMS['num_leaves']} leaves" + (f", the mean of {SEEDS} rankers with different sampling seeds" if SEEDS > 1 else ""),
             f"- the pools are the {len(rows[0]['candidates']) if rows else 0} best articles after fusion: a gold article outside the pool is a miss for every order",
             "", "## Ranking (out-of-fold: no question ranked by a model that trained on it)", "",
             "| set | order | questions | R@1 | R@10 | MRR@10 | R@1, 95% interval |", "|---|---|---|---|---|---|---|"]
    for s in sorted(ranking):
        for name, m in ranking[s].items():
            if m["questions"]:
                low, high = wilson(m["recall_at_1"], m["questions"])
                lines.append(f"| {s} | {name} | {m['questions']} | {m['recall_at_1']:.3f} | {m['recall_at_10']:.3f} | {m['mrr_at_10']:.3f} | {low:.2f}-{high:.2f} |")
    lines += ["", "## Answer probability (out-of-fold)", "",
              f"Brier score {brier:.4f} over {len(cal_y)} pools ({int((kinds == 'answer').sum())} answerable, {int((kinds == 'excluded').sum())} asked without their gold documents, {int((kinds == 'decline').sum())} must-decline).", "",
              f"Thresholds ({int((kinds == 'answer').sum())} answerable, {int((kinds == 'excluded').sum())} without their gold; the synthetic headings are not calibration data):", "",
              "| threshold | answerable below it | asked without gold at or above it | answerable, right and at or above it | must-decline at or above it |",
              "|---|---|---|---|---|"]
    for t, declined, answered, right, must in sweep:
        lines.append(f"| {t:.2f} | {declined:.1%} | {answered:.1%} | {right:.1%} | {must:.1%} |")
    lines += ["", f"## First quote gold per set (out of fold; answer probability at least {args.decline_below})", "",
              "Questions whose pool lacks a gold article count as misses; * marks sets outside the calibration data,",
              "whose probabilities come from the final calibration applied to out-of-fold ranker scores.", "",
              "| set | answerable with candidates | first quote gold | declined |", "|---|---|---|---|"]
    for s in sorted(first_quote):
        n, gold, declined = first_quote[s]
        mark = "" if s in calibrated_sets else " *"
        lines.append(f"| {s}{mark} | {n} | {gold / n:.1%} ({gold}) | {declined / n:.1%} |")
    if final is not None:
        lines += ["", "Feature importance of the shipped model (total gain, top 15):", ""]
        gains = np.sum([model.booster_.feature_importance(importance_type="gain") for model in final], axis=0)
        for i in np.argsort(-gains)[:15]:
            lines.append(f"- {names[i]}: {gains[i]:.0f}")
    write_report(lines, args.report)


if __name__ == "__main__":
    main()
