"""The few HTTPS calls of the Realtime API: client secrets and call control.

Standard library only (:mod:`http.client`), TLS always verified. Requests and
answers are typed with the protocol model; every failure is an
:class:`~realtime_client.APIError` carrying the HTTP status and the server's
error code and message.
"""

from __future__ import annotations

import json
import logging
import typing
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlsplit

import attrs

from . import events as ev
from ._config import Endpoint
from ._transport import is_loopback_host
from .errors import APIError, UsageError
from .events import translation as tev
from .events._converter import format_error
from .events._protocol import converter

# Imported with the first request, not with the package: most programs make none.
if TYPE_CHECKING:
    import http.client
    import ssl

__all__ = ["ClientSecret", "RestClient", "TranslationClientSecret"]

_log = logging.getLogger("realtime_client")
_BODY_KEPT: Final = 2000
MIN_SECRET_SECONDS: Final = 10
MAX_SECRET_SECONDS: Final = 7200


@typing.final
@attrs.frozen(kw_only=True)
class ClientSecret:
    """An ephemeral key (``ek_...``) for a browser or another device.

    Hand :attr:`value` to the device; it connects with it as its bearer token
    until :attr:`expires_at`. The value never appears in a repr.

    Attributes:
        value: The ephemeral key.
        expires_at: When it expires, in seconds since the Unix epoch.
        session: The session configuration bound to the key.

    .. versionadded:: 0.1
    """

    value: str = attrs.field(repr=False)
    expires_at: int
    session: ev.SessionConfig | None = None


@typing.final
@attrs.frozen(kw_only=True)
class TranslationClientSecret:
    """An ephemeral key for a translation session (see :class:`ClientSecret`).

    Attributes:
        value: The ephemeral key; never in a repr.
        expires_at: When it expires, in seconds since the Unix epoch.
        session: The translation session bound to the key, as the server reports it.

    .. versionadded:: 0.3
    """

    value: str = attrs.field(repr=False)
    expires_at: int
    session: tev.TranslationSession | None = None


def _expires_after(seconds: int | None) -> dict[str, Any]:
    if seconds is None:
        return {}
    if not MIN_SECRET_SECONDS <= seconds <= MAX_SECRET_SECONDS:
        raise ValueError(
            f"expires_after_seconds must be {MIN_SECRET_SECONDS} to "
            f"{MAX_SECRET_SECONDS}, got {seconds}"
        )
    return {"expires_after": {"anchor": "created_at", "seconds": seconds}}


def _error_from(status: int, body: bytes, what: str) -> APIError:
    """An APIError from a non-2xx answer, with the server's code and message."""
    code = error_type = None
    message = body[:_BODY_KEPT].decode("utf-8", "replace").strip()
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        err = data["error"]
        message = str(err.get("message") or message)
        code = err.get("code") if isinstance(err.get("code"), str) else None
        error_type = err.get("type") if isinstance(err.get("type"), str) else None
    detail = f": {message}" if message else ""
    return APIError(
        f"{what} failed with HTTP {status}{detail}",
        status_code=status,
        code=code,
        error_type=error_type,
    )


