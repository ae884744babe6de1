"""Settings: every setting of the pipeline in one frozen record, grouped by stage.

    chunking   how documents are cut (qa.chunking.ChunkSettings: 800 / 150 characters)
    retrieval  how passages are found and ranked (qa.retrieval.RetrievalSettings)
    answering  how evidence is scored, read and quoted, when to refuse (qa.answer.AnswerSettings)
    writing    how mode "generate" writes and checks (qa.generate.WritingSettings)
    passages   how many passages a question retrieves unless asked otherwise (k)
    mode       how an answer is made unless asked otherwise (qa.settings.Mode)

It lives here, above the stages whose settings it groups, not in qa/settings.py: that module is
the base layer (Mode, StoreSpec) that the stores import, and the stages import the stores.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from qa.answer import AnswerSettings
from qa.chunking import ChunkSettings
from qa.generate import WritingSettings
from qa.questions import check_k
from qa.retrieval import RetrievalSettings
from qa.settings import Mode

DEFAULT_PASSAGES = 5  # k: passages retrieved for a question (the answer draws on them)


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting an Index and the `qa` command use; each part checks itself on entry."""

    chunking: ChunkSettings = field(default_factory=ChunkSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    answering: AnswerSettings = field(default_factory=AnswerSettings)
    writing: WritingSettings = field(default_factory=WritingSettings)
    passages: int = DEFAULT_PASSAGES
    mode: Mode = Mode.EXTRACTIVE

    def __post_init__(self) -> None:
        check_k(self.passages)
        # A mode given as its string ("generate") is checked, and held as the Mode, here only.
        object.__setattr__(self, "mode", Mode.of(self.mode))

    def chunked(self, size: int | None = None, overlap: int | None = None) -> Settings:
        """These settings with chunks of `size` and `overlap` characters (None: as they are)."""
        chunking = ChunkSettings(
            size=self.chunking.size if size is None else size,
            overlap=self.chunking.overlap if overlap is None else overlap,
        )
        return dataclasses.replace(self, chunking=chunking)
