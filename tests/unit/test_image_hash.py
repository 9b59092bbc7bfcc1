"""The perceptual hash and its threshold, measured: variants of one photo fall within
SIMILAR_IMAGE_DISTANCE, different photos outside it.

Measured with imagehash 4.3.2 / Pillow on the images below (bits of 64 that differ):
- variants of photos seed 1–6: JPEG quality 60 0–2, resized to 50 % 0–2, saved as PNG 0–2,
  brightened 20 % 0–4, cropped 3 % on every side 4–6;
- 20 different `files.photo` seeds, two at another size and four structurally different
  drawings, all 325 pairs: 16 to 38 (16 twice, then 18…).
The threshold (12) leaves 6 bits above the farthest variant (a photo taken again of the
same document differs more than these) and 4 below the closest different pictures.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance

from cardbot.core.image_hash import (
    SIMILAR_IMAGE_DISTANCE,
    hash_distance,
    hash_thumbnail,
    perceptual_hash,
)
from tests.support import files


def phash(data: bytes, tmp_path: Path) -> str:
    """The hash the bot stores for a photo with these bytes."""
    path = tmp_path / "photo"
    path.write_bytes(data)
    thumbnail = hash_thumbnail(path)
    assert thumbnail is not None
    return perceptual_hash(thumbnail)


def saved(image: Image.Image, fmt: str = "JPEG", **options: int) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def variants(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The same picture re-encoded, resized, slightly cropped, brightened, converted."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height = image.size
    dx, dy = int(width * 0.03), int(height * 0.03)
    yield "jpeg quality 60", saved(image, quality=60)
    yield "resized 50 %", saved(image.resize((width // 2, height // 2)))
    yield "cropped 3 %", saved(image.crop((dx, dy, width - dx, height - dy)))
    yield "brightened", saved(ImageEnhance.Brightness(image).enhance(1.2))
    yield "as png", saved(image, "PNG")


def drawing(kind: int) -> bytes:
    """Structurally different pictures: a disc, a triangle, a checkerboard, a gradient."""
    image = Image.new("RGB", (1200, 800), (240, 240, 240))
    draw = ImageDraw.Draw(image)
    if kind == 0:
        draw.ellipse((100, 100, 900, 700), fill=(20, 20, 120))
    elif kind == 1:
        draw.polygon([(0, 800), (600, 0), (1200, 800)], fill=(120, 30, 30))
    elif kind == 2:
        for x, y in itertools.product(range(0, 1200, 150), range(0, 800, 150)):
            if (x + y) // 150 % 2:
                draw.rectangle((x, y, x + 150, y + 150), fill=(0, 0, 0))
    else:
        for x in range(1200):
            draw.line([(x, 0), (x, 800)], fill=(x * 255 // 1200,) * 3)
    return saved(image)


def test_variants_of_one_photo_are_within_the_threshold(tmp_path: Path) -> None:
    distances = {}
    for seed in range(1, 7):
        original = files.photo(seed=seed)
        base = phash(original, tmp_path)
        for name, data in variants(original):
            distances[seed, name] = hash_distance(base, phash(data, tmp_path))
    assert max(distances.values()) <= SIMILAR_IMAGE_DISTANCE, distances


def test_different_pictures_are_outside_the_threshold(tmp_path: Path) -> None:
    pictures = {f"photo {seed}": files.photo(seed=seed) for seed in range(1, 21)}
    pictures |= {f"small photo {s}": files.photo(900, 600, seed=s) for s in (100, 200)}
    pictures |= {f"drawing {kind}": drawing(kind) for kind in range(4)}
    hashes = {name: phash(data, tmp_path) for name, data in pictures.items()}
    distances = {
        (a, b): hash_distance(hashes[a], hashes[b]) for a, b in itertools.combinations(hashes, 2)
    }
    assert min(distances.values()) > SIMILAR_IMAGE_DISTANCE, sorted(
        distances.items(), key=lambda item: item[1]
    )[:5]


def test_the_distance_counts_differing_bits() -> None:
    assert hash_distance("ffffffffffffffff", "ffffffffffffffff") == 0
    assert hash_distance("0000000000000000", "ffffffffffffffff") == 64
    assert hash_distance("8000000000000001", "0000000000000000") == 2


def test_the_hash_thumbnail_of_a_large_jpeg_is_decoded_at_reduced_scale(tmp_path: Path) -> None:
    path = tmp_path / "large.jpg"
    path.write_bytes(files.photo(6000, 4000, seed=3))
    thumbnail = hash_thumbnail(path)
    assert thumbnail is not None and len(thumbnail) == 32 * 32
    with Image.open(path) as image:
        image.draft("L", (128, 128))
        assert max(image.size) <= 6000 // 8  # what draft() lets the decoder skip


def test_the_hash_is_imagehash_phash_bit_for_bit(tmp_path: Path) -> None:
    import random

    import imagehash

    rng = random.Random(17)
    thumbnails = [bytes(rng.randrange(256) for _ in range(1024)) for _ in range(40)]
    thumbnails += [bytes([shade]) * 1024 for shade in (0, 17, 128, 255)]  # flat pictures
    for seed in range(1, 7):
        path = tmp_path / f"photo{seed}"
        path.write_bytes(files.photo(seed=seed))
        thumbnail = hash_thumbnail(path)
        assert thumbnail is not None
        thumbnails.append(thumbnail)
    for thumbnail in thumbnails:
        expected = str(imagehash.phash(Image.frombytes("L", (32, 32), thumbnail)))
        assert perceptual_hash(thumbnail) == expected
