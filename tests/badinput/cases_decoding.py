"""Class 3: decoding bounded by what it costs. Big files are sparse: their headers are real,
their bodies mostly holes, so a gigabyte costs nothing on disk and is still read in full."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tests.badinput import files
from tests.badinput.builders import file_case
from tests.badinput.case import Case


def _audio(name, filename, write, expect, names=None, **options) -> Case:
    return file_case(name, "decoding", "--audio", filename, write, expect, names, **options)


def _image(name, filename, write, expect, names=None, **options) -> Case:
    return file_case(name, "decoding", "--image", filename, write, expect, names, **options)


def _sound(samples, rate=files.RATE, **options):
    return lambda path: files.write_sound(path, samples, rate, **options)


def _picture(picture_maker, **options):
    return lambda path: files.save_picture(path, picture_maker(), **options)


CASES: list[Case] = [
    # Many channels at a high rate: every channel is read, never all of them at once as floats.
    _audio(
        "1 GB WAV, 32 channels at 384 kHz",
        "spatial.wav",
        lambda path: files.sparse_wav(path, 384_000, 32, 43.0),
        "noted",
        "loudest",
    ),
    _audio(
        "10-minute 44.1 kHz stereo WAV",
        "lecture.wav",
        lambda path: files.sparse_wav(path, 44_100, 2, 600.0),
        "noted",
        "loudest",
    ),
    _audio(
        "64-channel 384 kHz WAV of 4 GB (2 billion samples)",
        "array.wav",
        lambda path: files.sparse_wav(path, 384_000, 64, 300.0, sound_seconds=0.01),
        "error",
    ),
    _audio(
        "WAV header claiming 65 channels",
        "too_many_channels.wav",
        lambda path: path.write_bytes(files.wav_header(16000, 65, 16, 65 * 2 * 100) + bytes(13000)),
        "error",
    ),
    _audio(
        "WAV over the 10-minute limit",
        "two_hours.wav",
        lambda path: files.sparse_wav(path, 8000, 1, 7200.0),
        "error",
    ),
    _audio(
        "WAV at 999 Hz",
        "slow.wav",
        lambda path: path.write_bytes(files.wav_header(999, 1, 16, 2000) + bytes(2000)),
        "error",
    ),
    _audio(
        "WAV at 1 MHz",
        "fast.wav",
        lambda path: path.write_bytes(files.wav_header(1_000_000, 1, 16, 2000) + bytes(2000)),
        "error",
    ),
    _audio(
        "WAV at 384 kHz, one second",
        "ultrasonic.wav",
        _sound(files.tone(1.0, 384_000), 384_000),
        "accepted",
    ),
    _audio("WAV at 8 kHz", "phone.wav", _sound(files.tone(1.0, 8000), 8000), "accepted"),
    _audio(
        "WAV at an unusual 44,101 Hz",
        "odd_rate.wav",
        _sound(files.tone(1.0, 44_101), 44_101),
        "noted",
        "unusual sample rate",
    ),
    _audio("8-bit unsigned WAV", "u8.wav", _sound(files.tone(1.0), subtype="PCM_U8"), "accepted"),
    _audio("24-bit WAV", "pcm24.wav", _sound(files.tone(1.0), subtype="PCM_24"), "accepted"),
    _audio(
        "32-bit integer WAV", "pcm32.wav", _sound(files.tone(1.0), subtype="PCM_32"), "accepted"
    ),
    _audio("64-bit float WAV", "double.wav", _sound(files.tone(1.0), subtype="DOUBLE"), "accepted"),
    _audio("A-law WAV", "alaw.wav", _sound(files.tone(1.0), subtype="ALAW"), "accepted"),
    _audio("mu-law WAV", "ulaw.wav", _sound(files.tone(1.0), subtype="ULAW"), "accepted"),
    _audio("IMA ADPCM WAV", "ima.wav", _sound(files.tone(1.0), subtype="IMA_ADPCM"), "accepted"),
    _audio("MS ADPCM WAV", "msadpcm.wav", _sound(files.tone(1.0), subtype="MS_ADPCM"), "accepted"),
    _audio(
        "GSM 6.10 WAV", "gsm.wav", _sound(files.tone(1.0, 8000), 8000, subtype="GSM610"), "accepted"
    ),
    _audio("FLAC", "tone.flac", _sound(files.tone(1.0)), "accepted"),
    _audio(
        "Ogg Vorbis",
        "tone.ogg",
        _sound(files.tone(1.0), format="OGG", subtype="VORBIS"),
        "accepted",
    ),
    _audio("MP3", "tone.mp3", _sound(files.tone(1.0), format="MP3"), "accepted"),
    _audio("AIFF", "tone.aiff", _sound(files.tone(1.0), format="AIFF"), "accepted"),
    _audio(
        "6-channel 48 kHz FLAC",
        "surround.flac",
        _sound(np.repeat(files.tone(2.0, 48_000)[:, None], 6, axis=1), 48_000),
        "accepted",
    ),
    _audio(
        "float WAV peaking at +12 dB",
        "hot.wav",
        lambda path: files.float_wav(path, files.tone(1.0) * 13.0),
        "noted",
        "scaled down",
    ),
    # Images: decoded at the size the model and the view need, bombs refused before decoding.
    _image(
        "6000 x 6000 JPEG",
        "photo6000.jpg",
        _picture(lambda: files.noisy_photo((6000, 6000)), quality=85),
        "noted",
        "reduced",
    ),
    _image(
        "8000 x 8000 JPEG",
        "photo8000.jpg",
        _picture(lambda: files.noisy_photo((8000, 8000)), quality=85),
        "noted",
        "reduced",
    ),
    _image(
        "6000 x 4000 progressive JPEG",
        "progressive.jpg",
        _picture(lambda: files.noisy_photo((6000, 4000)), quality=80, progressive=True),
        "noted",
        "reduced",
    ),
    _image(
        "8000 x 8000 PNG (too many pixels to decode at once)",
        "poster.png",
        _picture(lambda: Image.new("L", (8000, 8000), 200)),
        "error",
    ),
    _image(
        "PNG header claiming 100,000 x 100,000",
        "bomb.png",
        lambda p: files.png_claiming(p, 100_000, 100_000),
        "error",
    ),
    _image(
        "PNG header claiming 10,000 x 10,000",
        "bomb_small.png",
        lambda p: files.png_claiming(p, 10_000, 10_000),
        "error",
    ),
    _image(
        "PNG header claiming 0 x 0",
        "empty_size.png",
        lambda p: files.png_claiming(p, 0, 0),
        "error",
    ),
    _image(
        "4000 x 3000 16-bit greyscale PNG",
        "scan16.png",
        _picture(lambda: Image.fromarray((np.indices((3000, 4000)).sum(0) * 9).astype(np.uint16))),
        "noted",
        "reduced",
    ),
    _image(
        "3000 x 3000 palette PNG with transparency",
        "palette.png",
        _picture(lambda: files.noisy_photo((3000, 3000)).convert("P"), transparency=0),
        "noted",
        "reduced",
    ),
    _image(
        "1 x 10,000 PNG",
        "line.png",
        _picture(lambda: Image.new("RGB", (1, 10_000), "black")),
        "noted",
        "reduced",
    ),
    _image("1 x 1 PNG", "dot.png", _picture(lambda: Image.new("RGB", (1, 1), "black")), "accepted"),
    _image("CMYK JPEG", "cmyk.jpg", _picture(lambda: files.digit_picture(mode="CMYK")), "accepted"),
    _image(
        "32-bit float TIFF",
        "depth.tif",
        _picture(lambda: files.digit_picture(mode="F")),
        "noted",
        "8 bits",
    ),
    _image(
        "animated GIF",
        "animated.gif",
        lambda path: files.digit_picture().save(
            path,
            save_all=True,
            append_images=[files.digit_picture((96, 120), "L").convert("RGB").rotate(90)],
        ),
        "noted",
        "frames",
    ),
    _image(
        "two-page TIFF",
        "pages.tif",
        lambda path: files.digit_picture().save(
            path, save_all=True, append_images=[files.digit_picture()]
        ),
        "noted",
        "first",
    ),
    _image(
        "greyscale with alpha PNG",
        "la.png",
        _picture(lambda: files.digit_picture(mode="LA")),
        "accepted",
    ),
    _image("WebP", "digit.webp", _picture(files.digit_picture), "accepted"),
    _image("GIF", "digit.gif", _picture(files.digit_picture), "accepted"),
    _image("BMP", "digit.bmp", _picture(files.digit_picture), "accepted"),
]
