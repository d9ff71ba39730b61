"""What the "model" answers: the reply types, the request a responder sees, the default model.

A responder is a callable that takes a :class:`ResponseRequest` and returns a
:class:`Reply` (or a list of them, one output item each), or a list of canned
replies used in order. The default model is deterministic: it quotes text
messages, describes or quotes audio it heard, calls a function tool a message
names, and quotes a tool's output after the call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, Union, final

import attrs

from ...events import (
    UNSET,
    ConversationItem,
    FunctionCallItem,
    FunctionCallOutputItem,
    FunctionTool,
    InputAudioContent,
    InputTextContent,
    Modality,
    RealtimeSessionConfig,
    ResponseOptions,
    Tool,
    ToolChoice,
    ToolChoiceFunction,
    UserMessageItem,
)

if TYPE_CHECKING:
    from ._connection import FakeConnection

__all__ = [
    "AudioReply",
    "ErrorReply",
    "FunctionCallReply",
    "Reply",
    "Responder",
    "ResponseRequest",
    "TextReply",
    "default_reply",
    "schema_arguments",
]


@final
@attrs.frozen(kw_only=True)
class TextReply:
    """An assistant message. It is spoken (audio with this transcript) when the
    response's output modalities are ``["audio"]``, and written otherwise.

    .. versionadded:: 0.1
    """

    text: str


@final
@attrs.frozen(kw_only=True)
class AudioReply:
    """An assistant message with given audio, whatever the output modalities.

    Args:
        transcript: The transcript reported with the audio.
        audio: 16-bit mono PCM at 24 kHz; the server converts it to the
            session's output format. ``None`` synthesizes speech for the transcript.

    .. versionadded:: 0.1
    """

    transcript: str
    audio: bytes | None = attrs.field(default=None, repr=False)


def _arguments_text(value: str | dict[str, Any]) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@final
@attrs.frozen(kw_only=True)
class FunctionCallReply:
    """A call to one of the session's function tools.

    Args:
        name: The function's name.
        arguments: The arguments: JSON text, or a dict that is serialized.
        call_id: The call's id; a fresh ``call_...`` id when None.

    .. versionadded:: 0.1
    """

    name: str
    arguments: str = attrs.field(default="{}", converter=_arguments_text)
    call_id: str | None = None


@final
@attrs.frozen(kw_only=True)
class ErrorReply:
    """The response fails: ``response.done`` with status ``failed`` and this error.

    .. versionadded:: 0.1
    """

    message: str = "The server had an error while processing your request. Sorry about that!"
    code: str = "server_error"
    error_type: str = "server_error"


Reply = Union[TextReply, AudioReply, FunctionCallReply, ErrorReply, str]
"""One output of the model; a plain ``str`` is a :class:`TextReply`."""


@final
@attrs.frozen(kw_only=True)
class ResponseRequest:
    """Everything a responder knows when the model must answer.

    .. versionadded:: 0.1
    """

    response_id: str
    """The id of the response being created."""
    session: RealtimeSessionConfig
    """The session's configuration when the response started."""
    options: ResponseOptions | None
    """The ``response.create`` parameters, or None for an automatic (VAD) response."""
    items: tuple[ConversationItem, ...]
    """The context: the conversation so far, or the response's own ``input``."""
    connection: FakeConnection = attrs.field(repr=False, eq=False)
    """The connection's handle, for fault injection from a responder."""
    transcripts: dict[str, str] = attrs.field(factory=dict, repr=False, eq=False)
    """Transcripts of user audio items, by item id (from the server's ``transcribe``)."""

    @property
    def output_modalities(self) -> list[Modality]:
        """The modalities this response produces."""
        if self.options is not None and self.options.output_modalities:
            return list(self.options.output_modalities)
        return list(self.session.output_modalities or ["audio"])

    @property
    def instructions(self) -> str:
        """The instructions in force for this response."""
        if self.options is not None and self.options.instructions is not None:
            return self.options.instructions
        return self.session.instructions or ""

    @property
    def tools(self) -> list[Tool]:
        """The tools the model may call in this response."""
        if self.options is not None and self.options.tools is not None:
            return list(self.options.tools)
        return list(self.session.tools or [])

    @property
    def tool_choice(self) -> ToolChoice:
        """The tool choice in force for this response."""
        if self.options is not None and self.options.tool_choice is not None:
            return self.options.tool_choice
        return self.session.tool_choice or "auto"

    @property
    def metadata(self) -> dict[str, str] | None:
        """The response's metadata, when ``response.create`` gave some."""
        if self.options is None or self.options.metadata is UNSET:
            return None
        return self.options.metadata

    @property
    def last_item(self) -> ConversationItem | None:
        """The last item of the context, if any."""
        return self.items[-1] if self.items else None

    def user_text(self, item: ConversationItem | None = None) -> str | None:
        """The text of a user message (the last one when ``item`` is None).

        Audio content counts through its transcript, when one is known.
        """
        if item is None:
            for candidate in reversed(self.items):
                if isinstance(candidate, UserMessageItem):
                    item = candidate
                    break
        if not isinstance(item, UserMessageItem):
            return None
        parts: list[str] = []
        for part in item.content:
            if isinstance(part, InputTextContent) and part.text:
                parts.append(part.text)
            elif isinstance(part, InputAudioContent):
                text = part.transcript or (self.transcripts.get(item.id) if item.id else None)
                if text:
                    parts.append(text)
        return " ".join(parts) if parts else None

    def default(self) -> list[Reply]:
        """What the default model answers; custom responders may fall back on it."""
        return default_reply(self)


