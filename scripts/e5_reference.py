#!/usr/bin/env python3
"""Reference embeddings for multilingual-e5-small, computed with numpy straight from
the E5S1 weights (no ONNX involved), and checks of the ONNX graphs against them.

Usage (run with the provisioning virtualenv, .venv/bin/python):

    echo '{"texts": ["query: Nam nữ bao nhiêu tuổi thì được kết hôn?"]}' \
        | .venv/bin/python scripts/e5_reference.py
        -> {"embeddings": [[...384 floats...]]}

    .venv/bin/python scripts/e5_reference.py --check
        Runs ONNX Runtime on models/e5-small/model.onnx and model-fp32.onnx for the
        texts in scripts/e5_check_texts.json, prints the minimum cosine of each against
        this reference, and exits 1 if model-fp32.onnx is below 0.999 or model.onnx
        (the graph the service loads) is below 0.995.

    .venv/bin/python scripts/e5_reference.py --bench
        Times ONNX Runtime (1 intra-op thread) on batches of 8 passages of 246 tokens.

Texts must already carry their e5 prefix ("query: " or "passage: "). They are tokenized
with models/e5-small/tokenizer.json (truncated to 512 tokens) and embedded one at a time
without padding: last hidden state -> mean over the tokens -> L2 normalization, which is
what mean pooling over the attention mask computes for a padded batch.

The forward pass is written out in float64 from the model description (BERT/XLM-R
post-layer-norm encoder, erf GELU, positions counted from 0 in the E5S1 table, token
type 0), independently of the graph built by e5_convert.py; only the file reader
(e5s1.py) is shared.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

SCRIPTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(SCRIPTS_DIR)
sys.path.insert(0, SCRIPTS_DIR)

import e5s1  # noqa: E402  (needs the sys.path line above)

DEFAULT_E5S1 = os.path.join(REPO_ROOT, "models", ".cache", "e5-small-q4.bin")
DEFAULT_MODEL_DIR = os.path.join(REPO_ROOT, "models", "e5-small")
CHECK_TEXTS = os.path.join(SCRIPTS_DIR, "e5_check_texts.json")
MAX_TOKENS = 512

# Acceptance thresholds (minimum cosine against this reference).
FP32_MIN_COSINE = 0.999
SHIPPED_MIN_COSINE = 0.995


# ------------------------------------------------------------------------------
# The numpy model
# ------------------------------------------------------------------------------

class ReferenceModel:
    """multilingual-e5-small in float64 numpy, weights dequantized from E5S1."""

    def __init__(self, e5s1_path: str = DEFAULT_E5S1):
        self.file = e5s1.E5S1(e5s1_path)
        h = self.file.header
        self.hidden, self.heads, self.eps = h.hidden, h.heads, h.layer_norm_eps
        self.max_positions = h.max_positions

        def get(name: str) -> np.ndarray:
            return self.file.tensor(name).astype(np.float64)

        # Embedding rows are looked up on demand (the word table is 250k x 384).
        self.position = get("emb.pos")
        self.token_type0 = get("emb.type")[0]
        self.emb_ln = (get("emb.ln.w"), get("emb.ln.b"))
        self.layers = []
        for i in range(h.layers):
            p = f"l{i}."
            layer = {}
            for name in ("q", "k", "v", "ao", "fi", "fo"):
                # Linear weights are stored [out, in]; keep them transposed for x @ W.
                layer[name] = (np.ascontiguousarray(get(p + name + ".w").T), get(p + name + ".b"))
            for name in ("aln", "oln"):
                layer[name] = (get(p + name + ".w"), get(p + name + ".b"))
            self.layers.append(layer)

    def _layer_norm(self, x: np.ndarray, weight_bias) -> np.ndarray:
        weight, bias = weight_bias
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * weight + bias

    def last_hidden_state(self, ids: list[int]) -> np.ndarray:
        """[len(ids), hidden] output of the encoder for one unpadded sequence."""
        n = len(ids)
        if n > self.max_positions:
            raise ValueError(f"{n} tokens, the model takes at most {self.max_positions}")
        word = self.file.tensor("emb.word", rows=np.asarray(ids)).astype(np.float64)
        x = word + self.position[:n] + self.token_type0
        x = self._layer_norm(x, self.emb_ln)

        heads, head_dim = self.heads, self.hidden // self.heads
        for layer in self.layers:
            def linear(inp, name):
                weight_t, bias = layer[name]
                return inp @ weight_t + bias

            def split_heads(t):                     # [n, hidden] -> [heads, n, head_dim]
                return t.reshape(n, heads, head_dim).transpose(1, 0, 2)

            q, k, v = (split_heads(linear(x, name)) for name in ("q", "k", "v"))
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(head_dim)
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            context = (probs @ v).transpose(1, 0, 2).reshape(n, self.hidden)
            x = self._layer_norm(x + linear(context, "ao"), layer["aln"])

            inner = linear(x, "fi")
            inner = 0.5 * inner * (1.0 + erf(inner / math.sqrt(2.0)))   # erf form of GELU
            x = self._layer_norm(x + linear(inner, "fo"), layer["oln"])
        return x

    def embed_ids(self, ids: list[int]) -> np.ndarray:
        pooled = self.last_hidden_state(ids).mean(axis=0)
        return pooled / max(np.linalg.norm(pooled), 1e-12)


def erf(x: np.ndarray) -> np.ndarray:
    """Vectorized erf (numpy has none). Numerical Recipes' Chebyshev fit of erfc,
    fractional error below 1.2e-7: far below what the fp32 graphs can resolve."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -0.82215223 + t * 0.17087277
    for c in (1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
              0.37409196, 1.00002368, -1.26551223):
        poly = c + t * poly
    erfc = t * np.exp(-z * z + poly)
    return np.where(x >= 0, 1.0 - erfc, erfc - 1.0)


