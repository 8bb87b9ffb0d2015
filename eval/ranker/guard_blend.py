#!/usr/bin/env python3
"""Averages guards offline (round 19, eval/README.md): reads the probabilities that
`train_guard.py --save-probabilities` wrote for several guards trained on the same questions and
folds, averages their class probabilities with the given weights, sets the threshold on P(legal) by
train_guard.py's rule (the largest that declines at most --max-false-decline of the lawful
questions of the --threshold-set sets, out of fold), and reports what the average declines out of
fold and on the --score-set sets those runs kept out of training.

Usage: eval/ranker/.venv/bin/python eval/ranker/guard_blend.py L.npz:0.5 N.npz:0.5 \
           --threshold-set questions/fresh-test-8 ... [--max-false-decline 0.02]
"""
import argparse
import sys

import numpy as np

from train_guard import threshold_for


def load(spec):
    path, _, weight = spec.partition(":")
    return np.load(path, allow_pickle=True), float(weight or 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", metavar="FILE.npz[:WEIGHT]")
    parser.add_argument("--threshold-set", action="append", required=True, metavar="SET")
    parser.add_argument("--max-false-decline", type=float, default=0.02)
    args = parser.parse_args()
    runs = [load(spec) for spec in args.runs]
    first = runs[0][0]
    for run, _ in runs[1:]:
        # Averaging is only meaningful over the same questions, in the same folds.
        if not (np.array_equal(run["y"], first["y"]) and np.array_equal(run["questions"], first["questions"])
                and np.array_equal(run["score_questions"], first["score_questions"])):
            sys.exit("the runs were not trained on the same questions")
    total = sum(w for _, w in runs)
    oof = sum(run["oof"] * w for run, w in runs) / total
    scored = sum(run["score_probability"] * w for run, w in runs) / total
    classes, y, sets = list(first["classes"]), first["y"], first["sets"]
    legal = oof[:, 0]
    chosen_on = (y == 0) & np.isin(sets, args.threshold_set)
    threshold = threshold_for(legal[chosen_on], args.max_false_decline)
    declined = legal < threshold
    print(f"runs: {' '.join(args.runs)}")
    print(f"threshold: P(legal) < {threshold:.4f}; threshold sets' lawful questions declined out of fold: "
          f"{int(declined[chosen_on].sum())} of {int(chosen_on.sum())}; all lawful: {np.mean(declined[y == 0]):.1%}")
    for index, name in enumerate(classes):
        mask = y == index
        print(f"  out of fold, {name}: {int(declined[mask].sum())} of {int(mask.sum())} declined")
    held = scored[:, 0] < threshold
    for s in sorted(set(first["score_sets"])):
        for name in classes:
            mask = (first["score_sets"] == s) & (first["score_labels"] == name)
            if mask.any():
                print(f"  held out, {s}, {name}: {int(held[mask].sum())} of {int(mask.sum())} declined")


if __name__ == "__main__":
    main()
