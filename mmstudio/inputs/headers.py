"""What a file's own header claims, read from its first bytes without trusting any of it.

libsndfile silently clamps a WAV's data length to the file's size, and an ID3 tag's pictures
count towards an MP3's size; these readers recover the claims so they can be checked against
what actually decodes. Every function returns None for anything it cannot make sense of.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

# RIFF/WAVE writers that stream (and so cannot know the length) put these in the size fields.
_UNKNOWN_LENGTHS = (0, 0xFFFFFFFF, 0x7FFFFFFF)
_MAX_CHUNKS = 64


def wav_claimed_frames(head: bytes) -> int | None:
    """Frames a RIFF/WAVE header's ``data`` chunk claims, from the first few kilobytes."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    block_align = None
    offset = 12
    for _ in range(_MAX_CHUNKS):
        if offset + 8 > len(head):
            return None
        chunk_id = head[offset : offset + 4]
        (size,) = struct.unpack_from("<I", head, offset + 4)
        if chunk_id == b"fmt " and offset + 8 + 14 <= len(head):
            (block_align,) = struct.unpack_from("<H", head, offset + 8 + 12)
        elif chunk_id == b"data":
            if not block_align or size in _UNKNOWN_LENGTHS:
                return None
            return size // block_align
        offset += 8 + size + (size & 1)  # chunks are padded to an even length
    return None


def riff_claimed_bytes(head: bytes) -> int | None:
    """The whole file's size as a RIFF, RIFX or RF64 header states it (None if unknown)."""
    if len(head) < 12 or head[8:12] != b"WAVE":
        return None
    if head[:4] == b"RF64":
        if len(head) < 28 or head[12:16] != b"ds64":
            return None
        (size,) = struct.unpack_from("<Q", head, 20)
    elif head[:4] in (b"RIFF", b"RIFX"):
        (size,) = struct.unpack_from("<I" if head[:4] == b"RIFF" else ">I", head, 4)
        if size in _UNKNOWN_LENGTHS:
            return None
    else:
        return None
    return size + 8


def id3_tag_bytes(head: bytes) -> int:
    """Bytes of a leading ID3v2 tag (cover art and all), 0 when there is none."""
    if len(head) < 10 or head[:3] != b"ID3":
        return 0
    size_bytes = head[6:10]
    if any(byte & 0x80 for byte in size_bytes):
        return 0  # not a valid synchsafe size: treat as no tag
    size = 0
    for byte in size_bytes:
        size = (size << 7) | byte
    footer = 10 if head[5] & 0x10 else 0
    return 10 + size + footer


class Variant(NamedTuple):
    """What a header says the file is: ``problem`` when a field is one no valid file has (the
    file is damaged), else ``name``, the variant in words ("WAV with 36-bit integer samples")."""

    problem: str | None
    name: str
    # A coding libsndfile decodes: if it fails on such a file anyway, the file is at fault.
    readable: bool = False


# BITMAPINFOHEADER and its successors; 16 and 64 are OS/2 2.x headers.
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
_BMP_BITS = {0, 1, 2, 4, 8, 16, 24, 32, 64}
_BMP_COMPRESSIONS = {
    0: "uncompressed",
    1: "RLE8",
    2: "RLE4",
    3: "BI_BITFIELDS",
    4: "an embedded JPEG",
    5: "an embedded PNG",
    6: "BI_ALPHABITFIELDS",
    11: "CMYK",
    12: "CMYK RLE8",
    13: "CMYK RLE4",
}


def bmp_variant(head: bytes) -> Variant | None:
    """The variant of a Windows or OS/2 bitmap, from its first bytes (None if not a BMP)."""
    if len(head) < 18 or head[:2] != b"BM":
        return None
    (header_size,) = struct.unpack_from("<I", head, 14)
    if header_size not in _BMP_HEADER_SIZES:
        return Variant(f"its header gives an information block of {header_size} bytes", "BMP")
    if header_size == 12:
        if len(head) < 26:
            return None
        bits, compression, colours = struct.unpack_from("<H", head, 24)[0], 0, 0
    else:
        if len(head) < 50:
            return None
        width, height = struct.unpack_from("<ii", head, 18)
        if width <= 0 or height == 0:  # a negative height is valid: rows stored top-down
            return Variant(f"its header gives a size of {width} x {height} pixels", "BMP")
        bits, compression = struct.unpack_from("<HI", head, 28)
        colours = struct.unpack_from("<I", head, 46)[0] if header_size >= 40 else 0
    if bits not in _BMP_BITS:
        return Variant(f"its header gives {bits} bits per pixel", "BMP")
    if compression not in _BMP_COMPRESSIONS:
        return Variant(f"its header gives compression {compression}, which no BMP uses", "BMP")
    if bits == 0 and compression not in (4, 5):
        return Variant("its header gives 0 bits per pixel for uncompressed pixels", "BMP")
    if 0 < bits <= 8 and colours > 1 << bits:
        return Variant(f"its palette claims {colours} colours for {bits}-bit pixels", "BMP")
    return Variant(None, _bmp_name(head, header_size, bits, compression))


