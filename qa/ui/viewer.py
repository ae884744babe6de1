"""The document viewer: a cited document shown whole, escaped, with the cited span marked, so
that a person can read what comes before and after a quote. Opened by an [n] marker or a
source card's button; the page's script scrolls the mark into view and closes it on Escape."""

from __future__ import annotations

import html
import json
from typing import Any

from qa.errors import InputError
from qa.ui import serving
from qa.ui.boundary import guarded
from qa.ui.render import file_name

WINDOW_CHARS = 100_000  # a longer document is shown this far either side of the span


def _dialog(title: str, body: str, *, nonce: str, where: str = "") -> str:
    """The viewer's dialog; `nonce` makes each opening new, so the page shows it again."""
    return (
        f'<div class="qa-viewer-layer" data-nonce="{html.escape(nonce, quote=True)}">'
        '<div class="qa-viewer-backdrop"></div>'
        '<div class="qa-viewer" role="dialog" aria-modal="true" aria-labelledby="qa-viewer-title">'
        '<div class="qa-viewer-bar">'
        f'<h2 id="qa-viewer-title" class="qa-viewer-title">{html.escape(title)}</h2>'
        f'<span class="qa-viewer-where">{html.escape(where)}</span>'
        '<button type="button" class="qa-viewer-close" aria-label="Close the document">'
        "Close ✕</button></div>"
        f'<div class="qa-viewer-text" tabindex="0">{body}</div></div></div>'
    )


def _request(text: str) -> tuple[str, int, int, int, str]:
    """The source, span, marker number and nonce the page asks for; InputError if malformed."""
    try:
        data: Any = json.loads(text)
        source, start, end = data["source"], int(data["start"]), int(data["end"])
        n, nonce = int(data.get("n", 0)), str(data.get("nonce", ""))
    except (ValueError, TypeError, KeyError) as error:
        raise InputError("The page asked for a document it did not name.") from error
    if not isinstance(source, str):
        raise InputError("The page asked for a document it did not name.")
    return source, start, end, n, nonce


def _failed(message: str, request: str, folder: str) -> str:
    try:
        nonce = _request(request)[4]
    except InputError:
        nonce = ""
    body = f'<p class="qa-error" role="alert">{html.escape(message)}</p>'
    return _dialog("The document cannot be shown", body, nonce=nonce)


@guarded("opening the document", _failed)
def open_document(request: str, folder: str) -> str:
    """The viewer for the span the page asked for (JSON: source, start, end, n,
    nonce) in the current index; "" when nothing was asked. Only its documents are shown."""
    if not request:
        return ""
    source, start, end, n, nonce = _request(request)
    document = serving.open_index(folder).document(source)
    text = document.text
    if not 0 <= start < end <= len(text):
        raise InputError(f"{file_name(source)} has no passage at characters {start}–{end}.")
    first = max(0, start - WINDOW_CHARS)
    last = min(len(text), end + WINDOW_CHARS)
    body = (
        ("<p class='qa-viewer-cut'>… (the start of the document is not shown)</p>" if first else "")
        + html.escape(text[first:start])
        + f'<mark class="qa-viewer-mark">{html.escape(text[start:end])}</mark>'
        + html.escape(text[end:last])
        + (
            "<p class='qa-viewer-cut'>… (the rest of the document is not shown)</p>"
            if last < len(text)
            else ""
        )
    )
    page = document.page_at(start)
    where = " · ".join(
        part
        for part in (f"source [{n}]" if n else "", f"page {page}" if page is not None else "")
        if part
    )
    return _dialog(file_name(source), body, nonce=nonce, where=where)
