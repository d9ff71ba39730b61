"""``realtime-client translate --to LANG``: live speech translation in the terminal.

Microphone in, translated speech on the speaker, both transcripts printed as
they arrive; or ``--file IN.wav --output OUT.wav`` with no audio device at
all. Offline (the built-in server's stand-in translator) unless ``--online``.

.. versionadded:: 0.3
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from typing import Any, Final, TextIO

from ._cli_support import _answer_sink, _check_key, _client, _device, _status
from ._translation_setup import DEFAULT_TRANSLATION_MODEL, check_language
from .errors import UsageError
from .events import translation as tev

__all__ = ["cmd_translate", "register"]

_CHUNK_MS: Final = 200  # the service translates 200 ms frames
_READ_TIMEOUT: Final = 0.5  # the pump notices the session ending within this
_FILE_TAIL_MS: Final = 1500  # silence after a file, so its last phrase ends
_DRAIN_S: Final = 30.0  # bound on waiting for the speaker to play what is left
_PLAYBACK_ID: Final = "translation"


def register(sub: Any, add_device_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``translate`` subcommand to the command's subparsers."""
    parser = sub.add_parser(
        "translate",
        help="live speech translation (microphone or WAV file)",
        description="Translate speech into another language: translated speech and both "
        "transcripts, live. Offline unless --online.",
    )
    add_device_options(parser)
    parser.add_argument("--to", required=True, metavar="LANG", help="target language, e.g. es")
    parser.add_argument("--file", metavar="WAV", help="translate this file instead of the mic")
    parser.add_argument("--output", metavar="WAV", help="write the translated speech here")
    parser.add_argument(
        "--source-transcript-model",
        default="gpt-4o-transcribe",
        help="model for the source transcript; 'none' turns it off (default: %(default)s)",
    )
    parser.add_argument(
        "--noise-reduction", choices=["near_field", "far_field"], help="input noise reduction"
    )
    parser.add_argument(
        "--model", default=DEFAULT_TRANSLATION_MODEL, help="model (default: %(default)s)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--offline", action="store_true", help="use the built-in offline server")
    where.add_argument("--online", action="store_true", help="use OpenAI (needs OPENAI_API_KEY)")


class _Printer:
    """Prints both transcripts as they stream, one labelled line per side and phrase."""

    def __init__(self, out: TextIO, target: str) -> None:
        self._out = out
        self._labels = {"source": "source", "target": target}
        self._current: str | None = None
        self._lock = threading.Lock()

    def write(self, side: str, text: str) -> None:
        with self._lock:
            if side != self._current:
                if self._current is not None:
                    self._out.write("\n")
                self._out.write(f"{self._labels[side]}: ")
                text = text.lstrip()
                self._current = side
            self._out.write(text)
            self._out.flush()

    def end(self) -> None:
        with self._lock:
            if self._current is not None:
                self._out.write("\n")
                self._out.flush()
            self._current = None


def cmd_translate(args: argparse.Namespace) -> int:
    """Run ``translate``; arguments are checked before any device or socket opens."""
    from .audio import Microphone, WavSource

    try:
        language = check_language(args.to)
    except ValueError as exc:
        raise UsageError(f"--to: {exc}") from None
    if args.format != "pcm":
        raise UsageError("translation sessions take 24 kHz PCM16: --format must be pcm")
    transcription = args.source_transcript_model
    transcription = None if transcription.lower() == "none" else transcription
    if args.online:
        _check_key(args)
    source: Any = (
        WavSource(args.file, chunk_ms=_CHUNK_MS, realtime=False, pad_ms=_FILE_TAIL_MS)
        if args.file
        else Microphone(chunk_ms=_CHUNK_MS, device=_device(args.input_device))
    )
    printer = _Printer(sys.stdout, language)
    try:
        with _answer_sink(args, "audio/pcm", args.output) as (sink, written):
            sink.start()
            with _client(args, offline_default=True) as client:
                session = client.start_translation(
                    language=language,
                    model=args.model,
                    input_transcription=transcription,
                    noise_reduction=args.noise_reduction,
                    accumulate=False,
                    buffer_events=False,
                )
                with session:
                    _wire(session, sink, printer)
                    _status(
                        f"translating {args.file!r} into {language}"
                        if args.file
                        else f"translating into {language}; Ctrl-C stops"
                    )
                    source.start()
                    _pump(source, session)
                    session.close()  # flushes: the last translation comes before session.closed
                    printer.end()
                    info = session.close_info
                    if info is not None and info.error is not None:
                        raise info.error
                sink.wait_idle(_DRAIN_S)
        if written is not None:
            _status(f"translated speech written to {written}")
    finally:
        printer.end()
        source.close()
    return 0


def _wire(session: Any, sink: Any, printer: _Printer) -> None:
    """Callbacks: speech to the sink, transcripts to the terminal, errors to stderr."""

    def audio(event: tev.SessionOutputAudioDeltaEvent) -> None:
        sink.play(_PLAYBACK_ID, event.delta)

    def error(event: tev.ErrorEvent) -> None:
        printer.end()
        print(f"[server error: {event.error.message}]", file=sys.stderr, flush=True)

    session.on(tev.SessionOutputAudioDeltaEvent, audio)
    session.on(
        tev.SessionInputTranscriptDeltaEvent,
        lambda e: printer.write("source", e.delta),
    )
    session.on(
        tev.SessionOutputTranscriptDeltaEvent,
        lambda e: printer.write("target", e.delta),
    )
    session.on(tev.ErrorEvent, error)


def _pump(source: Any, session: Any) -> None:
    """Send the source's chunks until it ends (a file) or the session closes."""
    while not session.closed:
        chunk = source.read(timeout=_READ_TIMEOUT)
        if chunk is None:
            continue
        if not chunk:
            return
        session.send_audio(chunk)
