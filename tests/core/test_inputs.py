"""Tests for mmstudio.inputs: every fixture is generated here, in tmp_path."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image, ImageFile

from mmstudio.inputs import (
    MAX_IMAGE_PIXELS,
    AudioClip,
    InputError,
    Sample,
    audio_from_array,
    load_audio,
    load_image,
    load_text_file,
    make_sample,
    normalize_text,
    save_wav,
)
from tests.core.helpers import bytes_read_so_far

HAS_MP3 = "MP3" in soundfile.available_formats()


def assert_input_error(excinfo: pytest.ExceptionInfo, name: str, *phrases: str) -> None:
    """The message must name the file and explain the problem in words."""
    message = str(excinfo.value)
    assert name in message, message
    for phrase in phrases:
        assert phrase in message, message
    assert "Traceback" not in message


# ----------------------------------------------------------------------------- image fixtures


def gradient_rgb(width: int = 48, height: int = 32) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, 1)
    return Image.fromarray(np.stack([x, y, np.full_like(x, 128)], axis=-1))


def image_bytes(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_claiming_size(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose IHDR is rewritten to claim another size (with a correct CRC)."""
    data = bytearray(image_bytes(Image.new("1", (1, 1)), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


# ----------------------------------------------------------------------------- image: good paths


@pytest.mark.parametrize(
    ("fmt", "suffix", "tolerance"),
    [
        ("PNG", ".png", 0),
        ("JPEG", ".jpg", 12),
        ("WEBP", ".webp", 0),
        ("BMP", ".bmp", 0),
        ("TIFF", ".tiff", 0),
    ],
)
def test_common_formats_load_as_rgb(tmp_path, fmt, suffix, tolerance):
    original = gradient_rgb()
    path = tmp_path / f"picture{suffix}"
    options = {"lossless": True} if fmt == "WEBP" else {}
    path.write_bytes(image_bytes(original, fmt, **options))

    loaded = load_image(path)

    assert loaded.mode == "RGB"
    assert loaded.size == original.size
    diff = np.abs(np.asarray(loaded, dtype=int) - np.asarray(original, dtype=int))
    assert diff.mean() <= tolerance


def test_gif_uses_the_first_frame(tmp_path):
    red = Image.new("RGB", (16, 16), (255, 0, 0))
    blue = Image.new("RGB", (16, 16), (0, 0, 255))
    path = tmp_path / "anim.gif"
    red.save(path, save_all=True, append_images=[blue], duration=100, loop=0)

    loaded = load_image(path)

    assert loaded.mode == "RGB"
    assert loaded.getpixel((8, 8)) == (255, 0, 0)


def test_bytes_input_works_and_is_detached_from_the_buffer():
    data = image_bytes(gradient_rgb(20, 10), "PNG")
    loaded = load_image(data, name="dragged.png")
    assert loaded.size == (20, 10)
    assert loaded.mode == "RGB"


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "phone.jpg"
    image.save(path, "JPEG", exif=exif.tobytes())

    with Image.open(path) as stored:
        assert stored.size == (40, 20)
    assert load_image(path).size == (20, 40)


def test_rgba_is_composited_on_white(tmp_path):
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    rgba.putpixel((0, 0), (255, 0, 0, 255))
    rgba.putpixel((1, 0), (0, 0, 0, 128))
    path = tmp_path / "alpha.png"
    rgba.save(path)

    loaded = load_image(path)

    assert loaded.getpixel((0, 0)) == (255, 0, 0)
    assert loaded.getpixel((3, 3)) == (255, 255, 255)
    half = loaded.getpixel((1, 0))
    assert all(120 <= channel <= 135 for channel in half)


def test_la_mode_is_composited_on_white():
    la = Image.new("LA", (2, 1), (0, 0))
    la.putpixel((1, 0), (50, 255))
    loaded = load_image(image_bytes(la, "PNG"), name="la.png")
    assert loaded.mode == "RGB"
    assert loaded.getpixel((0, 0)) == (255, 255, 255)
    assert loaded.getpixel((1, 0)) == (50, 50, 50)


def test_palette_modes_with_and_without_transparency():
    palette_image = gradient_rgb(16, 16).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    loaded = load_image(image_bytes(palette_image, "PNG"), name="p.png")
    assert loaded.mode == "RGB"
    assert loaded.size == (16, 16)

    transparent = Image.new("P", (4, 4), 0)
    transparent.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    transparent.putpixel((0, 0), 1)
    loaded = load_image(image_bytes(transparent, "PNG", transparency=0), name="pt.png")
    assert loaded.getpixel((0, 0)) == (255, 0, 0)
    assert loaded.getpixel((2, 2)) == (255, 255, 255)


def test_pa_mode_is_composited_on_white():
    pa = Image.new("PA", (2, 1))
    pa.putpalette([0, 0, 255] + [0] * 765)
    pa.putpixel((0, 0), (0, 255))
    pa.putpixel((1, 0), (0, 0))
    from mmstudio.inputs.image import to_rgb

    loaded = to_rgb(pa)
    assert loaded.getpixel((0, 0)) == (0, 0, 255)
    assert loaded.getpixel((1, 0)) == (255, 255, 255)


def test_grey_and_bilevel_images_become_rgb():
    for mode, value, expected in [("L", 77, (77, 77, 77)), ("1", 1, (255, 255, 255))]:
        image = Image.new(mode, (3, 3), value)
        loaded = load_image(image_bytes(image, "PNG"), name=f"{mode}.png")
        assert loaded.mode == "RGB"
        assert loaded.getpixel((1, 1)) == expected


def test_16bit_image_is_scaled_by_its_range_not_clipped(tmp_path):
    # A 12-bit sensor image stored as 16 bit: clipping to 255 would make it almost all white.
    values = np.array([[0, 1365], [2730, 4095]], dtype=np.uint16)
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    path = tmp_path / "scan16.png"
    image.save(path)

    loaded = load_image(path)

    assert loaded.mode == "RGB"
    red = np.asarray(loaded)[..., 0]
    np.testing.assert_allclose(red, [[0, 85], [170, 255]], atol=1)
    assert (np.asarray(loaded)[..., 0] == np.asarray(loaded)[..., 2]).all()


def test_32bit_int_and_float_images_are_scaled_by_their_range(tmp_path):
    ints = Image.fromarray(np.array([[-1000, 0], [1000, 3000]], dtype=np.int32))
    assert ints.mode == "I"
    path = tmp_path / "depth.tiff"
    ints.save(path)
    np.testing.assert_allclose(np.asarray(load_image(path))[..., 1], [[0, 64], [128, 255]], atol=1)

    floats = Image.fromarray(np.array([[-2.0, -1.0], [0.0, 2.0]], dtype=np.float32))
    assert floats.mode == "F"
    path = tmp_path / "field.tiff"
    floats.save(path)
    np.testing.assert_allclose(np.asarray(load_image(path))[..., 0], [[0, 64], [128, 255]], atol=1)


def test_flat_16bit_image_keeps_its_level():
    white = Image.fromarray(np.full((3, 3), 65535, dtype=np.uint16))
    loaded = load_image(image_bytes(white, "PNG"), name="flat.png")
    assert loaded.getpixel((0, 0)) == (255, 255, 255)


def test_cmyk_is_converted_to_rgb(tmp_path):
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))  # pure red in print colours
    path = tmp_path / "print.tiff"
    cmyk.save(path)
    loaded = load_image(path)
    assert loaded.mode == "RGB"
    assert loaded.getpixel((0, 0)) == (255, 0, 0)

    jpeg = load_image(image_bytes(cmyk, "JPEG", quality=95), name="print.jpg")
    red, green, blue = jpeg.getpixel((0, 0))
    assert red > 240 and green < 15 and blue < 15


