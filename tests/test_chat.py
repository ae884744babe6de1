"""Which index a page asks: opened once per process; a wrong folder is a clear error."""

import os

import pytest

from qa.errors import IndexNotFoundError, InputError
from qa.ui.serving import NOT_ALLOWED, open_index


def test_a_missing_index_folder_is_a_clear_error(tmp_path, monkeypatch):
    allowed = [str(tmp_path / "nowhere"), str(tmp_path / "empty")]
    monkeypatch.setenv("QA_INDEX_FOLDERS", os.pathsep.join(allowed))
    with pytest.raises(InputError, match="There is no folder"):
        open_index(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFoundError, match="No index in"):
        open_index(tmp_path / "empty")


def test_an_index_is_opened_once(tmp_path, small_index, monkeypatch):
    monkeypatch.setenv("QA_INDEX_FOLDERS", str(tmp_path / "idx"))
    opened = []
    monkeypatch.setattr(
        "qa.ui.serving.Index.load", lambda path: opened.append(path) or small_index, raising=True
    )
    assert open_index(f" {tmp_path / 'idx'} ") is open_index(tmp_path / "idx") is small_index
    assert len(opened) == 1


def test_a_page_opens_no_other_folder_unless_its_owner_allowed_it(
    tmp_path, small_index, monkeypatch
):
    # Finding 4: the page's "use this index" answered from any index on the machine, and its
    # messages told which folders exist ("No index in /etc") and where home is ("~": /root).
    monkeypatch.delenv("QA_INDEX_FOLDERS", raising=False)
    for typed in [str(tmp_path / "idx"), "/etc", "~", str(tmp_path / "nowhere"), "/"]:
        with pytest.raises(InputError) as refused:
            open_index(typed)
        assert str(refused.value) == NOT_ALLOWED
    monkeypatch.setenv("QA_INDEX_FOLDERS", f"/srv/other{os.pathsep}{tmp_path / 'idx'}")
    monkeypatch.setattr("qa.ui.serving.Index.load", lambda path: small_index)
    assert open_index(tmp_path / "idx") is small_index
