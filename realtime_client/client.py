"""ConversationClient: configuration, connections and the REST helpers.

A client holds where to connect and how to authenticate; it opens any number
of sessions (each its own connection and server-side conversation) and makes
the REST calls: ephemeral client secrets and SIP/WebRTC call control.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs

from . import events as ev
from ._callbacks import CloseInfo
from ._calls import CallAnswer, create_call
from ._checks import check_callable, check_instance, check_seconds, check_text, encode_event
from ._config import ConversationOptions, Endpoint, HeaderSource, azure_endpoint, openai_endpoint
from ._rest import ClientSecret, RestClient, TranslationClientSecret
from ._session_factory import Connector, open_translation, start_session
from ._translation_setup import (
    DEFAULT_TRANSLATION_MODEL,
    NoiseReductionArg,
    TranscriptionArg,
    check_language,
    check_model,
    initial_update,
)
from ._transport import Transport
from .conversation import ConversationState
from .events._protocol import converter
from .session import (
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_PING_INTERVAL,
    DEFAULT_PONG_TIMEOUT,
    ConversationSession,
)
from .translation import TranslationSession

if TYPE_CHECKING:
    import ssl  # imported with the first connection, or here when a context is given

__all__ = [
    "CallAnswer",
    "ClientSecret",
    "ConversationClient",
    "ConversationOptions",
    "TransportFactory",
    "TranslationClientSecret",
]

_log = logging.getLogger("realtime_client")

DEFAULT_MODEL: Final = "gpt-realtime"
DEFAULT_MAX_RETRIES: Final = 2

TransportFactory = Callable[[str, Mapping[str, str], float], Transport]
"""Opens a connection: ``factory(url, headers, timeout) -> Transport``."""


@typing.final
class ConversationClient:
    """Connects to the Realtime API and makes its REST calls.

    Args:
        api_key: The API key (or an ephemeral ``ek_...`` secret). Default: the
            ``OPENAI_API_KEY`` environment variable. Without a key (or a
            ``token_provider``) a client for OpenAI raises :class:`UsageError` here.
        base_url: The API base, ``wss://api.openai.com/v1`` by default or from
            ``OPENAI_BASE_URL`` (``https://`` is accepted and turned into
            ``wss://``); ``/realtime`` is appended. Plain ``ws://`` only to a
            loopback address when credentials are sent.
        organization: Sent as ``OpenAI-Organization``. Default: ``OPENAI_ORG_ID``.
        project: Sent as ``OpenAI-Project``. Default: ``OPENAI_PROJECT_ID``.
        safety_identifier: Sent as ``OpenAI-Safety-Identifier``.
        headers: Extra headers, or a callable returning them, called at each
            connect and request (for tokens that expire).
        token_provider: Returns a bearer token at each connect and request;
            used instead of ``api_key``.
        connect_timeout: Seconds allowed for the connection and handshake.
        request_timeout: Seconds allowed for each REST request.
        ping_interval: Seconds of silence from the server after which a session
            pings it.
        pong_timeout: Seconds a session waits for an answer to its ping before
            it declares the connection dead and closes; None waits forever.
        close_timeout: Default bound of each session's ``close()``.
        ssl_context: A TLS context (for a private CA); it must verify certificates.
        transport_factory: Opens connections instead of websocket-client (tests).
        max_retries: Retries of a handshake that failed transiently (no answer,
            a timeout, HTTP 408, 409, 429 or 5xx), with exponential backoff and
            jitter and the server's ``Retry-After`` / ``retry-after-ms`` honoured;
            0 turns retrying off. 401, 403 and other 4xx fail at once.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 ``max_retries`` (2 by default, as openai-python).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        safety_identifier: str | None = None,
        headers: HeaderSource | None = None,
        token_provider: Callable[[], str] | None = None,
        connect_timeout: float = 10.0,
        request_timeout: float = 30.0,
        ping_interval: float = DEFAULT_PING_INTERVAL,
        pong_timeout: float | None = DEFAULT_PONG_TIMEOUT,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        transport_factory: TransportFactory | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        endpoint = openai_endpoint(
            api_key=api_key,
            base_url=base_url,
            organization=organization,
            project=project,
            safety_identifier=safety_identifier,
            headers=headers,
            token_provider=token_provider,
        )
        self._setup(
            endpoint,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            ping_interval=ping_interval,
            pong_timeout=pong_timeout,
            close_timeout=close_timeout,
            ssl_context=ssl_context,
            transport_factory=transport_factory,
            max_retries=max_retries,
        )

    def _setup(
        self,
        endpoint: Endpoint,
        *,
        connect_timeout: float,
        request_timeout: float,
        ping_interval: float,
        pong_timeout: float | None,
        close_timeout: float,
        ssl_context: ssl.SSLContext | None,
        transport_factory: TransportFactory | None,
        max_retries: int,
    ) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int):
            raise TypeError(f"max_retries must be an int, got {type(max_retries).__name__}")
        if max_retries < 0:
            raise ValueError(f"max_retries must not be negative, got {max_retries}")
        check_seconds("connect_timeout", connect_timeout)
        check_seconds("request_timeout", request_timeout)
        check_seconds("ping_interval", ping_interval)
        check_seconds("pong_timeout", pong_timeout, allow_none=True)
        check_seconds("close_timeout", close_timeout, allow_zero=True)
        if ssl_context is not None:
            import ssl  # lazy: most programs never pass a context

            check_instance("ssl_context", ssl_context, ssl.SSLContext)
            if ssl_context.verify_mode != ssl.CERT_REQUIRED or not ssl_context.check_hostname:
                raise ValueError("ssl_context must verify certificates and hostnames")
        check_callable("transport_factory", transport_factory)
        self._endpoint = endpoint
        self._connect_timeout = connect_timeout
        self._connector = Connector(
            endpoint,
            timeout=connect_timeout,
            ssl_context=ssl_context,
            transport_factory=transport_factory,
            max_retries=max_retries,
        )
        self._ping_interval = ping_interval
        self._pong_timeout = pong_timeout
        self._close_timeout = close_timeout
        self._rest = RestClient(endpoint, timeout=request_timeout, ssl_context=ssl_context)

    @classmethod
    def for_azure(
        cls,
        *,
        deployment: str,
        endpoint: str | None = None,
        api_version: str | None = None,
        api_key: str | None = None,
        token_provider: Callable[[], str] | None = None,
        headers: HeaderSource | None = None,
        connect_timeout: float = 10.0,
        request_timeout: float = 30.0,
        ping_interval: float = DEFAULT_PING_INTERVAL,
        pong_timeout: float | None = DEFAULT_PONG_TIMEOUT,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        transport_factory: TransportFactory | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> ConversationClient:
        """A client for Azure OpenAI.

        Args:
            deployment: The deployment name of the realtime model.
            endpoint: ``https://<resource>.openai.azure.com`` (default:
                ``AZURE_OPENAI_ENDPOINT``).
            api_version: With it, the classic ``/openai/realtime?api-version=``
                route (default: ``OPENAI_API_VERSION``); without, the
                ``/openai/v1/realtime`` route.
            api_key: Sent as the ``api-key`` header (default: ``AZURE_OPENAI_API_KEY``).
            token_provider: Returns an Entra ID token at each connect; used
                instead of ``api_key``.
            headers: Extra headers, or a callable returning them.
            connect_timeout: As for the constructor.
            request_timeout: As for the constructor.
            ping_interval: As for the constructor.
            pong_timeout: As for the constructor.
            close_timeout: As for the constructor.
            ssl_context: As for the constructor.
            transport_factory: As for the constructor.
            max_retries: As for the constructor.
        """
        client = cls.__new__(cls)
        client._setup(
            azure_endpoint(
                endpoint=endpoint,
                deployment=deployment,
                api_version=api_version,
                api_key=api_key,
                token_provider=token_provider,
                headers=headers,
            ),
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            ping_interval=ping_interval,
            pong_timeout=pong_timeout,
            close_timeout=close_timeout,
            ssl_context=ssl_context,
            transport_factory=transport_factory,
            max_retries=max_retries,
        )
        return client

    def __repr__(self) -> str:
        return f"<ConversationClient {self._endpoint.ws_base}>"

    # --- sessions ------------------------------------------------------------------------------

    def _open(
        self,
        params: Mapping[str, str | None],
        *,
        config: ev.SessionConfig | None,
        options: ConversationOptions,
        on_error: Callable[[BaseException], object] | None,
        on_close: Callable[[CloseInfo], object] | None,
        call_id: str | None = None,
        model: str | None = None,
        seed: list[str] | None = None,
        reconnect: bool = False,
    ) -> ConversationSession:
        check_callable("on_error", on_error)
        check_callable("on_close", on_close)
        transport = self._connector.connect(params)
        again = None
        if reconnect and options.reconnect_policy is not None:
            # A reconnection makes its own attempts (the policy's), one handshake each.
            def again() -> Transport:
                return self._connector.connect(params, max_retries=0)

        return start_session(
            transport,
            options=options,
            on_error=on_error,
            on_close=on_close,
            ping_interval=self._ping_interval,
            pong_timeout=self._pong_timeout,
            close_timeout=self._close_timeout,
            call_id=call_id,
            model=model,
            config=config,
            seed=seed,
            created_timeout=None if call_id is not None else self._connect_timeout,
            reconnect=again,
        )

    def start_conversation(
        self,
        *,
        model: str | None = None,
        session: ev.RealtimeSessionConfig | None = None,
        options: ConversationOptions | None = None,
        on_error: Callable[[BaseException], object] | None = None,
        on_close: Callable[[CloseInfo], object] | None = None,
        items: Iterable[ev.ConversationItem | Mapping[str, Any]] | None = None,
    ) -> ConversationSession:
        """Open a realtime conversation and configure it.

        The session settings of ``options`` and ``session`` (whose set fields
        win) are sent as the first ``session.update``, with the tools of
        ``options.tools`` after any in ``session.tools``; nothing is sent when
        nothing is set.

        Args:
            model: The model (default: ``session.model``, else ``gpt-realtime``;
                for Azure, the deployment decides).
            session: A full session configuration.
            options: Common settings and local behaviour.
            on_error: Called with every error the session reports.
            on_close: Called once when the session has closed.
            items: A conversation to continue: what
                :meth:`~realtime_client.ConversationSession.export_items` returned
                (or item objects). The items are recreated, in order, right
                after the configuration; they are checked before connecting.

        Returns:
            The open session; use it as a context manager.

        Raises:
            AuthenticationError: The credentials were refused.
            ConnectError: The connection or handshake failed otherwise.
            RealtimeTimeoutError: The handshake took too long.
            ValueError: An entry of ``items`` is not a valid item (the message
                gives its position); nothing was connected.

        .. versionchanged:: 0.2 ``items``; the tools of ``options``.
        """
        check_text("model", model)
        check_instance("session", session, ev.RealtimeSessionConfig)
        check_instance("options", options, ConversationOptions)
        opts = options or ConversationOptions()
        seed = None
        if items is not None:
            seed = [encode_event(e) for e in ConversationState.seed_events(items)]
        chosen = model or (session.model if session is not None else None)
        if self._endpoint.azure:
            params: dict[str, str | None] = {}
        else:
            params = {"model": chosen or DEFAULT_MODEL}
        base = _without_model(session)
        return self._open(
            params,
            config=opts.session_config(base=base),
            options=opts,
            on_error=on_error,
            on_close=on_close,
            model=None if self._endpoint.azure else (chosen or DEFAULT_MODEL),
            seed=seed,
            reconnect=True,
        )

    def start_transcription(
        self,
        *,
        session: ev.TranscriptionSessionConfig | None = None,
        options: ConversationOptions | None = None,
        on_error: Callable[[BaseException], object] | None = None,
        on_close: Callable[[CloseInfo], object] | None = None,
    ) -> ConversationSession:
        """Open a transcription session (``intent=transcription``).

        The server transcribes the audio you send (``send_audio``) and answers
        with ``conversation.item.input_audio_transcription.*`` events; the model
        does not respond.

        Args:
            session: The transcription configuration (model, language, turn
                detection, noise reduction), sent as the first ``session.update``.
            options: Local behaviour (buffering, send queue); its session
                settings do not apply to transcription sessions.
            on_error: Called with every error the session reports.
            on_close: Called once when the session has closed.
        """
        check_instance("session", session, ev.TranscriptionSessionConfig)
        check_instance("options", options, ConversationOptions)
        return self._open(
            {"intent": "transcription"},
            config=session,
            options=options or ConversationOptions(),
            on_error=on_error,
            on_close=on_close,
        )

    def attach_call(
        self,
        call_id: str,
        *,
        session: ev.RealtimeSessionConfig | None = None,
        options: ConversationOptions | None = None,
        on_error: Callable[[BaseException], object] | None = None,
        on_close: Callable[[CloseInfo], object] | None = None,
    ) -> ConversationSession:
        """Open a control ("sideband") session on an existing WebRTC or SIP call.

        The call's audio flows between the caller and the server; this session
        sees its events, updates its configuration, runs tools and may stop the
        audio (:meth:`~realtime_client.ConversationSession.clear_output_audio`).

        Args:
            call_id: The call's id (``rtc_...``).
            session: Session settings to send on attach.
            options: Common settings and local behaviour.
            on_error: Called with every error the session reports.
            on_close: Called once when the session has closed.
        """
        check_text("call_id", call_id, allow_none=False)
        check_instance("session", session, ev.RealtimeSessionConfig)
        check_instance("options", options, ConversationOptions)
        opts = options or ConversationOptions()
        return self._open(
            {"call_id": call_id},
            config=opts.session_config(base=session),
            options=opts,
            on_error=on_error,
            on_close=on_close,
            call_id=call_id,
        )

    def start_translation(
        self,
        *,
        language: str,
        model: str = DEFAULT_TRANSLATION_MODEL,
        input_transcription: TranscriptionArg = None,
        noise_reduction: NoiseReductionArg = None,
        accumulate: bool = True,
        buffer_events: bool = True,
        on_error: Callable[[BaseException], object] | None = None,
        on_close: Callable[[CloseInfo], object] | None = None,
    ) -> TranslationSession:
        """Open a live speech translation session (``/realtime/translations``).

        Send audio with :meth:`~realtime_client.translation.TranslationSession.send_audio`;
        translated speech and transcripts stream back. Arguments are checked
        before anything connects.

        Args:
            language: The target language, for example ``"es"``.
            model: The translation model (fixed for the session).
            input_transcription: A transcription model name (or a
                ``TranslationTranscription``) to also get the source transcript.
            noise_reduction: ``"near_field"``, ``"far_field"`` or a ``NoiseReduction``.
            accumulate: Keep the whole transcripts and translated audio on the session.
            buffer_events: Queue events for iteration (``False``: callbacks only).
            on_error: Called with every error the session reports.
            on_close: Called once when the session has closed.

        Raises:
            ValueError: An argument is not valid; nothing was connected.
            AuthenticationError: The credentials were refused.
            ConnectError: The connection or handshake failed otherwise.
            RealtimeTimeoutError: The handshake or ``session.created`` took too long.

        .. versionadded:: 0.3
        """
        check_callable("on_error", on_error)
        check_callable("on_close", on_close)
        update = initial_update(
            language=check_language(language),
            input_transcription=input_transcription,
            noise_reduction=noise_reduction,
        )
        assert update is not None  # the language is always set
        params = {"model": check_model(model)}
        return open_translation(
            lambda: self._connector.connect(params, "/realtime/translations"),
            model=model,
            update=update,
            connect_timeout=self._connect_timeout,
            accumulate=accumulate,
            buffer_events=buffer_events,
            on_error=on_error,
            on_close=on_close,
            ping_interval=self._ping_interval,
            pong_timeout=self._pong_timeout,
            close_timeout=self._close_timeout,
        )

    # --- REST ----------------------------------------------------------------------------------

    def create_client_secret(
        self,
        *,
        session: ev.SessionConfig | None = None,
        expires_after_seconds: int | None = None,
    ) -> ClientSecret:
        """Create an ephemeral key for a browser or another device.

        Args:
            session: The session configuration bound to the key (realtime or
                transcription), including the model.
            expires_after_seconds: Lifetime, 10 to 7200 s (server default 600).

        Raises:
            APIError: The server refused (status, code and message attached).
            ValueError: ``expires_after_seconds`` is out of range.
        """
        return self._rest.create_client_secret(session, expires_after_seconds)

    def create_translation_client_secret(
        self,
        *,
        model: str = DEFAULT_TRANSLATION_MODEL,
        language: str | None = None,
        input_transcription: TranscriptionArg = None,
        noise_reduction: NoiseReductionArg = None,
        expires_after_seconds: int | None = None,
    ) -> TranslationClientSecret:
        """Create an ephemeral key for a translation session on another device.

        Args:
            model: The translation model.
            language: The target language bound to the key.
            input_transcription: As for :meth:`start_translation`.
            noise_reduction: As for :meth:`start_translation`.
            expires_after_seconds: Lifetime, 10 to 7200 s.

        Raises:
            APIError: The server refused.
            ValueError: An argument is not valid (nothing was sent).

        .. versionadded:: 0.3
        """
        settings = initial_update(
            language=language,
            input_transcription=input_transcription,
            noise_reduction=noise_reduction,
        )
        audio = settings.session.audio if settings is not None else None
        return self._rest.create_translation_client_secret(
            check_model(model), audio, expires_after_seconds
        )

    def create_call(
        self, *, sdp: str, session: ev.RealtimeSessionConfig | None = None
    ) -> CallAnswer:
        """Create a WebRTC call from a browser's SDP offer (``POST /realtime/calls``).

        Relay the offer, return :attr:`CallAnswer.sdp` to the browser, then
        :meth:`attach_call` with :attr:`CallAnswer.call_id` to control the call.

        Args:
            sdp: The browser's SDP offer.
            session: The call's session configuration.

        Raises:
            ValueError: ``sdp`` is not an SDP offer (nothing was sent).
            APIError: The server refused, or answered without SDP or a call id.

        .. versionadded:: 0.3
        """
        return create_call(self._rest, sdp, session)

    def accept_call(self, call_id: str, *, session: ev.RealtimeSessionConfig) -> None:
        """Accept an incoming SIP call with this session configuration.

        Raises:
            APIError: The server refused.
        """
        self._rest.call_action(call_id, "accept", converter.unstructure(session))

    def reject_call(self, call_id: str, *, status_code: int | None = None) -> None:
        """Reject an incoming SIP call, optionally with a SIP status (default 603).

        Raises:
            APIError: The server refused.
        """
        body = {} if status_code is None else {"status_code": status_code}
        self._rest.call_action(call_id, "reject", body)

    def refer_call(self, call_id: str, *, target_uri: str) -> None:
        """Transfer a SIP call to ``target_uri`` (``tel:...`` or ``sip:...``).

        Raises:
            APIError: The server refused.
        """
        if not target_uri:
            raise ValueError("target_uri must not be empty")
        self._rest.call_action(call_id, "refer", {"target_uri": target_uri})

    def hangup_call(self, call_id: str) -> None:
        """End a WebRTC or SIP call.

        Raises:
            APIError: The server refused.
        """
        self._rest.call_action(call_id, "hangup", None)


def _without_model(session: ev.RealtimeSessionConfig | None) -> ev.RealtimeSessionConfig | None:
    """``session`` without its model: the model travels in the URL."""
    if session is None or session.model is None:
        return session
    return attrs.evolve(session, model=None)
