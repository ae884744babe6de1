"""The document viewer: the whole cited document, escaped, with the cited span marked; only
documents of the index in use, and a clear message for anything else."""

import json

import pytest
from tests_support import DOHA

from qa.ui import viewer


@pytest.fixture
def index_in_use(small_index, monkeypatch):
    monkeypatch.setattr("qa.ui.serving.open_index", lambda folder: small_index)
    return small_index


def request(source="docs/doha.txt", start=0, end=52, n=1, nonce="7"):
    return json.dumps({"source": source, "start": start, "end": end, "n": n, "nonce": nonce})


def test_the_viewer_shows_the_whole_document_with_the_cited_span_marked(index_in_use):
    start = DOHA.index("It offers")
    shown = viewer.open_document(request(start=start, end=len(DOHA)), "idx")
    assert 'role="dialog"' in shown and 'aria-modal="true"' in shown
    assert '<h2 id="qa-viewer-title" class="qa-viewer-title">doha.txt</h2>' in shown
    assert "The embassy has been operating from Doha since 2021." in shown  # before the mark
    assert '<mark class="qa-viewer-mark">It offers consular services.</mark>' in shown
    assert 'data-nonce="7"' in shown and "source [1]" in shown
    assert "Close" in shown


def test_document_text_is_escaped_in_the_viewer(index_in_use, monkeypatch):
    from qa.types import Document

    evil = Document("evil.md", "/x/evil.md", 'A <img src=x onerror="alert(1)"> B.', "0")
    monkeypatch.setattr(index_in_use, "document", lambda source: evil)
    shown = viewer.open_document(request(source="evil.md", start=0, end=len(evil.text)), "idx")
    assert "<img" not in shown and "&lt;img src=x" in shown


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        (request(source="/etc/passwd"), "No document named &#x27;/etc/passwd&#x27;"),
        (request(start=40, end=4000), "doha.txt has no passage at characters 40–4000."),
        ("{not json", "The page asked for a document it did not name."),
        (json.dumps({"source": 3, "start": 0, "end": 1}), "did not name"),
    ],
)
def test_a_bad_request_is_a_message_in_the_viewer_not_a_traceback(index_in_use, asked, message):
    shown = viewer.open_document(asked, "idx")
    assert message in shown and 'role="alert"' in shown and "Traceback" not in shown


def test_nothing_asked_shows_nothing(index_in_use):
    assert viewer.open_document("", "idx") == ""
