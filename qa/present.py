"""An answer as people and programs outside Python see it: where a span lies ("page 3,
characters 120–480") and the answer as JSON, the one shape `qa ask --json` and the page's
`/ask` API both return. Plain data in, plain data out: nothing here knows the page or the CLI."""

from __future__ import annotations

import dataclasses
from typing import Any

from qa.types import Answer, Citation, Passage


def location(item: Citation | Passage) -> str:
    """Where a span lies, as a person reads it: 'page 3, characters 120–480'."""
    chars = f"characters {item.start}–{item.end}"
    return f"page {item.page}, {chars}" if item.page is not None else chars


def answer_json(answer: Answer) -> dict[str, Any]:
    """The answer as JSON-ready data: text, citations (with quotes and locations), passages,
    and what the local model did; "searched" is the standalone question a follow-up was
    searched as (else the question itself)."""
    return {
        "question": answer.question,
        "searched": answer.searched if answer.searched is not None else answer.question,
        "short": answer.short,
        "confidence": answer.confidence,
        "text": answer.text,
        "answered": answer.answered,
        "mode": answer.mode,
        "notes": list(answer.notes),
        "citations": [
            {
                "n": c.n,
                "source": c.source,
                "start": c.start,
                "end": c.end,
                "page": c.page,
                "location": location(c),
                "quote": c.quote,
                "score": c.score,
                "short_start": c.short_start,
                "short_end": c.short_end,
            }
            for c in answer.citations
        ],
        "passages": [
            {
                "source": p.source,
                "start": p.start,
                "end": p.end,
                "page": p.page,
                "location": location(p),
                "text": p.text,
                "score": p.score,
                "chunk_id": p.chunk_id,
            }
            for p in answer.passages
        ],
        "generation": dataclasses.asdict(answer.generation) if answer.generation else None,
    }
