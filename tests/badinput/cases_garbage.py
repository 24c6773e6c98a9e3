"""Class 4: garbage refused, valid files accepted, and the right words for both. Accepted inputs
that were altered or look suspect must carry a note saying so."""

from __future__ import annotations

import io

import numpy as np
import soundfile
from PIL import Image

from tests.badinput import files
from tests.badinput.builders import args_case, file_case, predict
from tests.badinput.case import Case


def _audio(name, filename, write, expect, names=None) -> Case:
    return file_case(name, "garbage", "--audio", filename, write, expect, names)


def _image(name, filename, write, expect, names=None) -> Case:
    return file_case(name, "garbage", "--image", filename, write, expect, names)


def _text_file(name, filename, write, expect, names=None) -> Case:
    return file_case(name, "garbage", "--text-file", filename, write, expect, names)


def _text(name, text, expect, names=None) -> Case:
    return args_case(name, "garbage", lambda _folder: predict("--text", text), expect, names)


def _bytes(data: bytes):
    return lambda path: path.write_bytes(data)


def _made(make):
    """A writer for bytes made only when the case is built (never at import)."""
    return lambda path: path.write_bytes(make())


def _real(writer) -> bytes:
    """The bytes of a valid file made by ``writer`` in memory, for cutting and corrupting."""
    buffer = io.BytesIO()
    writer(buffer)
    return buffer.getvalue()


def _png_bytes() -> bytes:
    return _real(lambda b: files.noisy_photo((300, 300)).save(b, format="PNG"))


def _jpeg_bytes() -> bytes:
    return _real(lambda b: files.noisy_photo((300, 300)).save(b, format="JPEG"))


def _wav_bytes() -> bytes:
    return _real(lambda b: soundfile.write(b, files.tone(1.0), 16000, format="WAV"))


def _flac_bytes() -> bytes:
    return _real(lambda b: soundfile.write(b, files.tone(2.0), 16000, format="FLAC"))


