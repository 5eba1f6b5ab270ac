"""Photos in: decoded by content (not extension), EXIF-rotated, made 8-bit RGB, bounded in size.

Intrinsics for the image as hoikit uses it (after EXIF rotation and resizing) come from, in order:
explicit ``fx/fy/cx/cy``, the EXIF 35 mm-equivalent focal length, or a documented default field
of view. The source is recorded in :attr:`hoikit.types.Camera.source`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hoikit.errors import InputError
from hoikit.types import Camera

# Images larger than this (longest side, pixels) are processed downscaled; K follows the resize.
MAX_SIDE_PX = 1600
# Below this (shortest side, pixels) there is too little to see a hand.
MIN_SIDE_PX = 48
# With no intrinsics given and none in EXIF: this horizontal-equivalent field of view on the
# longer side — a typical phone main camera is ~65-70°, cropped web photos narrower.
DEFAULT_FOV_DEG = 55.0
# The 35 mm film frame diagonal (36 × 24 mm), for EXIF FocalLengthIn35mmFilm.
FILM_35MM_DIAGONAL_MM = math.hypot(36.0, 24.0)
EXIF_FOCAL_35MM = 41989
EXIF_ORIENTATION = 0x0112
EXIF_IFD = 0x8769


@dataclass
class LoadedImage:
    """An image ready for hoikit.

    Attributes:
        rgb: (H, W, 3) uint8, after EXIF rotation and any downscale.
        path: where it came from.
        original_size: (W, H) after EXIF rotation, before downscale.
        scale: processed size / original size (≤ 1).
        focal_35mm: EXIF 35 mm-equivalent focal length, if present.
        notes: what was done to it (format, conversions), for result.json.
    """

    rgb: np.ndarray
    path: Path
    original_size: tuple[int, int]
    scale: float = 1.0
    focal_35mm: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


def _to_rgb8(img, notes: list[str]) -> np.ndarray:
    """A PIL image of any mode → (H, W, 3) uint8, 16-bit and float data rescaled, alpha dropped."""
    from PIL import Image

    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        if mode == "F" and a.max() <= 1.0:
            hi = 1.0
        notes.append(f"{mode} data scaled to 8 bit")
        a = np.clip(a / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(a[..., None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        notes.append("alpha channel dropped (composited on black)")
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        img = Image.alpha_composite(bg, rgba)
    if mode in ("L", "1"):
        notes.append("greyscale expanded to RGB")
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def _is_16bit_colour_png(p: Path) -> bool:
    """True for a PNG whose IHDR says 16 bits per sample and a colour type with RGB."""
    with open(p, "rb") as f:
        head = f.read(26)
    return head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) == 26 and head[24] == 16 and head[25] in (2, 6)


def _read_16bit_png(p: Path, notes: list[str]) -> np.ndarray:
    """A 16-bit colour PNG through OpenCV (Pillow cannot hold 16-bit RGB), scaled to 8 bit."""
    import cv2

    a = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    if a is None or a.ndim != 3:
        raise InputError(f"{p}: cannot decode the 16-bit PNG")
    notes.append("16-bit colour scaled to 8 bit")
    a = a[..., :3][..., ::-1]  # BGR(A) → RGB
    return (a.astype(np.float64) / 257.0 + 0.5).astype(np.uint8)


def load_image(path: str | os.PathLike, max_side: int = MAX_SIDE_PX) -> LoadedImage:
    """Read a photo by its content (JPEG, PNG, WebP, TIFF, BMP…), whatever its extension.

    Raises:
        InputError: missing, unreadable, not an image, or too small.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file" if not p.exists() else f"{p}: not a file")
    notes: list[str] = []
    try:
        with Image.open(p) as img:
            fmt = img.format or "unknown"
            ext = p.suffix.lower().lstrip(".")
            if ext and fmt.lower() not in ({ext, "jpeg"} if ext == "jpg" else {ext}):
                notes.append(f"content is {fmt}, not what the .{ext} extension says")
            exif = img.getexif()
            focal = exif.get_ifd(EXIF_IFD).get(EXIF_FOCAL_35MM) if exif else None
            img.load()
            orientation = exif.get(EXIF_ORIENTATION, 1) if exif else 1
            rotated = ImageOps.exif_transpose(img) if orientation != 1 else img
            if orientation != 1:
                notes.append(f"EXIF orientation {orientation} applied")
            if fmt == "PNG" and _is_16bit_colour_png(p):
                rgb = _read_16bit_png(p, notes)
            else:
                rgb = _to_rgb8(rotated, notes)
    except UnidentifiedImageError:
        raise InputError(f"{p}: not an image file hoikit can read (unrecognised content)") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise InputError(f"{p}: cannot decode the image ({str(e).splitlines()[0][:120]})") from None
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE_PX:
        raise InputError(f"{p}: image is {w}x{h} px; hoikit needs at least {MIN_SIDE_PX} px on each side")
    scale = 1.0
    if max(h, w) > max_side:
        import cv2

        scale = max_side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        scale = size[0] / w  # the exact horizontal factor after rounding
        notes.append(f"downscaled from {w}x{h} to {size[0]}x{size[1]}")
    return LoadedImage(np.ascontiguousarray(rgb), p, (w, h), scale, float(focal) if focal else None, notes)


