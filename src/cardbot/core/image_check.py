"""Whether a JPEG or PNG opens, is big enough and shows something: decoded, at reduced scale
where the format allows it."""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, ImageStat

MIN_IMAGE_SIDE = 300
MAX_IMAGE_PIXELS = 50_000_000
BLANK_STDDEV = 4.0
# The blank test looks at about this many pixels on the short side.
SAMPLE_SIDE = 256
# Modes Image.reduce() takes; every other mode Pillow opens is converted first.
_REDUCIBLE = frozenset({"L", "LA", "RGB", "RGBA", "RGBa", "La", "CMYK", "YCbCr"})
# Modes whose samples run to 65535 rather than 255 (16-bit PNGs).
_SIXTEEN_BIT = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})


def judge_image(path: Path) -> str | None:
    """A problem code for the image at `path`, or None when it is fit for review."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=("JPEG", "PNG")) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    return "image_unreadable"  # refused from the header, never decoded
                if image.format == "PNG":
                    image.verify()  # every chunk's checksum; decoding comes next
            stddev = _sample_stddev(path)
    except MemoryError:
        raise
    except Exception:
        return "image_unreadable"
    if min(width, height) < MIN_IMAGE_SIDE:
        return "image_too_small"
    if stddev < BLANK_STDDEV:
        return "image_blank"
    return None


def _sample_stddev(path: Path) -> float:
    """Decode the whole image (a JPEG at 1/8 scale) and measure how much its grey varies."""
    with Image.open(path, formats=("JPEG", "PNG")) as image:
        width, height = image.size
        image.draft("L", (max(1, width // 8), max(1, height // 8)))  # JPEG only; PNG ignores
        image.load()  # every byte of the image data: corrupt or cut-off data fails here
        sample, scale = _reduced_grey(image)
        return float(ImageStat.Stat(sample).stddev[0]) / scale


def reduced_grey(image: Image.Image) -> Image.Image:
    """A decoded image shrunk to about SAMPLE_SIDE pixels on the short side, in grey."""
    return _reduced_grey(image)[0]


def _reduced_grey(image: Image.Image) -> tuple[Image.Image, float]:
    """The image shrunk to about SAMPLE_SIDE pixels in one channel, and its sample scale."""
    factor = max(1, min(image.size) // SAMPLE_SIDE)
    if image.mode in _SIXTEEN_BIT:  # 16-bit grey: samples brought down to 0-255
        grey = image if image.mode == "I" else image.convert("I")
        return grey.reduce(factor).point(lambda value: value / 257).convert("L"), 1.0
    if image.mode in _REDUCIBLE:
        return image.reduce(factor).convert("L"), 1.0
    # 1 (black and white), P and PA (palette), LAB, HSV…: reduce() does not take them.
    try:
        grey = image.convert("L")
    except ValueError:
        grey = image.convert("RGB").convert("L")
    return grey.reduce(factor), 1.0
