"""Session configuration: audio formats, turn detection, tools, prompts and the sessions.

The same classes describe what a client sends in ``session.update`` and what
the server reports in ``session.created`` / ``session.updated``; the server
adds ``id``, ``object`` and ``expires_at``. Fields whose explicit ``null``
means something (``turn_detection``, ``noise_reduction``, ``transcription``,
``tracing``, ``prompt``, ...) default to :data:`~realtime_client.events.UNSET`.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from attrs import field, frozen

from ._base import UNSET, UnknownTool, Unset, WireObject

__all__ = [
    "AudioConfig",
    "AudioFormat",
    "AudioInputConfig",
    "AudioOutputConfig",
    "AudioPCM",
    "AudioPCMA",
    "AudioPCMU",
    "FunctionTool",
    "InputTranscription",
    "MaxOutputTokens",
    "McpTool",
    "McpToolApprovalFilter",
    "McpToolFilter",
    "Modality",
    "NoiseReduction",
    "Prompt",
    "PromptCacheBreakpoint",
    "PromptInputFile",
    "PromptInputImage",
    "PromptInputText",
    "PromptVariable",
    "RealtimeSessionConfig",
    "Reasoning",
    "RetentionRatioTruncation",
    "SemanticVad",
    "ServerVad",
    "SessionConfig",
    "TokenLimits",
    "Tool",
    "ToolChoice",
    "ToolChoiceFunction",
    "ToolChoiceMcp",
    "TracingConfig",
    "TranscriptionAudioConfig",
    "TranscriptionSessionConfig",
    "Truncation",
    "TurnDetection",
    "Voice",
    "VoiceId",
]

MaxOutputTokens = Union[int, Literal["inf"]]
"""A token limit: a positive integer, or ``"inf"`` for the model's maximum."""

Modality = Literal["text", "audio"]
"""An output modality."""

# --- audio formats -----------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class AudioPCM(WireObject):
    """16-bit little-endian mono PCM at 24 kHz (the default format)."""

    type: Literal["audio/pcm"] = field(default="audio/pcm", init=False)
    rate: Literal[24000] | None = None


@frozen(kw_only=True, eq=False, repr=False)
class AudioPCMU(WireObject):
    """G.711 mu-law at 8 kHz (telephony)."""

    type: Literal["audio/pcmu"] = field(default="audio/pcmu", init=False)


@frozen(kw_only=True, eq=False, repr=False)
class AudioPCMA(WireObject):
    """G.711 A-law at 8 kHz (telephony)."""

    type: Literal["audio/pcma"] = field(default="audio/pcma", init=False)


AudioFormat = Union[AudioPCM, AudioPCMU, AudioPCMA]
"""An audio format, polymorphic on ``type``."""

# --- turn detection ------------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class ServerVad(WireObject):
    """Voice activity detection on audio energy: a turn ends after a silence."""

    type: Literal["server_vad"] = field(default="server_vad", init=False)
    threshold: float | None = None
    """Activation threshold, 0.0 to 1.0 (server default 0.5)."""
    prefix_padding_ms: int | None = None
    """Audio kept before detected speech (server default 300 ms)."""
    silence_duration_ms: int | None = None
    """Silence that ends a turn (server default 500 ms)."""
    create_response: bool | None = None
    """Start a response when a turn ends (server default true)."""
    interrupt_response: bool | None = None
    """Cancel the active response when speech starts (server default true)."""
    idle_timeout_ms: int | Unset | None = UNSET
    """Trigger a response after this long without speech (5000 to 30000), or ``None``."""


@frozen(kw_only=True, eq=False, repr=False)
class SemanticVad(WireObject):
    """Turn detection by a model that judges whether the user has finished."""

    type: Literal["semantic_vad"] = field(default="semantic_vad", init=False)
    eagerness: Literal["low", "medium", "high", "auto"] | None = None
    create_response: bool | None = None
    interrupt_response: bool | None = None


TurnDetection = Union[ServerVad, SemanticVad]
"""Turn detection, polymorphic on ``type``; ``None`` in a config means manual turns."""

# --- input processing ------------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class NoiseReduction(WireObject):
    """Noise reduction applied to input audio before VAD and the model."""

    type: Literal["near_field", "far_field"] | None = None
    """``near_field`` for headsets, ``far_field`` for laptop or room microphones."""
    strength: float | None = None


