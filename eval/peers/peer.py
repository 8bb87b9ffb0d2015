"""The peer: the hybrid-search service a team would otherwise build with the usual Python stack.

FastAPI + uvicorn, the same multilingual-e5-small ONNX graph as Hỏi Luật (models/e5-small, run by
onnxruntime, tokenised by `tokenizers`, mean-pooled and L2-normalised like the Rust side), BM25
through bm25s, exact inner-product vectors in FAISS, reciprocal-rank fusion. It reads the same
corpus/*.md files, keeps the same documents (in force or partly in force, national or the
configured province) and gives articles the same public ids ("52-2014-qh13.dieu-8"), so its
rankings are scored against the same gold articles.

It does what such a service typically does, and no more: one passage per article (a long article
is cut into token windows), the e5 prefixes, BM25 over lower-cased words plus their
diacritic-free forms (Vietnamese is typed both ways), top-40 from each side, RRF with k = 60, the
best-ranked articles returned and the first one quoted. It has no query rewriting, no diacritics
restoration, no confidence threshold and no out-of-scope guard: it never declines.

  python peer.py build --corpus ../../corpus --models ../../models --index DIR
  python peer.py serve --index DIR --models ../../models --port 18090

Endpoints: POST /v1/ask {"question"} (answer + ranked articles), POST /v1/search {"question",
"limit"} (ranked article ids), GET /readyz.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from article_ids import document_slug, strip_diacritics

WINDOW_TOKENS = 500  # tokens of a long article's window with its context (the model takes 512)
PREFETCH = 40
RRF_K = 60
ANSWER_ARTICLES = 10


# ---------------------------------------------------------------------------------------------
# Corpus


@dataclass
class Article:
    id: str
    heading: str
    text: str
    document: dict
    chapter: str = ""
    lines: list[str] = field(default_factory=list)


ARTICLE = re.compile(r"^#*\s*Điều\s+(\d+[a-zđ]?)\.\s*(.*)$")
SECTION = re.compile(r"^#*\s*([IVXLC]+)\.\s+(.*)$")
CHAPTER = re.compile(r"^#*\s*(Chương\s+\S+.*)$")


def parse_document(path: Path) -> tuple[dict, list[Article]]:
    text = unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))
    _, front, body = text.split("---", 2)
    meta = {}
    for line in front.strip().splitlines():
        if ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            meta[key.strip()] = value.strip()
    slug = document_slug(meta["so_hieu"])
    is_plan = not any(ARTICLE.match(line) for line in body.splitlines())
    articles: list[Article] = []
    chapter = ""
    for line in body.splitlines():
        line = line.strip()
        if not line or line.startswith("<!--"):
            continue
        if (m := CHAPTER.match(line)) and not is_plan:
            chapter = m.group(1)
            continue
        m = SECTION.match(line) if is_plan else ARTICLE.match(line)
        if m:
            unit = "muc" if is_plan else "dieu"
            heading = line.lstrip("# ")
            articles.append(Article(f"{slug}.{unit}-{m.group(1).lower()}", heading, "", meta, chapter))
        elif articles and not line.startswith("#"):
            articles[-1].lines.append(line)
    for article in articles:
        article.text = "\n".join(article.lines)
    return meta, articles


def load_corpus(corpus_dir: Path, province: str) -> list[Article]:
    """Documents searched by default: in force (wholly or partly), national or the province's."""
    kept = []
    for path in sorted(corpus_dir.glob("*.md")):
        if path.name in ("README.md", "FORMAT.md"):
            continue
        meta, articles = parse_document(path)
        if meta.get("tinh_trang") not in ("con_hieu_luc", "het_hieu_luc_mot_phan"):
            continue
        scope = meta.get("pham_vi", "")
        if scope != "toan_quoc" and scope != f"tinh:{province}":
            continue
        kept.extend(articles)
    return kept


# ---------------------------------------------------------------------------------------------
# Model