# ----------------------------------------------------------------------------- image: refusals


def test_zero_byte_image_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(InputError) as excinfo:
        load_image(path)
    assert_input_error(excinfo, "empty.png", "the file is empty (0 bytes)")


def test_empty_bytes_image():
    with pytest.raises(InputError) as excinfo:
        load_image(b"", name="clipboard.png")
    assert_input_error(excinfo, "clipboard.png", "empty (0 bytes)")


def test_missing_image_file_and_folder(tmp_path):
    with pytest.raises(InputError) as excinfo:
        load_image(tmp_path / "nowhere.png")
    assert_input_error(excinfo, "nowhere.png", "does not exist")

    folder = tmp_path / "album"
    folder.mkdir()
    with pytest.raises(InputError) as excinfo:
        load_image(folder)
    assert_input_error(excinfo, "album", "folder, not a file")


def test_text_file_renamed_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("These are my shopping notes, not a picture.\n" * 3)
    with pytest.raises(InputError) as excinfo:
        load_image(path)
    assert_input_error(excinfo, "notes.png", "not an image file Pillow can read", "looks like text")


def test_audio_file_renamed_png(tmp_path):
    path = tmp_path / "song.png"
    soundfile.write(path, np.zeros(100), 8000, format="WAV")
    with pytest.raises(InputError) as excinfo:
        load_image(path)
    assert_input_error(excinfo, "song.png", "not an image", "looks like WAV audio")


