"""Perceptual hashes of photos: the same picture re-encoded, resized, slightly cropped or
brightened hashes to nearly the same 64 bits (imagehash's `phash`), a different one does not.

The photo is decoded inside the bounded worker (`hash_thumbnail`, Pillow only, a JPEG at
reduced scale); the caller gets 32×32 grey pixels (1 KiB) and hashes those
(`perceptual_hash`), so the update path never decodes a large file.
"""

from __future__ import annotations

import math
from pathlib import Path

# The side imagehash.phash works on (hash_size 8 × highfreq_factor 4).
HASH_SIDE = 32
# Two photos whose hashes differ in at most this many of the 64 bits are the same picture.
# Measured in tests/unit/test_image_hash.py: variants of one photo 0–6, different ones 16+.
SIMILAR_IMAGE_DISTANCE = 12
# The hash is HASH_BITS_SIDE × HASH_BITS_SIDE bits.
HASH_BITS_SIDE = 8
_COS = [
    [math.cos(math.pi * k * (2 * n + 1) / (2 * HASH_SIDE)) for n in range(HASH_SIDE)]
    for k in range(HASH_BITS_SIDE)
]


def hash_thumbnail(path: Path) -> bytes | None:
    """The photo at `path` as HASH_SIDE×HASH_SIDE grey pixels, or None when it cannot be
    made (run where decoding is bounded; a JPEG is decoded at reduced scale)."""
    from PIL import Image

    from cardbot.core.image_check import reduced_grey

    try:
        with Image.open(path, formats=("JPEG", "PNG")) as image:
            image.draft("L", (HASH_SIDE * 4, HASH_SIDE * 4))  # JPEG only; PNG ignores it
            image.load()
            grey = reduced_grey(image)
        return grey.resize((HASH_SIDE, HASH_SIDE), Image.Resampling.LANCZOS).tobytes()
    except MemoryError:
        raise
    except Exception:  # the hash only helps reviewers; a photo fit for review stays so
        return None


def perceptual_hash(thumbnail: bytes) -> str:
    """The 64-bit perceptual hash (16 hex digits) of a `hash_thumbnail`: imagehash's `phash`
    (DCT-II of the 32×32 grey pixels, the 8×8 lowest frequencies compared with their median),
    computed for those 64 coefficients only, so the bot needs neither numpy nor scipy (about
    40 MB of memory); tests/unit/test_image_hash.py checks it equals imagehash's result."""
    side = HASH_SIDE
    rows = [thumbnail[r * side : (r + 1) * side] for r in range(side)]
    # scipy.fftpack.dct(type 2, no norm): X[k] = 2 * sum(x[n] * cos(pi * k * (2n + 1) / 2N)).
    basis = [[2 * _COS[k][n] for n in range(side)] for k in range(HASH_BITS_SIDE)]
    # Along the columns (axis 0): the first 8 frequencies of each column.
    columns = [
        [sum(b * rows[n][c] for n, b in enumerate(basis[k])) for c in range(side)]
        for k in range(HASH_BITS_SIDE)
    ]
    # Along the rows (axis 1) of those: the 8×8 lowest frequencies.
    # Rounded, so that float noise around zero (a flat picture) compares as numpy's does.
    low = [
        round(sum(b * value for b, value in zip(basis[j], columns[k], strict=True)), 6)
        for k in range(HASH_BITS_SIDE)
        for j in range(HASH_BITS_SIDE)
    ]
    ordered = sorted(low)
    median = (ordered[31] + ordered[32]) / 2
    bits = "".join("1" if value > median else "0" for value in low)
    return f"{int(bits, 2):016x}"


def hash_distance(first: str, second: str) -> int:
    """How many bits two perceptual hashes differ in."""
    return (int(first, 16) ^ int(second, 16)).bit_count()
