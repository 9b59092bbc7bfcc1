"""How sharp a photo is: the variance of its Laplacian on a downscaled grey copy (Pillow only)."""

from __future__ import annotations

from PIL import Image, ImageFilter, ImageStat

# Calibrated on the synthetic set (bench/reading.py): sharp, slightly blurred and dim photos
# measure 150 and more; photos too blurred to read (a Gaussian blur of radius 9 on a
# 1,000-pixel card) measure under 15.
BLURRY_BELOW = 25.0
_SIDE = 640
_LAPLACIAN = ImageFilter.Kernel((3, 3), (0, 1, 0, 1, -4, 1, 0, 1, 0), scale=1, offset=128)


def sharpness(image: Image.Image) -> float:
    """The variance of the Laplacian of the image, greyed and fitted within 640 pixels."""
    grey = image.convert("L")
    grey.thumbnail((_SIDE, _SIDE))
    edges = grey.filter(_LAPLACIAN)
    return float(ImageStat.Stat(edges).var[0])


def is_blurry(value: float) -> bool:
    """True when a sharpness measure says the photo is too blurred to read."""
    return value < BLURRY_BELOW
