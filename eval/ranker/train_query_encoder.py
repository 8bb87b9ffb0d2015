"""Fine-tunes e5-small's question side on this CPU (round 12 experiment; `eval/README.md`).

Passages keep the vectors the index holds; only the encoder of questions learns, through low-rank
adapters (LoRA) on every linear layer of the 12 transformer layers, so that nothing of the index
has to be embedded again and what would be shipped is a small delta over the registry's weights.
Round 9's 384 x 384 matrix over the finished vector moved every question alike; an adapter inside
the encoder can learn how a word of a question relates to the words of the law.

The loss is InfoNCE over every chunk of the index at once (67,172 vectors: a full softmax, so every
other article is a negative): the question should be nearer to some chunk of its gold article than
to any other chunk.

Inputs:
- `cargo run --release --example encoder_data -- data/encoder/chunks DUMP.jsonl QUESTIONS.jsonl...`
  (each chunk's stored vector and article; the text `ask` embeds for each question);
- the ranker's dump (gold article ids of the evaluated sets and ALQAC);
- question files in the format of `eval/questions/README.md` (for example the synthetic headings of
  `make_synthetic.py`), whose gold `so_hieu`/`dieu` name their article.

By default it learns from ALQAC and the `--questions` files (the synthetic headings, say), so that
zalo dev, citizen-dev and fields-dev, on which it reports, are questions it never saw.

    eval/ranker/.venv-encoder/bin/python eval/ranker/train_query_encoder.py --chunks data/encoder/chunks \
        --dump data/ranker/pools.jsonl --questions data/ranker/synthetic-big.jsonl
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import e5s1  # noqa: E402
import chunk_vectors  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

DIM = 384
EVAL_SETS = ["zalo-phapdien/dev", "questions/citizen-dev", "questions/fields-dev"]
LINEARS = ("q", "k", "v", "ao", "fi", "fo")


def article_id(so_hieu, dieu):
    return f"{so_hieu.lower().replace('/', '-')}.dieu-{dieu.lower()}"


def load_chunks(prefix):
    vectors, ids = chunk_vectors.read(prefix)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    names = sorted(set(ids))
    index = {name: i for i, name in enumerate(names)}
    return vectors, np.array([index[a] for a in ids], dtype=np.int32), index


def read_embedded(prefix):
    """(set, id) -> the text `ask` embeds for that question (`encoder_data`'s questions file)."""
    embedded = {}
    with open(f"{prefix}.questions.jsonl", encoding="utf-8") as file:
        for line in file:
            row = json.loads(line)
            embedded[(row["set"], row["id"])] = row["embedded"]
    return embedded


def load_questions(args, article_index):
    """(set, id, embedded text, gold article indexes, dump query vector or None) per question."""
    embedded = read_embedded(args.chunks)
    questions, seen = [], set()
    with open(args.dump, encoding="utf-8") as file:
        for line in file:
            row = json.loads(line)
            if row["excluded"] or row["expect"] != "answer" or (row["set"], row["id"]) in seen:
                continue
            gold = sorted({article_index[g] for g in row["gold"] if g in article_index})
            if gold:
                seen.add((row["set"], row["id"]))
                questions.append((row["set"], row["id"], embedded[(row["set"], row["id"])], gold,
                                  np.array(row["query_vector"], dtype=np.float32)))
    for path in args.questions or []:
        name = Path(path).stem
        with open(path, encoding="utf-8") as file:
            for line in file:
                row = json.loads(line)
                gold = sorted({article_index[a] for a in (article_id(g["so_hieu"], g["dieu"]) for g in row["gold"])
                               if a in article_index})
                if gold and (name, row["id"]) in embedded:
                    questions.append((name, row["id"], embedded[(name, row["id"])], gold, None))
    return questions


class Encoder:
    """e5-small in JAX, weights dequantized from E5S1, with LoRA adapters on the linear layers."""

    def __init__(self, path, rank, alpha):
        model = e5s1.E5S1(path)
        h = model.header
        self.heads, self.eps, self.scale = h.heads, h.layer_norm_eps, alpha / rank
        self.word = jnp.asarray(model.tensor("emb.word"))
        self.position = jnp.asarray(model.tensor("emb.pos"))
        self.type0 = jnp.asarray(model.tensor("emb.type")[0])
        self.emb_ln = (jnp.asarray(model.tensor("emb.ln.w")), jnp.asarray(model.tensor("emb.ln.b")))
        layers = {}
        for name in LINEARS:
            layers[name + ".w"] = np.stack([model.tensor(f"l{i}.{name}.w").T for i in range(h.layers)])
            layers[name + ".b"] = np.stack([model.tensor(f"l{i}.{name}.b") for i in range(h.layers)])
        for name in ("aln", "oln"):
            for part in ("w", "b"):
                layers[f"{name}.{part}"] = np.stack([model.tensor(f"l{i}.{name}.{part}") for i in range(h.layers)])
        self.layers = {k: jnp.asarray(v) for k, v in layers.items()}
        rng = np.random.default_rng(20261207)
        self.lora = {}
        for name in LINEARS:
            fan_in, fan_out = layers[name + ".w"].shape[1:]
            # A random, B zero: the adapted model starts as e5-small itself.
            self.lora[name + ".a"] = jnp.asarray(
                rng.normal(0, 1 / math.sqrt(fan_in), (h.layers, fan_in, rank)).astype(np.float32))
            self.lora[name + ".b"] = jnp.zeros((h.layers, rank, fan_out), jnp.float32)

    def layer_norm(self, x, w, b):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / jnp.sqrt(var + self.eps) * w + b

    def embed(self, lora, ids, mask):
        batch, length = ids.shape
        x = self.word[ids] + self.position[:length] + self.type0
        x = self.layer_norm(x, *self.emb_ln)
        bias = (1.0 - mask)[:, None, None, :] * -1e9
        head_dim = DIM // self.heads

        def body(x, layer):
            weights, adapters = layer

            def linear(inp, name):
                out = inp @ weights[name + ".w"] + weights[name + ".b"]
                return out + (inp @ adapters[name + ".a"]) @ adapters[name + ".b"] * self.scale

            def split(t):
                return t.reshape(batch, length, self.heads, head_dim).transpose(0, 2, 1, 3)

            q, k, v = (split(linear(x, n)) for n in ("q", "k", "v"))
            probs = jax.nn.softmax(q @ k.transpose(0, 1, 3, 2) / math.sqrt(head_dim) + bias, axis=-1)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, DIM)
            x = self.layer_norm(x + linear(context, "ao"), weights["aln.w"], weights["aln.b"])
            inner = jax.nn.gelu(linear(x, "fi"), approximate=False)
            x = self.layer_norm(x + linear(inner, "fo"), weights["oln.w"], weights["oln.b"])
            return x, None

        x, _ = jax.lax.scan(body, x, (self.layers, lora))
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / jnp.linalg.norm(pooled, axis=-1, keepdims=True)


