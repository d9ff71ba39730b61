"""The client's one way to make sessions: build over a connected transport, open,
wait for ``session.created``, send the first configuration.

Nothing is left open on failure: the session (or, if building it failed, the
transport) is closed before the error propagates. A conversation's start
(open, the first configuration with its tools, the seeded items) is its own
``_begin()``, the one hook the facade keeps for this factory.
"""

from __future__ import annotations

import logging
import time
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from . import events as ev
from ._callbacks import CloseInfo
from ._config import ConversationOptions, Endpoint
from ._retry import connect_with_retries
from ._transport import Transport, WebSocketTransport
from .events import translation as tev
from .session import ConversationSession
from .translation import TranslationSession

if TYPE_CHECKING:
    import ssl  # for annotations; the transport imports it with the first connection

__all__ = ["Connector", "open_translation", "start_session"]

_log = logging.getLogger("realtime_client")
T = TypeVar("T")


@typing.final
class Connector:
    """The client's one connection factory: a handshake, retried while it fails transiently.

    Args:
        endpoint: Where to connect and how to authenticate.
        timeout: Seconds for one handshake.
        ssl_context: The TLS settings, if not the default.
        transport_factory: Opens connections instead of websocket-client (tests).
        max_retries: Retries of a transient failure, by default.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        timeout: float,
        ssl_context: ssl.SSLContext | None,
        transport_factory: Callable[[str, Mapping[str, str], float], Transport] | None,
        max_retries: int,
    ) -> None:
        self._endpoint = endpoint
        self._timeout = timeout
        self._ssl = ssl_context
        self._factory = transport_factory
        self._max_retries = max_retries
        self.sleep: Callable[[float], object] = time.sleep  # tests record the waits

    def connect(
        self,
        params: Mapping[str, str | None],
        path: str = "/realtime",
        *,
        max_retries: int | None = None,
    ) -> Transport:
        """A connected transport to ``path`` with the query ``params``.

        Raises:
            ConnectError: The handshake failed (after the retries, if transient).
        """
        url = self._endpoint.url(path, params)
        parts = urlsplit(url)
        target = f"{parts.scheme}://{parts.netloc}{parts.path}"  # never the query

        def attempt() -> Transport:
            headers = self._endpoint.auth_headers()  # fresh at each attempt (tokens expire)
            _log.debug("connecting to %s", target)
            if self._factory is not None:
                return self._factory(url, headers, self._timeout)
            return WebSocketTransport.connect(
                url, headers=headers, timeout=self._timeout, ssl_context=self._ssl
            )

        retries = self._max_retries if max_retries is None else max_retries
        return connect_with_retries(attempt, max_retries=retries, target=target, sleep=self.sleep)


def _built(transport: Transport, build: Callable[[], T]) -> T:
    """``build()``; if it raises, the transport is cut and released first."""
    try:
        return build()
    except BaseException:
        transport.abort()
        transport.shutdown()
        raise


def start_session(
    transport: Transport,
    *,
    options: ConversationOptions,
    on_error: Callable[[BaseException], object] | None,
    on_close: Callable[[CloseInfo], object] | None,
    ping_interval: float,
    pong_timeout: float | None,
    close_timeout: float,
    call_id: str | None,
    model: str | None,
    config: ev.SessionConfig | None,
    seed: list[str] | None,
    created_timeout: float | None,
    reconnect: Callable[[], Transport] | None = None,
) -> ConversationSession:
    """The client's one way to make a session: build it over a connected
    ``transport``, open it, wait for ``session.created`` (unless
    ``created_timeout`` is None: a sideband socket joins an existing session),
    then send the first configuration and the seeded items.

    Nothing is left open on failure: the session (or, if building it failed,
    the transport) is closed before the error propagates.
    """
    session = _built(
        transport,
        lambda: ConversationSession(
            transport=transport,
            options=options,
            on_error=on_error,
            on_close=on_close,
            ping_interval=ping_interval,
            pong_timeout=pong_timeout,
            close_timeout=close_timeout,
            call_id=call_id,
            model=model,
            reconnect=reconnect,
        ),
    )
    try:
        session._begin(config=config, seed=seed, created_timeout=created_timeout)
    except BaseException:
        session.close()
        raise
    return session


def open_translation(
    connect: Callable[[], Transport],
    *,
    model: str,
    update: tev.SessionUpdateEvent,
    connect_timeout: float,
    **session_args: Any,
) -> TranslationSession:
    """Connect, wait for ``session.created``, send the first ``session.update``.

    ``update`` was built (and checked) before this is called, so bad arguments
    never open a socket. On any failure the session (or, if building it
    failed, the transport) is closed before raising.
    """
    transport = connect()
    session = _built(
        transport, lambda: TranslationSession(transport=transport, model=model, **session_args)
    )
    try:
        session.open()
        session.wait_created(connect_timeout)
        session.send(update)
    except BaseException:
        session.close()
        raise
    return session
