"""Log configuration of the agent and its worker processes: one line per record."""

from __future__ import annotations

import logging
import sys

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def configure_logging(level: str | int, **static_fields: object) -> None:
    """Log to stderr at ``level``, with ``static_fields`` (such as worker=1) on every line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if static_fields:
        handler.addFilter(_StaticFields(static_fields))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)


class KeyValueFormatter(logging.Formatter):
    """Appends the fields passed through `extra` as key=value pairs."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [
            f"{key}={value!s}"
            for key, value in vars(record).items()
            if key not in _STANDARD_ATTRS and not key.startswith("_")
        ]
        return " ".join([line, *fields])


class _StaticFields(logging.Filter):
    def __init__(self, fields: dict[str, object]) -> None:
        super().__init__()
        self._fields = fields

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in self._fields.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True
