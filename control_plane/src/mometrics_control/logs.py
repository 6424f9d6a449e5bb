"""One logging set-up for every control plane process.

Log calls use constant messages and put ids in `extra`, for example
``log.info("agent connected", extra={"agent_id": ..., "region": ...})``; the
formatter appends those fields as key=value pairs so the lines stay greppable.
"""

from __future__ import annotations

import logging
import sys

# Attributes every LogRecord has; anything else came through `extra`.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {
            key: value
            for key, value in vars(record).items()
            if key not in _STANDARD_ATTRS and key != "color_message" and not key.startswith("_")
        }
        if fields:
            line += " " + " ".join(f"{key}={_render(value)}" for key, value in fields.items())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        return line


def _render(value: object) -> str:
    text = str(value)
    if not text or any(char.isspace() or char in '"=' for char in text):
        return '"' + text.replace('"', '\\"') + '"'
    return text


def configure_logging(level: str = "INFO", process: str = "") -> None:
    handler = logging.StreamHandler(sys.stderr)
    prefix = f"{process} " if process else ""
    handler.setFormatter(
        KeyValueFormatter(f"%(asctime)s %(levelname)s {prefix}%(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Per-request access lines from uvicorn are DEBUG-level detail here.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
