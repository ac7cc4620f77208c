"""The autoencoder's test image: load it as (3, 512, 512) floats, cut it into patches and back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nmpkit.ml.data_types import DatasetError

IMAGE_SIZE = 512
PATCH = 32


def load_test_image(path: str | Path | None = None) -> np.ndarray:
    """The autoencoder's 512×512 RGB test image as float32 (3, 512, 512) in [0, 1].

    Args:
        path: any image file skimage can read; None = ``skimage.data.astronaut()``. Other
            sizes are resized (shorter side to 512) and center-cropped; gray is repeated to RGB.
    """
    from skimage import data as skdata
    from skimage import io as skio
    from skimage.transform import resize

    if path is None:
        img = skdata.astronaut()
    else:
        p = Path(path)
        if not p.is_file():
            raise DatasetError(f"{p}: file not found (expected an image for the autoencoder)")
        try:
            img = skio.imread(p)
        except Exception as exc:  # imageio raises various types
            raise DatasetError(f"{p}: not a readable image ({exc})") from exc
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise DatasetError(
            f"{path or 'astronaut'}: expected an (H, W[, 1|3|4]) image, got {img.shape}"
        )
    img = img[..., :3] if img.shape[2] != 1 else np.repeat(img, 3, axis=2)
    f = img.astype(np.float32) / (255.0 if img.dtype == np.uint8 else max(float(img.max()), 1.0))
    h, w = f.shape[:2]
    if (h, w) != (IMAGE_SIZE, IMAGE_SIZE):
        scale = IMAGE_SIZE / min(h, w)
        nh, nw = max(IMAGE_SIZE, round(h * scale)), max(IMAGE_SIZE, round(w * scale))
        f = resize(f, (nh, nw), anti_aliasing=True, preserve_range=True).astype(np.float32)
        top, left = (nh - IMAGE_SIZE) // 2, (nw - IMAGE_SIZE) // 2
        f = f[top : top + IMAGE_SIZE, left : left + IMAGE_SIZE]
    return np.ascontiguousarray(np.clip(f, 0.0, 1.0).transpose(2, 0, 1))


def image_to_patches(img: np.ndarray, patch: int = PATCH) -> np.ndarray:
    """(C, H, W) → (H/p · W/p, C, p, p) patches in row-major order (256 for 512×512 and p = 32)."""
    c, h, w = img.shape
    if h % patch or w % patch:
        raise DatasetError(f"image size {h}×{w} must be a multiple of the patch size {patch}")
    out = img.reshape(c, h // patch, patch, w // patch, patch).transpose(1, 3, 0, 2, 4)
    return np.ascontiguousarray(out.reshape(-1, c, patch, patch))


def patches_to_image(
    patches: np.ndarray, height: int = IMAGE_SIZE, width: int = IMAGE_SIZE
) -> np.ndarray:
    """Inverse of `image_to_patches`: (N, C, p, p) → (C, height, width)."""
    n, c, p, _ = patches.shape
    if n != (height // p) * (width // p):
        raise DatasetError(f"{n} patches of {p}×{p} cannot tile a {height}×{width} image")
    grid = patches.reshape(height // p, width // p, c, p, p).transpose(2, 0, 3, 1, 4)
    return np.ascontiguousarray(grid.reshape(c, height, width))


__all__ = ["IMAGE_SIZE", "PATCH", "image_to_patches", "load_test_image", "patches_to_image"]
