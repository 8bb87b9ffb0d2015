#!/usr/bin/env python3
"""Lists the articles that later documents changed, as draft entries of corpus/amendments.toml.

Sources (all under ../shared/data/laws-2024):
- an amending document's own text: every clause of an amending article ("1. Sửa đổi, bổ sung khoản 8
  Điều 3 như sau:", "2. Bổ sung cụm từ … tại điểm e khoản 1 Điều 7") names the articles it changes;
  the words inside quotation marks are the new text and are not read as targets;
- the consolidated land law 133/VBHN-VPQH: an article whose consolidated text differs from the text
  as first issued was amended, by the laws its pages' footnotes name.

The output is a draft: a person reads every entry against the texts before it goes into
corpus/amendments.toml (the importer writes the entries into the articles, and answers quoting them
say so). Usage: python3 corpus/tools/amendment_candidates.py [SHARED_DATA_DIR] > /tmp/amendments.toml
"""
import difflib
import json
import re
import sys
import unicodedata
from pathlib import Path

DATA = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data") / "laws-2024"

# (amending file, amending số hiệu, effective date, amended số hiệu, how to find the amending
# articles: the heading must name the amended document, or None when every article up to the
# closing ones amends it)
AMENDING = [
    ("traffic/238-2026-ND-CP_Sua-doi-ND-168-2024.md", "238/2026/NĐ-CP", "2026-08-15", "168/2024/NĐ-CP", None),
    ("traffic/13-2025-TT-BCA_Sua-doi-cac-thong-tu-TTATGT.md", "13/2025/TT-BCA", "2025-03-01", "79/2024/TT-BCA", "79/2024/TT-BCA"),
]
CLOSING = re.compile(r"(Hiệu lực|Điều khoản|Trách nhiệm thi hành|chuyển tiếp)", re.I)


def nfc(text):
    return unicodedata.normalize("NFC", text)


def strip_quotes(text):
    """Drops the quoted new wording, whose article numbers are not targets."""
    return re.sub(r"[“\"][^”\"]*[”\"]?", " ", text)


def targets(text):
    return re.findall(r"Điều\s+(\d+[a-zđ]?)\b", strip_quotes(text))


def articles_of(markdown):
    """(number, heading, body lines) of each article, from '#… Điều N.' headings."""
    out, current = [], None
    for line in markdown.splitlines():
        m = re.match(r"^#+\s*Điều\s+(\d+[a-z]?)\.\s*(.*)$", line.strip())
        if m:
            current = (m.group(1), m.group(2).strip(), [])
            out.append(current)
        elif current is not None and line.strip():
            current[2].append(line.strip())
    return out


def one_line(text, limit=300):
    text = re.sub(r"\s+", " ", text).replace("|", "/").strip()
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def provisions(details):
    """["khoản 2 Điều 19", "khoản 3 Điều 19", "Điều 4"] → "khoản 2, khoản 3 Điều 19; Điều 4"."""
    grouped = {}
    for detail in details:
        m = re.match(r"(?:(khoản \d+) )?(Điều \d+)", detail)
        grouped.setdefault(m.group(2), [])
        if m.group(1) and m.group(1) not in grouped[m.group(2)]:
            grouped[m.group(2)].append(m.group(1))
    parts = [(", ".join(clauses) + " " if clauses else "") + article for article, clauses in grouped.items()]
    return "theo " + "; ".join(parts)


