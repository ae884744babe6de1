"""The errors qa raises. Only the CLI and the UI turn them into messages for people."""


class QAError(Exception):
    """Base class for every error qa raises on purpose."""


class InputError(QAError, ValueError):
    """A question, path or setting that cannot be used as given."""


class DocumentError(QAError):
    """A file that cannot be read as a document."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class NoDocumentsError(QAError):
    """Nothing usable was found in the paths given for indexing."""


class IndexFolderError(QAError):
    """An index that is missing, unreadable, or built in a way this version cannot use."""


class IndexNotFoundError(IndexFolderError):
    """No index exists at the given folder."""


class IndexMismatchError(IndexFolderError):
    """The index was built with another model, format or settings."""


class IndexCorruptError(IndexFolderError):
    """An index file is missing, truncated or damaged."""


class SkippedFileWarning(UserWarning):
    """A file was left out of an index because it could not be read."""
