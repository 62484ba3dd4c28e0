"""Image fixtures and measurements for the `test_process_*` suites, without
Pillow: a tiny PNG writer (the colours of the conformance fixtures, tests/process/fixtures.rs) and readers of
the sizes in PNG, JPEG, GIF, WebP and BMP headers."""

from __future__ import annotations

import base64
import struct
import zlib


def make_png(width: int, height: int, left=(255, 0, 0), right=(0, 0, 255)) -> bytes:
    """An RGB PNG: left half `left`, right half `right` (F6's layout)."""
    lpx, rpx = bytes(left), bytes(right)
    row = b"".join(lpx if x < width // 2 else rpx for x in range(width))
    raw = b"".join(b"\x00" + row for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def png_bomb(width: int, height: int) -> bytes:
    """A PNG header claiming `width`×`height` with no pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def image_size(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) read from the image's header."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        w, h = struct.unpack(">II", data[16:24])
        return "png", w, h
    if data[:6] in (b"GIF87a", b"GIF89a"):
        w, h = struct.unpack("<HH", data[6:10])
        return "gif", w, h
    if data[:2] == b"BM":
        w, h = struct.unpack("<ii", data[18:26])
        return "bmp", w, abs(h)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind = data[12:16]
        if kind == b"VP8 ":
            w, h = struct.unpack("<HH", data[26:30])
            return "webp", w & 0x3FFF, h & 0x3FFF
        if kind == b"VP8L":
            b = data[21:25]
            w = 1 + (((b[1] & 0x3F) << 8) | b[0])
            h = 1 + (((b[3] & 0x0F) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
            return "webp", w, h
        if kind == b"VP8X":
            w = 1 + int.from_bytes(data[24:27], "little")
            h = 1 + int.from_bytes(data[27:30], "little")
            return "webp", w, h
    if data[4:12] == b"ftypavif":
        # No AVIF decoder here: the size is the one the `ispe` box states.
        at = data.index(b"ispe")
        w, h = struct.unpack(">II", data[at + 8:at + 16])
        return "avif", w, h
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 4 <= len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return "jpeg", w, h
            i += 2 + length
        raise AssertionError("JPEG without SOF")
    raise AssertionError(f"not an image: {data[:16]!r}")


def is_progressive(jpeg: bytes) -> bool:
    """SOF2 present and no SOF0 (as tests/process/measure.rs checks it)."""
    return b"\xff\xc2" in jpeg and b"\xff\xc0" not in jpeg


def b64(text: str) -> str:
    """URL-safe base64 without padding, as the vendors' examples write it."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
