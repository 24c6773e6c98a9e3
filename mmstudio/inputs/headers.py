"""What a file's own header claims, read from its first bytes without trusting any of it.

libsndfile silently clamps a WAV's data length to the file's size, and an ID3 tag's pictures
count towards an MP3's size; these readers recover the claims so they can be checked against
what actually decodes. Every function returns None for anything it cannot make sense of.
"""

from __future__ import annotations

import struct

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
