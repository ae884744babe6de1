"""What every store does to a batch before adding it."""

from __future__ import annotations

import numpy as np


def one_per_key(keys: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The batch with each key once, its last vector kept: two copies of one file share their
    chunk keys, and a store must hold one vector a key (FAISS would hold both)."""
    if len(np.unique(keys)) == len(keys):
        return keys, vectors
    _, last_reversed = np.unique(keys[::-1], return_index=True)
    last = np.sort(len(keys) - 1 - last_reversed)
    return keys[last], vectors[last]
