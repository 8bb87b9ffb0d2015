#!/usr/bin/env python3
"""Writes synthetic training questions for the ranker: article headings asked as questions.

Legal articles are titled by what they settle ("Điều kiện kết hôn", "Thời hiệu khởi kiện về thừa
kế"), so a heading is a short question whose answer is known: its own article. Sampled from the
corpus (the loose files and the compendium bundle), deterministically; generic headings that many
documents share ("Phạm vi điều chỉnh", "Hiệu lực thi hành") are left out, and about a third are
written without diacritics, the way many people type. The output is in the format of
eval/questions/README.md, for `hoiluat eval --set … --dump-features …`.

Usage: python3 eval/ranker/make_synthetic.py [CORPUS_DIR] [OUT_FILE] [COUNT]
"""
import json
import random
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

CORPUS = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
OUT = Path(sys.argv[2] if len(sys.argv) > 2 else "data/ranker/synthetic.jsonl")
COUNT = int(sys.argv[3]) if len(sys.argv) > 3 else 2500
GENERIC = re.compile(
    r"^(phạm vi điều chỉnh|đối tượng áp dụng|giải thích từ ngữ|hiệu lực thi hành|điều khoản thi hành|"
    r"trách nhiệm thi hành|tổ chức thực hiện|quy định chuyển tiếp|điều khoản chuyển tiếp|"
    r"nguyên tắc|mục đích|hiệu lực|áp dụng|sửa đổi|bãi bỏ)",
    re.I,
)


def documents():
    for path in sorted(CORPUS.glob("*.md")):
        if path.name not in ("README.md", "FORMAT.md"):
            yield True, path.read_text(encoding="utf-8")
    for bundle in sorted(CORPUS.glob("*.md.zst")):
        text = subprocess.run(["zstd", "-dc", str(bundle)], capture_output=True, check=True).stdout.decode()
        for part in text.split("%%% ")[1:]:
            yield False, part.split("\n", 1)[1]


def strip_diacritics(text):
    text = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


def main():
    core, broad = [], []
    for is_core, source in documents():
        so_hieu = re.search(r"^so_hieu: (.+)$", source, re.M)
        status = re.search(r"^tinh_trang: (.+)$", source, re.M)
        if not so_hieu or (status and status.group(1).strip() in ("het_hieu_luc", "chua_co_hieu_luc")):
            continue
        for m in re.finditer(r"^#+ Điều (\d+[a-z]?)\. (.+)$", source, re.M):
            title = m.group(2).strip().rstrip(".:")
            words = title.split()
            if len(words) < 4 or len(words) > 25 or GENERIC.match(title):
                continue
            (core if is_core else broad).append((so_hieu.group(1).strip(), m.group(1), title))
    rng = random.Random(20261205)
    picked = rng.sample(core, min(len(core), COUNT * 2 // 5)) + rng.sample(broad, min(len(broad), COUNT - COUNT * 2 // 5))
    rng.shuffle(picked)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as out:
        for index, (so_hieu, dieu, title) in enumerate(picked, 1):
            plain = rng.random() < 0.33
            question = strip_diacritics(title.lower()) if plain else title[0].lower() + title[1:]
            out.write(json.dumps({
                "id": f"syn-{index:04d}",
                "kind": "no_diacritics" if plain else "heading",
                "question": question,
                "history": [],
                "expect": "answer",
                "gold": [{"so_hieu": so_hieu, "dieu": dieu}],
                "note": "synthetic: the heading of the gold article",
            }, ensure_ascii=False) + "\n")
    print(f"wrote {len(picked)} synthetic questions to {OUT} ({len(core)} core and {len(broad)} compendium headings to sample from)")


if __name__ == "__main__":
    main()
