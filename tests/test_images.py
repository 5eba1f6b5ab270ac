"""Photos by content: odd formats, EXIF, bit depths, sizes; intrinsics; depth files."""

import math

import cv2
import numpy as np
import pytest
from PIL import Image

from hoikit.errors import InputError
from hoikit.io.depth import backproject, load_depth
from hoikit.io.images import DEFAULT_FOV_DEG, FILM_35MM_DIAGONAL_MM, Intrinsics, camera_for, load_image


def gradient_rgb(w=320, h=200):
    x = np.linspace(0, 255, w, dtype=np.uint8)
    y = np.linspace(0, 255, h, dtype=np.uint8)
    return np.stack([np.tile(x, (h, 1)), np.tile(y[:, None], (1, w)), np.full((h, w), 90, np.uint8)], axis=2)


def test_webp_behind_a_jpg_name_is_read_by_content(tmp_path):
    p = tmp_path / "photo.jpg"
    Image.fromarray(gradient_rgb()).save(p, format="WEBP", lossless=True)
    im = load_image(p)
    assert im.rgb.shape == (200, 320, 3) and im.rgb.dtype == np.uint8
    np.testing.assert_array_equal(im.rgb, gradient_rgb())
    assert any("WEBP" in n for n in im.notes)


def test_greyscale_rgba_and_16bit(tmp_path):
    g = gradient_rgb()[..., 0]
    Image.fromarray(g).save(tmp_path / "g.png")
    im = load_image(tmp_path / "g.png")
    assert im.rgb.shape == (200, 320, 3) and (im.rgb[..., 0] == im.rgb[..., 2]).all()

    rgba = np.dstack([gradient_rgb(), np.full((200, 320), 255, np.uint8)])
    rgba[:10, :10, 3] = 0
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    im = load_image(tmp_path / "a.png")
    assert im.rgb.shape == (200, 320, 3) and (im.rgb[:10, :10] == 0).all()

    g16 = (np.linspace(0, 65535, 320)[None].repeat(200, 0)).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), g16)
    im = load_image(tmp_path / "g16.png")
    assert im.rgb.dtype == np.uint8 and im.rgb[0, -1, 0] == 255 and im.rgb[0, 0, 0] == 0

    rgb16 = gradient_rgb().astype(np.uint16) * 257
    cv2.imwrite(str(tmp_path / "c16.png"), rgb16[..., ::-1])  # OpenCV writes BGR
    im = load_image(tmp_path / "c16.png")
    np.testing.assert_array_equal(im.rgb, gradient_rgb())
    assert any("16-bit" in n for n in im.notes)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.fromarray(gradient_rgb())
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90° clockwise turn
    img.save(tmp_path / "r.jpg", exif=exif, quality=95)
    im = load_image(tmp_path / "r.jpg")
    assert im.rgb.shape[:2] == (320, 200) and im.original_size == (200, 320)


def test_large_image_is_bounded_and_camera_follows(tmp_path):
    big = cv2.resize(gradient_rgb(), (4000, 2500))
    Image.fromarray(big).save(tmp_path / "big.png")
    im = load_image(tmp_path / "big.png", max_side=1600)
    assert max(im.size) == 1600 and im.original_size == (4000, 2500)
    cam = camera_for(im, Intrinsics(fx=3000.0, cx=2000.0, cy=1250.0))
    # the same 3D point projects to the same relative position before and after the resize
    X = np.array([[0.05, -0.02, 0.5]])
    u_orig = 3000.0 * X[0, :2] / X[0, 2] + [2000.0, 1250.0]
    u_new = cam.project(X)[0]
    np.testing.assert_allclose((u_new + 0.5) / im.scale - 0.5, u_orig, atol=1e-6)
    assert cam.source == "given" and (cam.width, cam.height) == im.size


def test_intrinsics_sources(tmp_path):
    Image.fromarray(gradient_rgb(300, 200)).save(tmp_path / "p.png")
    im = load_image(tmp_path / "p.png")
    cam = camera_for(im)
    assert cam.source.startswith("default-fov")
    assert cam.fx == pytest.approx(150 / math.tan(math.radians(DEFAULT_FOV_DEG / 2)))
    exif = Image.Exif()
    exif_ifd = {41989: 26}
    exif._ifds[0x8769] = exif_ifd  # 35 mm-equivalent focal length 26 mm
    Image.fromarray(gradient_rgb(300, 200)).save(tmp_path / "e.jpg", exif=exif)
    im = load_image(tmp_path / "e.jpg")
    if im.focal_35mm is None:
        pytest.skip("this Pillow does not write EXIF sub-IFDs")
    cam = camera_for(im)
    assert cam.source == "exif-35mm"
    assert cam.fx == pytest.approx(26 / FILM_35MM_DIAGONAL_MM * math.hypot(300, 200))


@pytest.mark.parametrize(
    "write, message",
    [
        (lambda p: p.write_text("hello"), "not an image"),
        (lambda p: Image.fromarray(gradient_rgb(30, 20)).save(p, format="PNG"), "at least"),
        (lambda p: p.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50), "image"),
    ],
)
def test_bad_images_raise_input_errors(tmp_path, write, message):
    p = tmp_path / "bad.jpg"
    write(p)
    with pytest.raises(InputError, match=message):
        load_image(p)
    with pytest.raises(InputError, match="no such file"):
        load_image(tmp_path / "missing.jpg")


def test_depth_formats_agree(tmp_path):
    d = np.full((20, 30), 0.5, np.float32)
    d[0, 0] = 0.0
    np.save(tmp_path / "d.npy", d)
    cv2.imwrite(str(tmp_path / "d.png"), (d * 1000).astype(np.uint16))
    a, b = load_depth(tmp_path / "d.npy"), load_depth(tmp_path / "d.png")
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert load_depth(tmp_path / "d.npy", size=(60, 40)).shape == (40, 60)
    K = np.array([[100.0, 0, 15], [0, 100.0, 10], [0, 0, 1]])
    P = backproject(a, K)
    assert len(P) == 20 * 30 - 1 and np.allclose(P[:, 2], 0.5)
    np.save(tmp_path / "z.npy", np.zeros((5, 5), np.float32))
    with pytest.raises(InputError, match="no valid"):
        load_depth(tmp_path / "z.npy")
