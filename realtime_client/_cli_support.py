"""What the ``realtime-client`` subcommands share: the client, options, sinks, output.

Split from :mod:`realtime_client.cli`, which keeps the parser and the commands.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

from . import events as ev
from .errors import AudioError, RealtimeError, UsageError

if TYPE_CHECKING:
    from .audio import Speaker, WavSink
    from .client import ConversationClient
    from .session import ConversationSession

OFFLINE_KEY = "offline-demo-key"
"""The key the commands send to their built-in offline server (which accepts any)."""


# --- connections ---------------------------------------------------------------------


def _check_key(args: argparse.Namespace) -> None:
    """Fail early, before any device opens, when --online has no key to use."""
    if getattr(args, "online", False) and not os.environ.get("OPENAI_API_KEY"):
        raise UsageError("--online needs an API key: export OPENAI_API_KEY=sk-...")


@contextlib.contextmanager
def _client(args: argparse.Namespace, *, offline_default: bool) -> Iterator[ConversationClient]:
    """A client for OpenAI or for an offline server that lives as long as the block."""
    from .client import ConversationClient

    key = os.environ.get("OPENAI_API_KEY")
    offline = args.offline or (not args.online and (offline_default or not key))
    if not offline:
        _check_key(args)
        yield ConversationClient()
        return
    from .testing import FakeRealtimeServer

    _status("using the built-in offline server (no API key needed)")
    with FakeRealtimeServer(
        speed=getattr(args, "server_speed", 1.0),
        transcribe=getattr(args, "server_transcript", None),
    ) as server:
        yield ConversationClient(base_url=server.base_url, api_key=OFFLINE_KEY)


def _options(args: argparse.Namespace, **overrides: Any) -> Any:
    """Options from ``--instructions`` and ``--voice`` (when given) and ``overrides``.

    An override of None is kept: ``turn_detection=None`` means manual turns, while
    leaving it out keeps the server's default (server VAD).
    """
    from . import ConversationOptions

    given = {"instructions": args.instructions, "voice": args.voice}
    settings: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    settings.update(overrides)
    return ConversationOptions(**settings)


def _audio_format(name: str) -> ev.AudioPCM | ev.AudioPCMU | ev.AudioPCMA:
    if name == "audio/pcmu":
        return ev.AudioPCMU()
    if name == "audio/pcma":
        return ev.AudioPCMA()
    return ev.AudioPCM(rate=24000)


def _device(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.isdigit() else value


def _status(text: str) -> None:
    print(f"[{text}]", file=sys.stderr, flush=True)


def _check_open(session: ConversationSession) -> None:
    """Raise the error that ended the session, if the session ended on its own."""
    if not session.closed:
        return
    session.wait_closed(10)  # a closing session is closed within its close timeout
    info = session.close_info
    if info is not None and info.error is not None:
        raise info.error
    raise RealtimeError("the server ended the session")


def _print_transcripts(session: ConversationSession, out: TextIO) -> None:
    """Show both sides of the conversation as they arrive."""

    def user(event: ev.ConversationItemInputAudioTranscriptionCompletedEvent) -> None:
        print(f"you: {event.transcript.strip()}", file=out, flush=True)

    def started(event: ev.ResponseCreatedEvent) -> None:
        print("assistant: ", end="", file=out, flush=True)

    def delta(event: ev.ResponseOutputAudioTranscriptDeltaEvent) -> None:
        print(event.delta, end="", file=out, flush=True)

    def text(event: ev.ResponseOutputTextDeltaEvent) -> None:
        print(event.delta, end="", file=out, flush=True)

    def done(event: ev.ResponseDoneEvent) -> None:
        status = event.response.status
        suffix = f" [{status}]" if status not in (None, "completed") else ""
        print(suffix, file=out, flush=True)

    def error(event: ev.ErrorEvent) -> None:
        _status(f"server error: {event.error.message}")

    session.on(ev.ConversationItemInputAudioTranscriptionCompletedEvent, user)
    session.on(ev.ResponseCreatedEvent, started)
    session.on(ev.ResponseOutputAudioTranscriptDeltaEvent, delta)
    session.on(ev.ResponseOutputTextDeltaEvent, text)
    session.on(ev.ResponseDoneEvent, done)
    session.on(ev.ErrorEvent, error)


@contextlib.contextmanager
def _answer_sink(
    args: argparse.Namespace, wire: str, output: str | None
) -> Iterator[tuple[Speaker | WavSink, str | None]]:
    """The speaker, or a WAV file when asked or when there is no speaker, for the block.

    Yields the sink and the file's path (None for the speaker), and closes the sink
    after the block. A temporary file made for want of a speaker is removed when the
    block fails, so a failed run leaves nothing in the temp folder.
    """
    from .audio import Speaker, WavSink

    temporary: str | None = None
    if output is None:
        try:
            speaker = Speaker(
                wire_format=wire, device=_device(getattr(args, "output_device", None))
            )
        except AudioError as exc:
            handle, temporary = tempfile.mkstemp(prefix="realtime-client-answer-", suffix=".wav")
            os.close(handle)
            _status(f"no speaker ({exc}); writing the audio to a file instead")
        else:
            with contextlib.closing(speaker):
                yield speaker, None
            return
    path = output if output is not None else temporary
    assert path is not None
    succeeded = False
    try:
        with contextlib.closing(WavSink(path, wire_format=wire)) as sink:
            yield sink, path
        succeeded = True
    finally:
        if temporary is not None and not succeeded:
            with contextlib.suppress(OSError):
                os.remove(temporary)