@pytest.mark.parametrize(("fmt", "suffix"), [("PNG", ".png"), ("JPEG", ".jpg")])
def test_truncated_image_is_detected(tmp_path, fmt, suffix):
    rng = np.random.default_rng(0)
    noisy = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    data = image_bytes(noisy, fmt)
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: len(data) // 2])

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(InputError) as excinfo:
        load_image(path)
    assert_input_error(excinfo, f"cut{suffix}", "the file ends early: it may be truncated")


def test_image_cut_inside_its_header(tmp_path):
    path = tmp_path / "stub.jpg"
    path.write_bytes(image_bytes(gradient_rgb(), "JPEG")[:20])
    with pytest.raises(InputError) as excinfo:
        load_image(path)
    assert_input_error(excinfo, "stub.jpg", "looks like a JPEG image", "truncated")


def test_corrupt_image_body(tmp_path):
    data = bytearray(image_bytes(gradient_rgb(), "PNG"))
    data[60:80] = b"\x00" * 20  # inside the compressed IDAT stream
    path = tmp_path / "garbled.png"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as excinfo:
        load_image(path)
    assert_input_error(excinfo, "garbled.png")
    assert any(word in str(excinfo.value) for word in ("damaged", "truncated"))


def test_header_size_over_our_limit_is_refused_before_decoding(tmp_path):
    # 49 MP: under Pillow's own limit, so only our header check can stop it.
    path = tmp_path / "big.png"
    path.write_bytes(png_claiming_size(7000, 7000))
    with pytest.raises(InputError) as excinfo:
        load_image(path)
    assert_input_error(
        excinfo,
        "big.png",
        "the image is 7,000 x 7,000 pixels, more than the 40,000,000-pixel limit",
        "decompression bomb",
    )


@pytest.mark.parametrize("side", [10_000, 50_000])
def test_decompression_bomb_is_refused(tmp_path, side, monkeypatch):
    # 100 MP makes Pillow warn, 2.5 GP makes it raise: both must become an InputError.
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming_size(side, side))
    before = Image.MAX_IMAGE_PIXELS
    decodes = []
    decode = ImageFile.ImageFile.load
    monkeypatch.setattr(
        ImageFile.ImageFile, "load", lambda image: decodes.append(image.size) or decode(image)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError) as excinfo:
            load_image(path)
    assert decodes == []  # refused from the header: no pixel was decoded
    assert_input_error(excinfo, "bomb.png", "40,000,000-pixel limit", "decompression bomb")
    assert Image.MAX_IMAGE_PIXELS == before