@typing.final
class RestClient:
    """Makes the REST calls for one :class:`~realtime_client._config.Endpoint`.

    Args:
        endpoint: Where and how to authenticate.
        timeout: Seconds allowed for each request.
        ssl_context: The TLS context (default: the system's trusted roots,
            hostnames checked).
    """

    def __init__(
        self, endpoint: Endpoint, *, timeout: float, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._endpoint = endpoint
        self._timeout = timeout
        self._ssl = ssl_context

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        what: str,
        *,
        raw: tuple[bytes, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one JSON request; returns (status, headers, body) of a 2xx answer.

        ``raw`` (a body and its content type) is sent instead of a JSON ``body``.

        Raises:
            APIError: A non-2xx answer, or no answer at all.
        """
        url = self._endpoint.rest_url(path)
        parts = urlsplit(url)
        host = parts.hostname or ""
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = self._endpoint.auth_headers()
        headers["Accept"] = "application/json"
        payload = None
        if body is not None:
            payload = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        elif raw is not None:
            payload, headers["Content-Type"] = raw
        import http.client  # lazy: see the imports at the top
        import ssl

        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            context = self._ssl or ssl.create_default_context()
            conn = http.client.HTTPSConnection(
                host, parts.port, timeout=self._timeout, context=context
            )
        elif is_loopback_host(host):
            conn = http.client.HTTPConnection(host, parts.port, timeout=self._timeout)
        else:  # pragma: no cover - Endpoint already refuses plain http to a remote host
            raise UsageError(f"refusing plain http to {host}")
        _log.debug("%s %s %s", method, parts.path, what)
        try:
            conn.request(method, target, body=payload, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            status = answer.status
            answer_headers = {k.lower(): v for k, v in answer.getheaders()}
        except (OSError, http.client.HTTPException) as exc:
            raise APIError(f"{what} failed: {exc}") from exc
        finally:
            conn.close()
        if not 200 <= status < 300:
            raise _error_from(status, data, what)
        return status, answer_headers, data

    def _json(self, data: bytes, what: str) -> dict[str, Any]:
        try:
            parsed = json.loads(data)
        except ValueError as exc:
            raise APIError(f"{what}: the answer is not JSON ({exc})") from None
        if not isinstance(parsed, dict):
            raise APIError(f"{what}: the answer is not a JSON object")
        return parsed

    def create_client_secret(
        self, session: ev.SessionConfig | None, expires_after_seconds: int | None
    ) -> ClientSecret:
        """``POST /realtime/client_secrets``."""
        body: dict[str, Any] = _expires_after(expires_after_seconds)
        if session is not None:
            body["session"] = converter.unstructure(session)
        what = "creating a client secret"
        _, _, data = self.request("POST", "/realtime/client_secrets", body, what)
        answer = self._json(data, what)
        value, expires_at = answer.get("value"), answer.get("expires_at")
        if not isinstance(value, str) or not isinstance(expires_at, int):
            raise APIError(f"{what}: the answer lacks 'value' or 'expires_at'")
        config: ev.SessionConfig | None = None
        if isinstance(answer.get("session"), dict):
            try:
                config = converter.structure(answer["session"], ev.SessionConfig)  # type: ignore[arg-type]
            except Exception as exc:  # cattrs raises many kinds
                raise APIError(
                    f"{what}: the answer's session is invalid: " + "; ".join(format_error(exc))
                ) from None
        return ClientSecret(value=value, expires_at=expires_at, session=config)

    def create_translation_client_secret(
        self, model: str, audio: tev.TranslationAudio | None, expires_after_seconds: int | None
    ) -> TranslationClientSecret:
        """``POST /realtime/translations/client_secrets``."""
        session: dict[str, Any] = {"model": model}
        if audio is not None:
            session["audio"] = tev.converter.unstructure(audio)
        body = {"session": session, **_expires_after(expires_after_seconds)}
        what = "creating a translation client secret"
        _, _, data = self.request("POST", "/realtime/translations/client_secrets", body, what)
        answer = self._json(data, what)
        value, expires_at = answer.get("value"), answer.get("expires_at")
        if not isinstance(value, str) or not isinstance(expires_at, int):
            raise APIError(f"{what}: the answer lacks 'value' or 'expires_at'")
        config: tev.TranslationSession | None = None
        if isinstance(answer.get("session"), dict):
            try:
                config = tev.converter.structure(answer["session"], tev.TranslationSession)
            except Exception as exc:  # cattrs raises many kinds
                raise APIError(
                    f"{what}: the answer's session is invalid: " + "; ".join(format_error(exc))
                ) from None
        return TranslationClientSecret(value=value, expires_at=expires_at, session=config)

    def call_action(self, call_id: str, action: str, body: dict[str, Any] | None) -> None:
        """``POST /realtime/calls/{call_id}/{action}``."""
        if not isinstance(call_id, str) or not call_id:
            raise ValueError("call_id must be a non-empty string")
        path = f"/realtime/calls/{quote(call_id, safe='')}/{action}"
        self.request("POST", path, body, f"{action} call {call_id}")