Responder = Union[Callable[[ResponseRequest], Union[Reply, Sequence[Reply]]], Sequence[Reply]]
"""A callable answering each request, or canned replies used in order."""

_TYPE_DEFAULTS: Final[dict[str, Any]] = {
    "string": "",
    "number": 0,
    "integer": 0,
    "boolean": False,
    "array": [],
    "object": {},
    "null": None,
}


def _coerce(text: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            number = float(text)
            return int(number) if number.is_integer() else number
        if kind == "boolean":
            return text.lower() in ("true", "yes", "1", "on")
        if kind in ("array", "object"):
            return json.loads(text)
    except ValueError:
        return _schema_default(schema)
    return text


def _schema_default(schema: dict[str, Any]) -> Any:
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" and isinstance(schema.get("properties"), dict):
        return schema_arguments(schema, "")
    return _TYPE_DEFAULTS.get(str(kind), None)


def schema_arguments(schema: dict[str, Any] | None, message: str) -> dict[str, Any]:
    """Arguments that satisfy a function's JSON schema.

    Each property takes its value from ``key=value`` in ``message`` (a value in
    double quotes may hold spaces), else from the schema's ``examples``,
    ``enum``, ``default`` or its type's zero value. Required properties are
    always present; others only when the message gives them, or when the
    schema lists no ``required`` at all.
    """
    if not schema:
        return {}
    properties: dict[str, Any] = schema.get("properties") or {}
    required = schema.get("required")
    arguments: dict[str, Any] = {}
    for name, given in properties.items():
        prop = given if isinstance(given, dict) else {}
        match = re.search(rf'\b{re.escape(name)}\s*=\s*(?:"([^"]*)"|(\S+))', message)
        if match is not None:
            raw = match.group(1) if match.group(1) is not None else match.group(2).rstrip(",.;")
            arguments[name] = _coerce(raw, prop)
        elif required is None or name in required:
            arguments[name] = _schema_default(prop)
    return arguments


def _names_tool(text: str, name: str) -> bool:
    spaced = re.escape(name).replace("_", "[_ ]")
    return re.search(rf"(?<!\w){spaced}(?!\w)", text, re.IGNORECASE) is not None


def _function_call(request: ResponseRequest, text: str) -> FunctionCallReply | None:
    functions = [t for t in request.tools if isinstance(t, FunctionTool) and t.name]
    choice = request.tool_choice
    if not functions or choice == "none":
        return None
    chosen: FunctionTool | None = None
    if isinstance(choice, ToolChoiceFunction):
        chosen = next((t for t in functions if t.name == choice.name), None)
    else:
        chosen = next((t for t in functions if _names_tool(text, t.name or "")), None)
        if chosen is None and choice == "required":
            chosen = functions[0]
    if chosen is None or chosen.name is None:
        return None
    return FunctionCallReply(name=chosen.name, arguments=schema_arguments(chosen.parameters, text))


def _heard(request: ResponseRequest, item: UserMessageItem) -> str:
    text = request.user_text(item)
    if text:
        return f'You said: "{text}"'
    audio_in = request.session.audio.input if request.session.audio else None
    fmt = audio_in.format if audio_in is not None else None
    bytes_per_second = 2 * 24000 if fmt is None or fmt.type == "audio/pcm" else 8000
    seconds = sum(
        len(part.audio) / bytes_per_second
        for part in item.content
        if isinstance(part, InputAudioContent) and part.audio
    )
    if seconds <= 0:
        return "I didn't hear anything. Are you still there?"
    return f"I heard {seconds:.1f} seconds of speech, but I can't understand audio offline."


def default_reply(request: ResponseRequest) -> list[Reply]:
    """The default model's answer to a request.

    - After a function call's output: a message quoting the output.
    - The last item is a user message naming a function tool (or
      ``tool_choice`` forces a call): a call with schema-satisfying arguments.
    - A user text message: a message quoting it.
    - User audio: a message quoting its transcript, or saying how much speech it held.
    - Nothing to answer: a greeting.
    """
    last = request.last_item
    if isinstance(last, FunctionCallOutputItem):
        name = next(
            (
                i.name
                for i in request.items
                if isinstance(i, FunctionCallItem) and i.call_id == last.call_id
            ),
            "tool",
        )
        return [TextReply(text=f"The {name} tool returned: {last.output}")]
    # Only a fresh user message names a tool: once the call, its output and the
    # answer are in, a later response must not call the tool again.
    text = (request.user_text(last) if isinstance(last, UserMessageItem) else None) or ""
    call = _function_call(request, text)
    if call is not None:
        return [call]
    if isinstance(last, UserMessageItem):
        return [TextReply(text=_heard(request, last))]
    return [TextReply(text="Hello! How can I help you today?")]