def test_max_pixels_argument_is_honoured():
    with pytest.raises(InputError) as excinfo:
        load_image(image_bytes(gradient_rgb(48, 32), "PNG"), name="small.png", max_pixels=1000)
    assert_input_error(excinfo, "small.png", "48 x 32 pixels", "1,000-pixel limit")
    assert MAX_IMAGE_PIXELS == 40_000_000


def test_postscript_is_never_handed_to_ghostscript(tmp_path):
    path = tmp_path / "figure.eps"
    path.write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    with Image.open(path) as pillow_would:
        assert pillow_would.format == "EPS"
    with pytest.raises(InputError) as excinfo:
        load_image(path)
    assert_input_error(excinfo, "figure.eps", "not an image file", "PostScript")


def test_unsupported_source_type():
    with pytest.raises(InputError) as excinfo:
        load_image(12345)  # type: ignore[arg-type]
    assert "expected a file path or bytes" in str(excinfo.value)


# ----------------------------------------------------------------------------- audio fixtures


def sine(rate: int, seconds: float, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def wav_header(rate: int, channels: int, bits: int, data_bytes: int) -> bytes:
    block = channels * bits // 8
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, bits)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


# ----------------------------------------------------------------------------- audio: good paths


@pytest.mark.parametrize(
    ("fmt", "subtype", "suffix"),
    [
        ("WAV", "PCM_U8", ".wav"),
        ("WAV", "PCM_16", ".wav"),
        ("WAV", "PCM_24", ".wav"),
        ("WAV", "PCM_32", ".wav"),
        ("WAV", "FLOAT", ".wav"),
        ("WAV", "DOUBLE", ".wav"),
        ("FLAC", "PCM_16", ".flac"),
        ("FLAC", "PCM_24", ".flac"),
    ],
)
def test_lossless_round_trips(tmp_path, fmt, subtype, suffix):
    original = sine(16000, 0.5)
    path = tmp_path / f"tone_{subtype.lower()}{suffix}"
    soundfile.write(path, original, 16000, format=fmt, subtype=subtype)

    clip = load_audio(path)

    assert isinstance(clip, AudioClip)
    assert clip.sample_rate == 16000
    assert clip.samples.dtype == np.float32
    assert clip.samples.ndim == 1
    assert len(clip.samples) == len(original)
    atol = 0.01 if subtype == "PCM_U8" else 1e-4
    np.testing.assert_allclose(clip.samples, original, atol=atol)
    assert clip.source == str(path)


def test_ogg_vorbis_round_trip(tmp_path):
    original = sine(16000, 0.5)
    path = tmp_path / "tone.ogg"
    soundfile.write(path, original, 16000, format="OGG", subtype="VORBIS")
    clip = load_audio(path)
    assert clip.sample_rate == 16000
    assert clip.duration == pytest.approx(0.5, abs=0.02)
    assert correlation(clip.samples, original) > 0.95


@pytest.mark.needs(HAS_MP3, "this libsndfile cannot write MP3 (needs >= 1.1)")
def test_mp3_round_trip(tmp_path):
    original = sine(16000, 0.5)
    path = tmp_path / "tone.mp3"
    soundfile.write(path, original, 16000, format="MP3")
    clip = load_audio(path)
    assert clip.sample_rate == 16000
    assert clip.duration == pytest.approx(0.5, abs=0.1)
    assert 0.3 < np.abs(clip.samples).max() <= 1.0


def test_stereo_44k_is_mixed_and_resampled(tmp_path):
    left = sine(44100, 1.0, 440)
    right = sine(44100, 1.0, 440)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([left, right], axis=1), 44100, subtype="PCM_16")

    clip = load_audio(path)

    assert clip.sample_rate == 16000
    assert len(clip.samples) == 16000
    assert correlation(clip.samples, sine(16000, 1.0, 440)) > 0.99


