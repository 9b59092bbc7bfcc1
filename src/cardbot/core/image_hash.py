"""Perceptual hashes of photos: the same picture re-encoded, resized, slightly cropped or
brightened hashes to nearly the same 64 bits (imagehash's `phash`), a different one does not.

The photo is decoded inside the bounded worker (`hash_thumbnail`, Pillow only, a JPEG at
reduced scale); the caller gets 32×32 grey pixels (1 KiB) and hashes those
(`perceptual_hash`), so the update path never decodes a large file.
"""

from __future__ import annotations

from pathlib import Path

# The side imagehash.phash works on (hash_size 8 × highfreq_factor 4).
HASH_SIDE = 32
# Two photos whose hashes differ in at most this many of the 64 bits are the same picture.
# Measured in tests/unit/test_image_hash.py: variants of one photo 0–6, different ones 16+.
SIMILAR_IMAGE_DISTANCE = 12


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
    """The 64-bit perceptual hash (16 hex digits) of a `hash_thumbnail`."""
    import imagehash
    from PIL import Image

    image = Image.frombytes("L", (HASH_SIDE, HASH_SIDE), thumbnail)
    return str(imagehash.phash(image))


def hash_distance(first: str, second: str) -> int:
    """How many bits two perceptual hashes differ in."""
    return (int(first, 16) ^ int(second, 16)).bit_count()
