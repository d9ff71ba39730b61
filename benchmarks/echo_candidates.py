"""Offline comparison of echo cancellers: how docs/audio.md chose one (no devices).

Far-end speech (espeak-ng, 22.6 s) comes back into the "microphone" 60 or 150 ms
later at -10 dB, either as a clean copy or through a harder path (a 120 ms room
tail, a 200-3000 Hz loudspeaker band, noise at -60 dBFS); a second voice talks
over it for 2.8 s from 12 s (double talk). Each candidate processes 10 ms frames
at 24 kHz and this prints, per path and with/without noise suppression:

- ERLE: echo (plus noise) power over output power in 100 ms windows with echo
  and no near talker, from 1.5 s after the far end starts;
- conv: seconds until the mean ERLE over the next second reaches 20 dB;
- corr: correlation of the output with the clean near talker over the double
  talk, at the best lag (the lag is the canceller's own delay, in samples);
  raw is the microphone's correlation before processing;
- cpu: process CPU per second of audio, % of one core.

Candidates (each skipped when not installed): pywebrtc-audio (WebRTC AEC3),
livekit (the same AEC3 behind LiveKit's FFI), SpeexDSP through ctypes on
Debian's libspeexdsp1 (echo canceller plus its preprocessor's residual echo
suppression).

Run: python benchmarks/echo_candidates.py webrtc livekit speex
"""

import ctypes
import ctypes.util
import os
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np

RATE = 24000
FRAME = RATE // 100


def speech(text, voice="en"):
    """espeak-ng saying ``text``, at 24 kHz, as floats."""
    with tempfile.TemporaryDirectory() as folder:
        raw, out = os.path.join(folder, "a.wav"), os.path.join(folder, "b.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-w", raw, text], check=True)
        subprocess.run(["sox", raw, "-r", str(RATE), "-c", "1", "-b", "16", out], check=True)
        with wave.open(out) as w:
            pcm = w.readframes(w.getnframes())
    return np.frombuffer(pcm, "<i2").astype(np.float64) / 32768


FAR_TEXT = (
    "The weather in Paris today is mild, with a light breeze from the west and some "
    "sunshine in the afternoon. Tomorrow will bring rain in the morning, clearing by the "
    "evening. Over the weekend the temperatures climb to twenty five degrees, which is warm "
    "for the season. If you plan to walk along the river, take a light jacket, because the "
    "wind can be cool near the water. Would you like me to check the forecast for another city?"
)
NEAR_TEXT = "Stop, stop. What about London instead?"


def echo_path(far, delay_ms, hard, rng):
    d = int(RATE * delay_ms / 1000)
    if hard:
        # loudspeaker band (one-pole low-pass ~3 kHz, high-pass ~200 Hz) and a room tail
        ir_len = int(0.12 * RATE)
        t = np.arange(ir_len) / RATE
        ir = rng.standard_normal(ir_len) * np.exp(-t / 0.03) * 0.15
        ir[0] = 1.0
        x = np.convolve(far, ir)[: len(far)]
        a = np.exp(-2 * np.pi * 3000 / RATE)
        y = np.zeros_like(x)
        acc = 0.0
        for i in range(len(x)):  # slow but fine offline
            acc = (1 - a) * x[i] + a * acc
            y[i] = acc
        b = np.exp(-2 * np.pi * 200 / RATE)
        z = np.zeros_like(y)
        prev_in = prev_out = 0.0
        for i in range(len(y)):
            prev_out = b * (prev_out + y[i] - prev_in)
            prev_in = y[i]
            z[i] = prev_out
        x = z
    else:
        x = far
    x = x / np.sqrt(np.mean(x**2) + 1e-12) * np.sqrt(np.mean(far**2)) * 10 ** (-10 / 20)
    return np.concatenate([np.zeros(d), x])[: len(far)]


class WebRTCpy:
    name = "pywebrtc-audio AEC3"

    def __init__(self, ns=False):
        import pywebrtc_audio

        self.ap = pywebrtc_audio.AudioProcessor(
            sample_rate=RATE, echo_cancellation=True, noise_suppression=ns, high_pass_filter=True
        )

    def process(self, near, far):
        return self.ap.process(near, far)


class LiveKit:
    name = "livekit AEC3"

    def __init__(self, ns=False):
        from livekit import rtc

        self.rtc = rtc
        self.apm = rtc.AudioProcessingModule(
            echo_cancellation=True, noise_suppression=ns, high_pass_filter=True
        )

    def process(self, near, far):
        rtc = self.rtc
        f = rtc.AudioFrame(bytearray(far.tobytes()), RATE, 1, FRAME)
        self.apm.process_reverse_stream(f)
        n = rtc.AudioFrame(bytearray(near.tobytes()), RATE, 1, FRAME)
        self.apm.set_stream_delay_ms(0)
        self.apm.process_stream(n)
        return np.frombuffer(bytes(n.data), "<i2")


