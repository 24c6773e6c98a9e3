"""Every exception a decoder can raise becomes an InputError of the kind it is: the mapping
table covers every exception class the decoders and the standard library define, the loaders
turn each into an InputError with the original as its cause, and random bytes never get
anything else past them."""

from __future__ import annotations

import binascii
import builtins
import importlib
import io
import pkgutil
import struct
import zlib

import numpy as np
import PIL
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mmstudio.inputs import InputError, load_audio, load_image
from mmstudio.inputs.failures import Kind, classify, kind_of

# Not errors a decoder raises on bad bytes: the iteration protocol's signals, groups (only task
# groups and except* make them), and Exception itself, the base of every other: a table row for
# it would map everything and check nothing (the loaders still catch it, as damage).
_NOT_DECODER_ERRORS = {
    StopIteration,
    StopAsyncIteration,
    getattr(builtins, "ExceptionGroup", Exception),  # Python 3.11 on
    Exception,
}


# Pillow's modules that open windows or toolkits, not files.
_PIL_GUI_MODULES = {"__main__", "ImageQt", "ImageTk", "_tkinter_finder", "ImageGrab", "ImageShow"}


def _pil_modules() -> list:
    """Every Pillow module but the toolkit ones, imported, so the list does not depend on
    what earlier tests happened to load."""
    modules = []
    for info in pkgutil.iter_modules(PIL.__path__):
        if info.name in _PIL_GUI_MODULES:
            continue
        try:
            modules.append(importlib.import_module(f"PIL.{info.name}"))
        except ImportError:  # an optional dependency missing: that module decodes nothing here
            continue
    return modules


def _classes_in(module) -> set[type]:
    return {
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, Exception)
    }


def _all_subclasses(classes: set[type]) -> set[type]:
    found, todo = set(), list(classes)
    while todo:
        cls = todo.pop()
        if cls in found:
            continue
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def decoder_exception_classes() -> set[type]:
    """Every exception class Pillow, soundfile, numpy, struct, zlib, binascii and the built-ins
    define, with their subclasses from those same modules. (cffi's own errors come from defining
    bindings when soundfile is imported, never from a call on a file's data.)"""
    modules = [builtins, soundfile, np.exceptions, struct, zlib, binascii, *_pil_modules()]
    classes = set().union(*(_classes_in(module) for module in modules))
    # Not "builtins": other C extensions' classes (grimp's ParseError) claim that module too.
    names = {module.__name__ for module in modules} - {"builtins"}
    classes |= {
        cls
        for cls in _all_subclasses(classes)
        if cls.__module__ in names or cls.__module__.startswith("PIL.")
    }
    return classes - _NOT_DECODER_ERRORS


def test_every_exception_type_a_decoder_can_raise_is_mapped():
    classes = decoder_exception_classes()
    # The enumeration reaches what the issue lists, so an empty or partial one cannot pass.
    assert {
        NotImplementedError,
        ValueError,
        IndexError,
        EOFError,
        OSError,
        SyntaxError,
        struct.error,
        zlib.error,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        soundfile.LibsndfileError,
        PIL.UnidentifiedImageError,
    } <= classes
    assert len(classes) > 60
    unmapped = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in classes if not kind_of(cls))
    assert unmapped == []


def test_the_table_maps_nothing_it_should_not():
    # Interrupts and exits must never become a message about the user's file.
    for cls in (KeyboardInterrupt, SystemExit, GeneratorExit, BaseException):
        assert kind_of(cls) is None