@frozen(kw_only=True, eq=False, repr=False)
class InputTranscription(WireObject):
    """Asynchronous transcription of the user's audio."""

    model: str | None = None
    """For example ``gpt-4o-transcribe``, ``gpt-4o-mini-transcribe`` or ``whisper-1``."""
    language: str | None = None
    """ISO-639-1 language of the input, for example ``en``."""
    languages: list[str] | None = None
    prompt: str | None = None
    delay: Literal["minimal", "low", "medium", "high", "xhigh"] | None = None
    keywords: list[str] | None = None


# --- audio configuration --------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class AudioInputConfig(WireObject):
    """How the session treats input audio."""

    format: AudioFormat | None = None
    noise_reduction: NoiseReduction | Unset | None = UNSET
    """``None`` turns noise reduction off."""
    transcription: InputTranscription | Unset | None = UNSET
    """``None`` turns input transcription off."""
    turn_detection: TurnDetection | Unset | None = UNSET
    """``None`` selects manual turns (push-to-talk: commit, then ``response.create``)."""


@frozen(kw_only=True, eq=False, repr=False)
class VoiceId(WireObject):
    """A custom voice, by id."""

    id: str


Voice = Union[str, VoiceId]
"""A built-in voice name (``alloy``, ``ash``, ``ballad``, ``coral``, ``echo``, ``sage``,
``shimmer``, ``verse``, ``marin``, ``cedar``) or a custom :class:`VoiceId`."""


@frozen(kw_only=True, eq=False, repr=False)
class AudioOutputConfig(WireObject):
    """How the session produces output audio."""

    format: AudioFormat | None = None
    voice: Voice | None = None
    speed: float | None = None
    """Playback speed, 0.25 to 1.5 (server default 1.0)."""


@frozen(kw_only=True, eq=False, repr=False)
class AudioConfig(WireObject):
    """Input and output audio settings of a realtime session."""

    input: AudioInputConfig | None = None
    output: AudioOutputConfig | None = None


@frozen(kw_only=True, eq=False, repr=False)
class TranscriptionAudioConfig(WireObject):
    """Audio settings of a transcription session (input only)."""

    input: AudioInputConfig | None = None


# --- tools ------------------------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class FunctionTool(WireObject):
    """A function the model may call; the client runs it and returns the output."""

    type: Literal["function"] = field(default="function", init=False)
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    """The arguments' JSON Schema."""


@frozen(kw_only=True, eq=False, repr=False)
class McpToolFilter(WireObject):
    """Selects MCP tools by name or by the read-only hint."""

    read_only: bool | None = None
    tool_names: list[str] | None = None


@frozen(kw_only=True, eq=False, repr=False)
class McpToolApprovalFilter(WireObject):
    """Which MCP tools always or never need approval."""

    always: McpToolFilter | None = None
    never: McpToolFilter | None = None


@frozen(kw_only=True, eq=False, repr=False)
class McpTool(WireObject):
    """A remote MCP server (or a connector) whose tools the model may call."""

    type: Literal["mcp"] = field(default="mcp", init=False)
    server_label: str
    server_url: str | None = None
    connector_id: str | None = None
    authorization: str | None = field(default=None, repr=False)
    """An OAuth token for the server; kept out of ``repr``."""
    headers: dict[str, str] | Unset | None = field(default=UNSET, repr=False)
    allowed_tools: list[str] | McpToolFilter | Unset | None = UNSET
    require_approval: McpToolApprovalFilter | Literal["always", "never"] | Unset | None = UNSET
    server_description: str | None = None
    allowed_callers: list[Literal["direct", "programmatic"]] | Unset | None = UNSET
    defer_loading: bool | None = None
    tunnel_id: str | None = None


Tool = Union[FunctionTool, McpTool, UnknownTool]
"""A tool, polymorphic on ``type`` (:class:`UnknownTool` for a type this version does not know)."""


@frozen(kw_only=True, eq=False, repr=False)
class ToolChoiceFunction(WireObject):
    """Force a call to the named function."""

    type: Literal["function"] = field(default="function", init=False)
    name: str


@frozen(kw_only=True, eq=False, repr=False)
class ToolChoiceMcp(WireObject):
    """Force a call to a tool on the labelled MCP server."""

    type: Literal["mcp"] = field(default="mcp", init=False)
    server_label: str
    name: str | Unset | None = UNSET


ToolChoice = Union[Literal["none", "auto", "required"], ToolChoiceFunction, ToolChoiceMcp]
"""``"none"``, ``"auto"``, ``"required"``, or a specific tool."""

# --- tracing, prompts, truncation, reasoning ------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class TracingConfig(WireObject):
    """Names the session's traces in the Traces dashboard."""

    workflow_name: str | None = None
    group_id: str | None = None
    metadata: dict[str, Any] | None = None


