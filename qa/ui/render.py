"""What the chat page shows, as HTML that runs nothing: answers with linked [n] markers, their
sources with the quoted span highlighted, notices, the list of documents. Every piece of
document text goes through `escape`; the classes it uses are styled in `qa.ui.style`."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from qa import followups
from qa.index import Index
from qa.limits import MESSAGE_CHARS
from qa.types import Answer, Citation, Passage

CONTEXT_CHARS = 120  # characters of the passage shown on each side of the cited span
CLOSEST_SHOWN = 2  # passages a refusal offers, folded: they did not answer, so few help
_MARKER = re.compile(r"\[(\d+)\]")
# The notes qa.generate writes for each sentence of the model's it did not show.
_UNSUPPORTED = re.compile(r"Removed a sentence no passage supports \((.*)\): “(.*)”", re.DOTALL)
_UNFINISHED = re.compile(r"Removed an unfinished sentence: “(.*)”", re.DOTALL)


def escape(text: str) -> str:
    """Document text as inert HTML on one line: no tag, entity, Markdown block or LaTeX survives."""
    # One line keeps a Markdown renderer inside the HTML block; "$" would start LaTeX.
    return html.escape(" ".join(text.split()), quote=True).replace("$", "&#36;")


def render_reply(answer: Answer, *, anchor: str, words: int | None = None) -> str:
    """The chat reply: the answer with linked [n] markers, then its sources (once complete).

    `words` shows only the answer's first words, for streaming; `anchor` makes the links of
    this reply unique on the page. A follow-up searched as another question says so.
    """
    tokens = answer.text.split()
    complete = words is None or words >= len(tokens)
    shown = tokens if words is None else tokens[:words]
    citations = {c.n: c for c in answer.citations}
    text = " ".join(_render_token(t, citations, anchor) for t in shown)
    kind = "qa-answer" if answer.answered else "qa-answer qa-refusal"
    parts = ['<div class="qa-reply">']
    if answer.short:  # the reader's short answer leads; the quotes below back it up
        short = f'<strong class="qa-short-answer">{escape(answer.short)}</strong>'
        parts.append(f'<div class="qa-short">{short}</div>')
    parts.append(f'<div class="{kind}">{text}</div>')
    if complete:
        if answer.searched is not None and answer.searched != answer.question:
            parts.append(f'<div class="qa-note">Searched for: “{escape(answer.searched)}”</div>')
        if answer.mode == "generate" and answer.generation and not answer.generation.fell_back:
            parts.append(
                f'<div class="qa-note">Written by {escape(answer.generation.model)}; every '
                "sentence shown was checked against the passage it cites.</div>"
            )
        parts.append(render_notes(answer.notes))
        parts.append(render_sources(answer, anchor=anchor))
    parts.append("</div>")
    return "".join(parts)


def render_notes(notes: Sequence[str]) -> str:
    """The notes of an answer, one line each; the model's removed sentences are counted in one
    line, with why and what they said folded beneath it and marked as removed, never shown
    as if they were part of the answer."""
    removed: list[tuple[str, str]] = []  # (why, the sentence)
    lines = []
    for note in notes:
        unsupported, unfinished = _UNSUPPORTED.fullmatch(note), _UNFINISHED.fullmatch(note)
        if unsupported:
            removed.append((f"No passage supports it: {unsupported.group(1)}.", unsupported[2]))
        elif unfinished:
            removed.append(("It was cut off unfinished.", unfinished.group(1)))
        else:
            lines.append(f'<div class="qa-note">{escape(note)}</div>')
    if removed:
        items = "".join(
            f'<li><span class="qa-why">{escape(why)}</span> Removed text: '
            f'<del class="qa-rejected">{escape(text)}</del></li>'
            for why, text in removed
        )
        lines.append(
            f'<details class="qa-fold qa-note qa-removed"><summary>{_removed_line(removed)}'
            f"</summary><ul>{items}</ul></details>"
        )
    return "".join(lines)


def _removed_line(removed: Sequence[tuple[str, str]]) -> str:
    """ "Removed 2 sentences the model wrote: no passage supports them." and the like."""
    cut = sum(why.startswith("It was cut off") for why, _ in removed)
    unsupported = len(removed) - cut
    count = f"{len(removed)} sentence{'s' if len(removed) != 1 else ''}"
    if not cut:
        why = "no passage supports it" if unsupported == 1 else "no passage supports them"
    elif not unsupported:
        why = "it was cut off unfinished" if cut == 1 else "they were cut off unfinished"
    else:
        why = f"{unsupported} no passage supports, {cut} cut off unfinished"
    return f"Removed {count} the model wrote: {why}."


def _render_token(token: str, citations: Mapping[int, Citation], anchor: str) -> str:
    match = _MARKER.fullmatch(token)
    if match is None or int(match.group(1)) not in citations:
        return escape(token)
    c = citations[int(match.group(1))]
    # The page's script opens the document viewer; without it the link leads to the card.
    return f'<a class="qa-marker" href="#{anchor}-{c.n}" title="{_opens(c)}">[{c.n}]</a>'


def _opens(c: Citation) -> str:
    """The title of a link that opens the viewer, which the page's script reads (the chat
    keeps a link's title but drops data-* attributes): "Open notes.md at characters 15–18"."""
    return escape(f"Open {c.source} at characters {c.start}–{c.end}")


