"""eSpeak NG through ctypes: text -> 22,050 Hz speech with its phoneme alignment, offline.

``espeakng-loader`` ships libespeak-ng and its data, so nothing is installed system-wide. The
library is initialised once, in synchronous mode with phoneme events: each call of the synthesis
callback hands over audio samples and the events (phoneme, word, end) with their sample position,
which is the alignment that trains the duration predictor of the text -> mel prior.

eSpeak keeps global state, so every call holds one lock. The same text and settings give the
same phonemes, but the waveform can differ by a few samples from run to run (eSpeak's own
jitter, not reachable through its API), which is why the corpus is synthesised once and cached.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 22050

# espeak_AUDIO_OUTPUT, options and events (speak_lib.h)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_END_PAUSE = 0x1000
_POS_CHARACTER = 1
_EVENT_PHONEME = 7
_RATE, _PITCH = 1, 3


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class Utterance:
    """One synthesised utterance.

    audio (S,) float32 in [-1, 1] at 22,050 Hz; phonemes[i] starts at sample starts[i] (eSpeak
    mnemonics, e.g. ``h``, ``@``, ``l``, ``oU``).
    """

    text: str
    voice: str
    rate: int
    pitch: int
    audio: np.ndarray
    phonemes: tuple[str, ...]
    starts: tuple[int, ...]


class _Engine:
    def __init__(self) -> None:
        import espeakng_loader

        self.lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.restype = ctypes.c_int
        rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS,
            0,
            espeakng_loader.get_data_path().encode(),
            _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT,
        )
        if rate != SAMPLE_RATE:
            raise RuntimeError(f"eSpeak NG failed to start (sample rate {rate})")
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int,
                                                   ctypes.c_int]  # fmt: skip
        self.chunks: list[np.ndarray] = []
        self.events: list[tuple[int, str]] = []  # (sample, phoneme) of each phoneme event
        self._cb = _CALLBACK(self._collect)  # kept alive as long as the engine
        self.lib.espeak_SetSynthCallback(self._cb)
        self.lock = threading.Lock()
        self.voice = ""

    def _collect(self, wav, n, events) -> int:
        if n > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        i = 0
        while events[i].type != 0:  # espeakEVENT_LIST_TERMINATED
            e = events[i]
            if e.type == _EVENT_PHONEME:
                name = bytes(e.id.string).split(b"\0")[0].decode("utf-8", "replace")
                self.events.append((e.sample, name))
            i += 1
        return 0

    def _set(self, voice: str, rate: int, pitch: int) -> None:
        if voice != self.voice:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"unknown eSpeak voice {voice!r}")
            self.voice = voice
        self.lib.espeak_SetParameter(_RATE, int(rate), 0)
        self.lib.espeak_SetParameter(_PITCH, int(pitch), 0)

    def synth(self, text: str, voice: str, rate: int, pitch: int) -> Utterance:
        with self.lock:
            self._set(voice, rate, pitch)
            self.chunks, self.events = [], []
            data = text.encode("utf-8") + b"\0"
            buf = ctypes.create_string_buffer(data)
            err = self.lib.espeak_Synth(buf, len(data), 0, _POS_CHARACTER, 0,
                                        _CHARS_UTF8 | _END_PAUSE, None, None)  # fmt: skip
            if err != 0:
                raise RuntimeError(f"eSpeak NG could not synthesise {text!r} (error {err})")
            self.lib.espeak_Synchronize()
            pcm = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)
            phon = [(s, p) for s, p in self.events if p]
        audio = pcm.astype(np.float32) / 32768.0
        return Utterance(text, voice, rate, pitch, audio, tuple(p for _, p in phon),
                         tuple(min(s, len(audio)) for s, _ in phon))  # fmt: skip

    def ipa(self, text: str, voice: str = "en-us") -> str:
        """The IPA transcription of ``text`` (espeak_TextToPhonemes, phoneme mode 2 = IPA)."""
        with self.lock:
            self._set(voice, 175, 50)
            buf = ctypes.create_string_buffer(text.encode("utf-8"))
            ptr = ctypes.c_char_p(ctypes.addressof(buf))
            out = []
            while ptr.value:
                r = self.lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, 0x02)
                if r:
                    out.append(r.decode("utf-8", "replace"))
            return " ".join(out)


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def engine() -> _Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Engine()
        return _engine


def synthesize(text: str, voice: str = "en-us", rate: int = 175, pitch: int = 50) -> Utterance:
    """Speak ``text`` with an eSpeak voice at ``rate`` words a minute and ``pitch`` (0-99)."""
    return engine().synth(text, voice, rate, pitch)


def to_ipa(text: str, voice: str = "en-us") -> str:
    return engine().ipa(text, voice)