def _half(make):
    return _made(lambda: (data := make())[: len(data) // 2])


def _corrupt_png_crc() -> bytes:
    broken = bytearray(_png_bytes())
    broken[29] ^= 0xFF  # inside IHDR's CRC
    return bytes(broken)


def _exif_rotated(path) -> None:
    picture = files.digit_picture((120, 96))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    picture.save(path, exif=exif.tobytes())


def _broken_exif(path) -> None:
    files.digit_picture().save(path, exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff")


def _dc_only(path) -> None:
    files.pcm_wav(path, np.full(16000, 0.5, dtype=np.float32))


def _nan_wav(path) -> None:
    samples = files.tone(1.0)
    samples[100] = np.nan
    files.float_wav(path, samples)


def _inf_wav(path) -> None:
    samples = files.tone(1.0)
    samples[100] = np.inf
    files.float_wav(path, samples)


CASES: list[Case] = [
    # Audio that is not what it claims
    _audio("MP3 of sync garbage", "sync.mp3", files.mp3_sync_garbage, "error"),
    _audio("one second of MP3 then 300 kB of junk", "junk_tail.mp3", files.mp3_then_junk, "error"),
    _audio("random bytes named .mp3", "random.mp3", files.random_bytes, "error"),
    _audio("random bytes named .wav", "random.wav", files.random_bytes, "error"),
    _audio("random bytes named .flac", "random.flac", files.random_bytes, "error"),
    _audio("random bytes named .ogg", "random.ogg", files.random_bytes, "error"),
    _audio(
        "text named .wav", "notes.wav", _bytes(b"these are my notes, not audio\n" * 20), "error"
    ),
    _audio("PNG named .wav", "picture.wav", _made(_png_bytes), "error"),
    _audio("empty .wav", "empty.wav", _bytes(b""), "error"),
    _audio("WAV header only", "header.wav", _bytes(files.wav_header(16000, 1, 16, 0)), "error"),
    _audio(
        "RIFF without a fmt chunk",
        "nofmt.wav",
        _bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk"),
        "error",
    ),
    _audio(
        "WAV with a zero block align",
        "zero_align.wav",
        _bytes(files.wav_header(16000, 0, 16, 3200) + bytes(3200)),
        "error",
    ),
    _audio(
        "WAV cut inside its header", "cut_header.wav", _made(lambda: _wav_bytes()[:30]), "error"
    ),
    _audio("FLAC magic then junk", "fake.flac", _bytes(b"fLaC" + bytes(range(256)) * 8), "error"),
    _audio("Ogg magic then junk", "fake.ogg", _bytes(b"OggS" + bytes(range(256)) * 8), "error"),
    _audio("silent WAV", "silence.wav", lambda p: files.pcm_wav(p, np.zeros(16000)), "error"),
    _audio("float WAV with a NaN sample", "nan.wav", _nan_wav, "error"),
    _audio("float WAV with an infinite sample", "inf.wav", _inf_wav, "error"),
    # Valid audio, accepted, with the note it deserves
    _audio(
        "GSM 6.10 WAV from an open file",
        "gsm610.wav",
        lambda p: files.write_sound(p, files.tone(1.0, 8000), 8000, subtype="GSM610"),
        "accepted",
    ),
    _audio(
        "1-sample WAV",
        "one_sample.wav",
        lambda p: files.pcm_wav(p, np.array([0.5])),
        "noted",
        "too short",
    ),
    _audio(
        "10 ms WAV", "click.wav", lambda p: files.pcm_wav(p, files.tone(0.01)), "noted", "too short"
    ),
    _audio("DC-only WAV", "dc.wav", _dc_only, "noted", "constant offset"),
    _audio(
        "WAV claiming 2 hours holding 1 s",
        "liar.wav",
        lambda p: files.wav_claiming(p, 7200, 1.0),
        "noted",
        "truncated",
    ),
    _audio(
        "WAV claiming 3 s holding 1 s",
        "short_body.wav",
        lambda p: files.wav_claiming(p, 3.0, 1.0),
        "noted",
        "truncated",
    ),
    _audio(
        "WAV with an unknown (streamed) length",
        "streamed.wav",
        _bytes(
            files.wav_header(16000, 1, 16, 0xFFFFFFFF, riff_size=0xFFFFFFFF)
            + (files.tone(1.0) * 32767).astype("<i2").tobytes()
        ),
        "accepted",
    ),
    _audio("FLAC cut in half", "half.flac", _half(_flac_bytes), "noted", "cut off"),
    # Images that are not what they claim
    _image("random bytes named .png", "random.png", files.random_bytes, "error"),
    _image("random bytes named .jpg", "random.jpg", files.random_bytes, "error"),
    _image("text named .png", "notes.png", _bytes(b"not a picture\n" * 30), "error"),
    _image("WAV named .png", "sound.png", _made(_wav_bytes), "error"),
    _image(
        "PDF named .png",
        "document.png",
        _bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),
        "error",
    ),
    _image("empty .png", "empty.png", _bytes(b""), "error"),
    _image("PNG signature only", "signature.png", _bytes(b"\x89PNG\r\n\x1a\n"), "error"),
    _image("PNG cut in half", "half.png", _half(_png_bytes), "error"),
    _image("PNG with a bad header checksum", "crc.png", _made(_corrupt_png_crc), "error"),
    _image("JPEG cut in half", "half.jpg", _half(_jpeg_bytes), "error"),
    _image(
        "JPEG start marker then junk",
        "fake.jpg",
        _bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4),
        "error",
    ),
    _image("GIF signature then junk", "fake.gif", _bytes(b"GIF89a" + bytes(range(200))), "error"),
    _image(
        "SVG drawing",
        "drawing.svg",
        _bytes(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'),
        "error",
    ),
    _image(
        "EPS (never handed to Ghostscript)",
        "figure.eps",
        _bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"),
        "error",
    ),
    _image("JPEG with EXIF rotation", "rotated.jpg", _exif_rotated, "accepted"),
    _image("JPEG with broken EXIF", "bad_exif.jpg", _broken_exif, "accepted"),
    # Text
    _text("bidi override characters", "seven \u202eneves\u202c", "noted", "bidirectional"),
    _text("bidi isolates", "\u2066seven\u2069 three", "noted", "bidirectional"),
    _text("control characters", "seven\x07\x1b three", "noted", "control character"),
    _text("100,000 characters", "seven " * 16_667, "noted", "truncated"),
    _text("only spaces", "     ", "error", "--text"),
    _text("only control characters", "\x07\x08\x1b", "error", "--text"),
    _text("zero-width characters around a word", "\u200bseven\u200b", "noted", "control character"),
    _text("emoji and combining marks", "seven 7\ufe0f\u20e3 ñ", "accepted"),
    _text_file(
        "UTF-8 text file", "note.txt", lambda p: p.write_text("it is a seven", "utf-8"), "accepted"
    ),
    _text_file(
        "UTF-8 text file with a BOM",
        "bom.txt",
        lambda p: p.write_bytes(b"\xef\xbb\xbfseven"),
        "accepted",
    ),
    _text_file(
        "UTF-16 text file", "utf16.txt", lambda p: p.write_text("seven", "utf-16"), "accepted"
    ),
    _text_file(
        "Latin-1 text file",
        "latin1.txt",
        lambda p: p.write_bytes("caf\xe9 seven".encode("latin-1")),
        "error",
    ),
    _text_file("binary file as text", "binary.txt", files.random_bytes, "error"),
    _text_file(
        "2 MB text file", "huge.txt", lambda p: p.write_text("seven " * 350_000, "utf-8"), "error"
    ),
    _text_file("empty text file", "empty.txt", _bytes(b""), "error"),
    _text_file("text file of blank lines", "blank.txt", _bytes(b"\n\n  \n\t\n"), "error"),
]
