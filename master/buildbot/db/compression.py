"""Log chunk compression: the methods and their codes in `logchunks.compressed`.

The codes are part of the stored data (databases made by Buildbot 4.3 use the
same), so a reader must handle every one of them whatever is configured now.
"""

from __future__ import annotations

import bz2
import zlib

try:
    import zstandard
except ImportError:  # optional
    zstandard = None

try:
    import lz4.block as lz4_block
except ImportError:  # optional
    lz4_block = None

try:
    import brotli
except ImportError:  # optional
    brotli = None

RAW, GZ, BZ2, LZ4, ZSTD, BR = 0, 1, 2, 3, 4, 5

#: config name -> code
CODES: dict[str, int] = {"raw": RAW, "gz": GZ, "bz2": BZ2, "lz4": LZ4, "zstd": ZSTD, "br": BR}
NAMES: dict[int, str] = {code: name for name, code in CODES.items()}

# code -> (package to install, name of the module global holding it)
_OPTIONAL = {LZ4: ("lz4", "lz4_block"), ZSTD: ("zstandard", "zstandard"), BR: ("brotli", "brotli")}


def default_method() -> str:
    return "zstd" if zstandard is not None else "gz"


def _installed(code: int) -> bool:
    return code not in _OPTIONAL or globals()[_OPTIONAL[code][1]] is not None


def available_methods() -> list[str]:
    """The method names usable here (the optional libraries being installed)."""
    return [name for name, code in CODES.items() if _installed(code)]


def _require(code: int) -> None:
    if not _installed(code):
        raise RuntimeError(
            f"log compression method {NAMES[code]!r} needs the {_OPTIONAL[code][0]!r} package"
        )


def method_code(method: str) -> int:
    """The code of a configured method name; ValueError for an unknown one."""
    try:
        return CODES[method]
    except KeyError:
        raise ValueError(
            f"unknown log compression method {method!r}; choose one of {', '.join(CODES)}"
        ) from None


def _compress(code: int, data: bytes) -> bytes:
    _require(code)
    if code == RAW:
        return data
    if code == GZ:
        return zlib.compress(data, 9)
    if code == BZ2:
        return bz2.compress(data, 9)
    if code == LZ4:
        # block format, prefixed by the uncompressed size (4 bytes, little-endian)
        return lz4_block.compress(data, store_size=True)
    if code == ZSTD:
        # zstd's own default level: on log text about as small as level 9, ten times faster
        return zstandard.ZstdCompressor(level=3).compress(data)
    if code == BR:
        # quality 11 (the maximum) writes ~25x slower for 15% smaller logs
        return brotli.compress(data, mode=brotli.MODE_TEXT, quality=5)
    raise ValueError(f"unknown log compression code {code}")


def compress(method: str, data: bytes) -> tuple[int, bytes]:
    """Compress `data` with the named method: (code to store, bytes to store).

    Data that does not get smaller is stored raw.
    """
    code = method_code(method)
    if code == RAW:
        return RAW, data
    packed = _compress(code, data)
    if len(packed) >= len(data):
        return RAW, data
    return code, packed


def decompress(code: int, data: bytes) -> bytes:
    """The original bytes of content stored with compression `code`."""
    data = bytes(data)
    if code == RAW:
        return data
    if code == GZ:
        return zlib.decompress(data)
    if code == BZ2:
        return bz2.decompress(data)
    if code == LZ4:
        _require(code)
        return lz4_block.decompress(data)
    if code == ZSTD:
        _require(code)
        # frames written without their content size need the streaming reader
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    if code == BR:
        _require(code)
        return brotli.decompress(data)
    raise ValueError(f"unknown log compression code {code}")
