"""The ``realtime-client`` command: demo, talk, chat, transcribe, translate, serve, devices.

Every subcommand that talks to a model runs against OpenAI when
``OPENAI_API_KEY`` is set (or ``--online``), and against the built-in offline
server otherwise (or with ``--offline``). ``demo`` is offline unless asked.
Errors print one line on stderr; the exit status is 0 on success, 1 on a
failure, 2 on bad usage and 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import sys
import threading
from collections.abc import Sequence
from importlib import resources
from typing import Any, NoReturn

from . import __version__, _cli_translate
from . import events as ev
from ._cli_support import (
    _answer_sink,
    _audio_format,
    _check_key,
    _check_open,
    _client,
    _device,
    _options,
    _print_transcripts,
    _status,
)
from .errors import AudioError, RealtimeError, UsageError

__all__ = ["build_parser", "main"]

_FORMATS = {"pcm": "audio/pcm", "pcmu": "audio/pcmu", "pcma": "audio/pcma"}
_LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_EXTRA_OF = {"websockets": "testing", "numpy": "testing", "sounddevice": "audio", "soxr": "audio"}
"""The extra that brings each optional module (NumPy in the audio package says so itself)."""

CONVERSATION_MODEL = "gpt-realtime"
"""The default model of demo, talk and chat."""
TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"
"""The default model of transcribe."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line: ``realtime-client CMD: error: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_model_options(parser: argparse.ArgumentParser, *, model: str) -> None:
    """The options of a subcommand that talks to a model, with its own default model.

    Each subcommand adds its own ``--model`` (never through a shared parent parser,
    whose one Action object every subcommand would share, defaults included).
    """
    parser.add_argument("--model", default=model, help="model (default: %(default)s)")
    parser.add_argument("--voice", help="output voice, e.g. marin or cedar")
    parser.add_argument("--instructions", help="system instructions for the model")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--offline", action="store_true", help="use the built-in offline server")
    where.add_argument("--online", action="store_true", help="use OpenAI (needs OPENAI_API_KEY)")


