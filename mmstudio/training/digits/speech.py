"""Spoken digits synthesised with espeak-ng across accents, voice variants, speeds and pitches.

Honest hold-out: both the base voices (accents) and the voice variants are partitioned between
the splits, so every val/test utterance comes from a base voice *and* a variant that training
never heard. espeak-ng is deterministic, and all randomness here comes from per-utterance numpy
generators, so a build is repeatable whatever order the worker threads finish in.
"""

from __future__ import annotations

import functools
import io
import random
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from mmstudio.inputs.resample import resample

SAMPLE_RATE = 16_000
MAX_SECONDS = 1.5
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# Base voices (accents) by split; anything else espeak-ng offers for English goes to training.
VAL_VOICES = ("en-gb-x-gbcwmd",)
TEST_VOICES = ("en-gb-scotland", "en-029")
# "fast" only changes the speaking rate, which we vary ourselves.
_SKIP_VARIANTS = ("fast",)
# The variant partition is a fixed shuffle, not the build seed: builds with different seeds
# then measure the same generalisation and their scores can be compared.
_VARIANT_SHUFFLE_KEY = "mmstudio-digits-variants-v1"
_VARIANT_SHARES = {"train": 0.7, "val": 0.1, "test": 0.2}
# espeak-ng's speaking rate (words per minute) and pitch (0-99), drawn uniformly. Training spans
# a wider range than the held-out splits measure, so voices that training never heard are
# less likely to lie outside what it did hear; the held-out ranges stay as they were, so their
# scores remain comparable between builds.
HELD_OUT_PROSODY = {"speed": (110, 210), "pitch": (20, 80)}
TRAIN_PROSODY = {"speed": (95, 240), "pitch": (5, 95)}


class SpeechUnavailable(RuntimeError):
    """espeak-ng is missing or does not work; the message says how to install it."""


def espeak_binary() -> str:
    for name in ("espeak-ng", "espeak-ng.exe"):
        found = shutil.which(name)
        if found:
            return found
    raise SpeechUnavailable(
        "espeak-ng is needed to synthesise the spoken digits; install it "
        "(Debian/Ubuntu: apt-get install espeak-ng, macOS: brew install espeak-ng)"
    )


@functools.lru_cache(maxsize=1)
def espeak_version() -> str:
    out = subprocess.run([espeak_binary(), "--version"], capture_output=True, text=True)
    return out.stdout.strip()