class E5:
    """multilingual-e5-small through onnxruntime: `query: ` / `passage: ` prefixes, masked mean
    pooling, L2 normalisation (what the Rust side computes through fastembed)."""

    def __init__(self, models: Path, threads: int):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(models / "e5-small" / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(models / "e5-small" / "tokenizer.json"))
        # Counting needs the untruncated length, so it has its own tokenizer.
        self.counter = Tokenizer.from_file(str(models / "e5-small" / "tokenizer.json"))
        self.tokenizer.enable_truncation(512)
        # Pads a batch to its longest member; a single text is not padded.
        self.tokenizer.enable_padding(pad_id=1, pad_token="<pad>")

    def embed(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def token_count(self, text: str) -> int:
        return len(self.counter.encode(text).ids)


def words(text: str) -> list[str]:
    """Lower-cased words, each also without diacritics when that differs."""
    tokens = re.findall(r"\w+", unicodedata.normalize("NFC", text).lower())
    return tokens + [f for f in (strip_diacritics(t) for t in tokens) if f not in tokens]


# ---------------------------------------------------------------------------------------------
# Index


def passages(articles: list[Article], e5: E5) -> list[tuple[int, str]]:
    """(article index, text) per passage: the whole article with its context when it fits,
    otherwise overlapping token windows of its text, each with the context."""
    out = []
    for index, article in enumerate(articles):
        context = f"{article.document['ten']} ({article.document['so_hieu']})\n{article.chapter}\n{article.heading}"
        whole = f"{context}\n{article.text}"
        if e5.token_count("passage: " + whole) <= 512:
            out.append((index, whole))
            continue
        body = article.text.split()
        start = 0
        # Windows by words, sized from the article's tokens per word so that a window and its
        # context fit the model's 512 tokens; each overlaps the next by a fifth.
        budget = WINDOW_TOKENS - e5.token_count("passage: " + context)
        size_words = max(30, int(len(body) * budget / max(1, e5.token_count(article.text))))
        step_words = max(20, size_words * 4 // 5)
        while start < len(body):
            out.append((index, f"{context}\n{' '.join(body[start:start + size_words])}"))
            if start + size_words >= len(body):
                break
            start += step_words
    return out


def build(corpus: Path, models: Path, index_dir: Path, province: str, threads: int) -> None:
    import bm25s
    import faiss

    started = time.perf_counter()
    e5 = E5(models, threads)
    articles = load_corpus(corpus, province)
    chunks = passages(articles, e5)
    order = sorted(range(len(chunks)), key=lambda i: len(chunks[i][1]))
    vectors = np.zeros((len(chunks), 384), dtype=np.float32)
    for batch_start in range(0, len(order), 32):
        batch = order[batch_start:batch_start + 32]
        vectors[batch] = e5.embed(["passage: " + chunks[i][1] for i in batch])
    index_dir.mkdir(parents=True, exist_ok=True)
    dense = faiss.IndexFlatIP(384)
    dense.add(vectors)
    faiss.write_index(dense, str(index_dir / "dense.faiss"))
    retriever = bm25s.BM25()
    retriever.index([words(text) for _, text in chunks], show_progress=False)
    retriever.save(str(index_dir / "bm25"))
    meta = {
        "chunk_article": [a for a, _ in chunks],
        "articles": [
            {"id": a.id, "heading": a.heading, "text": a.text, "so_hieu": a.document["so_hieu"], "ten": a.document["ten"]}
            for a in articles
        ],
    }
    (index_dir / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    print(json.dumps({"articles": len(articles), "chunks": len(chunks), "seconds": round(time.perf_counter() - started, 1)}))


class Searcher:
    def __init__(self, index_dir: Path, models: Path, threads: int):
        import bm25s
        import faiss

        self.e5 = E5(models, threads)
        self.dense = faiss.read_index(str(index_dir / "dense.faiss"))
        self.bm25 = bm25s.BM25.load(str(index_dir / "bm25"))
        meta = json.loads((index_dir / "meta.json").read_text(encoding="utf-8"))
        self.chunk_article = meta["chunk_article"]
        self.articles = meta["articles"]

    def search(self, question: str, limit: int) -> list[int]:
        """Article indices, best first: RRF over the dense and BM25 top-40, best chunk per article."""
        query = self.e5.embed(["query: " + question])
        _, dense_ids = self.dense.search(query, PREFETCH)
        terms = words(question)
        lexical_ids: list[int] = []
        if terms:
            k = min(PREFETCH, len(self.chunk_article))
            results, scores = self.bm25.retrieve([terms], k=k, show_progress=False, n_threads=1)
            lexical_ids = [int(i) for i, s in zip(results[0], scores[0]) if s > 0]
        fused: dict[int, float] = {}
        for ranking in (list(dense_ids[0]), lexical_ids):
            for rank, chunk in enumerate(ranking):
                if chunk < 0:
                    continue
                fused[int(chunk)] = fused.get(int(chunk), 0.0) + 1.0 / (RRF_K + rank + 1)
        best: dict[int, float] = {}
        for chunk, score in fused.items():
            article = self.chunk_article[chunk]
            best[article] = max(best.get(article, 0.0), score)
        return sorted(best, key=lambda a: (-best[a], a))[:limit]


# ---------------------------------------------------------------------------------------------
# Service


class Ask(BaseModel):
    question: str = Field(min_length=1, max_length=1000)
    conversation_id: str | None = None


class Search(BaseModel):
    question: str = Field(min_length=1, max_length=1000)
    limit: int = Field(default=10, ge=1, le=50)


def create_app(index_dir: Path, models: Path, threads: int):
    from fastapi import FastAPI, HTTPException

    searcher = Searcher(index_dir, models, threads)
    app = FastAPI(title="peer")

    @app.get("/readyz")
    def readyz():
        return {"status": "ready"}

    # Plain `def`: FastAPI runs it on its thread pool; onnxruntime and FAISS release the GIL.
    @app.post("/v1/ask")
    def ask(request: Ask):
        if not request.question.strip():
            raise HTTPException(422, "empty question")
        ranked = searcher.search(request.question, ANSWER_ARTICLES)
        top = searcher.articles[ranked[0]]
        return {
            "status": "answered",
            "answer": f"{top['heading']} ({top['ten']} số {top['so_hieu']})\n\n{top['text']}",
            "articles": [searcher.articles[i]["id"] for i in ranked],
        }

    @app.post("/v1/search")
    def search(request: Search):
        return {"articles": [searcher.articles[i]["id"] for i in searcher.search(request.question, request.limit)]}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["build", "serve"])
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--index", type=Path, default=Path("data/peer-index"))
    parser.add_argument("--province", default="quang-ngai")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--port", type=int, default=18090)
    args = parser.parse_args()
    if args.command == "build":
        build(args.corpus, args.models, args.index, args.province, args.threads)
    else:
        import uvicorn

        app = create_app(args.index, args.models, args.threads)
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
