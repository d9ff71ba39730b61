"""The ``realtime-client`` command: demo, talk, chat, transcribe, serve, devices.

Every subcommand that talks to a model runs against OpenAI when
``OPENAI_API_KEY`` is set (or ``--online``), and against the built-in offline
server otherwise (or with ``--offline``). ``demo`` is offline unless asked.
Errors print one line on stderr; the exit status is 0 on success, 1 on a
failure, 2 on bad usage and 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any, TextIO

from . import __version__
from . import events as ev
from .errors import AudioError, RealtimeError, UsageError

if TYPE_CHECKING:
    from .audio import Speaker, WavSink
    from .client import ConversationClient
    from .session import ConversationSession

__all__ = ["build_parser", "main"]

_OFFLINE_KEY = "offline-demo-key"
_FORMATS = {"pcm": "audio/pcm", "pcmu": "audio/pcmu", "pcma": "audio/pcma"}


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    parser = argparse.ArgumentParser(
        prog="realtime-client",
        description="A synchronous client for the OpenAI Realtime API, with an offline server.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--model", default="gpt-realtime", help="model (default: %(default)s)")
    model.add_argument("--voice", help="output voice, e.g. marin or cedar")
    model.add_argument("--instructions", help="system instructions for the model")
    where = model.add_mutually_exclusive_group()
    where.add_argument("--offline", action="store_true", help="use the built-in offline server")
    where.add_argument("--online", action="store_true", help="use OpenAI (needs OPENAI_API_KEY)")

    devices = argparse.ArgumentParser(add_help=False)
    devices.add_argument("--input-device", help="microphone: index or name (default: system)")
    devices.add_argument("--output-device", help="speaker: index or name (default: system)")
    devices.add_argument("--list-devices", action="store_true", help="list devices and exit")
    devices.add_argument(
        "--format", choices=sorted(_FORMATS), default="pcm", help="wire audio format"
    )

    demo = sub.add_parser(
        "demo", parents=[model], help="speak a question to the model and play the answer"
    )
    demo.add_argument("--output", metavar="FILE", help="write the answer to this WAV file")
    demo.add_argument("--question", metavar="WAV", help="ask this recording instead")
    demo.add_argument("--timeout", type=float, default=60.0, help="seconds (default: 60)")

    talk = sub.add_parser("talk", parents=[model, devices], help="live voice conversation")
    talk.add_argument(
        "--push-to-talk", action="store_true", help="press Enter to start and stop speaking"
    )
    talk.add_argument("--semantic-vad", action="store_true", help="semantic instead of server VAD")

    chat = sub.add_parser("chat", parents=[model], help="text conversation in the terminal")
    chat.add_argument("--audio", action="store_true", help="also speak the answers")
    chat.add_argument("--output", metavar="FILE", help="with --audio: write audio to this WAV")

    transcribe = sub.add_parser(
        "transcribe", parents=[model, devices], help="live transcription of the mic or a file"
    )
    transcribe.add_argument("--file", metavar="WAV", help="transcribe this file")
    transcribe.set_defaults(model="gpt-4o-mini-transcribe")

    serve = sub.add_parser("serve", help="run the offline Realtime server")
    serve.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    serve.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    serve.add_argument("--api-key", help="the only API key accepted (default: any)")
    serve.add_argument(
        "--speed", type=_serve_speed, default=1.0, help="faster than real time by (> 0)"
    )

    sub.add_parser("devices", help="list audio devices")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    command = _COMMANDS[args.command]
    try:
        if getattr(args, "list_devices", False):
            return _cmd_devices(args)
        return command(args)
    except UsageError as exc:
        print(f"realtime-client {args.command}: {exc}", file=sys.stderr)
        return 2
    except (RealtimeError, OSError) as exc:
        print(f"realtime-client {args.command}: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:  # an optional dependency of this subcommand is missing
        missing = exc.name or str(exc)
        print(
            f"realtime-client {args.command}: needs {missing!r}, which is not installed: "
            "pip install 'realtime-client[audio,testing]'",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130


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
        yield ConversationClient(base_url=server.base_url, api_key=_OFFLINE_KEY)


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


def _open_sink(
    args: argparse.Namespace, wire: str, output: str | None
) -> tuple[Speaker | WavSink, str | None]:
    """The speaker, or a WAV file when asked or when there is no speaker."""
    from .audio import Speaker, WavSink

    if output is None:
        try:
            return Speaker(
                wire_format=wire, device=_device(getattr(args, "output_device", None))
            ), None
        except AudioError as exc:
            handle, output = tempfile.mkstemp(prefix="realtime-client-answer-", suffix=".wav")
            os.close(handle)
            _status(f"no speaker ({exc}); writing the audio to a file instead")
    return WavSink(output, wire_format=wire), output


# --- commands --------------------------------------------------------------------------


def _cmd_devices(args: argparse.Namespace) -> int:
    from .audio import list_devices

    devices = list_devices()
    if not devices:
        print("no audio devices (a WAV file works instead: see --output and --file)")
    for d in devices:
        marks = ("<" if d["default_input"] else " ") + (">" if d["default_output"] else " ")
        print(
            f"{marks} {d['index']:3d} {d['name']} ({d['hostapi']}, "
            f"{d['max_input_channels']} in, {d['max_output_channels']} out, "
            f"{d['default_samplerate']:.0f} Hz)"
        )
    return 0


BUNDLED_QUESTION = "What is the weather in Paris today?"
"""What the bundled ``audio/data/question.wav`` says (made with espeak-ng)."""


def _cmd_demo(args: argparse.Namespace) -> int:
    from .audio import Speaker, VoiceBridge, WavSource

    _check_key(args)

    if args.question:
        question: Any = contextlib.nullcontext(args.question)
    else:
        question = resources.as_file(
            resources.files("realtime_client.audio") / "data/question.wav"
        )
        # The offline server cannot recognise speech: tell it what the bundled question says.
        args.server_transcript = BUNDLED_QUESTION
    sink, written = _open_sink(args, "audio/pcm", args.output)
    args.server_speed = 1.0 if written is None else 20.0  # a file need not wait for real time
    answered = threading.Event()
    try:
        with question as path, _client(args, offline_default=True) as client:
            source = WavSource(path, realtime=True, pad_ms=1000)
            options = _options(
                args,
                output_modalities=["audio"],
                turn_detection=ev.ServerVad(),
                input_transcription=ev.InputTranscription(model="gpt-4o-mini-transcribe"),
            )
            with client.start_conversation(model=args.model, options=options) as session:
                _print_transcripts(session, sys.stdout)
                session.on(ev.ResponseDoneEvent, lambda _e: answered.set())
                _status(f"speaking the question ({source.duration_s:.1f} s of audio)")
                with VoiceBridge(session, source=source, sink=sink):
                    if not answered.wait(args.timeout):
                        raise RealtimeError(f"no answer within {args.timeout:.0f} s")
                    if isinstance(sink, Speaker) and not sink.wait_idle(args.timeout):
                        raise AudioError("playback did not finish")
    finally:
        sink.close()
    if written is not None:
        print(f"answer audio written to {os.path.abspath(written)}")
    return 0


def _cmd_talk(args: argparse.Namespace) -> int:
    from .audio import Microphone, Speaker, VoiceBridge

    wire = _FORMATS[args.format]
    fmt = _audio_format(wire)
    vad: Any = (
        None if args.push_to_talk else (ev.SemanticVad() if args.semantic_vad else ev.ServerVad())
    )
    options = _options(
        args,
        output_modalities=["audio"],
        turn_detection=vad,
        input_audio_format=fmt,
        output_audio_format=fmt,
        input_transcription=ev.InputTranscription(model="gpt-4o-mini-transcribe"),
        reconnect=True,  # a long voice conversation outlives drops and the session limit
    )
    with (
        Microphone(wire_format=wire, device=_device(args.input_device)) as mic,
        Speaker(wire_format=wire, device=_device(args.output_device)) as speaker,
        _client(args, offline_default=False) as client,
        client.start_conversation(model=args.model, options=options) as session,
    ):
        _print_transcripts(session, sys.stdout)
        with VoiceBridge(
            session, source=mic, sink=speaker, push_to_talk=args.push_to_talk
        ) as bridge:
            if args.push_to_talk:
                _status("press Enter to talk, Enter again to send; Ctrl-D or Ctrl-C quits")
                for _line in sys.stdin:
                    _check_open(session)
                    if bridge.talking:
                        bridge.end_turn()
                        _status("sent")
                    else:
                        bridge.begin_turn()
                        _status("listening... (Enter to send)")
            else:
                _status("listening: just speak (use headphones); Ctrl-C quits")
                session.wait_closed()  # only the server ends it: Ctrl-C is the way out
            _check_open(session)  # the server ending the conversation is a failure
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    _check_key(args)
    modalities = ["audio"] if args.audio else ["text"]
    sink, written = _open_sink(args, "audio/pcm", args.output) if args.audio else (None, None)
    turn_done = threading.Event()
    try:
        with (
            _client(args, offline_default=False) as client,
            client.start_conversation(
                model=args.model, options=_options(args, output_modalities=modalities)
            ) as session,
        ):
            _print_transcripts(session, sys.stdout)
            session.on(ev.ResponseDoneEvent, lambda _e: turn_done.set())
            playing: Any = contextlib.nullcontext()
            if sink is not None:  # text-only chat needs no audio packages
                from .audio import VoiceBridge

                playing = VoiceBridge(session, sink=sink)
            with playing:
                _status("type a message and press Enter; Ctrl-D quits")
                for line in sys.stdin:
                    if not line.strip():
                        continue
                    turn_done.clear()
                    session.send_text(line.strip())
                    if not turn_done.wait(120):
                        raise RealtimeError("no answer within 120 s")
    finally:
        if sink is not None:
            sink.close()
    if written is not None:
        print(f"answer audio written to {os.path.abspath(written)}")
    return 0


def _cmd_transcribe(args: argparse.Namespace) -> int:
    from .audio import Microphone, VoiceBridge, WavSource

    wire = _FORMATS[args.format]
    source: Any = (
        WavSource(args.file, wire_format=wire, realtime=False, pad_ms=1000)
        if args.file
        else Microphone(wire_format=wire, device=_device(args.input_device))
    )
    committed: set[str] = set()
    completed: set[str] = set()
    progress = threading.Condition()

    def on_committed(event: ev.InputAudioBufferCommittedEvent) -> None:
        with progress:
            committed.add(event.item_id)
            progress.notify_all()

    def on_completed(event: ev.ConversationItemInputAudioTranscriptionCompletedEvent) -> None:
        print(event.transcript.strip(), flush=True)
        with progress:
            completed.add(event.item_id)
            progress.notify_all()

    options = _options(
        args,
        turn_detection=ev.ServerVad(),
        input_audio_format=_audio_format(wire),
        input_transcription=ev.InputTranscription(model=args.model),
    )
    try:
        with (
            _client(args, offline_default=False) as client,
            client.start_transcription(options=options) as session,
        ):
            session.on(ev.InputAudioBufferCommittedEvent, on_committed)
            session.on(ev.ConversationItemInputAudioTranscriptionCompletedEvent, on_completed)
            ended = threading.Event()  # the source ran out, or the session closed
            session.on_close(lambda _info: ended.set())
            with VoiceBridge(session, source=source, on_source_end=ended.set) as bridge:
                _status("transcribing; Ctrl-C stops" if not args.file else "transcribing the file")
                # Wait on an Event, never by joining the bridge's thread: on CPython
                # 3.10-3.12 a Ctrl-C that interrupts Thread.join() leaves the thread
                # marked finished while it still runs, so the bridge's close() would
                # not wait for it and it would go on sending into the closed session.
                while not ended.wait(0.5) and bridge.error is None:
                    pass
                _check_open(session)
                if bridge.error is not None:
                    raise bridge.error
                with progress:  # the last turn's text arrives after the audio ends
                    progress.wait_for(lambda: bool(committed) and committed <= completed, 15)
                    if not committed:
                        _status("no speech detected")
    finally:
        source.close()
    return 0


def _serve_speed(text: str) -> float:
    """``--speed``: a number above 0 (``inf`` streams without waiting)."""
    try:
        speed = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not speed > 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be greater than 0, not {text}")
    return speed


def _cmd_serve(args: argparse.Namespace) -> int:
    from .testing import serve_forever

    def ready(url: str) -> None:
        print(url, flush=True)  # the base URL, ws://HOST:PORT/v1, alone on stdout's first line
        _status(f"connect with ConversationClient(base_url={url!r}, api_key=...); Ctrl-C stops")

    serve_forever(args.host, args.port, ready=ready, api_key=args.api_key, speed=args.speed)
    return 0


_COMMANDS = {
    "demo": _cmd_demo,
    "talk": _cmd_talk,
    "chat": _cmd_chat,
    "transcribe": _cmd_transcribe,
    "serve": _cmd_serve,
    "devices": _cmd_devices,
}
