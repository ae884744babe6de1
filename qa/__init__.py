"""qa: offline question answering over your documents, with exact citations.

from qa import ask
answer = ask("Where has the US embassy in Afghanistan been operating from?")
print(answer.text)             # "... operating from Doha ... [1]"
for c in answer.citations:     # c.quote == the source's text[c.start:c.end]
    print(c.n, c.source, c.start, c.end, c.quote)
"""

from qa.answer import AnswerSettings
from qa.api import ask, default_index, stream
from qa.chunking import ChunkSettings
from qa.conversation import Conversation, ConversationSettings, Turn
from qa.embeddings import Embedder, SentenceTransformerEmbedder
from qa.errors import (
    DocumentError,
    IndexCorruptError,
    IndexFolderError,
    IndexMismatchError,
    IndexNotFoundError,
    InputError,
    NoDocumentsError,
    QAError,
    SkippedFileWarning,
)
from qa.generate import AnswerStream
from qa.index import Index, build_index, load_index
from qa.indexing import IndexReport
from qa.pipeline_settings import Settings
from qa.retrieval import RetrievalSettings
from qa.settings import Mode
from qa.types import Answer, Citation, Document, GenerationReport, Page, Passage

__all__ = [
    "Answer",
    "AnswerSettings",
    "AnswerStream",
    "ChunkSettings",
    "Citation",
    "Conversation",
    "ConversationSettings",
    "Document",
    "DocumentError",
    "Embedder",
    "GenerationReport",
    "Index",
    "IndexCorruptError",
    "IndexFolderError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexReport",
    "InputError",
    "Mode",
    "NoDocumentsError",
    "Page",
    "Passage",
    "QAError",
    "RetrievalSettings",
    "SentenceTransformerEmbedder",
    "Settings",
    "SkippedFileWarning",
    "Turn",
    "ask",
    "build_index",
    "default_index",
    "load_index",
    "stream",
]
