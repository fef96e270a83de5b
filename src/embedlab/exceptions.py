"""Exceptions and warnings raised by embedlab.

Every error a user can cause is an :class:`EmbedlabError`; the command line turns
it into one line on stderr and exit code 2. Messages name the argument (or file,
column, row), what came, what was expected, and the fix.

Hierarchy::

    EmbedlabError (Exception)
    ├── DataError (ValueError)            bad input data: files, columns, values
    │   ├── DatasetNotFoundError          a dataset is neither on disk nor downloadable
    │   └── BundleError                   a saved model bundle is missing, damaged or of another format
    ├── DownloadError (OSError)           a download failed (HTTP error, timeout, checksum)
    ├── StorageError (OSError)            a write failed: disk or quota full, read-only, not permitted
    ├── SettingsError (ValueError)        a model setting out of range, of the wrong type or unknown
    ├── UnknownIDError (KeyError)         a raw user/item ID that a vocabulary does not know
    ├── NotFittedError (ValueError, AttributeError)
    └── TrainingDivergedError (RuntimeError)

    DataWarning (UserWarning)             suspicious but usable data (e.g. duplicate pairs)
"""

from __future__ import annotations

__all__ = [
    "BiasesOnlyWarning",
    "BundleError",
    "DataError",
    "DataWarning",
    "DatasetNotFoundError",
    "DownloadError",
    "EmbedlabError",
    "NotFittedError",
    "SettingsError",
    "StorageError",
    "TrainingDivergedError",
    "UnknownIDError",
]


class EmbedlabError(Exception):
    """Base class of every error that a user of embedlab can cause."""


class DataError(EmbedlabError, ValueError):
    """Input data is malformed: missing columns, bad values, unreadable files."""


class DatasetNotFoundError(DataError):
    """A named dataset is not on disk and could not be downloaded."""


class BundleError(DataError):
    """A model bundle cannot be saved or loaded: missing, truncated or edited files,
    an unknown format version, tensors that do not match ``model.json``."""


class DownloadError(EmbedlabError, OSError):
    """Downloading a file failed: HTTP error, refused connection, timeout, bad checksum."""


class StorageError(EmbedlabError, OSError):
    """Writing a file failed because of the storage, not of embedlab: no space left on the
    device (``ENOSPC``), quota exceeded (``EDQUOT``), a read-only file system (``EROFS``),
    permission denied (``EACCES``, ``EPERM``) or a file too large (``EFBIG``).

    ``errno`` holds the code of the failure (``filename`` the path); the message names
    the path, the reason and what was kept (the previous file or bundle is left as it was).
    ``OSError`` would prefix ``[Errno N]`` once ``errno`` is set; ``__str__`` is overridden
    so the message reads as written.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class SettingsError(EmbedlabError, ValueError):
    """A setting (a model parameter or a command-line option) is unknown, of the wrong
    type, out of range, or conflicts with another setting or the chosen engine."""


class UnknownIDError(EmbedlabError, KeyError):
    """A raw ID is not in the vocabulary.

    ``KeyError`` normally ``repr``-s its argument, which would wrap the message in
    quotes; ``__str__`` is overridden so the message reads as written.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NotFittedError(EmbedlabError, ValueError, AttributeError):
    """A model was used before ``fit``."""


class TrainingDivergedError(EmbedlabError, RuntimeError):
    """The training loss became NaN or infinite."""


class DataWarning(UserWarning):
    """Data that can be used but probably is not what the user meant."""


class BiasesOnlyWarning(DataWarning):
    """The factors did not beat the biases-only model on the held-out ratings, so the
    model predicts with its biases alone (``MatrixFactorization(fallback=...)``)."""
