"""Configuration: where to connect, how to authenticate, and conversation options.

:class:`Endpoint` is the resolved, immutable connection target a
:class:`~realtime_client.ConversationClient` builds from its arguments and the
environment; :class:`ConversationOptions` are the per-conversation settings
that become the initial ``session.update``.
"""

from __future__ import annotations

import logging
import os
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

import attrs

from . import events as ev
from ._reconnect_policy import ReconnectPolicy
from ._transport import is_loopback_host
from .errors import UsageError
from .usage import Prices

__all__ = [
    "DEFAULT_BASE_URL",
    "ConversationOptions",
    "Endpoint",
    "HeaderSource",
    "azure_endpoint",
    "openai_endpoint",
]

DEFAULT_BASE_URL: Final = "wss://api.openai.com/v1"
BASE_URL_ENV: Final = "OPENAI_BASE_URL"
API_KEY_ENV: Final = "OPENAI_API_KEY"
AZURE_KEY_ENV: Final = "AZURE_OPENAI_API_KEY"
AZURE_ENDPOINT_ENV: Final = "AZURE_OPENAI_ENDPOINT"
AZURE_VERSION_ENV: Final = "OPENAI_API_VERSION"
ORG_ENV: Final = "OPENAI_ORG_ID"
PROJECT_ENV: Final = "OPENAI_PROJECT_ID"
LOG_ENV: Final = "OPENAI_LOG"
MISSING_KEY: Final = (
    "Missing credentials. Please pass an `api_key` (or a `token_provider`), "
    f"or set the `{API_KEY_ENV}` environment variable."
)
"""openai-python's wording (``openai.OpenAI()`` without a key), with this client's options."""
_LOG_LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO}
_FORBIDDEN_HEADERS: Final = frozenset({"openai-beta"})
_CREDENTIAL_HEADERS: Final = frozenset(
    {"authorization", "api-key", "proxy-authorization", "cookie", "x-api-key"}
)

HeaderSource = Mapping[str, str] | Callable[[], Mapping[str, str]]
"""Extra handshake headers, or a callable returning them (called at each connect)."""


def _ws_scheme(url: str, what: str) -> str:
    parts = urlsplit(url.rstrip("/"))
    scheme = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}.get(parts.scheme.lower())
    if scheme is None or not parts.hostname:
        raise UsageError(f"{what} must be a ws://, wss://, http:// or https:// URL, got {url!r}")
    if parts.query or parts.fragment:
        raise UsageError(f"{what} must not have a query or fragment, got {url!r}")
    return urlunsplit((scheme, parts.netloc, parts.path, "", ""))