def test_eight_channel_96k_loads_as_mono_16k(tmp_path):
    channels = np.stack([sine(96000, 1.0, 220 * (k + 1), 0.1) for k in range(8)], axis=1)
    path = tmp_path / "array_mic.wav"
    soundfile.write(path, channels, 96000, subtype="PCM_24")
    assert soundfile.info(str(path)).channels == 8

    clip = load_audio(path)

    assert clip.samples.ndim == 1
    assert clip.sample_rate == 16000
    assert clip.duration == pytest.approx(1.0, abs=1e-3)
    assert np.abs(clip.samples).max() <= 1.0


def test_target_rate_and_bytes_input():
    buffer = io.BytesIO()
    soundfile.write(buffer, sine(16000, 0.25), 16000, format="WAV", subtype="PCM_16")
    clip = load_audio(buffer.getvalue(), target_rate=8000, name="dropped.wav")
    assert clip.sample_rate == 8000
    assert len(clip.samples) == 2000
    assert clip.source == "dropped.wav"


def test_loud_float_file_is_scaled_not_clipped(tmp_path):
    path = tmp_path / "hot.wav"
    soundfile.write(path, sine(16000, 0.1, amplitude=4.0), 16000, subtype="FLOAT")
    clip = load_audio(path)
    assert np.abs(clip.samples).max() == pytest.approx(1.0, abs=1e-3)
    assert correlation(clip.samples, sine(16000, 0.1)) > 0.999


# ----------------------------------------------------------------------------- audio: refusals


def test_two_hour_wav_is_refused_without_reading_it(tmp_path):
    rate, seconds = 16000, 2 * 3600
    data_bytes = rate * seconds * 2
    path = tmp_path / "lecture.wav"
    with path.open("wb") as file:
        file.write(wav_header(rate, 1, 16, data_bytes))
        file.truncate(44 + data_bytes)  # sparse: no data is written or read

    before = bytes_read_so_far()
    with pytest.raises(InputError) as excinfo:
        load_audio(path)
    # The header and a little around it, not the 230 MB of samples.
    assert bytes_read_so_far() - before < 1_000_000
    assert_input_error(excinfo, "lecture.wav", "the audio is 2 h 0 min long; the limit is 10 min")


def test_header_needing_too_much_memory_is_refused(tmp_path):
    # Within the given time limit, but even its mono mix at 384 kHz takes 1.5 GB.
    rate, channels, seconds = 384_000, 2, 1000
    data_bytes = rate * channels * 2 * seconds
    path = tmp_path / "spatial.wav"
    with path.open("wb") as file:
        file.write(wav_header(rate, channels, 16, data_bytes))
        file.truncate(44 + data_bytes)
    with pytest.raises(InputError) as excinfo:
        load_audio(path, max_seconds=3600)
    assert_input_error(excinfo, "spatial.wav", "GB of memory to decode", "limit is 1.25 GB")


def test_max_seconds_argument(tmp_path):
    path = tmp_path / "long.wav"
    soundfile.write(path, sine(8000, 2.0), 8000)
    with pytest.raises(InputError) as excinfo:
        load_audio(path, max_seconds=1.5)
    assert_input_error(excinfo, "long.wav", "the audio is 2.0 s long; the limit is 1.5 s")


def test_silent_audio(tmp_path):
    path = tmp_path / "quiet.wav"
    soundfile.write(path, np.zeros(8000, dtype=np.float32), 16000)
    with pytest.raises(InputError) as excinfo:
        load_audio(path)
    assert_input_error(excinfo, "quiet.wav", "the recording is silent")


@pytest.mark.parametrize(("bad", "words"), [(np.nan, "(NaN)"), (np.inf, "(infinite values)")])
def test_invalid_float_samples(tmp_path, bad, words):
    samples = sine(16000, 0.1)
    samples[100] = bad
    path = tmp_path / "broken_float.wav"
    soundfile.write(path, samples, 16000, subtype="FLOAT")
    with pytest.raises(InputError) as excinfo:
        load_audio(path)
    assert_input_error(excinfo, "broken_float.wav", "the audio contains invalid samples", words)


