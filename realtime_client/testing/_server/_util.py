"""Small pieces the offline server's modules share: ids and error events."""

from __future__ import annotations

import json
import secrets
import string
from typing import Final

from ...events import ErrorDetails, ErrorEvent, encode_server_event

__all__ = ["ServerErrorInfo", "encode_error_event", "error_event", "new_id"]

_ALPHABET: Final = string.ascii_letters + string.digits
_ID_LENGTH: Final = 22


def new_id(prefix: str) -> str:
    """A fresh id in the service's style, for example ``item_Bx7...`` (22 random characters)."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(_ID_LENGTH))


class ServerErrorInfo(Exception):
    """Raised inside the server to answer a client event with an ``error`` event.

    Args:
        message: The error's message, as the service words it.
        code: The error code, for example ``invalid_value``.
        param: The offending parameter's path, when there is one.
        error_type: The error type; almost always ``invalid_request_error``.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None,
        param: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.error_type = error_type


def error_event(info: ServerErrorInfo, *, client_event_id: str | None) -> ErrorEvent:
    """Build the ``error`` event that answers a failed client event."""
    return ErrorEvent(
        event_id=new_id("event"),
        error=ErrorDetails(
            type=info.error_type,
            code=info.code,
            message=info.message,
            param=info.param,
            event_id=client_event_id,
        ),
    )


_NULLABLE_ERROR_FIELDS: Final = ("code", "param", "event_id")


def encode_error_event(event: ErrorEvent) -> str:
    """The ``error`` frame, with ``code``, ``param`` and ``event_id`` as explicit nulls.

    The service always writes these keys, ``null`` when they do not apply
    (``"param": null`` is one of the spec README's noted differences), and
    clients may index them directly. The events encoder writes None as an
    absent key, which is right for every other optional field, so the nulls
    are put back here, into the encoded object, rather than in the models.
    """
    frame = json.loads(encode_server_event(event))
    for key in _NULLABLE_ERROR_FIELDS:
        frame["error"].setdefault(key, None)
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
