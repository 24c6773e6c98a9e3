"""What each real-world file in tests/corpus is, decided from the file and its project's own
description of it (tests/corpus/SOURCES.md), never from what our loaders make of it.

``LOADS``: a valid file in a variant the decoders read. Otherwise the kind of InputError it must
give: a valid file in a variant no decoder here implements (``UNSUPPORTED``, never "damaged"),
a damaged one, one over the size limits, or bytes that are no image or audio at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from mmstudio.inputs.failures import Kind

HERE = Path(__file__).parent
LOADS = "loads"


class Entry(NamedTuple):
    path: str  # under tests/corpus
    option: str  # how `mmstudio predict` takes it
    expected: Kind | str
    what: str  # what the file is, in its project's words where it has them


def _image(path: str, expected: Kind | str, what: str) -> Entry:
    return Entry(path, "--image", expected, what)


def _audio(path: str, expected: Kind | str, what: str) -> Entry:
    return Entry(path, "--audio", expected, what)


U, D, L, R = Kind.UNSUPPORTED, Kind.DAMAGED, Kind.TOO_LARGE, Kind.UNRECOGNISED

ENTRIES: tuple[Entry, ...] = (
    # Odd but valid modes and codings, which must load.
    _image("pillow/16bit.cropped.tif", LOADS, "16-bit greyscale TIFF (I;16)"),
    _image("pillow/12in16bit.tif", LOADS, "12-bit samples in a 16-bit TIFF"),
    _image("pillow/hopper_16bit.pgm", LOADS, "16-bit PGM"),
    _image("pillow/hopper_1bit.pbm", LOADS, "1-bit PBM"),
    _image("pillow/hopper_g4.tif", LOADS, "1-bit TIFF, CCITT Group 4"),
    _image("pillow/la.tga", LOADS, "greyscale + alpha (LA) TGA"),
    _image("pillow/p_trns_single.png", LOADS, "palette PNG with one transparent entry"),
    _image("pillow/tRNS_null_1x1.png", LOADS, "1x1 PNG with an empty tRNS chunk"),
    _image("pillow/transparent.gif", LOADS, "GIF with transparency"),
    _image("pillow/pil_sample_cmyk.jpg", LOADS, "CMYK JPEG"),
    _image("pillow/tiff_strip_ycbcr_jpeg_2x2_sampling.tif", LOADS, "YCbCr JPEG-in-TIFF, 2x2"),
    _image("pillow/hopper.Lab.tif", LOADS, "CIE L*a*b* TIFF"),
    _image("pillow/rgb_trns_ycbc.jp2", LOADS, "JPEG 2000, YCbCr with transparency"),
    _image("pillow/hopper.webp", LOADS, "WebP"),
    _image("pillow/p_16.tga", LOADS, "TGA with a 16-bit palette"),
    _image("pillow/bmp/g/pal8os2.bmp", LOADS, "BMP Suite 'good': OS/2 v1 header"),
    _image("pillow/bmp/g/rgb16-565.bmp", LOADS, "BMP Suite 'good': 16-bit 5-6-5 bitfields"),
    _image("pillow/bmp/g/pal4rle.bmp", LOADS, "BMP Suite 'good': 4-bit RLE"),
    # Valid files in variants Pillow does not implement: never "damaged".
    _image("pillow/bmp/q/rgba32abf.bmp", U, "BMP Suite: valid BI_ALPHABITFIELDS (compression 6)"),
    _image("pillow/bmp/q/rgb24jpeg.bmp", U, "BMP Suite: valid BMP holding a JPEG (compression 4)"),
    _image("pillow/bmp/q/rgb24png.bmp", U, "BMP Suite: valid BMP holding a PNG (compression 5)"),
    _image("pillow/bmp/q/pal2.bmp", U, "BMP Suite: valid 2-bit palette (Windows CE)"),
    _image("pillow/bmp/q/rgb16-231.bmp", U, "BMP Suite: valid 16-bit bitfields 2-3-1"),
    _image("pillow/bmp/q/rgba16-4444.bmp", U, "BMP Suite: valid 16-bit bitfields 4-4-4-4"),
    _image("pillow/bmp/q/pal8os2v2-16.bmp", U, "BMP Suite: valid OS/2 v2 16-byte header"),
    _image("pillow/unimplemented_dxgi_format.dds", U, "DDS, DXGI format 93"),
    _image("pillow/unimplemented_pixel_format.dds", U, "DDS with a pixel format Pillow lacks"),
    _image("pillow/unimplemented_pfflags.dds", U, "DDS with pixel format flags Pillow lacks"),
    _image("pillow/WAlaska.wind.7days.grb", U, "GRIB weather data: Pillow has only a stub"),
    _image("pillow/hdf5.h5", U, "HDF5: Pillow has only a stub"),
    # Damaged: invalid fields, truncated or corrupt bodies.
    _image("pillow/bmp/b/badbitcount.bmp", D, "BMP Suite 'bad': 30000 bits per pixel"),
    _image("pillow/bmp/b/badheadersize.bmp", D, "BMP Suite 'bad': 66-byte header"),
    _image("pillow/bmp/b/badpalettesize.bmp", D, "BMP Suite 'bad': palette size absurd"),
    _image("pillow/bmp/b/badwidth.bmp", D, "BMP Suite 'bad': negative width"),
    _image("pillow/bmp/b/shortfile.bmp", D, "BMP Suite 'bad': file cut short"),
    _image("pillow/truncated_image.png", D, "truncated PNG"),
    _image("pillow/truncated_jpeg.jpg", D, "truncated JPEG"),
    _image("pillow/truncated_end_chunk.png", D, "PNG cut inside its IEND chunk"),
    _image("pillow/broken.png", D, "PNG with a broken header"),
    _image("pillow/broken_data_stream.png", D, "PNG with a corrupt zlib stream"),
    _image("pillow/psd-oob-write-overflow.psd", D, "PSD with a malformed (negative) tile"),
    _image("pillow/cross_scan_line_truncated.tga", D, "RLE TGA truncated across a line"),
    _image("pillow/crash-465703f71a0f0094873a3e0e82c9f798161171b8.sgi", D, "fuzzed SGI"),
    _image("pillow/tiff_tiled_jpeg_oob_read.tif", D, "tiled JPEG TIFF, tiles out of range"),
    _image("pillow/zero_width.gif", D, "GIF whose header gives width 0"),
    # Bombs and files over the limits.
    _image("pillow/bmp/b/reallybig.bmp", L, "BMP Suite: 3,000,000 x 2,000,000 header"),
    _image("pillow/decompression_bomb.gif", L, "GIF bomb"),
    _image("pillow/decompression_bomb.ico", L, "ICO bomb"),
    _image("pillow/png_decompression_dos.png", L, "PNG, compressed text chunk bomb"),
    _image("pillow/oom-8ed3316a4109213ca96fb8a256a0bfefdece1461.icns", L, "ICNS bomb"),
    _image("pillow/l2rgb_read.bmp", L, "BMP claiming 151 million pixels"),
    # Not an image or audio format at all.
    _image("pillow/duplicate_xref_entry.pdf", R, "a PDF"),
    _audio("scipy/example_1.nc", R, "a NetCDF data file"),
    # WAV variants from SciPy's own tests.
    _audio("scipy/test-8000Hz-le-3ch-5S-36bit.wav", U, "valid PCM WAV, 36-bit samples"),
    _audio("scipy/test-8000Hz-le-3ch-5S-45bit.wav", U, "valid PCM WAV, 45-bit samples"),
    _audio("scipy/test-8000Hz-le-3ch-5S-53bit.wav", U, "valid PCM WAV, 53-bit samples"),
    _audio("scipy/test-8000Hz-le-3ch-5S-64bit.wav", U, "valid PCM WAV, 64-bit samples"),
    _audio("scipy/test-44100Hz-le-1ch-4bytes-early-eof-no-data.wav", D, "WAV without data"),
    _audio("scipy/test-44100Hz-le-1ch-4bytes-incomplete-chunk.wav", D, "WAV cut in a chunk"),
    _audio("scipy/test-44100Hz-le-1ch-4bytes-early-eof.wav", LOADS, "WAV cut in its data"),
    _audio("scipy/test-1234Hz-le-1ch-10S-20bit-extra.wav", LOADS, "20-bit WAV, extra chunk"),
    _audio("scipy/test-44100Hz-2ch-32bit-float-be.wav", LOADS, "big-endian float RIFX"),
    _audio("scipy/test-48000Hz-2ch-64bit-float-le-wavex.wav", LOADS, "64-bit float extensible"),
    _audio("scipy/test-8000Hz-le-1ch-1byte-ulaw.wav", LOADS, "mu-law WAV"),
    _audio("scipy/test-8000Hz-le-2ch-1byteu.wav", LOADS, "unsigned 8-bit WAV"),
    _audio("scipy/test-8000Hz-le-3ch-5S-24bit-rf64.wav", LOADS, "24-bit RF64"),
    _audio("scipy/test-8000Hz-be-3ch-5S-24bit.wav", LOADS, "big-endian 24-bit RIFX"),
    _audio("scipy/test-8000Hz-le-4ch-9S-12bit.wav", LOADS, "12-bit WAV"),
    _audio("scipy/test-8000Hz-le-5ch-9S-5bit.wav", LOADS, "5-bit WAV"),
    _audio("scipy/test-44100Hz-le-1ch-4bytes-rf64.wav", LOADS, "32-bit RF64"),
    _audio("soundfile/stereo.wav", LOADS, "python-soundfile's stereo test file"),
)

# What a message of each kind must say, and what a valid-but-unsupported file's must not.
KIND_WORDS = {
    Kind.UNSUPPORTED: ("unsupported variant",),
    Kind.DAMAGED: ("damaged",),
    Kind.TOO_LARGE: ("limit",),
    Kind.UNRECOGNISED: ("this is not an",),
}
DAMAGE_WORDS = ("damaged", "truncated", "corrupt")


def path_of(entry: Entry) -> Path:
    return HERE / entry.path