def load_tokenizer(model_dir: str = DEFAULT_MODEL_DIR):
    import tokenizers

    tokenizer = tokenizers.Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer


def tokenize(tokenizer, texts: list[str]) -> list[list[int]]:
    return [enc.ids for enc in tokenizer.encode_batch(texts, add_special_tokens=True)]


def reference_embeddings(texts: list[str], e5s1_path: str = DEFAULT_E5S1,
                         model_dir: str = DEFAULT_MODEL_DIR) -> np.ndarray:
    model = ReferenceModel(e5s1_path)
    ids = tokenize(load_tokenizer(model_dir), texts)
    return np.stack([model.embed_ids(seq) for seq in ids])


# ------------------------------------------------------------------------------
# ONNX Runtime side (used by --check, --bench and e5_convert.py)
# ------------------------------------------------------------------------------

def ort_session(model_path: str, threads: int = 1):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])


def pad_batch(id_lists: list[list[int]], pad_id: int = 1):
    """Right-pad to the longest sequence, as fastembed does (pad id 1 = <pad>)."""
    width = max(len(ids) for ids in id_lists)
    input_ids = np.full((len(id_lists), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(id_lists), width), dtype=np.int64)
    for row, ids in enumerate(id_lists):
        input_ids[row, :len(ids)] = ids
        mask[row, :len(ids)] = 1
    return input_ids, mask


def ort_embeddings(session, id_lists: list[list[int]]) -> np.ndarray:
    """One padded batch through the graph, then masked mean pooling + L2 norm."""
    input_ids, mask = pad_batch(id_lists)
    (hidden,) = session.run(["last_hidden_state"],
                            {"input_ids": input_ids, "attention_mask": mask})
    weights = mask[:, :, None].astype(np.float64)
    pooled = (hidden.astype(np.float64) * weights).sum(1) / weights.sum(1)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(1)


def check_texts() -> list[str]:
    with open(CHECK_TEXTS, encoding="utf-8") as f:
        return json.load(f)["texts"]


# ------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------

def run_check(args) -> int:
    texts = check_texts()
    tokenizer = load_tokenizer(args.model_dir)
    ids = tokenize(tokenizer, texts)
    reference = np.stack([ReferenceModel(args.e5s1).embed_ids(seq) for seq in ids])
    failed = False
    for file_name, threshold in (("model-fp32.onnx", FP32_MIN_COSINE),
                                 ("model.onnx", SHIPPED_MIN_COSINE)):
        path = os.path.join(args.model_dir, file_name)
        cos = cosines(ort_embeddings(ort_session(path), ids), reference)
        ok = cos.min() >= threshold
        failed |= not ok
        print(f"{file_name}: min cosine {cos.min():.6f} over {len(texts)} texts "
              f"(mean {cos.mean():.6f}, need >= {threshold}) {'ok' if ok else 'FAIL'}")
    return 1 if failed else 0


def run_bench(args) -> int:
    """Batches of 8 passages of 246 tokens (<s> + 244 pieces + </s>), 1 thread."""
    tokenizer = load_tokenizer(args.model_dir)
    tokenizer.no_truncation()
    pieces = []
    for text in check_texts():
        if text.startswith("passage: "):
            pieces += tokenizer.encode(text, add_special_tokens=False).ids
    batch = []
    for i in range(8):
        start = (i * 97) % (len(pieces) - 244)        # eight different windows
        batch.append([0] + pieces[start:start + 244] + [2])
    for file_name in ("model.onnx", "model-fp32.onnx"):
        session = ort_session(os.path.join(args.model_dir, file_name), threads=1)
        ort_embeddings(session, batch)                # warm-up
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.bench_rounds):
            ort_embeddings(session, batch)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        passages = 8 * args.bench_rounds
        query = [tokenize(tokenizer, ["query: Nam nữ bao nhiêu tuổi thì được kết hôn?"])[0]]
        ort_embeddings(session, query)
        start = time.perf_counter()
        for _ in range(20):
            ort_embeddings(session, query)
        query_ms = (time.perf_counter() - start) / 20 * 1000
        print(f"{file_name}: {passages / wall:.1f} passages/s wall, "
              f"{passages / cpu:.1f} passages per CPU-second, "
              f"{wall / args.bench_rounds * 1000:.0f} ms per batch of 8x246 tokens, "
              f"one query {query_ms:.1f} ms")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="compare model.onnx and model-fp32.onnx with the reference")
    mode.add_argument("--bench", action="store_true", help="time the ONNX graphs")
    parser.add_argument("--e5s1", default=DEFAULT_E5S1, help="E5S1 weights file")
    parser.add_argument("--model-dir", default=DEFAULT_MODEL_DIR,
                        help="directory with tokenizer.json and the ONNX graphs")
    parser.add_argument("--bench-rounds", type=int, default=5)
    args = parser.parse_args()

    if args.check:
        return run_check(args)
    if args.bench:
        return run_bench(args)

    request = json.load(sys.stdin)
    texts = request["texts"]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        print('expected JSON {"texts": ["query: ...", ...]} on stdin', file=sys.stderr)
        return 2
    vectors = reference_embeddings(texts, args.e5s1, args.model_dir) if texts else []
    json.dump({"embeddings": [[float(v) for v in row] for row in vectors]}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
