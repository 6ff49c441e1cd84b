"""Errors the importer raises on purpose: each carries a code and a message for the user."""
from __future__ import annotations


class ImportRejected(Exception):
    """The input cannot be imported as it is; nothing was written.

    ``code`` is a stable short name (tests and the UI key on it), ``message``
    says what the file really is and what to do about it (the command line's
    words); ``params`` are the figures in it, for a page that says the same in
    its own language (``import_error.<code>.detail``).
    """

    def __init__(self, code: str, message: str, params: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params or {}


class DecisionNeeded(ImportRejected):
    """The import needs the user to choose (date order, a mapping, a duplicate file)."""

    def __init__(self, code: str, message: str, options: list[str] | None = None,
                 details: dict | None = None, params: dict | None = None):
        super().__init__(code, message, params)
        self.options = options or []
        # What was read so far (sheets, header, columns, suggested mapping), so a
        # page can show the file while it asks the question.
        self.details = details or {}