def file_name(source: str) -> str:
    """A document's file name, as people call it: "reports/2024/q3.pdf" -> "q3.pdf"."""
    return PurePosixPath(source.replace("\\", "/")).name or source


def render_sources(answer: Answer, *, anchor: str) -> str:
    """The cited passages: the document's name once, each quoted span in <mark> with a little
    context that never repeats another card's, and a link that opens the document there."""
    if answer.citations:
        sources = list(dict.fromkeys(c.source for c in answer.citations))
        heading = "Sources"
        if len(sources) == 1:
            heading += f' · <span class="qa-doc" title="{escape(sources[0])}">'
            heading += f"{escape(file_name(sources[0]))}</span>"
        cards, previous = [], None
        for c in answer.citations:
            named = len(sources) > 1 and c.source != previous
            cards.append(_citation_card(c, answer, anchor, named=named))
            previous = c.source
        return (
            f'<div class="qa-sources"><div class="qa-heading">{heading}</div>{"".join(cards)}</div>'
        )
    if answer.passages:
        # Folded: they did not answer, and open they would push the refusal out of view.
        cards = [_passage_card(p) for p in answer.passages[:CLOSEST_SHOWN]]
        heading = "Closest passages (not enough to answer)"
        return (
            '<div class="qa-sources"><details class="qa-fold">'
            f'<summary class="qa-heading">{heading}</summary>' + "".join(cards) + "</details></div>"
        )
    return ""


def highlighted(
    citation: Citation, passages: Sequence[Passage], others: Sequence[Citation] = ()
) -> str:
    """The passage around a citation, escaped, with the cited span in <mark>. The context
    stops where another of `others` (the answer's other citations) begins or ends, so that
    no sentence shows on two cards."""
    passage = next(
        (
            p
            for p in passages
            if p.source == citation.source and p.start <= citation.start and citation.end <= p.end
        ),
        None,
    )
    before = after = ""
    if passage is not None:
        first, last = passage.start, passage.end
        for o in others:
            if o.source != citation.source or o is citation:
                continue
            if o.end <= citation.start:
                first = max(first, o.end)
            elif o.start >= citation.end:
                last = min(last, o.start)
        before = _clip_left(passage.text[first - passage.start : citation.start - passage.start])
        after = _clip_right(passage.text[citation.end - passage.start : last - passage.start])
    quote = escape(citation.quote)
    if citation.short_start is not None and citation.short_end is not None:
        # The short answer, in bold inside the highlighted sentence.
        a, b = citation.short_start - citation.start, citation.short_end - citation.start
        q = citation.quote
        short = f'<strong class="qa-short-answer">{escape(q[a:b])}</strong>'
        quote = f"{_escape_inline(q[:a])}{short}{_escape_inline(q[b:])}".strip()
    return f"{escape(before)} <mark>{quote}</mark> {escape(after)}".strip()


def _escape_inline(text: str) -> str:
    """`escape`, keeping one space where `text` starts or ends with white space."""
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() and text.strip() else ""
    return lead + escape(text) + trail


def _clip_left(text: str) -> str:
    if len(text) <= CONTEXT_CHARS:
        return text
    cut = text[-CONTEXT_CHARS:]
    return "…" + cut[cut.find(" ") + 1 :] if " " in cut else "…" + cut


def _clip_right(text: str) -> str:
    if len(text) <= CONTEXT_CHARS:
        return text
    cut = text[:CONTEXT_CHARS]
    return (cut[: cut.rfind(" ")] if " " in cut else cut) + "…"


