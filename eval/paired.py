#!/usr/bin/env python3
"""Compares two builds question by question on one set of their `hoiluat eval` JSON reports.

The report's summary says how many first quotes were gold for each build. It does not say whether
a difference of a few questions is more than chance. The questions where exactly one build quotes
a gold article first decide that. Under "no difference" each of them is a coin toss, so the
exact one-sided sign test gives the chance of so many wins or more.

Prints counts only, never which questions failed, so that a held-out set can decide without being
read (eval/README.md, round 15).

With --refusals it also pairs the refusals (round 17): lawful questions declined as unlawful, not
law or a prediction (by the guard or a pattern of prompts/out_of_scope.toml), with the sign test
for the candidate refusing fewer; the must-decline items declined by one build only, with the sign
test for the candidate declining more; both kinds of error together (round 17, third decision); and
the must-decline items answered without a review flag.

Usage: python3 eval/paired.py BASE.json CANDIDATE.json [--set NAME] [--refusals [--pool-set NAME ...]]   (stdlib only)
"""
import argparse
import json
import math
import sys


def first_quote_gold(result):
    """As src/eval/metrics.rs counts it: the first quoted article is a gold one."""
    return bool(result["quoted"]) and result["quoted"][0] in result["gold"]


def outcomes(report_path, set_name):
    """(set name, its summary, its results by question id)."""
    with open(report_path, encoding="utf-8") as f:
        report = json.load(f)
    for entry in report["sets"]:
        if set_name is None or entry["name"] == set_name:
            return entry["name"], entry["summary"], {r["id"]: r for r in entry["results"]}
    sys.exit(f"{report_path}: no set named {set_name!r}")


# The decline categories that refuse a request (prompts/out_of_scope.toml): the guard's three
# classes and the patterns that share their meaning. The others (căn cước, land prices, local fees,
# a criminal case in progress, only superseded text) are referrals, not refusals.
REFUSALS = {"yeu_cau_trai_phap_luat", "ngoai_pham_vi", "du_doan_ket_qua", "lam_gia", "lach_luat",
            "thoi_tiet", "y_te"}


def refused(result):
    return result["declined"] and result["decline_category"] in REFUSALS


def sign_test(wins, losses):
    """P(at least `wins` of wins + losses fair coin tosses come up heads)."""
    n = wins + losses
    if n == 0:
        return 1.0
    return sum(math.comb(n, k) for k in range(wins, n + 1)) / 2 ** n


def counts(summary):
    """The report's own totals (src/eval/metrics.rs counts them), in the order printed."""
    answerable, excluded, must = summary["answerable"], summary["gold_excluded"], summary["must_decline"]
    return {
        "answerable": answerable["questions"],
        "first quote gold": answerable["first_quote_gold"],
        "some quote gold": answerable["any_quote_gold"],
        "answerable declined": answerable["declined"],
        "gold excluded, answered unflagged": excluded["answered_unflagged"],
        "gold excluded, asked": excluded["questions"],
        "must-decline": must["questions"],
        "must-decline declined": must["declined"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base")
    parser.add_argument("candidate")
    parser.add_argument("--set", help="the set's name in the reports (default: the first)")
    parser.add_argument("--pool-set", action="append", default=[], metavar="SET",
                        help="with --refusals: count the refusals and errors over this set too (round 17)")
    parser.add_argument("--refusals", action="store_true",
                        help="pair the lawful questions refused, and count must-decline items answered unflagged")
    args = parser.parse_args()
    name, base_summary, base = outcomes(args.base, args.set)
    _, candidate_summary, candidate = outcomes(args.candidate, name)
    if base.keys() != candidate.keys():
        sys.exit("the two reports did not ask the same questions")
    wins = losses = 0
    for key, b in base.items():
        if b["expect"] != "answer" or b["gold_missing"]:
            continue
        before, after = first_quote_gold(b), first_quote_gold(candidate[key])
        wins += after and not before
        losses += before and not after
    base_counts, candidate_counts = counts(base_summary), counts(candidate_summary)
    print(f"set {name}: {args.base} -> {args.candidate}\n")
    print("| | base | candidate |\n|---|---|---|")
    for label in base_counts:
        print(f"| {label} | {base_counts[label]} | {candidate_counts[label]} |")
    print(f"\nfirst quote gold in one build only: candidate {wins}, base {losses}; "
          f"one-sided sign test p = {sign_test(wins, losses):.3f}")
    if args.refusals:
        for pooled in args.pool_set:
            _, _, more_base = outcomes(args.base, pooled)
            _, _, more_candidate = outcomes(args.candidate, pooled)
            if more_base.keys() != more_candidate.keys():
                sys.exit("the two reports did not ask the same questions")
            base.update({(pooled, k): v for k, v in more_base.items()})
            candidate.update({(pooled, k): v for k, v in more_candidate.items()})
            print(f"\npooled with set {pooled} for the counts below")
        lawful = [k for k, b in base.items() if b["expect"] == "answer"]
        fewer = sum(refused(base[k]) and not refused(candidate[k]) for k in lawful)
        more = sum(refused(candidate[k]) and not refused(base[k]) for k in lawful)
        must = [k for k, b in base.items() if b["expect"] == "decline"]

        def unflagged(r):
            return not r["declined"] and not r["needs_review"]

        print(f"\nlawful questions refused (unlawful, not law, prediction): base "
              f"{sum(refused(base[k]) for k in lawful)}, candidate {sum(refused(candidate[k]) for k in lawful)} "
              f"of {len(lawful)}; refused by the base only {fewer}, by the candidate only {more}; "
              f"one-sided sign test p = {sign_test(fewer, more):.3f}")
        caught = sum(candidate[k]["declined"] and not base[k]["declined"] for k in must)
        missed = sum(base[k]["declined"] and not candidate[k]["declined"] for k in must)
        print(f"must-decline items declined by one build only: candidate {caught}, base {missed}; "
              f"one-sided sign test p = {sign_test(caught, missed):.3f}")
        def wrong(r):
            """A lawful question refused, or a must-decline item not declined."""
            return refused(r) if r["expect"] == "answer" else not r["declined"]

        both = lawful + must
        base_only = sum(wrong(base[k]) and not wrong(candidate[k]) for k in both)
        candidate_only = sum(wrong(candidate[k]) and not wrong(base[k]) for k in both)
        print(f"errors of either kind: base {sum(wrong(base[k]) for k in both)}, candidate "
              f"{sum(wrong(candidate[k]) for k in both)} of {len(both)}; by the base only {base_only}, by the "
              f"candidate only {candidate_only}; one-sided sign test p = {sign_test(base_only, candidate_only):.4f}")
        print(f"must-decline items answered without a review flag: base "
              f"{sum(unflagged(base[k]) for k in must)}, candidate {sum(unflagged(candidate[k]) for k in must)} "
              f"of {len(must)}")


if __name__ == "__main__":
    main()