@typing.final
@attrs.frozen(kw_only=True)
class Endpoint:
    """A resolved connection target: the WebSocket URL base, auth and headers.

    Attributes:
        ws_base: ``wss://host/v1`` (the ``/realtime`` path is added per connection).
        rest_base: ``https://host/v1``, for client secrets and call control.
        api_key: The key, sent as ``Authorization: Bearer`` (OpenAI) or
            ``api-key`` (Azure). Never shown in a repr.
        token_provider: Returns a bearer token at each connect (Entra ID,
            ephemeral secrets that rotate).
        azure: Whether this is Azure OpenAI (``api-key`` header, query parameters).
        query: Fixed query parameters (Azure's ``api-version`` and ``deployment``).
        headers: Fixed extra headers, or a callable returning them at each connect.
    """

    ws_base: str
    rest_base: str
    api_key: str | None = attrs.field(default=None, repr=False)
    token_provider: Callable[[], str] | None = attrs.field(default=None, repr=False)
    azure: bool = False
    query: Mapping[str, str] = attrs.Factory(dict)
    headers: HeaderSource = attrs.field(factory=dict, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.api_key or self.token_provider:
            self._refuse_plain_text("credentials")
        if not callable(self.headers):  # a callable's headers are checked at each connect
            self._check_credential_headers(self.headers)

    def _refuse_plain_text(self, what: str) -> None:
        """Raise unless credentials may travel to this endpoint (wss://, or ws:// to loopback)."""
        if self.ws_base.startswith("wss://"):
            return
        host = urlsplit(self.ws_base).hostname
        if not is_loopback_host(host):
            raise UsageError(
                f"refusing to send {what} over unencrypted ws:// to {host}: "
                "use wss:// (plain ws:// is allowed only to a loopback address)"
            )

    def _check_credential_headers(self, headers: Mapping[str, str]) -> None:
        """The loopback rule for credential headers: names the header, never its value."""
        for name in headers:
            if isinstance(name, str) and name.lower() in _CREDENTIAL_HEADERS:
                self._refuse_plain_text(f"credentials (the {name} header)")

    def url(self, path: str, params: Mapping[str, str | None]) -> str:
        """The WebSocket URL for ``path`` with the fixed and given query parameters."""
        query = dict(self.query)
        query.update({k: v for k, v in params.items() if v is not None})
        base = self.ws_base + path
        return f"{base}?{urlencode(query)}" if query else base

    def rest_url(self, path: str) -> str:
        """The HTTPS URL for a REST ``path``, with Azure's ``api-version`` when needed."""
        base = self.rest_base + path
        version = self.query.get("api-version") if self.azure else None
        return f"{base}?{urlencode({'api-version': version})}" if version else base

    def auth_headers(self) -> dict[str, str]:
        """Authentication and extra headers, evaluated now (callables are called).

        Raises:
            UsageError: A header is malformed, is the retired beta header, or
                carries credentials (``Authorization``, ``api-key``, ...) to a
                plain ``ws://`` address that is not loopback.
        """
        headers: dict[str, str] = {}
        extra = self.headers() if callable(self.headers) else self.headers
        self._check_credential_headers(extra)
        for name, value in extra.items():
            if name.lower() in _FORBIDDEN_HEADERS:
                raise UsageError(f"the {name} header belongs to the retired beta protocol")
            _check_header(name, value)
            headers[name] = value
        if self.token_provider is not None:
            token = self.token_provider()
            if not isinstance(token, str) or not token:
                raise UsageError("token_provider must return a non-empty string")
            _check_header("Authorization", token)
            headers["Authorization"] = f"Bearer {token}"
        elif self.api_key:
            _check_header("api-key", self.api_key)
            if self.azure:
                headers["api-key"] = self.api_key
            else:
                headers["Authorization"] = f"Bearer {self.api_key}"
        return headers


def _check_header(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise UsageError(f"header {name!r} must be a string, got {type(value).__name__}")
    if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
        raise UsageError(f"header {name!r} contains a line break")


def _rest_base(ws_base: str) -> str:
    return "https" + ws_base[3:] if ws_base.startswith("wss") else "http" + ws_base[2:]


def openai_endpoint(
    *,
    api_key: str | None,
    base_url: str | None,
    organization: str | None,
    project: str | None,
    safety_identifier: str | None,
    headers: HeaderSource | None,
    token_provider: Callable[[], str] | None,
    environ: Mapping[str, str] | None = None,
) -> Endpoint:
    """Resolve an OpenAI (or OpenAI-compatible) endpoint from arguments and environment."""
    env = os.environ if environ is None else environ
    log_from_env(env)
    ws_base = _ws_scheme(base_url or env.get(BASE_URL_ENV) or DEFAULT_BASE_URL, "base_url")
    key = api_key if api_key is not None else env.get(API_KEY_ENV)
    # openai-python refuses to make a client for OpenAI without a key; so does this one.
    # Other servers (the offline server, a gateway that adds the key) may need none.
    to_openai = urlsplit(ws_base).hostname == urlsplit(DEFAULT_BASE_URL).hostname
    if to_openai and not key and token_provider is None and not _brings_credentials(headers):
        raise UsageError(MISSING_KEY)
    fixed: dict[str, str] = {}
    for name, value in (
        ("OpenAI-Organization", organization if organization is not None else env.get(ORG_ENV)),
        ("OpenAI-Project", project if project is not None else env.get(PROJECT_ENV)),
        ("OpenAI-Safety-Identifier", safety_identifier),
    ):
        if value is not None:
            _check_header(name, value)
            fixed[name] = value
    return Endpoint(
        ws_base=ws_base,
        rest_base=_rest_base(ws_base),
        api_key=key or None,
        token_provider=token_provider,
        headers=_merge_headers(fixed, headers),
    )


def _brings_credentials(headers: HeaderSource | None) -> bool:
    """Whether extra headers may carry the credentials (a callable is asked at connect)."""
    if headers is None:
        return False
    if callable(headers):
        return True
    return any(name.lower() in _CREDENTIAL_HEADERS for name in headers)


def log_from_env(environ: Mapping[str, str] | None = None) -> None:
    """Turn on the library's logging as ``OPENAI_LOG=info|debug`` asks, as openai-python does.

    The ``realtime_client`` logger gets that level and, when the application has
    configured no logging, a handler on stderr (:func:`logging.basicConfig`). Other
    values leave logging alone. Secrets never reach a log record.
    """
    env = os.environ if environ is None else environ
    level = _LOG_LEVELS.get(env.get(LOG_ENV, "").strip().lower())
    if level is None:
        return
    logging.basicConfig(format="[%(asctime)s - %(name)s - %(levelname)s] %(message)s")
    logging.getLogger("realtime_client").setLevel(level)


def azure_endpoint(
    *,
    endpoint: str | None,
    deployment: str,
    api_version: str | None,
    api_key: str | None,
    token_provider: Callable[[], str] | None,
    headers: HeaderSource | None,
    environ: Mapping[str, str] | None = None,
) -> Endpoint:
    """Resolve an Azure OpenAI endpoint (``/openai/realtime`` or ``/openai/v1/realtime``).

    With ``api_version``, the classic form: ``/openai/realtime?api-version=..&deployment=..``.
    Without it, the v1 form: ``/openai/v1/realtime`` with the deployment as ``model``.
    """
    env = os.environ if environ is None else environ
    log_from_env(env)
    resource = endpoint or env.get(AZURE_ENDPOINT_ENV)
    if not resource:
        raise UsageError(f"Azure needs an endpoint (argument or {AZURE_ENDPOINT_ENV})")
    if not deployment:
        raise UsageError("Azure needs a deployment name")
    root = _ws_scheme(resource, "endpoint")
    root = root.removesuffix("/openai/v1").removesuffix("/openai")
    version = api_version or env.get(AZURE_VERSION_ENV)
    key = api_key if api_key is not None else env.get(AZURE_KEY_ENV)
    if token_provider is None and not key:
        raise UsageError(
            f"Azure needs an api_key (argument or {AZURE_KEY_ENV}) or a token_provider"
        )
    if version:
        ws_base = root + "/openai"
        query = {"api-version": version, "deployment": deployment}
    else:
        ws_base = root + "/openai/v1"
        query = {"model": deployment}
    return Endpoint(
        ws_base=ws_base,
        rest_base=_rest_base(root + "/openai/v1"),
        api_key=None if token_provider is not None else key,
        token_provider=token_provider,
        azure=True,
        query=query,
        headers=_merge_headers({}, headers),
    )


def _merge_headers(fixed: dict[str, str], extra: HeaderSource | None) -> HeaderSource:
    if extra is None:
        return fixed
    if callable(extra):
        source = extra

        def merged() -> Mapping[str, str]:
            return {**fixed, **source()}

        return merged
    return {**fixed, **extra}


# --- conversation options ------------------------------------------------------------------

ResponseConflict = Literal["wait", "cancel", "error"]


@typing.final
@attrs.frozen(kw_only=True)
class ConversationOptions:
    """Settings for one conversation: the initial session configuration and how
    the session behaves locally.

    Session settings left at ``None`` (or :data:`~realtime_client.events.UNSET`)
    are not sent, so the server's defaults apply. An explicit ``session=``
    config given to :meth:`~realtime_client.ConversationClient.start_conversation`
    wins over these where both set a field.

    Attributes:
        instructions: The system instructions.
        output_modalities: ``["text"]`` or ``["audio"]`` (the model answers in
            one modality; audio comes with its transcript).
        voice: The output voice (``"marin"``, ``"cedar"``, ...).
        turn_detection: :class:`~realtime_client.events.ServerVad`,
            :class:`~realtime_client.events.SemanticVad`, or ``None`` for manual
            turns (commit the audio and ask for a response yourself).
        input_audio_format: The format of audio you send (default 24 kHz PCM).
        output_audio_format: The format of audio the model sends.
        input_transcription: Transcribe the user's audio (``None``: off).
        noise_reduction: Input noise reduction (``None``: off).
        max_output_tokens: A per-response token limit, or ``"inf"``.
        tool_choice: ``"auto"``, ``"none"``, ``"required"`` or a specific tool.
        speed: Output speech speed, 0.25 to 1.5.
        tools: Python functions the model may call; their schemas are sent in
            the session config and calls are run for you. Each is checked here
            as :meth:`ToolRegistry.register <realtime_client.tools.ToolRegistry.register>`
            checks it (``TypeError`` or ``ValueError`` naming the tool).
        accumulate_last_turn: Keep the whole of the last response in
            ``session.last_turn``. Turn off for many sessions with tight memory.
        buffer_events: Queue events for iteration. Callback-only applications
            turn this off so the queue cannot grow without bound.
        send_queue_size: How many frames may wait to be sent before ``send*``
            blocks (back-pressure).
        send_queue_bytes: How many bytes of frames may wait to be sent before
            ``send*`` blocks (back-pressure in bytes; default 4 MiB, about 30 s
            of 24 kHz audio). One call larger than this still goes through,
            alone, once the queue is empty.
        response_conflict: What ``create_response`` does while another response
            is active: ``"wait"`` for it to end, ``"cancel"`` it first, or
            ``"error"`` (send anyway and let the server refuse).
        tool_timeout: Seconds a tool may run before the model is told it timed out.
        response_start_timeout: Seconds the server may take to start (or
            refuse) a ``response.create`` the session sent. After it, the
            request fails with :class:`~realtime_client.RealtimeTimeoutError`
            and the queued requests go on, so a lost frame never holds them.
        prices: The price table for ``session.usage.estimated_cost()``: one
            :class:`~realtime_client.usage.Prices`, or a mapping of model name to
            tables (default: :data:`~realtime_client.usage.DEFAULT_PRICES`).
        reconnect: Carry the conversation over a new connection after an
            unexpected end and before the session limit: ``True`` for the
            default :class:`~realtime_client.ReconnectPolicy`, or a policy
            (see the reliability page). Off by default.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 ``reconnect``, ``prices``, ``response_start_timeout``; ``tools``,
       ``accumulate_last_turn``, ``response_conflict`` and ``tool_timeout`` take effect.
    """

    instructions: str | None = None
    output_modalities: Sequence[ev.Modality] | None = None
    voice: ev.Voice | None = None
    turn_detection: ev.TurnDetection | ev.Unset | None = ev.UNSET
    input_audio_format: ev.AudioFormat | None = None
    output_audio_format: ev.AudioFormat | None = None
    input_transcription: ev.InputTranscription | ev.Unset | None = ev.UNSET
    noise_reduction: ev.NoiseReduction | ev.Unset | None = ev.UNSET
    max_output_tokens: ev.MaxOutputTokens | None = None
    tool_choice: ev.ToolChoice | None = None
    speed: float | None = None
    tools: Sequence[Callable[..., Any]] = attrs.field(default=(), converter=tuple)
    accumulate_last_turn: bool = True
    buffer_events: bool = True
    send_queue_size: int = attrs.field(default=1024)
    send_queue_bytes: int = attrs.field(default=4 * 1024 * 1024)
    response_conflict: ResponseConflict = attrs.field(default="wait")
    tool_timeout: float = attrs.field(default=30.0)
    response_start_timeout: float = attrs.field(default=30.0)
    prices: Prices | Mapping[str, Prices] | None = attrs.field(default=None, repr=False)
    reconnect: bool | ReconnectPolicy = attrs.field(default=False)

    @reconnect.validator
    def _check_reconnect(self, _: object, value: object) -> None:
        if not isinstance(value, (bool, ReconnectPolicy)):
            raise TypeError(
                f"reconnect must be a bool or a ReconnectPolicy, got {type(value).__name__}"
            )

    @property
    def reconnect_policy(self) -> ReconnectPolicy | None:
        """The reconnection policy in force, or ``None`` when reconnection is off."""
        if isinstance(self.reconnect, ReconnectPolicy):
            return self.reconnect
        return ReconnectPolicy() if self.reconnect else None

    @tools.validator
    def _check_tools(self, _: object, value: Sequence[Callable[..., Any]]) -> None:
        # The session's own registration, run here so that a function the model
        # could not be told about fails before any connection opens.
        if not value:
            return
        from .tools import ToolRegistry

        registry = ToolRegistry()
        for function in value:
            registry.register(function)

    @tool_timeout.validator
    def _check_tool_timeout(self, _: object, value: float) -> None:
        if not value > 0:
            raise ValueError(f"tool_timeout must be positive, got {value!r}")

    @response_start_timeout.validator
    def _check_start_timeout(self, _: object, value: float) -> None:
        if not value > 0:
            raise ValueError(f"response_start_timeout must be positive, got {value!r}")

    @response_conflict.validator
    def _check_conflict(self, _: object, value: str) -> None:
        if value not in ("wait", "cancel", "error"):
            raise ValueError(
                f"response_conflict must be 'wait', 'cancel' or 'error', got {value!r}"
            )

    @send_queue_size.validator
    def _check_queue(self, _: object, value: int) -> None:
        if value < 1:
            raise ValueError("send_queue_size must be at least 1")

    @send_queue_bytes.validator
    def _check_queue_bytes(self, _: object, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"send_queue_bytes must be an int, got {type(value).__name__}")
        if value < 1:
            raise ValueError("send_queue_bytes must be at least 1")

    def session_config(
        self,
        *,
        model: str | None = None,
        base: ev.RealtimeSessionConfig | None = None,
        tools: Sequence[ev.Tool] = (),
    ) -> ev.RealtimeSessionConfig:
        """The realtime session config these options describe, layered under ``base``.

        Args:
            model: The model, when the config should name it.
            base: An explicit config whose set fields win.
            tools: Tool definitions to add (after ``base``'s own).
        """
        inp = ev.AudioInputConfig(
            format=self.input_audio_format,
            noise_reduction=self.noise_reduction,
            transcription=self.input_transcription,
            turn_detection=self.turn_detection,
        )
        out = ev.AudioOutputConfig(
            format=self.output_audio_format, voice=self.voice, speed=self.speed
        )
        audio = ev.AudioConfig(
            input=inp if inp != ev.AudioInputConfig() else None,
            output=out if out != ev.AudioOutputConfig() else None,
        )
        mine = ev.RealtimeSessionConfig(
            model=model,
            instructions=self.instructions,
            output_modalities=list(self.output_modalities)
            if self.output_modalities is not None
            else None,
            audio=audio if audio != ev.AudioConfig() else None,
            max_output_tokens=self.max_output_tokens,
            tool_choice=self.tool_choice,
            tools=list(tools) or None,
        )
        if base is None:
            return mine
        layered: ev.RealtimeSessionConfig = _layer(attrs.evolve(mine, tools=None), base)
        if tools:
            layered = attrs.evolve(layered, tools=[*(base.tools or ()), *tools])
        return layered


def _layer(under: Any, over: Any) -> Any:
    """``over`` with its unset fields taken from ``under`` (recursively for configs)."""
    if over is None or over is ev.UNSET:
        return under
    if under is None or under is ev.UNSET:
        return over
    if type(under) is not type(over) or not attrs.has(type(over)):
        return over
    changes = {}
    for field in attrs.fields(type(over)):
        if not field.init:
            continue
        changes[field.name] = _layer(getattr(under, field.name), getattr(over, field.name))
    return attrs.evolve(over, **changes)
