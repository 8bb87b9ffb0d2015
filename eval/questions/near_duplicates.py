#!/usr/bin/env python3
"""Assembles a new held-out question set from writers' parts, dropping near-duplicates first.

An item is dropped when the word-pair Jaccard similarity of its question (lower case, diacritics
folded, đ -> d) to a question of any committed set, or to an item of the new set already kept, is
at least --threshold (0.5 in rounds 15-19). A held-out set must not hold, in other words, a
question some build was tuned or trained on: the writers are the same model as earlier sets'
writers, and some of their questions came back word for word (eval/questions/README.md).

Compared against: eval/questions/*.jsonl, eval/*.jsonl and, where it exists, the Zalo dev set of
../shared/data. The new set itself must not be under eval/questions yet, or it would be compared
with itself. Prints one line per drop (for the set's section of eval/questions/README.md) and the
counts kept.

Usage: python3 eval/questions/near_duplicates.py OUT.jsonl PART.jsonl [PART.jsonl ...] [--threshold 0.5]
(stdlib only)
"""
import argparse
import json
import re
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def fold(text):
    """make_synthetic.strip_diacritics, lower-cased. Not imported from there: that script reads its
    corpus, output and count from sys.argv when imported."""
    text = unicodedata.normalize("NFC", text).lower().replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def pairs(question):
    """The question's word pairs; a one-word question is its word."""
    words = re.findall(r"\w+", fold(question))
    return {(a, b) for a, b in zip(words, words[1:])} or {(w,) for w in words}


def questions_of(path):
    """(id, question) of a JSONL set, or of a JSON list (the ALQAC format)."""
    if path.suffix == ".json":
        return [(d.get("question_id", d.get("id", "?")), d.get("text", d.get("question", "")))
                for d in json.loads(path.read_text(encoding="utf-8"))]
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            rows.append((d.get("id", d.get("question_id", "?")), d.get("question", d.get("text", ""))))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("parts", nargs="+")
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    out = Path(args.out).resolve()
    sources = sorted((ROOT / "eval/questions").glob("*.jsonl")) + sorted((ROOT / "eval").glob("*.jsonl"))
    zalo = ROOT.parent / "shared/data/zalo-phapdien/dev.jsonl"
    if zalo.exists():
        sources.append(zalo)
    existing = [(path.stem, qid, pairs(q)) for path in sources if path.resolve() != out
                for qid, q in questions_of(path)]
    kept, dropped = [], []
    for part in args.parts:
        for line in Path(part).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            mine = pairs(item["question"])
            best = None
            for name, qid, theirs in existing + [("this set", k["id"], pairs(k["question"])) for k in kept]:
                similarity = len(mine & theirs) / max(1, len(mine | theirs))
                if similarity >= args.threshold and (best is None or similarity > best[0]):
                    best = (similarity, name, qid)
            if best:
                dropped.append((item["id"], item["expect"], best))
            else:
                kept.append(item)
    for qid, expect, (similarity, name, other) in dropped:
        print(f"drop {qid} ({expect}): to {name} {other} ({similarity:.2f})")
    with open(out, "w", encoding="utf-8") as f:
        for item in kept:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    answerable = sum(item["expect"] == "answer" for item in kept)
    print(f"{len(kept)} kept: {answerable} answerable, {len(kept) - answerable} to decline -> {out}")


if __name__ == "__main__":
    main()