def _add_device_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-device", help="microphone: index or name (default: system)")
    parser.add_argument("--output-device", help="speaker: index or name (default: system)")
    parser.add_argument("--list-devices", action="store_true", help="list devices and exit")
    parser.add_argument(
        "--format", choices=sorted(_FORMATS), default="pcm", help="wire audio format"
    )


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    parser = _Parser(
        prog="realtime-client",
        description="A synchronous client for the OpenAI Realtime API, with an offline server.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    logs = parser.add_mutually_exclusive_group()
    logs.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log the library's steps on stderr (-v: info, -vv: debug)",
    )
    logs.add_argument(
        "--log-level",
        type=str.lower,
        choices=sorted(_LOG_LEVELS),
        help="log level on stderr (default: warning; info for serve)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="speak a question to the model and play the answer")
    _add_model_options(demo, model=CONVERSATION_MODEL)
    demo.add_argument("--output", metavar="FILE", help="write the answer to this WAV file")
    demo.add_argument("--question", metavar="WAV", help="ask this recording instead")
    demo.add_argument(
        "--timeout", type=_positive, default=60.0, help="seconds (default: %(default)s)"
    )

    talk = sub.add_parser("talk", help="live voice conversation")
    _add_model_options(talk, model=CONVERSATION_MODEL)
    _add_device_options(talk)
    talk.add_argument(
        "--push-to-talk", action="store_true", help="press Enter to start and stop speaking"
    )
    talk.add_argument("--semantic-vad", action="store_true", help="semantic instead of server VAD")
    talk.add_argument(
        "--no-echo-cancellation",
        dest="echo_cancellation",
        action="store_false",
        help="do not remove the speaker's echo from the microphone (on by default when the "
        "aec extra is installed)",
    )

    chat = sub.add_parser("chat", help="text conversation in the terminal")
    _add_model_options(chat, model=CONVERSATION_MODEL)
    chat.add_argument("--audio", action="store_true", help="also speak the answers")
    chat.add_argument("--output", metavar="FILE", help="with --audio: write audio to this WAV")

    transcribe = sub.add_parser("transcribe", help="live transcription of the mic or a file")
    _add_model_options(transcribe, model=TRANSCRIPTION_MODEL)
    _add_device_options(transcribe)
    transcribe.add_argument("--file", metavar="WAV", help="transcribe this file")

    serve = sub.add_parser(
        "serve", help="run the offline Realtime server (each client names its model)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    serve.add_argument("--port", type=_port, default=0, help="port (default: any free one)")
    serve.add_argument("--api-key", help="the only API key accepted (default: any, or none)")
    serve.add_argument(
        "--speed", type=_serve_speed, default=1.0, help="faster than real time by (> 0)"
    )

    sub.add_parser("devices", help="list audio devices")
    _cli_translate.register(sub, _add_device_options)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    _setup_logging(args)
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
        print(f"realtime-client {args.command}: {_missing_extra(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130


def _missing_extra(exc: ImportError) -> str:
    """What is missing and the exact ``pip install`` that brings it."""
    if "pip install" in str(exc):  # the package's own message names its extra
        return str(exc)
    missing = exc.name or str(exc)
    extra = _EXTRA_OF.get(missing.partition(".")[0], "audio,testing")
    return f"needs {missing!r}, which is not installed: pip install 'realtime-client[{extra}]'"


def _setup_logging(args: argparse.Namespace) -> None:
    """Log on stderr at the level asked (``-v``/``--log-level``), else warnings only.

    ``serve`` logs at info by default: one line per connection opened and closed.
    Without either option, ``OPENAI_LOG`` applies as in the library.
    """
    name = args.log_level or {0: None, 1: "info"}.get(args.verbose, "debug")
    if name is None and args.command == "serve":
        name = "info"
    if name is None:
        return
    logging.basicConfig(
        stream=sys.stderr, format="[%(asctime)s %(levelname)s %(name)s] %(message)s"
    )
    logging.getLogger("realtime_client").setLevel(_LOG_LEVELS[name])


def _port(text: str) -> int:
    """``--port``: 0 (any free port) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 to 65535, not {port}")
    return port


def _positive(text: str) -> float:
    """A number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < math.inf:  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, not {text}")
    return value


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
    answered = threading.Event()
    with question as path:
        source = WavSource(path, realtime=True, pad_ms=1000)  # a bad file fails here, first
        with _answer_sink(args, "audio/pcm", args.output) as (sink, written):
            # a file need not wait for real time
            args.server_speed = 1.0 if written is None else 20.0
            options = _options(
                args,
                output_modalities=["audio"],
                turn_detection=ev.ServerVad(),
                input_transcription=ev.InputTranscription(model=TRANSCRIPTION_MODEL),
            )
            with (
                _client(args, offline_default=True) as client,
                client.start_conversation(model=args.model, options=options) as session,
            ):
                _print_transcripts(session, sys.stdout)
                session.on(ev.ResponseDoneEvent, lambda _e: answered.set())
                _status(f"speaking the question ({source.duration_s:.1f} s of audio)")
                with VoiceBridge(session, source=source, sink=sink):
                    if not answered.wait(args.timeout):
                        raise RealtimeError(f"no answer within {args.timeout:g} s")
                    if isinstance(sink, Speaker) and not sink.wait_idle(args.timeout):
                        raise AudioError("playback did not finish")
    if written is not None:
        print(f"answer audio written to {os.path.abspath(written)}")
    return 0


def _cmd_talk(args: argparse.Namespace) -> int:
    from .audio import Microphone, Speaker, VoiceBridge, echo_cancellation_available

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
        input_transcription=ev.InputTranscription(model=TRANSCRIPTION_MODEL),
        reconnect=True,  # a long voice conversation outlives drops and the session limit
    )
    with (
        Microphone(wire_format=wire, device=_device(args.input_device)) as mic,
        Speaker(wire_format=wire, device=_device(args.output_device)) as speaker,
        _client(args, offline_default=False) as client,
        client.start_conversation(model=args.model, options=options) as session,
    ):
        _print_transcripts(session, sys.stdout)
        cancel_echo = args.echo_cancellation and echo_cancellation_available()
        with VoiceBridge(
            session,
            source=mic,
            sink=speaker,
            push_to_talk=args.push_to_talk,
            echo_cancellation=cancel_echo,
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
                _status(
                    "listening: just speak (echo cancellation on); Ctrl-C quits"
                    if cancel_echo
                    else "listening: just speak (use headphones, or install "
                    "'realtime-client[aec]' for echo cancellation); Ctrl-C quits"
                )
                session.wait_closed()  # only the server ends it: Ctrl-C is the way out
            _check_open(session)  # the server ending the conversation is a failure
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    _check_key(args)
    modalities = ["audio"] if args.audio else ["text"]
    answers: Any = (  # text-only chat needs no audio packages
        _answer_sink(args, "audio/pcm", args.output)
        if args.audio
        else contextlib.nullcontext((None, None))
    )
    turn_done = threading.Event()
    with (
        answers as (sink, written),
        _client(args, offline_default=False) as client,
        client.start_conversation(
            model=args.model, options=_options(args, output_modalities=modalities)
        ) as session,
    ):
        _print_transcripts(session, sys.stdout)
        session.on(ev.ResponseDoneEvent, lambda _e: turn_done.set())
        playing: Any = contextlib.nullcontext()
        if sink is not None:
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
        key = "the key given to --api-key" if args.api_key is not None else "no key needed"
        _status(f"connect with OPENAI_BASE_URL={url} (or base_url=); {key}; Ctrl-C stops")

    try:
        serve_forever(args.host, args.port, ready=ready, api_key=args.api_key, speed=args.speed)
    except OSError as exc:  # the address is taken, or not one of this machine's
        reason = exc.strerror or str(exc)
        raise RealtimeError(f"cannot listen on {args.host}:{args.port}: {reason}") from exc
    return 0


_COMMANDS = {
    "demo": _cmd_demo,
    "talk": _cmd_talk,
    "chat": _cmd_chat,
    "transcribe": _cmd_transcribe,
    "serve": _cmd_serve,
    "devices": _cmd_devices,
    "translate": _cli_translate.cmd_translate,
}