def _bmp_name(head: bytes, header_size: int, bits: int, compression: int) -> str:
    if compression not in (0, 1, 2, 3):
        return f"BMP compression {compression} ({_BMP_COMPRESSIONS[compression]})"
    if header_size in (16, 64):
        return f"BMP with an OS/2 {header_size}-byte header"
    if bits in (2, 64):
        return f"BMP with {_bits(bits)} per pixel"
    if compression == 3 and len(head) >= 66:
        masks = struct.unpack_from("<III", head, 54)
        widths = "".join(f"{c}{m.bit_count()}" for c, m in zip("RGB", masks, strict=True))
        return f"BMP with {bits}-bit pixels in the bitfield layout {widths}"
    return f"BMP with {_bits(bits)} per pixel ({_BMP_COMPRESSIONS[compression]})"


def _bits(count: int) -> str:
    return "1 bit" if count == 1 else f"{count} bits"


_WAV_CODINGS = {
    2: "Microsoft ADPCM",
    6: "A-law",
    7: "mu-law",
    0x11: "IMA ADPCM",
    0x31: "GSM 6.10",
    0x50: "MPEG audio",
    0x55: "MPEG Layer 3 (MP3)",
    0x161: "Windows Media Audio",
    0x2000: "AC-3",
}
_WAV_EXTENSIBLE = 0xFFFE
# Besides PCM and float: MS ADPCM, A-law, mu-law, IMA ADPCM, GSM 6.10.
_LIBSNDFILE_CODINGS = {2, 6, 7, 0x11, 0x31}


def wav_variant(head: bytes, *, whole: bool = False) -> Variant | None:
    """The sample coding of a RIFF/RF64 WAVE file from its ``fmt `` chunk (None if not a WAV
    or the chunk is not within ``head``). With ``whole`` (``head`` is the entire file), a file
    that ends before its ``data`` chunk begins is damaged, whatever its coding."""
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        return None
    variant, offset = None, 12
    for _ in range(_MAX_CHUNKS):
        if offset + 8 > len(head):
            break
        chunk_id = head[offset : offset + 4]
        (size,) = struct.unpack_from("<I", head, offset + 4)
        if chunk_id == b"fmt ":
            if offset + 8 + size > len(head):
                break
            variant = _wav_format(head[offset + 8 : offset + 8 + size])
        elif chunk_id == b"data":
            return variant
        offset += 8 + size + (size & 1)
    if whole:
        return Variant("it ends before its audio data begins: it is truncated", "WAV")
    return variant


def _wav_format(chunk: bytes) -> Variant | None:
    if len(chunk) < 16:
        return None
    tag, channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", chunk)
    if tag == _WAV_EXTENSIBLE and len(chunk) >= 26:
        (tag,) = struct.unpack_from("<H", chunk, 24)  # the sub-format GUID starts with the tag
    if channels == 0:
        return Variant("its header gives 0 channels", "WAV")
    if rate == 0:
        return Variant("its header gives a sample rate of 0 Hz", "WAV")
    if tag in (1, 3):
        if bits == 0 or bits > 64:
            return Variant(f"its header gives {bits} bits per sample", "WAV")
        if block_align < channels * ((bits + 7) // 8):
            return Variant(
                f"its header gives {block_align} bytes per frame, too few for {channels} "
                f"channels of {bits}-bit samples",
                "WAV",
            )
        kind = "integer" if tag == 1 else "floating-point"
        readable = bits <= 32 if tag == 1 else bits in (32, 64)
        return Variant(None, f"WAV with {bits}-bit {kind} samples", readable)
    coding = _WAV_CODINGS.get(tag, f"audio coding 0x{tag:04X}")
    return Variant(None, f"WAV with {coding} data", tag in _LIBSNDFILE_CODINGS)
