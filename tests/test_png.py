"""hoikit's PNG writer: lossless, readable by PIL, deterministic."""

import io

import numpy as np
import pytest
from PIL import Image

from hoikit.io.png import encode_png, write_png


@pytest.mark.parametrize("shape", [(37, 53), (37, 53, 3), (1, 1, 3)])
def test_png_round_trip(shape, tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    image[: shape[0] // 2] = 7  # a flat part (runs) and a noisy part
    data = encode_png(image)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), image)
    assert encode_png(image.copy()) == data
    assert write_png(tmp_path / "a.png", image).read_bytes() == data


def test_png_rejects_other_arrays():
    with pytest.raises(ValueError):
        encode_png(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError):
        encode_png(np.zeros((4, 4, 4), np.uint8))