def _voice_table(selector: str) -> list[tuple[str, str]]:
    """(language, file) pairs from ``espeak-ng --voices=...``.

    The listing looks fixed-width but long voice names push later columns right, so it is
    split on whitespace instead; voice names never hold spaces, file names occasionally do.
    """
    out = subprocess.run(
        [espeak_binary(), f"--voices={selector}"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    rows = []
    for line in out[1:]:
        parts = line.split(maxsplit=4)
        if len(parts) == 5:
            # What follows the file is "(other-language priority)" groups, if anything.
            file = parts[4].split(" (")[0].strip()
            rows.append((parts[1], file))
    return rows


@functools.lru_cache(maxsize=1)
def discover_voices() -> tuple[str, ...]:
    """English base voices built into espeak-ng (MBROLA voices need extra data, so not those)."""
    names = {
        language
        for language, file in _voice_table("en")
        if file.startswith("gmw/") and language.startswith("en")
    }
    return tuple(sorted(names))


@functools.lru_cache(maxsize=1)
def discover_variants() -> tuple[str, ...]:
    names = set()
    for _, file in _voice_table("variant"):
        if file.startswith("!v/"):
            name = file[3:]
            if " " not in name and name not in _SKIP_VARIANTS:
                names.add(name)
    return tuple(sorted(names))


def voices_by_split() -> dict[str, dict[str, list[str]]]:
    """{split: {"voices": [...], "variants": [...]}}, disjoint across splits on both axes."""
    voices = discover_voices()
    if len(voices) < 3:
        raise SpeechUnavailable(
            f"espeak-ng offers only {len(voices)} English voices here; three are needed to "
            "hold out validation and test accents"
        )
    voice_split = {v: _preferred_voice_split(v) for v in voices}
    for split in ("test", "val"):  # a different espeak-ng build may lack our chosen accents
        if split not in voice_split.values():
            spare = [v for v in voices if voice_split[v] == "train"]
            voice_split[spare[-1]] = split

    variants = list(discover_variants())
    random.Random(_VARIANT_SHUFFLE_KEY).shuffle(variants)
    n_train = int(round(_VARIANT_SHARES["train"] * len(variants)))
    n_val = max(1, int(round(_VARIANT_SHARES["val"] * len(variants))))
    variant_split = {
        "train": variants[:n_train],
        "val": variants[n_train : n_train + n_val],
        "test": variants[n_train + n_val :],
    }
    return {
        split: {
            "voices": sorted(v for v, s in voice_split.items() if s == split),
            # The plain voice (no variant) is one more training "variant".
            "variants": ([""] if split == "train" else []) + sorted(variant_split[split]),
        }
        for split in ("train", "val", "test")
    }


def _preferred_voice_split(voice: str) -> str:
    if voice in TEST_VOICES:
        return "test"
    if voice in VAL_VOICES:
        return "val"
    return "train"


@dataclass(frozen=True)
class Utterance:
    """Everything needed to produce one clip; ``seed`` drives the post-processing noise."""

    digit: int
    voice: str
    variant: str
    speed: int
    pitch: int
    seed: tuple[int, ...]

    @property
    def voice_spec(self) -> str:
        return f"{self.voice}+{self.variant}" if self.variant else self.voice


def plan_utterance(
    digit: int,
    split_voices: dict[str, list[str]],
    seed: tuple[int, ...],
    prosody: dict[str, tuple[int, int]] = HELD_OUT_PROSODY,
) -> Utterance:
    rng = np.random.default_rng(list(seed))
    voices, variants = split_voices["voices"], split_voices["variants"]
    (slowest, fastest), (lowest, highest) = prosody["speed"], prosody["pitch"]
    return Utterance(
        digit=digit,
        voice=voices[int(rng.integers(len(voices)))],
        variant=variants[int(rng.integers(len(variants)))],
        speed=int(rng.integers(slowest, fastest + 1)),
        pitch=int(rng.integers(lowest, highest + 1)),
        seed=seed,
    )


def synthesize(utt: Utterance) -> np.ndarray:
    """espeak-ng's rendering of the digit word as float32 at 16 kHz, post-processed."""
    raw, rate = _espeak(WORDS[utt.digit], utt.voice_spec, utt.speed, utt.pitch)
    clip = resample(raw, rate, SAMPLE_RATE)
    return finish_clip(clip, np.random.default_rng([*utt.seed, 1]))


def synthesize_many(
    utterances: list[Utterance],
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> list[np.ndarray]:
    """Synthesise in a small thread pool: the work is in the espeak-ng processes, not Python."""
    results: list[np.ndarray] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, clip in enumerate(pool.map(synthesize, utterances), start=1):
            results.append(clip)
            if progress and (done % 50 == 0 or done == len(utterances)):
                progress(done, len(utterances))
    return results


def _espeak(word: str, voice: str, speed: int, pitch: int) -> tuple[np.ndarray, int]:
    command = [espeak_binary(), "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", word]
    done = subprocess.run(command, capture_output=True, timeout=30)
    if done.returncode != 0 or len(done.stdout) < 100:
        raise SpeechUnavailable(
            f"espeak-ng failed for voice {voice!r}: {done.stderr.decode(errors='replace')[:200]}"
        )
    # espeak-ng streams a WAV whose header claims an unknown length; libsndfile copes.
    samples, rate = sf.read(io.BytesIO(done.stdout), dtype="float32", always_2d=False)
    return samples, rate


def finish_clip(clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Trim, set a random loudness, pad with jittered silence, add a noise floor, cap at 1.5 s."""
    speech = trim_silence(clip, SAMPLE_RATE)
    max_speech = int((MAX_SECONDS - 0.1) * SAMPLE_RATE)
    if len(speech) > max_speech:  # very slow voices: keep the word's start, fade the tail
        speech = speech[:max_speech].copy()
        fade = min(len(speech), int(0.05 * SAMPLE_RATE))
        speech[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    peak_db = rng.uniform(-20.0, -1.0)
    speech = speech * (10 ** (peak_db / 20) / max(1e-6, float(np.max(np.abs(speech)))))

    room = int(MAX_SECONDS * SAMPLE_RATE) - len(speech)
    lead = min(int(rng.uniform(0.02, 0.35) * SAMPLE_RATE), room)
    tail = min(int(rng.uniform(0.02, 0.3) * SAMPLE_RATE), room - lead)
    clip = np.concatenate(
        [np.zeros(lead, np.float32), speech.astype(np.float32), np.zeros(tail, np.float32)]
    )
    return np.clip(clip + _background(len(clip), float(np.max(np.abs(speech))), rng), -1, 1)


def _background(n: int, speech_peak: float, rng: np.random.Generator) -> np.ndarray:
    """A quiet room: white, pink or brown noise 25-50 dB under the speech peak."""
    from mmstudio.training.corruption import pink_noise

    kind = int(rng.integers(3))
    if kind == 0:
        noise = rng.normal(size=n)
    elif kind == 1:
        noise = pink_noise(n, rng)
    else:
        noise = np.cumsum(rng.normal(size=n))
        noise -= np.convolve(noise, np.ones(400) / 400, mode="same")  # keep it from wandering
    noise = noise / max(1e-9, float(np.std(noise)))
    level = speech_peak * 10 ** (-rng.uniform(25.0, 50.0) / 20)
    return (noise * level).astype(np.float32)


def trim_silence(clip: np.ndarray, rate: int, floor_db: float = -40.0) -> np.ndarray:
    """Cut leading and trailing frames quieter than ``floor_db`` below the loudest frame."""
    frame = rate // 100
    n_frames = len(clip) // frame
    if n_frames == 0:
        return clip
    rms = np.sqrt((clip[: n_frames * frame].reshape(n_frames, frame) ** 2).mean(axis=1) + 1e-12)
    loud = np.nonzero(rms >= rms.max() * 10 ** (floor_db / 20))[0]
    return clip[loud[0] * frame : (loud[-1] + 1) * frame]


def write_wav(path, clip: np.ndarray) -> None:
    sf.write(str(path), clip, SAMPLE_RATE, subtype="PCM_16")
