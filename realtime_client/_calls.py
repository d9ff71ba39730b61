"""``POST /realtime/calls``: a WebRTC call from a browser's SDP offer.

The service takes ``multipart/form-data`` with an ``sdp`` part
(``application/sdp``) and an optional ``session`` part (``application/json``),
and answers ``201 Created`` with the SDP answer as the body and the call's
path in the ``Location`` header. The form is encoded here with a dozen lines
rather than a dependency: it has two text parts and no files, and the rest of
the REST layer is standard library only.

.. versionadded:: 0.3
"""

from __future__ import annotations

import json
import typing
from typing import Final
from urllib.parse import unquote, urlsplit

import attrs

from . import events as ev
from ._rest import RestClient
from .errors import APIError
from .events._protocol import converter

__all__ = ["CallAnswer", "create_call", "encode_form"]

_MAX_SDP: Final = 1 << 20


@typing.final
@attrs.frozen(kw_only=True)
class CallAnswer:
    """The service's answer to an SDP offer.

    Attributes:
        sdp: The SDP answer, to hand back to the browser
            (``pc.setRemoteDescription({type: "answer", sdp})``).
        call_id: The call's id (``rtc_...``), from the ``Location`` header;
            pass it to :meth:`~realtime_client.ConversationClient.attach_call`.

    .. versionadded:: 0.3
    """

    sdp: str = attrs.field(repr=False)
    call_id: str


def encode_form(parts: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """``multipart/form-data`` of (name, content type, data) parts: (body, content type)."""
    import secrets  # lazy: its hmac and hashlib imports cost more than most programs use

    boundary = "realtime-" + secrets.token_hex(16)
    out = bytearray()
    for name, content_type, data in parts:
        if boundary.encode() in data:  # pragma: no cover - 128 random bits
            raise ValueError("multipart boundary collision")
        out += f"--{boundary}\r\n".encode()
        out += f'Content-Disposition: form-data; name="{name}"\r\n'.encode()
        out += f"Content-Type: {content_type}\r\n\r\n".encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def _check_offer(sdp: object) -> str:
    if not isinstance(sdp, str):
        raise ValueError(f"sdp must be the SDP offer as text, got {type(sdp).__name__}")
    if not sdp.lstrip().startswith("v=0"):
        raise ValueError("sdp must be an SDP offer (it starts with 'v=0')")
    if len(sdp) > _MAX_SDP:
        raise ValueError(f"sdp is larger than {_MAX_SDP} characters")
    return sdp


def create_call(
    rest: RestClient, sdp: str, session: ev.RealtimeSessionConfig | None
) -> CallAnswer:
    """Send the offer (and session) and return the SDP answer and the call id.

    Raises:
        ValueError: ``sdp`` is not an SDP offer, or ``session`` is not a
            realtime session configuration (nothing was sent).
        APIError: The server refused, or its answer lacks the SDP or the call id.
    """
    offer = _check_offer(sdp)
    parts = [("sdp", "application/sdp", offer.encode())]
    if session is not None:
        if not isinstance(session, ev.RealtimeSessionConfig):
            raise ValueError(
                f"session must be a RealtimeSessionConfig, got {type(session).__name__}"
            )
        body = json.dumps(converter.unstructure(session), separators=(",", ":"))
        parts.append(("session", "application/json", body.encode()))
    what = "creating a call"
    _, headers, data = rest.request("POST", "/realtime/calls", None, what, raw=encode_form(parts))
    answer = data.decode("utf-8", "replace")
    if not answer.lstrip().startswith("v=0"):
        raise APIError(f"{what}: the answer is not SDP")
    location = headers.get("location", "")
    call_id = unquote(urlsplit(location).path.rstrip("/").rpartition("/")[2])
    if not call_id:
        raise APIError(f"{what}: the answer has no Location header naming the call")
    return CallAnswer(sdp=answer, call_id=call_id)
