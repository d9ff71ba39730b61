"""Recording a connection's traffic as JSONL, and replaying a recorded server side.

A recording is one JSON object per line. The first line describes it::

    {"format": "realtime-client-traffic", "version": 1, "path": "/v1/realtime?model=..."}

Every other line is one frame or one close, in order, with ``t`` in seconds
since the connection opened and ``from`` saying who sent it::

    {"t": 0.0012, "from": "server", "frame": "{\\"type\\":\\"session.created\\",...}"}
    {"t": 0.0420, "from": "client", "frame": "{\\"type\\":\\"response.create\\"}"}
    {"t": 1.5000, "from": "server", "close": {"code": 1001, "reason": "..."}}

Frames are kept verbatim (binary frames as text, flagged ``"binary": true``).
Secrets are never recorded: the handshake's headers are not part of it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any, Final, Literal

import attrs

__all__ = ["FORMAT", "TrafficEntry", "load_traffic", "save_traffic"]

FORMAT: Final = "realtime-client-traffic"
VERSION: Final = 1

Direction = Literal["client", "server"]


@attrs.frozen(kw_only=True)
class TrafficEntry:
    """One frame or close on a connection, with its time since the connection opened.

    .. versionadded:: 0.1
    """

    t: float
    """Seconds since the connection opened."""
    sender: Direction
    """Who sent it: ``"client"`` or ``"server"``."""
    frame: str | None = None
    """The frame's text; None for a close."""
    binary: bool = False
    """Whether the frame was a binary frame (kept here as UTF-8 text, replacing bad bytes)."""
    close_code: int | None = None
    """For a close: its code."""
    close_reason: str = ""
    """For a close: its reason."""

    def to_json(self) -> dict[str, Any]:
        """This entry as one JSONL object."""
        data: dict[str, Any] = {"t": round(self.t, 6), "from": self.sender}
        if self.frame is None:
            data["close"] = {"code": self.close_code, "reason": self.close_reason}
        else:
            data["frame"] = self.frame
            if self.binary:
                data["binary"] = True
        return data


def save_traffic(
    path: str | os.PathLike[str], entries: Iterable[TrafficEntry], *, request_path: str
) -> None:
    """Write a recording as JSONL (see the module docstring for the format)."""
    with open(path, "w", encoding="utf-8") as out:
        header = {"format": FORMAT, "version": VERSION, "path": request_path}
        out.write(json.dumps(header) + "\n")
        for entry in entries:
            out.write(json.dumps(entry.to_json(), ensure_ascii=False) + "\n")


def _entry(data: Any, line: int) -> TrafficEntry:
    if not isinstance(data, dict):
        raise ValueError(f"line {line}: expected a JSON object")
    t, sender = data.get("t"), data.get("from")
    if not isinstance(t, (int, float)) or isinstance(t, bool) or t < 0:
        raise ValueError(f"line {line}: 't' must be a number of seconds >= 0")
    if sender not in ("client", "server"):
        raise ValueError(f"line {line}: 'from' must be 'client' or 'server'")
    if "frame" in data:
        if not isinstance(data["frame"], str):
            raise ValueError(f"line {line}: 'frame' must be a string")
        return TrafficEntry(
            t=float(t), sender=sender, frame=data["frame"], binary=bool(data.get("binary"))
        )
    close = data.get("close")
    if not isinstance(close, dict):
        raise ValueError(f"line {line}: expected 'frame' or 'close'")
    code, reason = close.get("code"), close.get("reason", "")
    if not (code is None or (isinstance(code, int) and not isinstance(code, bool))):
        raise ValueError(f"line {line}: 'close.code' must be an integer or null")
    if not isinstance(reason, str):
        raise ValueError(f"line {line}: 'close.reason' must be a string")
    return TrafficEntry(t=float(t), sender=sender, close_code=code, close_reason=reason)


def load_traffic(path: str | os.PathLike[str]) -> list[TrafficEntry]:
    """Read a recording written by :func:`save_traffic`.

    Raises:
        ValueError: The file is not such a recording; the message names the line.
    """
    entries: list[TrafficEntry] = []
    with open(path, encoding="utf-8") as source:
        for number, text in enumerate(source, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"{os.fspath(path)}: line {number} is not JSON: {exc}") from None
            if number == 1:
                if not isinstance(data, dict) or data.get("format") != FORMAT:
                    raise ValueError(f"{os.fspath(path)}: not a {FORMAT} recording")
                continue
            try:
                entries.append(_entry(data, number))
            except ValueError as exc:
                raise ValueError(f"{os.fspath(path)}: {exc}") from None
    return entries