@pytest.mark.parametrize(
    "exception, kind",
    [
        (NotImplementedError("Unimplemented pixel format 0"), Kind.UNSUPPORTED),
        (ValueError("negative tile size"), Kind.DAMAGED),
        (IndexError("list index out of range"), Kind.DAMAGED),
        (EOFError(), Kind.DAMAGED),
        (OSError("image file is truncated"), Kind.DAMAGED),
        (SyntaxError("not a PNG file"), Kind.DAMAGED),
        (struct.error("unpack requires a buffer of 4 bytes"), Kind.DAMAGED),
        (zlib.error("Error -3 while decompressing data"), Kind.DAMAGED),
        (MemoryError(), Kind.TOO_LARGE),
        (Image.DecompressionBombError("Image size (1 pixels) exceeds limit"), Kind.TOO_LARGE),
        (Image.DecompressionBombWarning("could be decompression bomb"), Kind.TOO_LARGE),
        (PIL.UnidentifiedImageError("cannot identify image file"), Kind.UNRECOGNISED),
        # Decoders that name what they lack on a generic type.
        (OSError("Unsupported BMP compression (6)"), Kind.UNSUPPORTED),
        (ValueError("conversion from I;16B to RGB not supported"), Kind.UNSUPPORTED),
        (OSError("cannot find loader for this GRIB file"), Kind.UNSUPPORTED),
        (
            ValueError("Decompressed data too large for PngImagePlugin.MAX_TEXT_CHUNK"),
            Kind.TOO_LARGE,
        ),
        # libsndfile's codes.
        (soundfile.LibsndfileError(18), Kind.UNSUPPORTED),  # unimplemented format
        (soundfile.LibsndfileError(4), Kind.UNSUPPORTED),  # unsupported encoding
        (soundfile.LibsndfileError(3), Kind.DAMAGED),  # malformed
        (soundfile.LibsndfileError(71), Kind.DAMAGED),  # no data chunk
        (soundfile.LibsndfileError(1), Kind.UNRECOGNISED),  # format not recognised
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else value.name,
)
def test_classify(exception, kind):
    assert classify(exception) is kind


def test_what_the_c_decoder_printed_decides_between_damage_and_a_missing_codec():
    # libtiff raises only "decoder error -2" and says why on stderr.
    failure = OSError("decoder error -2")
    assert classify(failure) is Kind.DAMAGED
    said = "tempfile.tif: WEBP compression support is not configured."
    assert classify(failure, said) is Kind.UNSUPPORTED


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def _wav() -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, 0.3 * np.sin(np.arange(1600) / 5.0), 16000, format="WAV")
    return buffer.getvalue()


# Each raised from inside the real decoder call, as a plugin would raise it.
_RAISED = [
    (NotImplementedError("Unimplemented DXGI format 93"), Kind.UNSUPPORTED),
    (ValueError("negative tile size"), Kind.DAMAGED),
    (IndexError("index out of range"), Kind.DAMAGED),
    (KeyError("tag 270"), Kind.DAMAGED),
    (EOFError(), Kind.DAMAGED),
    (OSError("broken data stream"), Kind.DAMAGED),
    (SyntaxError("not a GIF file"), Kind.DAMAGED),
    (struct.error("unpack requires a buffer of 2 bytes"), Kind.DAMAGED),
    (zlib.error("invalid stored block lengths"), Kind.DAMAGED),
    (TypeError("'NoneType' object is not subscriptable"), Kind.DAMAGED),
    (ZeroDivisionError("division by zero"), Kind.DAMAGED),
    (OverflowError("Python int too large to convert to C long"), Kind.DAMAGED),
    (AttributeError("'PngStream' object has no attribute 'im_size'"), Kind.DAMAGED),
    (RecursionError("maximum recursion depth exceeded"), Kind.DAMAGED),
    (RuntimeError("libsndfile said no"), Kind.DAMAGED),
    (MemoryError(), Kind.TOO_LARGE),
    (Image.DecompressionBombError("Image size (999999999 pixels) exceeds limit"), Kind.TOO_LARGE),
]


@pytest.mark.parametrize("exception, kind", _RAISED, ids=lambda v: type(v).__name__)
def test_the_image_loader_turns_any_decoder_exception_into_an_input_error(
    monkeypatch, exception, kind
):
    def failing_load(self):
        raise exception

    data = _png()
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", failing_load)
    with pytest.raises(InputError) as excinfo:
        load_image(data, name="photo.png")
    assert excinfo.value.kind is kind
    assert excinfo.value.__cause__ is exception
    assert str(excinfo.value).startswith("photo.png: ")