def test_zero_byte_audio_file(tmp_path):
    path = tmp_path / "nothing.wav"
    path.write_bytes(b"")
    with pytest.raises(InputError) as excinfo:
        load_audio(path)
    assert_input_error(excinfo, "nothing.wav", "the file is empty (0 bytes)")


def test_missing_audio_file(tmp_path):
    with pytest.raises(InputError) as excinfo:
        load_audio(tmp_path / "gone.flac")
    assert_input_error(excinfo, "gone.flac", "does not exist")


def test_garbage_named_mp3(tmp_path):
    path = tmp_path / "podcast.mp3"
    path.write_bytes(bytes(range(7, 250)) * 20)
    with pytest.raises(InputError) as excinfo:
        load_audio(path)
    assert_input_error(
        excinfo, "podcast.mp3", "not valid MP3 audio", "header is missing or damaged"
    )


@pytest.mark.needs(HAS_MP3, "this libsndfile cannot write MP3 (needs >= 1.1)")
def test_truncated_real_mp3(tmp_path):
    full = tmp_path / "full.mp3"
    soundfile.write(full, sine(16000, 1.0), 16000, format="MP3")
    data = full.read_bytes()

    stub = tmp_path / "stub.mp3"
    stub.write_bytes(data[:100])
    with pytest.raises(InputError) as excinfo:
        load_audio(stub)
    assert_input_error(excinfo, "stub.mp3", "damaged or incomplete", "truncated")

    # Cut mid-stream, MP3 frames still decode: the user gets the part that survived.
    half = tmp_path / "half.mp3"
    half.write_bytes(data[: len(data) // 2])
    clip = load_audio(half)
    assert 0.1 < clip.duration < 0.9


def test_text_file_renamed_wav(tmp_path):
    path = tmp_path / "lyrics.wav"
    path.write_text("la la la, this is not audio\n" * 10)
    with pytest.raises(InputError) as excinfo:
        load_audio(path)
    assert_input_error(excinfo, "lyrics.wav", "not an audio file", "looks like text")


def test_image_renamed_wav(tmp_path):
    path = tmp_path / "cover.wav"
    path.write_bytes(image_bytes(gradient_rgb(), "PNG"))
    with pytest.raises(InputError) as excinfo:
        load_audio(path)
    assert_input_error(excinfo, "cover.wav", "not an audio file", "looks like a PNG image")


def test_unknown_binary_format(tmp_path):
    path = tmp_path / "blob.dat"
    path.write_bytes(bytes(range(1, 256)) * 8)
    with pytest.raises(InputError) as excinfo:
        load_audio(path)
    assert_input_error(excinfo, "blob.dat", "not an audio file", "format is not recognised")


def test_broken_wav_header(tmp_path):
    buffer = io.BytesIO()
    soundfile.write(buffer, sine(16000, 0.1), 16000, format="WAV")
    path = tmp_path / "cut_header.wav"
    path.write_bytes(buffer.getvalue()[:30])
    with pytest.raises(InputError) as excinfo:
        load_audio(path)
    assert_input_error(excinfo, "cut_header.wav", "looks like WAV audio", "header is damaged")


def test_wav_with_zero_frames(tmp_path):
    path = tmp_path / "header_only.wav"
    path.write_bytes(wav_header(16000, 1, 16, 0))
    with pytest.raises(InputError) as excinfo:
        load_audio(path)
    assert_input_error(excinfo, "header_only.wav", "no audio samples (0 frames)")


@pytest.mark.parametrize("rate", [500, 1_000_000])
def test_absurd_sample_rates(tmp_path, rate):
    path = tmp_path / f"rate_{rate}.wav"
    soundfile.write(path, np.full(2000, 0.5, dtype=np.float32), rate)
    with pytest.raises(InputError) as excinfo:
        load_audio(path)
    assert_input_error(excinfo, f"rate_{rate}.wav", f"{rate:,} Hz is not plausible")


def test_too_many_channels(tmp_path):
    path = tmp_path / "hundred.wav"
    soundfile.write(path, np.full((10, 100), 0.5, dtype=np.float32), 8000)
    with pytest.raises(InputError) as excinfo:
        load_audio(path)
    assert_input_error(excinfo, "hundred.wav", "100 channels", "at most 64")


# ----------------------------------------------------------------------------- audio: arrays, saving


def test_audio_from_int16_stereo_frames():
    tone = (sine(48000, 0.5) * 32767).astype(np.int16)
    clip = audio_from_array(np.stack([tone, tone], axis=1), 48000, source="microphone")
    assert clip.sample_rate == 16000
    assert len(clip.samples) == 8000
    assert clip.samples.dtype == np.float32
    assert np.abs(clip.samples).max() == pytest.approx(0.5, abs=0.02)
    assert clip.source == "microphone"


def test_audio_from_channels_first_array():
    tone = sine(16000, 0.2)
    clip = audio_from_array(np.stack([tone, tone]), 16000)
    np.testing.assert_allclose(clip.samples, tone, atol=1e-6)


@pytest.mark.parametrize(
    ("samples", "rate", "words"),
    [
        (np.zeros(1600, dtype=np.float32), 16000, "the recording is silent"),
        (np.array([0.1, np.nan, 0.2] * 100, dtype=np.float32), 16000, "invalid samples (NaN)"),
        (np.zeros((0,), dtype=np.float32), 16000, "no audio (0 samples)"),
        (np.zeros((0, 2), dtype=np.float32), 16000, "no audio (0 samples)"),
        (np.zeros((2, 2, 2), dtype=np.float32), 16000, "1-D or 2-D"),
        (sine(16000, 0.1), 50, "not plausible"),
        (np.array(["a", "b"]), 16000, "must be numbers"),
    ],
)
def test_audio_from_array_refusals(samples, rate, words):
    with pytest.raises(InputError) as excinfo:
        audio_from_array(samples, rate, source="microphone")
    assert_input_error(excinfo, "microphone", words)


def test_save_wav_round_trip(tmp_path):
    clip = AudioClip(samples=sine(16000, 0.3), sample_rate=16000, source="mic")
    path = save_wav(clip, tmp_path / "take.wav")
    info = soundfile.info(str(path))
    assert (info.format, info.subtype) == ("WAV", "PCM_16")
    assert (info.samplerate, info.channels) == (16000, 1)
    again = load_audio(path)
    np.testing.assert_allclose(again.samples, clip.samples, atol=1e-4)


def test_save_wav_into_missing_folder(tmp_path):
    clip = AudioClip(samples=sine(16000, 0.1), sample_rate=16000)
    with pytest.raises(InputError) as excinfo:
        save_wav(clip, tmp_path / "no" / "such" / "take.wav")
    assert_input_error(excinfo, "take.wav", "cannot be saved")


# ----------------------------------------------------------------------------- text


def test_nfkc_normalisation():
    text, notes = normalize_text("Ｒｏｏｍ ７ has ﬁve ①")
    assert text == "Room 7 has five 1"
    assert notes == []


def test_controls_removed_and_whitespace_collapsed():
    text, notes = normalize_text("  a\tcat\r\n\n sits\x00\x07 on\u200b the   mat \x1b ")
    assert text == "a cat sits on the mat"
    assert notes == ["removed 4 control characters from the text"]


def test_truncation_note():
    text, notes = normalize_text("x" * 2048)
    assert len(text) == 512
    assert notes == ["text truncated to 512 characters (was 2,048)"]

    text, notes = normalize_text("word " * 10, max_chars=12)
    assert text == "word word wo"
    assert notes == ["text truncated to 12 characters (was 49)"]


def test_short_text_untouched():
    assert normalize_text("A dog barking.") == ("A dog barking.", [])
    assert normalize_text("   ") == ("", [])


def test_normalize_refuses_non_text():
    with pytest.raises(InputError) as excinfo:
        normalize_text(b"bytes")  # type: ignore[arg-type]
    assert "expected text" in str(excinfo.value)
    assert "bytes" in str(excinfo.value)


def test_load_text_file_encodings(tmp_path):
    plain = tmp_path / "caption.txt"
    plain.write_text("naïve café ☕", encoding="utf-8")
    assert load_text_file(plain) == "naïve café ☕"

    bom = tmp_path / "bom.txt"
    bom.write_bytes("\ufeffhello".encode())
    assert load_text_file(bom) == "hello"

    wide = tmp_path / "notepad.txt"
    wide.write_text("hello", encoding="utf-16")
    assert load_text_file(wide) == "hello"


def test_load_text_file_refusals(tmp_path):
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("café".encode("latin-1"))
    with pytest.raises(InputError) as excinfo:
        load_text_file(latin)
    assert_input_error(excinfo, "latin1.txt", "not valid UTF-8 text", "0xe9", "save it as UTF-8")

    binary = tmp_path / "program.txt"
    binary.write_bytes(b"\x7fELF\x00\x00\x01")
    with pytest.raises(InputError) as excinfo:
        load_text_file(binary)
    assert_input_error(excinfo, "program.txt", "binary file, not text")

    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(InputError) as excinfo:
        load_text_file(empty)
    assert_input_error(excinfo, "empty.txt", "the file is empty (0 bytes)")

    big = tmp_path / "novel.txt"
    big.write_bytes(b"a" * 101)
    with pytest.raises(InputError) as excinfo:
        load_text_file(big, max_bytes=100)
    assert_input_error(excinfo, "novel.txt", "larger than the 100-byte limit")


# ----------------------------------------------------------------------------- make_sample, packaging


def test_make_sample_from_paths_and_text(tmp_path):
    image_path = tmp_path / "photo.png"
    gradient_rgb().save(image_path)
    audio_path = tmp_path / "voice.wav"
    soundfile.write(audio_path, sine(16000, 0.2), 16000)

    sample = make_sample(image=image_path, text="ｌｏｕｄ " * 200, audio=str(audio_path))

    assert isinstance(sample, Sample)
    assert sample.present == ("image", "text", "audio")
    assert sample.image.mode == "RGB"
    assert sample.text.startswith("loud loud")
    assert len(sample.text) <= 512
    assert sample.notes == ("text truncated to 512 characters (was 999)",)
    assert sample.audio.sample_rate == 16000


def test_make_sample_from_objects(tmp_path):
    clip = AudioClip(samples=sine(16000, 0.1), sample_rate=16000)
    caption = tmp_path / "caption.txt"
    caption.write_text("a\tbird\n", encoding="utf-8")

    sample = make_sample(image=Image.new("RGBA", (8, 8), (0, 0, 0, 0)), text=caption, audio=clip)

    assert sample.image.mode == "RGB"
    assert sample.image.getpixel((0, 0)) == (255, 255, 255)
    assert sample.text == "a bird"
    assert sample.audio is clip
    assert sample.notes == ()
    assert make_sample() == Sample()


def test_package_imports_neither_qt_nor_torch():
    code = (
        "import sys, mmstudio.inputs; "
        "bad = [m for m in ('PySide6', 'pyqtgraph', 'torch') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_input_error_keeps_the_full_source(tmp_path):
    path = tmp_path / "sub" / "x.png"
    with pytest.raises(InputError) as excinfo:
        load_image(path)
    assert excinfo.value.source == str(path)
    assert str(excinfo.value).startswith("x.png: ")
    assert isinstance(excinfo.value, ValueError)
    assert Path(excinfo.value.source).name == "x.png"
