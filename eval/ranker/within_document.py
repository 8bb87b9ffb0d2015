"""Experiment (issue 12): most misses put a neighbouring article of the right document first.
The trees see each candidate's own features and a few pool-level ones, but cannot compare an
article with the other articles of its own document in the pool. This adds, for a few signals,
the candidate's value minus the best value among the pool's articles of the same document, and its
rank within that document, then cross-validates the ranker exactly as train.py does (model not
written). Round 6 (eval/README.md): with pools of 50 articles it put gold first for 1-7 more of 676
questions over four fold splits, but a build with it did no better on the held-out sets and cost
about 0.9 ms more per question, so it was not shipped.

Usage: eval/ranker/.venv/bin/python eval/ranker/within_document.py --dump data/ranker/pools.jsonl \\
           --report eval/reports/NAME-within-document.md [train.py options]
"""
import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIGNALS = ["dense_cosine", "coverage", "heading_match", "heading_coverage", "confidence", "fused_score"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump", required=True)
    parser.add_argument("--report", required=True)
    args, rest = parser.parse_known_args()
    sys.path.insert(0, str(ROOT / "eval/ranker"))
    import train as trainer

    names = trainer.feature_names()
    index = [names.index(s) for s in SIGNALS]
    augmented = Path(args.dump).with_suffix(".within.jsonl")
    with open(args.dump) as f, open(augmented, "w") as out:
        for line in f:
            row = json.loads(line)
            by_document = defaultdict(list)
            for c in row["candidates"]:
                by_document[c["article_id"].split(".dieu-")[0]].append(c)
            for c in row["candidates"]:
                siblings = by_document[c["article_id"].split(".dieu-")[0]]
                extra = []
                for i in index:
                    best = max(s["features"][i] for s in siblings)
                    extra.append(c["features"][i] - best)
                    extra.append(float(sum(1 for s in siblings if s["features"][i] > c["features"][i])))
                c["features"] = c["features"] + extra
            out.write(json.dumps(row) + "\n")
    extra_names = [f"{s}_{kind}_in_document" for s in SIGNALS for kind in ("gap", "rank")]
    trainer.feature_names = lambda: names + extra_names
    sys.argv = ["train.py", "--dump", str(augmented), "--no-write", "--report", args.report] + rest
    trainer.main()


if __name__ == "__main__":
    main()
