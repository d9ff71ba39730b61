"""Opening PortAudio streams: the lazy sounddevice import and the factory protocol.

Nothing here imports sounddevice at module import time, so importing
:mod:`realtime_client.audio` works on a machine without PortAudio; the first
device you open tells you what to install.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

from ..errors import AudioError

__all__ = [
    "AudioStream",
    "StreamFactory",
    "check_blocksize_ms",
    "import_sounddevice",
    "list_devices",
    "open_stream",
    "sounddevice_stream",
]

_INSTALL_HINT = "install the audio extra: pip install 'realtime-client[audio]'"
_PORTAUDIO_HINT = (  # the extra is there (sounddevice imported): only the system library lacks
    "install the PortAudio system library: apt-get install libportaudio2 (Debian, Ubuntu) "
    "or brew install portaudio (macOS)"
)


class AudioStream(Protocol):
    """What the microphone and speaker need from a stream.

    ``abort`` (stop now, dropping what the device holds) and ``time`` (the
    stream's clock, the one PortAudio's callback times use) are only used by
    the speaker, and only once its callback has received that timing.
    """

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def abort(self) -> None: ...

    def close(self) -> None: ...

    @property
    def time(self) -> float: ...


class StreamFactory(Protocol):
    """Opens a raw mono int16 stream; sounddevice's Raw*Stream classes fit.

    ``kind`` is ``"input"`` or ``"output"``; ``callback`` has sounddevice's
    signature ``(data, frames, time, status)``. Tests pass a factory that
    returns a fake stream and call the callback themselves.
    """

    def __call__(
        self,
        *,
        kind: Literal["input", "output"],
        samplerate: int,
        blocksize: int,
        device: int | str | None,
        latency: float | str | None,
        callback: Callable[[Any, int, Any, Any], None],
    ) -> AudioStream: ...


def import_sounddevice() -> Any:
    """Import sounddevice, turning a missing package or PortAudio into AudioError."""
    try:
        import sounddevice
    except ImportError as exc:
        raise AudioError(f"sounddevice is not installed: {_INSTALL_HINT}") from exc
    except OSError as exc:  # "PortAudio library not found"
        raise AudioError(
            f"the PortAudio library could not be loaded ({exc}): {_PORTAUDIO_HINT}"
        ) from exc
    return sounddevice


def sounddevice_stream(
    *,
    kind: Literal["input", "output"],
    samplerate: int,
    blocksize: int,
    device: int | str | None,
    latency: float | str | None,
    callback: Callable[[Any, int, Any, Any], None],
) -> AudioStream:
    """The default factory: a sounddevice RawInputStream or RawOutputStream."""
    sd = import_sounddevice()
    cls = sd.RawInputStream if kind == "input" else sd.RawOutputStream
    options: dict[str, Any] = {}
    if latency is not None:
        options["latency"] = latency
    try:
        stream: AudioStream = cls(
            samplerate=samplerate,
            blocksize=blocksize,
            device=device,
            channels=1,
            dtype="int16",
            callback=callback,
            **options,
        )
    except (sd.PortAudioError, ValueError) as exc:
        if not _has_device(sd, kind):
            raise AudioError(_no_device_message(kind)) from exc
        where = "default " + kind if device is None else f"{kind} device {device!r}"
        raise AudioError(f"cannot open the {where} at {samplerate} Hz: {exc}") from exc
    return stream


def _has_device(sd: Any, kind: Literal["input", "output"]) -> bool:
    """Whether PortAudio lists at least one device with channels of this kind."""
    key = "max_input_channels" if kind == "input" else "max_output_channels"
    try:
        return any(int(info[key]) > 0 for info in sd.query_devices())
    except Exception:  # cannot tell: keep the original error
        return True


def _no_device_message(kind: Literal["input", "output"]) -> str:
    if kind == "input":
        return (
            "no input device: PortAudio found no microphone on this machine. "
            "Read audio from a WAV file instead (realtime-client transcribe --file FILE, "
            "or realtime_client.audio.WavSource)"
        )
    return (
        "no output device: PortAudio found no speaker on this machine. "
        "Write the audio to a WAV file instead (realtime-client demo --output FILE, "
        "or realtime_client.audio.WavSink)"
    )


def check_blocksize_ms(value: object) -> None:
    """Check a ``blocksize_ms`` argument before any device is opened.

    Raises:
        TypeError: It is not a number.
        ValueError: It is not above 0 and at most 1000 ms.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"blocksize_ms must be a number of milliseconds, got {value!r}")
    milliseconds = float(value)
    if not (math.isfinite(milliseconds) and 0 < milliseconds <= 1000):
        raise ValueError(f"blocksize_ms must be above 0 and at most 1000, got {value!r}")


def open_stream(
    factory: StreamFactory,
    *,
    kind: Literal["input", "output"],
    rates: Sequence[int],
    blocksize_ms: float,
    device: int | str | None,
    latency: float | str | None,
    callback: Callable[[Any, int, Any, Any], None],
) -> tuple[AudioStream, int]:
    """Open a stream at the first rate in ``rates`` the device accepts.

    Returns:
        The stream and the rate it opened at.

    Raises:
        AudioError: No rate worked; the message carries the last failure.
    """
    failure: AudioError | None = None
    for rate in dict.fromkeys(rates):  # unique, in order
        try:
            stream = factory(
                kind=kind,
                samplerate=rate,
                blocksize=round(rate * blocksize_ms / 1000),
                device=device,
                latency=latency,
                callback=callback,
            )
        except AudioError as exc:
            failure = exc
            continue
        return stream, rate
    assert failure is not None, "open_stream needs at least one rate"
    raise failure


def device_default_rate(kind: Literal["input", "output"], device: int | str | None) -> int | None:
    """The device's default sample rate, or None when sounddevice cannot tell."""
    sd = import_sounddevice()
    try:
        info = sd.query_devices(device, kind=kind)
    except (sd.PortAudioError, ValueError):
        return None
    return int(info["default_samplerate"])


def list_devices() -> list[dict[str, Any]]:
    """Every audio device PortAudio sees, as dicts.

    Each has ``index``, ``name``, ``hostapi``, ``max_input_channels``,
    ``max_output_channels``, ``default_samplerate``, and ``default_input`` /
    ``default_output`` flags.

    Raises:
        AudioError: sounddevice or PortAudio is missing.
    """
    sd = import_sounddevice()
    try:
        devices = sd.query_devices()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as exc:
        raise AudioError(f"cannot list audio devices: {exc}") from exc
    hostapis = sd.query_hostapis()
    result = []
    for info in devices:
        index = int(info["index"])
        result.append(
            {
                "index": index,
                "name": str(info["name"]),
                "hostapi": str(hostapis[info["hostapi"]]["name"]),
                "max_input_channels": int(info["max_input_channels"]),
                "max_output_channels": int(info["max_output_channels"]),
                "default_samplerate": float(info["default_samplerate"]),
                "default_input": index == default_in,
                "default_output": index == default_out,
            }
        )
    return result