@dataclass(frozen=True)
class Intrinsics:
    """User-given intrinsics in pixels of the *original* image (any may be None)."""

    fx: float | None = None
    fy: float | None = None
    cx: float | None = None
    cy: float | None = None


def camera_for(image: LoadedImage, given: Intrinsics = Intrinsics(), default_fov_deg: float = DEFAULT_FOV_DEG) -> Camera:
    """The camera of the image at its original size, then resized with the image (pixel centres kept).

    Order: explicit ``fx``/``fy`` (cx, cy default to the image centre) → EXIF 35 mm-equivalent focal
    length (f_px = f35 / 43.27 mm × image diagonal in px) → ``default_fov_deg`` across the longer side.
    """
    W, H = image.original_size
    cx = given.cx if given.cx is not None else (W - 1) / 2.0
    cy = given.cy if given.cy is not None else (H - 1) / 2.0
    if given.fx is not None or given.fy is not None:
        fx = given.fx if given.fx is not None else given.fy
        fy = given.fy if given.fy is not None else fx
        source = "given"
    elif image.focal_35mm:
        fx = fy = image.focal_35mm / FILM_35MM_DIAGONAL_MM * math.hypot(W, H)
        source = "exif-35mm"
    else:
        fx = fy = 0.5 * max(W, H) / math.tan(math.radians(default_fov_deg) / 2.0)
        source = f"default-fov-{default_fov_deg:g}deg"
    if fx <= 0 or fy <= 0:
        raise InputError(f"focal length must be positive, got fx={fx}, fy={fy}")
    cam = Camera(np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]]), W, H, source)
    w, h = image.size
    return cam if (w, h) == (W, H) else cam.resized(w, h)


def square_crop(image: np.ndarray, cx: float, cy: float, side: float, size: int, nearest: bool = False, fill=0) -> np.ndarray:
    """Resample the square of ``side`` pixels centred on (cx, cy) to ``size`` × ``size``.

    Pixel-centre convention: output pixel (u, v) samples input
    (cx − side/2 + (u + 0.5)·side/size − 0.5, likewise for v); outside the image is ``fill``.
    The matching camera is ``camera.cropped(x0, y0, …).resized(size, size)`` with
    x0 = cx − side/2 (see :func:`crop_camera`).
    """
    import cv2

    s = size / side
    A = np.array([[s, 0.0, size / 2 - s * cx + 0.5 * s - 0.5], [0.0, s, size / 2 - s * cy + 0.5 * s - 0.5]])
    interp = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    border = fill if np.isscalar(fill) else tuple(float(f) for f in fill)
    return cv2.warpAffine(image, A, (size, size), flags=interp, borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def crop_camera(camera: Camera, cx: float, cy: float, side: float, size: int) -> Camera:
    """The camera of :func:`square_crop`'s output."""
    K = camera.K.copy()
    s = size / side
    K[0, 0] *= s
    K[1, 1] *= s
    K[0, 1] *= s
    K[0, 2] = (K[0, 2] - (cx - side / 2.0) + 0.5) * s - 0.5
    K[1, 2] = (K[1, 2] - (cy - side / 2.0) + 0.5) * s - 0.5
    return Camera(K, size, size, camera.source)


def load_mask(path: str | os.PathLike, size: tuple[int, int]) -> np.ndarray:
    """A binary mask file (any image format; > 50 % grey or alpha counts as inside), resized
    (nearest) to ``size`` = (W, H) of the processed image. Raises InputError if unreadable or empty."""
    import cv2
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such mask file")
    try:
        with Image.open(p) as img:
            img.load()
            if img.mode in ("RGBA", "LA") and np.asarray(img.getchannel("A")).min() < 255:
                a = np.asarray(img.getchannel("A"))
            else:
                a = np.asarray(img.convert("L"))
    except (UnidentifiedImageError, OSError) as e:
        raise InputError(f"{p}: cannot read the mask ({str(e).splitlines()[0][:100]})") from None
    m = a > 127
    if (m.shape[1], m.shape[0]) != tuple(size):
        m = cv2.resize(m.astype(np.uint8), tuple(size), interpolation=cv2.INTER_NEAREST) > 0
    if not m.any():
        raise InputError(f"{p}: the mask is empty (no pixel above 50 %)")
    return m
