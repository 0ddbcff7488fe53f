"""Passwords out of everything the project prints or logs: one helper for every URL.

`redact_url` hides the password of one URL (`postgresql://user:***@host/db`);
`redact_text` does it for every URL and `password=` pair inside a message.
`install_log_redaction` makes every log record pass through `redact_text`, whichever
library logs it and whichever handler writes it.
"""

from __future__ import annotations

import logging
import re

MASK = "***"
# scheme://user:password@  (the password is everything up to the last '@' of the authority)
_CREDENTIALS = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]*):(?P<pw>[^\s/]*)@")
_PAIR = re.compile(r"(?P<head>\b(?:password|passwd|pwd)\s*=\s*)(?P<pw>[^\s&;,'\"]+)", re.I)


def redact_text(text: str) -> str:
    """`text` with the password of every URL and every `password=` pair masked."""
    if "@" not in text and "=" not in text:
        return text
    text = _CREDENTIALS.sub(lambda m: f"{m['head']}:{MASK}@" if m["pw"] else m[0], text)
    return _PAIR.sub(lambda m: f"{m['head']}{MASK}", text)


def redact_url(url: str) -> str:
    """The URL without its password, safe to print or log."""
    return redact_text(str(url))


_installed = False


def install_log_redaction() -> None:
    """Redact the message of every log record made in this process from now on (idempotent)."""
    global _installed
    if _installed:
        return
    make = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let logging report it as usual
            return record
        safe = redact_text(message)
        if safe != message:
            record.msg, record.args = safe, None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
