"""The packaged embedding model, as the index uses it."""

import numpy as np
import pytest

from qa.embeddings import DEFAULT_MODEL_NAME, SentenceTransformerEmbedder, packaged_model_path


def test_packaged_model_folder_holds_the_weights():
    from pathlib import Path

    folder = Path(packaged_model_path())
    assert (folder / "model.safetensors").is_file() and (folder / "modules.json").is_file()


def test_batch_size_must_be_positive():
    with pytest.raises(ValueError, match="batch_size must be greater than 0, got 0"):
        SentenceTransformerEmbedder(batch_size=0)


@pytest.mark.slow
def test_vectors_are_normalised_384_d_and_similar_texts_are_close(real_embedder):
    assert real_embedder.name == DEFAULT_MODEL_NAME and real_embedder.dimension == 384
    vectors = real_embedder.embed(
        [
            "The embassy operates from Doha.",
            "The mission works out of Qatar's capital.",
            "A recipe for chocolate cake.",
        ]
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


@pytest.mark.slow
def test_empty_input_gives_an_empty_matrix(real_embedder):
    assert real_embedder.embed([]).shape == (0, 384)


@pytest.mark.slow
def test_long_work_shows_a_progress_bar_and_keeps_the_order(real_embedder, capsys):
    texts = [f"sentence number {i} about topic {i % 7}" for i in range(300)]
    with_bar = real_embedder.embed(texts, progress=True)
    err = capsys.readouterr().err
    assert "Embedding" in err and "300/300" in err
    without = real_embedder.embed(texts, progress=False)
    assert capsys.readouterr().err == ""
    assert np.allclose(with_bar, without, atol=1e-5)
