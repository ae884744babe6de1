"""Which index a page asks: opened once per process; a wrong folder is a clear error."""

import pytest

from qa.chat import open_index
from qa.errors import IndexNotFoundError, InputError


def test_a_missing_index_folder_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="There is no folder"):
        open_index(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFoundError, match="No index in"):
        open_index(tmp_path / "empty")


def test_an_index_is_opened_once(tmp_path, small_index, monkeypatch):
    opened = []
    monkeypatch.setattr(
        "qa.chat.Index.load", lambda path: opened.append(path) or small_index, raising=True
    )
    assert open_index(f" {tmp_path / 'idx'} ") is open_index(tmp_path / "idx") is small_index
    assert len(opened) == 1
