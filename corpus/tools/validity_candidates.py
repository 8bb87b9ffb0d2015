#!/usr/bin/env python3
"""Lists documents of the corpus that another text of the corpus says were replaced, as draft entries
of corpus/validity.toml, for a person to read and keep or drop.

It reads every corpus document (the loose Markdown files and the compendium bundle, decompressed with
the `zstd` command), takes the sentences of articles about entry into force, repeal or replacement
("Điều 252. Hiệu lực thi hành", "Điều khoản thi hành", "Bãi bỏ …") that say "hết hiệu lực", "thay
thế" or "bãi bỏ", and reports each document named in them that is itself in the corpus, unless a part
of it ("Điều 5 …", "khoản 2 …", "Chương II …", "các mẫu …") is named instead of the whole. Documents
already in the registry are skipped.

Usage: python3 corpus/tools/validity_candidates.py [CORPUS_DIR]
"""
import re
import subprocess
import sys
import tomllib
from pathlib import Path

CORPUS = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
TYPES = r"(?:Bộ luật|Luật|Pháp lệnh|Nghị quyết liên tịch|Nghị quyết|Nghị định|Quyết định|Thông tư liên tịch|Thông tư|Chỉ thị)"
SO_HIEU = r"(\d+/\d{4}/[A-ZĐa-zđ0-9\-]+)"
PART = re.compile(r"(Điều|khoản|điểm|Chương|Mục|mục|Phụ lục|phụ lục|Mẫu|mẫu|quy định tại|các quy định|nội dung|Phần|phần|cụm từ|tiết)\s*[^;.]{0,60}$")
CHAIN = re.compile(r"(sửa đổi|bổ sung|hướng dẫn|quy định chi tiết|thi hành)[^;.]{0,120}$")


def documents():
    sources = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.md")) if p.name not in ("README.md", "FORMAT.md")]
    for bundle in sorted(CORPUS.glob("*.md.zst")):
        text = subprocess.run(["zstd", "-dc", str(bundle)], capture_output=True, check=True).stdout.decode("utf-8")
        sources.extend(part.split("\n", 1)[1] for part in text.split("%%% ")[1:])
    for source in sources:
        so_hieu = re.search(r"^so_hieu: (.+)$", source, re.M)
        if so_hieu:
            yield so_hieu.group(1).strip(), source


def articles(source):
    for m in re.finditer(r"^#+ Điều (\d+[a-z]?)\. ?(.*)\n((?:(?!^#).*\n?)*)", source, re.M):
        yield m.group(1), m.group(2), m.group(3)


registry = tomllib.loads((CORPUS / "validity.toml").read_text(encoding="utf-8")) if (CORPUS / "validity.toml").exists() else {"van_ban": []}
known = {entry["so_hieu"].lower() for entry in registry["van_ban"]}
corpus = dict(documents())
present = {so_hieu.lower(): so_hieu for so_hieu in corpus}
found = {}
for so_hieu, source in corpus.items():
    for number, title, body in articles(source):
        if not re.search(r"hiệu lực|thi hành|bãi bỏ|thay thế", title, re.I):
            continue
        for sentence in re.split(r"(?<=[.;])\s+|\n", body):
            if not re.search(r"hết hiệu lực|thay thế|bãi bỏ", sentence):
                continue
            # "Luật Kinh doanh bảo hiểm số 24/2000/QH10", "Nghị định số 10/2005/NĐ-CP", "Thông tư 60/2015/TT-BTC".
            for m in re.finditer(TYPES + r"(?:\s+[^;.“”]{0,120}?)??\s+(?:số\s+)?" + SO_HIEU, sentence):
                target = m.group(1).lower()
                before = sentence[: m.start()]
                if target == so_hieu.lower() or target not in present or target in known:
                    continue
                if PART.search(before[-80:]):
                    continue
                if CHAIN.search(before[-140:]) and not re.search(r"(hết hiệu lực|thay thế|bãi bỏ)\s*$", before.strip()[-20:]):
                    continue
                found.setdefault(target, (so_hieu, number, sentence.strip()))
for target, (by, number, sentence) in sorted(found.items()):
    print(f"# {present[target]} <= Điều {number} {by}: {sentence[:400]}")