def batches_of(tokenizer, texts, max_tokens):
    encoded = tokenizer.encode_batch(["query: " + t for t in texts])
    ids = [e.ids[:max_tokens] for e in encoded]
    # Lengths rounded up to a multiple of 8, so that few shapes are compiled.
    length = max(8, -(-max(len(i) for i in ids) // 8) * 8)
    out = np.full((len(ids), length), 1, dtype=np.int32)
    mask = np.zeros((len(ids), length), dtype=np.float32)
    for row, seq in enumerate(ids):
        out[row, :len(seq)] = seq
        mask[row, :len(seq)] = 1
    return jnp.asarray(out), jnp.asarray(mask)


def embed_all(embed_fn, lora, tokenizer, texts, max_tokens, size=64):
    vectors = []
    for start in range(0, len(texts), size):
        ids, mask = batches_of(tokenizer, texts[start:start + size], max_tokens)
        vectors.append(np.asarray(embed_fn(lora, ids, mask)))
    return np.concatenate(vectors)


def metrics(queries, golds, chunks, chunk_article, depth=50):
    r1 = r10 = mrr = r50 = 0.0
    for start in range(0, len(queries), 256):
        scores = queries[start:start + 256] @ chunks.T
        for offset, row in enumerate(scores):
            top = np.argpartition(-row, 400)[:400]
            top = top[np.argsort(-row[top], kind="stable")]
            seen = []
            for chunk in top:
                article = chunk_article[chunk]
                if article not in seen:
                    seen.append(article)
                    if len(seen) == depth:
                        break
            gold = golds[start + offset]
            hits = [k for k, a in enumerate(seen) if a in gold]
            if hits:
                r1 += hits[0] == 0
                r10 += hits[0] < 10
                mrr += 1 / (hits[0] + 1) if hits[0] < 10 else 0
                r50 += 1
    n = max(len(golds), 1)
    return r1 / n, r10 / n, mrr / n, r50 / n


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", default="data/encoder/chunks")
    parser.add_argument("--dump", default="data/ranker/pools.jsonl")
    parser.add_argument("--questions", action="append", help="question files to learn from (their file stem is their set)")
    parser.add_argument("--train-set", action="append", help="sets to learn from (default: ALQAC and every --questions file)")
    parser.add_argument("--e5s1", default=str(REPO / "models" / ".cache" / "e5-small-q4.bin"))
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--alpha", type=float, default=32)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--tau", type=float, default=0.02)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--disjoint", action="store_true",
                        help="learn only from questions none of whose gold articles is gold for an evaluated question")
    parser.add_argument("--keep", type=float, default=0.0,
                        help="weight of a pull towards e5-small's own vector of each training question (1 - cosine)")
    parser.add_argument("--limit", type=int, default=0, help="learn from at most this many questions")
    parser.add_argument("--eval-every", type=int, default=0)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--save", help="write the adapters (npz)")
    parser.add_argument("--load", help="adapters written by --save: skip training")
    parser.add_argument("--augment", help="write the dump with two more features per candidate: the adapted "
                        "cosine of its best chunk and its gap to the pool's best (for train.py --extra-feature)")
    parser.add_argument("--report")
    args = parser.parse_args()

    chunks, chunk_article, article_index = load_chunks(args.chunks)
    questions = load_questions(args, article_index)
    train_sets = args.train_set or (["alqac/train2024_verified"] + [Path(p).stem for p in args.questions or []])
    overlap = set(train_sets) & set(EVAL_SETS)
    if overlap:
        print(f"warning: {sorted(overlap)} are learnt from and reported", file=sys.stderr)
    evaluated = {name: [q for q in questions if q[0] == name] for name in EVAL_SETS}
    held_texts = {q[2] for rows in evaluated.values() for q in rows}
    held_articles = {a for rows in evaluated.values() for q in rows for a in q[3]}
    training, seen_texts = [], set()
    for q in questions:
        # A training question with the text of an evaluated one would leak it; repeats are one.
        # With --disjoint, a question about an evaluated gold article is left out too: questions
        # written about the same much-asked articles as the evaluated ones inflate their numbers
        # (round 8), so what is reported is then only what carries to other articles.
        if args.disjoint and held_articles & set(q[3]):
            continue
        if q[0] in train_sets and q[2] not in held_texts and q[2] not in seen_texts:
            seen_texts.add(q[2])
            training.append(q)
    rng = np.random.default_rng(args.seed)
    rng.shuffle(training)
    if args.limit:
        training = training[:args.limit]
    print(f"{len(chunks)} chunks; learning from {len(training)} questions of {train_sets}", file=sys.stderr)

    tokenizer = Tokenizer.from_file(str(REPO / "models" / "e5-small" / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    encoder = Encoder(args.e5s1, args.rank, args.alpha)
    embed_fn = jax.jit(encoder.embed)
    chunks_j = jnp.asarray(chunks)
    chunk_article_j = jnp.asarray(chunk_article)

    def loss_fn(lora, ids, mask, gold, base):
        q = encoder.embed(lora, ids, mask)
        logits = q @ chunks_j.T / args.tau
        positive = (chunk_article_j[None, None, :] == gold[:, :, None]).any(1)
        contrastive = (jax.nn.logsumexp(logits, axis=1)
                       - jax.nn.logsumexp(jnp.where(positive, logits, -jnp.inf), axis=1)).mean()
        return contrastive + args.keep * (1.0 - (q * base).sum(-1)).mean()

    grad_fn = jax.jit(jax.value_and_grad(loss_fn))

    def evaluate(lora, label):
        lines = []
        for name, rows in evaluated.items():
            vectors = embed_all(embed_fn, lora, tokenizer, [q[2] for q in rows], args.max_tokens)
            r1, r10, mrr, r50 = metrics(vectors, [set(q[3]) for q in rows], chunks, chunk_article)
            lines.append(f"| {name} | {len(rows)} | {label} | {r1:.3f} | {r10:.3f} | {mrr:.3f} | {r50:.3f} |")
        print("\n".join(lines), file=sys.stderr, flush=True)
        return lines

    # The JAX model without adapters must be e5-small as `ask` runs it (the index's int8 graph).
    base = evaluated["questions/citizen-dev"][:32]
    vectors = embed_all(embed_fn, encoder.lora, tokenizer, [q[2] for q in base], args.max_tokens)
    cosines = [float(v @ q[4]) for v, q in zip(vectors, base)]
    print(f"cosine with the dump's query vectors: min {min(cosines):.4f}, mean {np.mean(cosines):.4f}", file=sys.stderr)

    table = ["| set | questions | encoder | R@1 | R@10 | MRR@10 | R@50 |", "|---|---|---|---|---|---|---|"]
    table += evaluate(encoder.lora, "e5 as is")
    lora = dict(encoder.lora)
    if args.load:
        lora = {k: jnp.asarray(v) for k, v in np.load(args.load).items()}
        args.epochs = 0
    moments = ({k: jnp.zeros_like(v) for k, v in lora.items()}, {k: jnp.zeros_like(v) for k, v in lora.items()})
    steps = int(args.epochs * len(training) / args.batch)
    base_vectors = (embed_all(embed_fn, encoder.lora, tokenizer, [q[2] for q in training], args.max_tokens)
                    if args.keep else np.zeros((len(training), DIM), np.float32))
    started = time.time()
    for step in range(1, steps + 1):
        start = ((step - 1) * args.batch) % len(training)
        batch = training[start:start + args.batch]
        ids, mask = batches_of(tokenizer, [q[2] for q in batch], args.max_tokens)
        gold = np.full((len(batch), 4), -1, dtype=np.int32)
        for row, q in enumerate(batch):
            gold[row, :min(4, len(q[3]))] = q[3][:4]
        loss, grads = grad_fn(lora, ids, mask, jnp.asarray(gold), jnp.asarray(base_vectors[start:start + args.batch]))
        warm = min(1.0, step / max(steps // 10, 1))
        rate = args.lr * warm * (1 - (step - 1) / steps if step > steps // 10 else 1)
        first, second = moments
        for k in lora:
            first[k] = 0.9 * first[k] + 0.1 * grads[k]
            second[k] = 0.999 * second[k] + 0.001 * grads[k] ** 2
            lora[k] = lora[k] - rate * (first[k] / (1 - 0.9 ** step)) / (jnp.sqrt(second[k] / (1 - 0.999 ** step)) + 1e-8)
        if step % 20 == 0 or step == steps:
            print(f"step {step}/{steps}: loss {float(loss):.3f} ({time.time() - started:.0f} s)", file=sys.stderr, flush=True)
        if args.eval_every and step % args.eval_every == 0 and step != steps:
            evaluate(lora, f"step {step}")
    table += evaluate(lora, f"adapted ({steps} steps)")

    header = [
        "# Round 12: the question side of e5-small fine-tuned on CPU (LoRA)",
        "",
        f"Learnt from {len(training)} questions ({', '.join(train_sets)}); rank {args.rank}, alpha {args.alpha}, "
        f"lr {args.lr}, temperature {args.tau}, batch {args.batch}, {steps} steps. Dense channel alone: "
        "articles by their best chunk over every chunk of the index (no validity filter); passages keep the "
        "index's vectors.",
        "",
        f"`{' '.join(sys.argv)}`",
        "",
    ]
    report = "\n".join(header + table) + "\n"
    print(report)
    if args.report:
        Path(args.report).write_text(report, encoding="utf-8")
    if args.save:
        np.savez(args.save, **{k: np.asarray(v) for k, v in lora.items()})
    if args.augment:
        augment(args, lora, embed_fn, tokenizer, chunks, chunk_article, article_index)


def augment(args, lora, embed_fn, tokenizer, chunks, chunk_article, article_index):
    """The ranker's dump with the adapted question's cosine to each candidate's best chunk."""
    embedded = read_embedded(args.chunks)
    with open(args.dump, encoding="utf-8") as file:
        rows = [json.loads(line) for line in file]
    keys = sorted({(r["set"], r["id"]) for r in rows})
    vectors = dict(zip(keys, embed_all(embed_fn, lora, tokenizer, [embedded[k] for k in keys], args.max_tokens)))
    order = np.argsort(chunk_article, kind="stable")
    starts = np.searchsorted(chunk_article[order], np.arange(len(article_index) + 1))
    with open(args.augment, "w", encoding="utf-8") as out:
        for row in rows:
            scores = chunks @ vectors[(row["set"], row["id"])]
            cosines = []
            for candidate in row["candidates"]:
                a = article_index.get(candidate["article_id"])
                cosines.append(float(scores[order[starts[a]:starts[a + 1]]].max()) if a is not None else 0.0)
            best = max(cosines, default=0.0)
            for candidate, cosine in zip(row["candidates"], cosines):
                candidate["features"] = candidate["features"] + [cosine, best - cosine]
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {args.augment}", file=sys.stderr)


if __name__ == "__main__":
    main()
