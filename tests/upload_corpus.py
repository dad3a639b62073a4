"""Generated corpus of valid-but-odd and hostile upload files (shared by the data and page tests)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def _save(im, fmt, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _gradient(w=48, h=40) -> Image.Image:
    a = np.zeros((h, w, 3), np.uint8)
    a[..., 0] = np.linspace(0, 255, w)[None, :]
    a[..., 1] = np.linspace(0, 255, h)[:, None]
    a[..., 2] = 128
    return Image.fromarray(a)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(w: int, h: int) -> bytes:
    """A tiny, well-formed PNG header that claims a huge canvas (a decompression bomb's calling card)."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def exif_rotated_jpeg() -> bytes:
    """40x20 stored (left red, right blue) with EXIF orientation 6: displays as 20x40, red on top."""
    a = np.zeros((20, 40, 3), np.uint8)
    a[:, :20, 0] = 255
    a[:, 20:, 2] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(Image.fromarray(a), "JPEG", quality=95, exif=exif.tobytes())


def valid_files() -> dict[str, bytes]:
    g = _gradient()
    rgba = g.convert("RGBA")
    rgba.putalpha(128)
    pal = g.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.info["transparency"] = 0
    frames = [_gradient(), Image.new("RGB", (48, 40), (255, 0, 0))]
    i16 = Image.fromarray((np.linspace(0, 65535, 48 * 40).reshape(40, 48)).astype(np.uint16))
    f32 = Image.fromarray(np.linspace(0, 1, 48 * 40, dtype=np.float32).reshape(40, 48), mode="F")
    return {
        "rgb.png": _save(g, "PNG"),
        "rgb.jpg": _save(g, "JPEG"),
        "rgb.webp": _save(g, "WEBP"),
        "rgb.bmp": _save(g, "BMP"),
        "rgb.tiff": _save(g, "TIFF"),
        "rgba.png": _save(rgba, "PNG"),
        "gray.png": _save(g.convert("L"), "PNG"),
        "la.png": _save(g.convert("LA"), "PNG"),
        "1bit.png": _save(g.convert("1"), "PNG"),
        "palette_transparent.png": _save(pal, "PNG"),
        "palette.gif": _save(g.convert("P"), "GIF"),
        "animated.gif": _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0),
        "cmyk.jpg": _save(g.convert("CMYK"), "JPEG"),
        "16bit.png": _save(i16, "PNG"),
        "float.tiff": _save(f32, "TIFF"),
        "exif_rotated.jpg": exif_rotated_jpeg(),
        "1x1.png": _save(Image.new("RGB", (1, 1), (10, 200, 30)), "PNG"),
        "4000x3.png": _save(Image.new("RGB", (4000, 3), (0, 0, 255)), "PNG"),
    }


def hostile_files(big: bool = True) -> dict[str, bytes]:
    png = _save(_gradient(), "PNG")
    jpg = _save(_gradient(), "JPEG")
    gif = _save(_gradient().convert("P"), "GIF")
    absurd_gif = gif[:6] + struct.pack("<HH", 65535, 65535) + gif[10:]
    files = {
        "empty.png": b"",
        "truncated.png": png[: len(png) // 2],
        "truncated.jpg": jpg[: len(jpg) // 2],
        "random.bin": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "text.txt": b"just some text, not an image\n" * 10,
        "page.html": b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>",
        "vector.svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32">'
        b'<rect width="32" height="32"/></svg>',
        "bomb_30000.png": png_claiming(30000, 30000),
        "absurd_header.gif": absurd_gif,
    }
    if big:
        # A real 12000x12000 image: small on disk (uniform), 144 megapixels when decoded.
        files["real_12000.png"] = _save(Image.new("L", (12000, 12000), 7), "PNG", compress_level=1)
    return files