class Speex:
    name = "speexdsp (ctypes)"

    def __init__(self, ns=False, tail_ms=250):
        lib = ctypes.CDLL(ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1")
        lib.speex_echo_state_init.restype = ctypes.c_void_p
        lib.speex_preprocess_state_init.restype = ctypes.c_void_p
        lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p] + [ctypes.c_void_p] * 3
        lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        lib.speex_preprocess_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        lib.speex_preprocess_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self.lib = lib
        self.st = ctypes.c_void_p(lib.speex_echo_state_init(FRAME, int(RATE * tail_ms / 1000)))
        rate = ctypes.c_int(RATE)
        lib.speex_echo_ctl(self.st, 24, ctypes.byref(rate))  # SPEEX_ECHO_SET_SAMPLING_RATE
        self.pp = ctypes.c_void_p(lib.speex_preprocess_state_init(FRAME, RATE))
        lib.speex_preprocess_ctl(self.pp, 24, self.st)  # SPEEX_PREPROCESS_SET_ECHO_STATE
        off = ctypes.c_int(1 if ns else 0)
        lib.speex_preprocess_ctl(self.pp, 0, ctypes.byref(off))  # SET_DENOISE
        self.out = np.zeros(FRAME, np.int16)

    def process(self, near, far):
        near = np.ascontiguousarray(near)
        far = np.ascontiguousarray(far)
        out = np.zeros(FRAME, np.int16)
        self.lib.speex_echo_cancellation(
            self.st, near.ctypes.data, far.ctypes.data, out.ctypes.data
        )
        self.lib.speex_preprocess_run(self.pp, out.ctypes.data)
        return out


def run(cls, delay_ms, hard, ns=False, seed=1):
    rng = np.random.default_rng(seed)
    far = speech(FAR_TEXT)
    near = speech(NEAR_TEXT, "en+f3")
    far = np.concatenate([np.zeros(RATE // 2), far, np.zeros(RATE)])
    n = len(far)
    echo = echo_path(far, delay_ms, hard, rng)
    user = np.zeros(n)
    dt_start = 12 * RATE
    user[dt_start : dt_start + len(near)] = near * 0.5
    noise = rng.standard_normal(n) * (10 ** (-60 / 20) if hard else 0.0)
    mic = echo + user + noise
    q = lambda x: np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16)  # noqa: E731
    mic16, far16 = q(mic), q(far)
    c = cls(ns=ns)
    frames = n // FRAME
    out = np.zeros(frames * FRAME, np.int16)
    t0 = time.process_time()
    for i in range(frames):
        s = slice(i * FRAME, (i + 1) * FRAME)
        out[s] = c.process(mic16[s], far16[s])
    cpu = time.process_time() - t0
    out = out.astype(np.float64) / 32768
    m = mic[: len(out)]
    e = (echo + noise)[: len(out)]
    # ERLE over far-only 100 ms windows where the echo is active, after 1.5 s of far speech
    win = RATE // 10
    first = np.argmax(np.abs(far) > 0.01) / RATE
    dt_end = dt_start + len(near) + RATE // 2
    erle_num = erle_den = 0.0
    conv = None
    per = []
    for w in range(len(out) // win):
        s = slice(w * win, (w + 1) * win)
        if w * win < dt_end and (w + 1) * win > dt_start - RATE // 10:
            continue
        pe = np.mean(e[s] ** 2)
        if pe < 10 ** (-45 / 10):
            continue
        po = np.mean(out[s] ** 2) + 1e-12
        per.append((w * win / RATE, 10 * np.log10(pe / po)))
        if w * win / RATE >= first + 1.5:
            erle_num += pe
            erle_den += po
    erle = 10 * np.log10(erle_num / erle_den)
    # convergence: first window from which the ERLE over the next 1 s of active windows >= 20 dB
    for i, (t, _) in enumerate(per):
        nxt = [x for tt, x in per[i:] if tt < t + 1.0]
        if len(nxt) >= 3 and np.mean(nxt) >= 20:
            conv = t - first
            break
    # double talk: correlation of the output with the clean user speech, over the user's speech
    s = slice(dt_start, dt_start + len(near))
    ref = user[s]
    best = max(
        range(RATE // 40),
        key=lambda L: float(np.dot(out[dt_start + L : dt_start + L + len(near)], ref)),
    )
    corr = np.corrcoef(out[dt_start + best : dt_start + best + len(near)], ref)[0, 1]
    corr_raw = np.corrcoef(m[s], user[s])[0, 1]
    return {
        "erle": erle,
        "conv": conv,
        "corr": corr,
        "lag": best,
        "corr_raw": corr_raw,
        "cpu_pct": 100 * cpu / (n / RATE),
    }


if __name__ == "__main__":
    cands = {"webrtc": WebRTCpy, "livekit": LiveKit, "speex": Speex}
    for key in sys.argv[1:] or list(cands):
        cls = cands[key]
        try:
            cls()
        except (ImportError, OSError) as exc:
            print(f"{cls.name}: not available ({exc})")
            continue
        for delay, hard in ((60, False), (150, False), (150, True)):
            for ns in (False, True):
                r = run(cls, delay, hard, ns)
                print(
                    f"{cls.name:22} delay={delay:3} hard={hard!s:5} ns={ns!s:5} "
                    f"ERLE={r['erle']:5.1f} dB conv={r['conv']} s corr={r['corr']:.3f}@{r['lag']} "
                    f"(raw {r['corr_raw']:.3f}) cpu={r['cpu_pct']:.2f}%",
                    flush=True,
                )