def _citation_card(c: Citation, answer: Answer, anchor: str, *, named: bool) -> str:
    head = ""
    if named:  # several documents: each run of cards from one of them starts with its name
        head = (
            f'<div class="qa-head"><span class="qa-doc" title="{escape(c.source)}">'
            f"{escape(file_name(c.source))}</span></div>"
        )
    # A link the page's script turns into "open the viewer"; its name for a screen reader is
    # its words ("Open source 1"), since the chat drops aria-label.
    button = (
        f'<a class="qa-n qa-goto" href="#{anchor}-{c.n}" title="{_opens(c)}">'
        f'<span class="qa-sr">Open source </span>[{c.n}]</a>'
    )
    page = f' <span class="qa-loc">page {c.page}</span>' if c.page is not None else ""
    body = highlighted(c, answer.passages, answer.citations)
    return (
        f'<div class="qa-source" id="{anchor}-{c.n}">{head}'
        f'<div class="qa-passage">{button}{page} {body}</div></div>'
    )


def _passage_card(p: Passage) -> str:
    head = (
        f'<span class="qa-doc" title="{escape(p.source)}">{escape(file_name(p.source))}</span>'
        + (f' <span class="qa-loc">page {p.page}</span>' if p.page is not None else "")
    )
    body = f'<div class="qa-passage">{escape(_clip_right(p.text))}</div>'
    return f'<div class="qa-source"><div class="qa-head">{head}</div>{body}</div>'


def stream_steps(answer: Answer, *, steps: int = 20) -> list[int]:
    """How many words to show at each step of streaming the answer: [2, 4, ..., all]."""
    total = len(answer.text.split())
    size = max(1, -(-total // steps))  # ceiling division: at most `steps` updates
    return [*range(size, total, size), total]


def stream_reply(answer: Answer, *, anchor: str) -> Iterator[str]:
    """The reply growing word by word, markers intact, ending with the complete one."""
    for words in stream_steps(answer):
        yield render_reply(answer, anchor=anchor, words=words)


def render_writing(text: str) -> str:
    """A written answer while it is being written: checked sentences so far, then a cursor."""
    shown = escape(text) if text else "Writing…"
    return f'<div class="qa-reply"><div class="qa-answer qa-writing">{shown} ▍</div></div>'


_QUESTION_START = '<div class="qa-question">'


def render_question(question: str) -> str:
    """A question typed on the page, as plain text: its Markdown (an image from anywhere, a
    link) and its HTML are shown, never followed or loaded."""
    return f"{_QUESTION_START}{escape(question)}</div>"


def question_text(message: Any) -> str:
    """The question as typed, from a chat message `render_question` made (or plain text)."""
    text = followups.message_text(message)[:MESSAGE_CHARS]
    if not text.startswith(_QUESTION_START):
        return text
    return html.unescape(text.removeprefix(_QUESTION_START).removesuffix("</div>"))


def render_error(message: str) -> str:
    """An error shown in the chat instead of an answer."""
    return f'<div class="qa-reply"><div class="qa-error">{escape(message)}</div></div>'


def render_notice(message: str, *, error: bool = False) -> str:
    """A status line for the page (what an upload or a setting did), escaped."""
    kind = "qa-notice qa-error" if error else "qa-notice"
    return f'<div class="{kind}" role="status">{escape(message)}</div>' if message else ""


# --- the documents of an index ------------------------------------------------------------


def index_name(index: Index) -> str:
    """The index's folder as a person would type it: relative when under the current folder."""
    if index.path is None:
        return "(in memory)"
    path = index.path.resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def render_documents(index: Index) -> str:
    """The list of indexed documents with their sizes, escaped."""
    items = []
    for d in index.documents:
        size = f"{d.chars:,} characters" + (f", {len(d.pages)} pages" if d.pages else "")
        items.append(
            f'<li><span class="qa-doc">{escape(d.source)}</span>'
            f' <span class="qa-loc">{escape(size)}</span></li>'
        )
    count = f"{len(items)} document{'s' if len(items) != 1 else ''}"
    where = f"in {escape(index_name(index))}"
    return (
        f'<div class="qa-docs"><div class="qa-heading">{count}</div>'
        f'<div class="qa-loc">{where}</div><ul>{"".join(items)}</ul></div>'
    )