@frozen(kw_only=True, eq=False, repr=False)
class PromptCacheBreakpoint(WireObject):
    """Marks where a prompt's cacheable prefix ends."""

    mode: Literal["explicit"]
    ttl: Literal["30m", "12h"] | None = None


@frozen(kw_only=True, eq=False, repr=False)
class PromptInputText(WireObject):
    """A text value for a prompt template variable."""

    type: Literal["input_text"] = field(default="input_text", init=False)
    text: str
    prompt_cache_breakpoint: PromptCacheBreakpoint | None = None


@frozen(kw_only=True, eq=False, repr=False)
class PromptInputImage(WireObject):
    """An image value for a prompt template variable."""

    type: Literal["input_image"] = field(default="input_image", init=False)
    detail: Literal["low", "high", "auto", "original"]
    file_id: str | Unset | None = UNSET
    image_url: str | Unset | None = UNSET
    prompt_cache_breakpoint: PromptCacheBreakpoint | None = None


@frozen(kw_only=True, eq=False, repr=False)
class PromptInputFile(WireObject):
    """A file value for a prompt template variable."""

    type: Literal["input_file"] = field(default="input_file", init=False)
    file_id: str | Unset | None = UNSET
    file_url: str | None = None
    file_data: str | None = None
    filename: str | None = None
    detail: Literal["auto", "low", "high"] | None = None
    prompt_cache_breakpoint: PromptCacheBreakpoint | None = None


PromptVariable = Union[str, PromptInputText, PromptInputImage, PromptInputFile]
"""A prompt template variable's value: plain text or a typed input."""


@frozen(kw_only=True, eq=False, repr=False)
class Prompt(WireObject):
    """A reference to a stored prompt template and its variables."""

    id: str
    version: str | Unset | None = UNSET
    variables: dict[str, PromptVariable] | Unset | None = UNSET


@frozen(kw_only=True, eq=False, repr=False)
class TokenLimits(WireObject):
    """Token limits used by retention-ratio truncation."""

    post_instructions: int | None = None


@frozen(kw_only=True, eq=False, repr=False)
class RetentionRatioTruncation(WireObject):
    """Drop the oldest part of the conversation, keeping this fraction, when it is too long."""

    type: Literal["retention_ratio"] = field(default="retention_ratio", init=False)
    retention_ratio: float
    token_limits: TokenLimits | None = None


Truncation = Union[Literal["auto", "disabled"], RetentionRatioTruncation]
"""How the server shortens a conversation that outgrows the context window."""


@frozen(kw_only=True, eq=False, repr=False)
class Reasoning(WireObject):
    """Reasoning effort for models that reason."""

    effort: Literal["minimal", "low", "medium", "high", "xhigh"] | None = None


# --- sessions ----------------------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class RealtimeSessionConfig(WireObject):
    """A speech-to-speech (or text) session: what ``session.update`` sets.

    The server's ``session.created`` / ``session.updated`` carry the same
    object, complete, plus ``id``, ``object`` and ``expires_at``.
    """

    type: Literal["realtime"] = field(default="realtime", init=False)
    model: str | None = None
    instructions: str | None = None
    output_modalities: list[Modality] | None = None
    """``["audio"]`` (with a transcript) or ``["text"]``."""
    audio: AudioConfig | None = None
    include: list[Literal["item.input_audio_transcription.logprobs"]] | None = None
    max_output_tokens: MaxOutputTokens | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    tracing: Literal["auto"] | TracingConfig | Unset | None = UNSET
    """``"auto"``, a :class:`TracingConfig`, or ``None`` to turn tracing off."""
    prompt: Prompt | Unset | None = UNSET
    """A stored prompt, or ``None`` to clear it."""
    truncation: Truncation | None = None
    reasoning: Reasoning | None = None
    id: str | None = None
    """Set by the server."""
    object: str | None = None
    """Set by the server (``realtime.session``)."""
    expires_at: int | None = None
    """When the session expires, as Unix time (set by the server)."""


@frozen(kw_only=True, eq=False, repr=False)
class TranscriptionSessionConfig(WireObject):
    """A transcription-only session: input audio in, transcripts out."""

    type: Literal["transcription"] = field(default="transcription", init=False)
    audio: TranscriptionAudioConfig | None = None
    include: list[Literal["item.input_audio_transcription.logprobs"]] | None = None
    id: str | None = None
    object: str | None = None
    expires_at: int | None = None


SessionConfig = Union[RealtimeSessionConfig, TranscriptionSessionConfig]
"""A session, polymorphic on ``type`` (``realtime`` or ``transcription``)."""