def from_amending_document(path, by, since, amended, heading_names):
    entries = []
    for number, heading, body in articles_of(nfc((DATA / path).read_text(encoding="utf-8"))):
        if CLOSING.search(heading):
            continue
        if heading_names and heading_names not in heading:
            continue
        # A heading that names the article ("… điểm b khoản 8 Điều 13") covers the whole article.
        heading_targets = [] if heading_names else targets(heading)
        if heading_targets and not re.search(r"một số", heading):
            entries.append((heading_targets, f"Điều {number}"))
            continue
        clause = None
        for line in body:
            m = re.match(r"^(\d+)\.\s+(.*)$", line)
            if m and not line.startswith(("“", '"')):
                clause = m.group(1)
                found = targets(m.group(2)) or heading_targets
                if found:
                    entries.append((found, f"khoản {clause} Điều {number}"))
    by_article = {}
    for found, detail in entries:
        for article in dict.fromkeys(found):
            by_article.setdefault(article, []).append(detail)
    for article, details in sorted(by_article.items(), key=lambda kv: (int(re.match(r"\d+", kv[0]).group()), kv[0])):
        yield amended, [article], by, since, provisions(details)


def land_law():
    """Articles of Luật Đất đai 31/2024 whose consolidated text differs, with the laws named."""
    original = {}
    text = nfc((DATA / "vbpl-text/luat-dat-dai-2024.txt").read_text(encoding="utf-8"))
    for number, heading, body in articles_of(re.sub(r"^(Điều \d+\.)", r"### \1", text, flags=re.M)):
        # Chapter and section headings that follow an article are not part of it.
        body = [line for line in body if not re.match(r"^(Chương|Mục)\s+[IVXLC\d]+\.?$", line) and line != line.upper()]
        original.setdefault(number, " ".join([heading] + body))
    words = lambda t: [w for w in re.findall(r"\w+", t.lower()) if not w.isdigit()]
    law = re.compile(r"(sửa đổi|bổ sung|thay thế|bãi bỏ|được bỏ)[^.]*?(?:Luật|luật)[^.]*?số\s+(\d+/\d{4}/QH\d+)[^.]*?hiệu lực (?:kể )?từ ngày\s+(\d+)\s+tháng\s+(\d+)\s+năm\s+(\d{4})")
    for record in json.load(open(DATA / "land-consolidated/chunks_js_.json", encoding="utf-8")):
        meta = record["metadata"]
        number = meta["article_id"]
        # "Điều N. Title <intro> | <clauses>": the heading line and the body, as one text.
        body = re.sub(r"^Điều \d+[a-z]?\.", "", nfc(record["page_content"])).replace("|", " ")
        before, after = words(original.get(number, "")), words(body)
        ratio = difflib.SequenceMatcher(None, before, after, autojunk=False).ratio()
        footnotes = re.sub(r"\s+", " ", nfc(meta.get("chunk_footnotes") or ""))
        laws = {}
        for note in re.split(r"(?<=\d{4}\.)\s+", footnotes):
            m = law.search(note)
            if not m:
                continue
            # A phrase replaced across the law: the article is amended when it holds the new phrase.
            phrase = re.search(r"thay thế bằng cụm từ “([^”]+)”", note)
            if phrase:
                new = " ".join(words(phrase.group(1)))
                if new not in " ".join(after) or new in " ".join(before):
                    continue
            elif ratio > 0.995:
                continue
            laws.setdefault(m.group(2), f"{m.group(5)}-{int(m.group(4)):02d}-{int(m.group(3)):02d}")
        laws.pop("31/2024/QH15", None)
        for so_hieu, since in laws.items():
            yield "31/2024/QH15", [number], so_hieu, since, "theo văn bản hợp nhất 133/VBHN-VPQH"
        print(f"# Điều {number}: similarity to the text as first issued {ratio:.3f}", file=sys.stderr)


def toml(amended, articles, by, since, detail):
    return "\n".join([
        "[[sua_doi]]",
        f'van_ban = "{amended}"',
        "dieu = [" + ", ".join(f'"{a}"' for a in articles) + "]",
        f'boi = "{by}"',
        f'tu_ngay = "{since}"',
        f"noi_dung = {json.dumps(detail, ensure_ascii=False)}",
        "",
    ])


for path, by, since, amended, heading_names in AMENDING:
    for entry in from_amending_document(path, by, since, amended, heading_names):
        print(toml(*entry))
for entry in land_law():
    print(toml(*entry))
