#!/usr/bin/env python3
"""Writes synthetic lawful questions asked in the words unlawful requests also use, for the guard.

The guard (src/answer/guard.rs) learns "làm sao để", "chỉ tôi cách", "soạn giúp" from unlawful
requests, and lawful questions asked that way were refused (round 16: 10 of phrasing-test's 68).
The compendium's procedural headings ("Thủ tục đăng ký kết hôn", "Cấp lại giấy phép lái xe",
"Điều kiện hưởng trợ cấp thất nghiệp") say what citizens lawfully want to do; put into how-to
templates they make lawful questions in those words, by the thousand, so that the words alone stop
meaning "unlawful" and what is asked for decides. Some read awkwardly; they are written to move
the guard's prior on the wording, not to be asked. They train the `legal` class only
(`train_guard.py --augment`): never scored, never setting a threshold. About half keep their
diacritics, 30% are folded to plain ASCII and 20% get chat abbreviations.

Usage: python3 eval/ranker/make_howto.py [CORPUS_DIR] [OUT_FILE] [COUNT]   (stdlib and zstd)
Then:  ./target/release/hoiluat eval --mode ranked --set OUT_FILE --dump-features DUMP --out RUN
"""
import json
import random
import re
import sys
from pathlib import Path

# The compendium's articles and the folding of make_synthetic.py (same positional CORPUS_DIR).
from make_synthetic import documents, strip_diacritics

OUT = Path(sys.argv[2] if len(sys.argv) > 2 else "data/ranker/howto-synthetic.jsonl")
COUNT = int(sys.argv[3]) if len(sys.argv) > 3 else 2500

# Headings that name a procedure: the rest of the heading is what one wants done.
PROCEDURE = ["Trình tự, thủ tục ", "Thủ tục ", "Trình tự ", "Hồ sơ, thủ tục ", "Hồ sơ đề nghị ", "Hồ sơ "]
# Headings that name an act one may ask for: the whole heading is what one wants done.
ACT = ["Cấp lại ", "Cấp đổi ", "Cấp ", "Đăng ký ", "Gia hạn ", "Đổi ", "Chuyển nhượng ", "Chuyển ", "Giải quyết ",
       "Xác nhận ", "Thay đổi ", "Chấm dứt ", "Khiếu nại ", "Bồi thường ", "Hỗ trợ ", "Thu hồi ", "Công nhận ",
       "Xóa đăng ký ", "Nhận ", "Hưởng ", "Tố cáo ", "Khởi kiện ", "Ly hôn", "Thừa kế ", "Nhập khẩu ", "Sửa đổi "]
FOR_PROCEDURE = ["Làm sao để {x}?", "Chỉ tôi cách làm thủ tục {x}", "Muốn {x} thì phải làm thế nào?",
                 "Cách {x} như thế nào ạ?", "Soạn giúp mình hồ sơ {x} với", "Hồ sơ {x} gồm những gì, làm sao cho nhanh?",
                 "làm thế nào để {x} nhanh nhất", "Có cách nào {x} mà không phải đi lại nhiều không?",
                 "Hướng dẫn em cách {x} với ạ", "{X} thì làm sao?"]
FOR_ACT = ["Làm sao để được {x}?", "Chỉ tôi cách {x}", "Muốn {x} thì làm thế nào?", "Cách {x} ra sao?",
           "Làm thế nào để {x} đúng quy định?", "Có cách nào {x} nhanh không?", "Soạn giúp tôi đơn {x}",
           "Em muốn {x} thì làm sao ạ?", "Hướng dẫn cách {x} cho mình với", "{X} thì làm sao cho đúng?"]
FOR_CONDITION = ["Làm sao để đủ điều kiện {x}?", "Cần làm gì để {x}?", "Muốn {x} thì phải đáp ứng gì, làm sao?",
                 "Có cách nào để {x} không?"]
CHAT = [("không", "ko"), ("được", "dc"), ("thế nào", "ntn"), ("gì", "j"), ("với", "vs"), ("em ", "e "), ("rồi", "r")]


def lower_first(text):
    return text[:1].lower() + text[1:]


def question(heading, rng):
    """A how-to question for a procedural heading, or None for other headings."""
    h = heading.strip().rstrip(".:;")
    if len(h) > 90 or len(h.split()) < 3:
        return None
    for prefix in PROCEDURE:
        if h.startswith(prefix):
            x = lower_first(h[len(prefix):])
            return rng.choice(FOR_PROCEDURE).replace("{X}", x[:1].upper() + x[1:]).replace("{x}", x)
    if h.startswith("Điều kiện "):
        return rng.choice(FOR_CONDITION).replace("{x}", lower_first(h[len("Điều kiện "):]))
    for prefix in ACT:
        if h.startswith(prefix):
            return rng.choice(FOR_ACT).replace("{X}", h).replace("{x}", lower_first(h))
    return None


def register(text, rng):
    r = rng.random()
    if r < 0.5:
        return "diacritics", text
    if r < 0.8:
        return "no_diacritics", strip_diacritics(text).lower().rstrip("?")
    text = text.lower().rstrip("?")
    for long, short in CHAT:
        if rng.random() < 0.7:
            text = text.replace(long, short)
    return "typo_slang", text


def main():
    headings = set()
    for loose, text in documents():
        if not loose:  # the compendium bundle only
            headings.update(m.group(1) for m in re.finditer(r"^### Điều [0-9a-zđ]+\. *(.*)$", text, re.M))
    rng = random.Random(20261207)
    headings = sorted(headings)
    rng.shuffle(headings)
    out, seen = [], set()
    for heading in headings:
        text = question(heading, rng)
        if not text or text in seen:
            continue
        seen.add(text)
        kind, text = register(text, rng)
        out.append({"id": f"ghs-{len(out) + 1:04d}", "kind": kind, "question": text, "history": [],
                    "expect": "answer", "gold": [],
                    "note": "synthetic lawful question in how-to words, from a compendium heading: " + heading})
        if len(out) >= COUNT:
            break
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as f:
        for item in out:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(out)} questions -> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
