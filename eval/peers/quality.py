"""Scores the peer's rankings with Hỏi Luật's own gold and metrics, side by side.

Reads the JSON report of `hoiluat eval --mode hybrid` (which holds, per question, the gold article
ids resolved against the corpus and Hỏi Luật's ranking), asks the peer's `POST /v1/search` the same
questions, and computes Recall@1/5/10, MRR@10 and nDCG@10 exactly as src/eval/metrics.rs does, over
the same questions (those expected to be answered that have a gold article). Follow-up questions
are sent alone: the peer has no conversations.

  python quality.py --eval hoiluat-eval.json --url http://127.0.0.1:18090 --out quality.json
"""

from __future__ import annotations

import argparse
import json
import math
import urllib.request

DEPTH = 10


def rank_metrics(rows: list[tuple[list[str], list[str]]]) -> dict:
    """`rows` are (gold ids, ranked ids); the same definitions as RankMetrics::of."""
    totals = {"recall_at_1": 0.0, "recall_at_5": 0.0, "recall_at_10": 0.0, "mrr_at_10": 0.0, "ndcg_at_10": 0.0}
    for gold, ranked in rows:
        gold_set = set(gold)
        ranked = ranked[:DEPTH]

        def found_within(k: int) -> float:
            return sum(1 for i in ranked[:k] if i in gold_set) / len(gold_set)

        totals["recall_at_1"] += found_within(1)
        totals["recall_at_5"] += found_within(5)
        totals["recall_at_10"] += found_within(DEPTH)
        first = next((p for p, i in enumerate(ranked) if i in gold_set), None)
        if first is not None:
            totals["mrr_at_10"] += 1.0 / (first + 1)
        dcg = sum(1.0 / math.log2(p + 2) for p, i in enumerate(ranked) if i in gold_set)
        ideal = sum(1.0 / math.log2(p + 2) for p in range(min(len(gold_set), DEPTH)))
        totals["ndcg_at_10"] += dcg / ideal if ideal > 0 else 0.0
    n = len(rows)
    return {"questions": n, **{k: (v / n if n else 0.0) for k, v in totals.items()}}


def search(url: str, question: str) -> list[str]:
    request = urllib.request.Request(
        f"{url}/v1/search",
        data=json.dumps({"question": question, "limit": DEPTH}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["articles"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--eval", required=True, help="JSON report of `hoiluat eval --mode hybrid`")
    parser.add_argument("--url", required=True, help="the peer's base URL")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    report = json.load(open(args.eval, encoding="utf-8"))
    sets = []
    for question_set in report["sets"]:
        ours, peer = [], []
        must_decline = declined = 0
        for result in question_set["results"]:
            if result["expect"] != "answer":
                must_decline += 1
                declined += bool(result["declined"])
            if result["expect"] != "answer" or not result["gold"]:
                continue
            ours.append((result["gold"], result["ranked"]["hybrid"]))
            peer.append((result["gold"], search(args.url, result["question"])))
        sets.append({
            "name": question_set["name"],
            "hoiluat": rank_metrics(ours),
            "peer": rank_metrics(peer),
            # The peer has no out-of-scope guard or confidence threshold: it declines nothing.
            "must_decline": must_decline,
            "hoiluat_declined": declined,
            "peer_declined": 0,
        })
    json.dump({"sets": sets}, open(args.out, "w", encoding="utf-8"), ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
