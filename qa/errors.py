"""The errors qa raises. Only the CLI and the UI turn them into messages for people."""

import errno


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


# errno values that mean "this disk cannot take what qa writes", and what to do about each.
_DISK_PROBLEMS = {
    errno.ENOSPC: "the disk is full (no space left on device): free some space, then try again",
    errno.EDQUOT: "the disk quota is used up: free some space, then try again",
    errno.EROFS: "the disk is read-only: use a folder on a writable disk, or remount it",
    errno.EACCES: "qa may not write there (permission denied): choose a folder you can write to",
    errno.EPERM: "qa may not write there (not permitted): choose a folder you can write to",
}


def disk_problem(error: BaseException) -> str | None:
    """A short sentence for an OSError that means the disk is full, read-only or not ours to
    write; None for any other error. "Cannot write to /srv/idx: the disk is full (...)"."""
    if not isinstance(error, OSError) or error.errno not in _DISK_PROBLEMS:
        return None
    where = f" {error.filename}" if error.filename else ""
    return f"Cannot write to{where or ' the index folder'}: {_DISK_PROBLEMS[error.errno]}."


class StoreError(QAError):
    """The vector store cannot be reached, created or read."""