@pytest.mark.parametrize("exception, kind", _RAISED, ids=lambda v: type(v).__name__)
def test_the_audio_loader_turns_any_decoder_exception_into_an_input_error(
    monkeypatch, exception, kind
):
    def failing_open(*args, **kwargs):
        raise exception

    data = _wav()
    monkeypatch.setattr(soundfile, "SoundFile", failing_open)
    with pytest.raises(InputError) as excinfo:
        load_audio(data, name="take.wav")
    assert excinfo.value.__cause__ is exception
    assert str(excinfo.value).startswith("take.wav: ")
    # A WAV's own header is sound here, so a refusal to open it is never blamed on the bytes
    # unless the decoder's exception says so.
    assert excinfo.value.kind in (kind, Kind.DAMAGED)
    if kind in (Kind.UNSUPPORTED, Kind.TOO_LARGE):
        assert excinfo.value.kind is kind


def test_interrupts_are_not_swallowed(monkeypatch):
    def interrupted(self):
        raise KeyboardInterrupt

    data = _png()
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_image(data)


FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
# Each format's magic number, so random bytes reach past identification into the plugins.
_MAGICS = [
    b"",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"\xff\xd8\xff\xe0",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"DDS |\x00\x00\x00",
    b"8BPS\x00\x01",
    b"icns",
    b"\x00\x00\x01\x00",  # ICO
    b"\x01\xda",  # SGI
    b"P6\n",
    b"\x00\x00\x00\x0cjP  \r\n\x87\n",  # JPEG 2000
    b"RIFF\x00\x00\x00\x00WAVEfmt ",
    b"fLaC\x00\x00\x00\x22",
    b"OggS\x00\x02",
    b"ID3\x03\x00\x00\x00\x00\x00\x00",
    b"\xff\xfb\x90\x64",
    b"FORM\x00\x00\x00\x00AIFF",
]


def _only_input_error(loader, data: bytes) -> None:
    try:
        loader(data, name="fuzz.bin")
    except InputError as error:
        assert error.reason and "fuzz.bin" in str(error)


@FUZZ
@given(st.sampled_from(_MAGICS), st.binary(min_size=1, max_size=4096))
def test_random_bytes_through_the_image_loader_raise_only_input_error(magic, body):
    _only_input_error(load_image, magic + body)


@FUZZ
@given(st.sampled_from(_MAGICS), st.binary(min_size=1, max_size=4096))
def test_random_bytes_through_the_audio_loader_raise_only_input_error(magic, body):
    _only_input_error(load_audio, magic + body)


def test_the_fuzz_magics_name_real_formats():
    # Each prefix (but the empty one) is recognised by at least the sniffing or a decoder, so
    # the fuzz does reach the plugins rather than stopping at "not recognised".
    from mmstudio.inputs._source import sniff

    known = [m for m in _MAGICS if m and sniff(io.BytesIO(m + bytes(64)))]
    assert len(known) >= 10


def test_text_files_say_which_kind_of_failure_they_are(tmp_path):
    from mmstudio.inputs import load_text_file

    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café au lait".encode("latin-1"))
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00\x01\x02text")
    large = tmp_path / "large.txt"
    large.write_bytes(b"a" * 101)
    for path, kind, options in (
        (latin1, Kind.UNSUPPORTED, {}),  # valid text, in an encoding not read here
        (binary, Kind.UNRECOGNISED, {}),
        (large, Kind.TOO_LARGE, {"max_bytes": 100}),
    ):
        with pytest.raises(InputError) as excinfo:
            load_text_file(path, **options)
        assert excinfo.value.kind is kind
        assert "damaged" not in str(excinfo.value)
