"""The chunk vectors `examples/encoder_data.rs` writes (round 12): PREFIX.f32 holds every chunk's
stored e5 vector, little-endian float32, 384 per chunk, in the order of PREFIX.ids, which names each
chunk's article, one per line. Numpy only, so that both the encoder's JAX environment and the
ranker's LightGBM one can read them."""
from pathlib import Path

import numpy as np

DIM = 384


def read(prefix):
    """(vectors [chunks × 384], article id of each chunk)."""
    ids = Path(f"{prefix}.ids").read_text(encoding="utf-8").split("\n")[:-1]
    vectors = np.fromfile(f"{prefix}.f32", dtype="<f4").reshape(len(ids), DIM)
    return vectors, ids
