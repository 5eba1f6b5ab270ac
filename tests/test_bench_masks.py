"""`hoikit bench masks`: the embedded segmenter scored against a synthetic set's true masks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hoikit.bench.masks import mask_iou
from hoikit.cli import main


def test_mask_iou_of_two_overlapping_squares():
    a = np.zeros((10, 10), bool)
    b = np.zeros((10, 10), bool)
    a[0:4, 0:4] = True  # 16 px
    b[2:6, 2:6] = True  # 16 px, 4 shared
    assert mask_iou(a, b) == pytest.approx(4 / 28)
    assert mask_iou(a, a) == 1.0 and mask_iou(a, ~a) == 0.0
    assert mask_iou(np.zeros_like(a), np.zeros_like(a)) == 1.0


@pytest.fixture(scope="module")
def synth_set(tmp_path_factory):
    from hoikit.synth.writer import SynthSettings, write_dataset

    out = tmp_path_factory.mktemp("masks") / "synth"
    write_dataset(out, SynthSettings(n=3, seed=7, objects="procedural", size=(192, 192)))
    return out


def test_bench_masks_writes_per_sample_ious(synth_set, tmp_path, capsys):
    from hoikit.eval.datasets import SynthDataset
    from hoikit.perception.segmentation import hand_mask_from_keypoints

    out = tmp_path / "masks.json"
    assert main(["bench", "masks", "--synth", str(synth_set), "--json", "--out", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["n"] == 3 and len(d["per_image"]) == 3
    obj = [r[d["segmenter"]]["object_iou"] for r in d["per_image"]]
    assert d["object_iou_mean"] == pytest.approx(np.mean(obj), abs=1e-3)
    assert d["object_iou_median"] == pytest.approx(np.median(obj), abs=1e-3)
    assert all(0.0 <= v <= 1.0 for v in obj)
    # GrabCut's hand mask is the one drawn from the keypoints: drawn from the noiseless keypoints and
    # scored independently, it is close to the bench's
    ds = SynthDataset(synth_set)
    for s, r in zip(ds, d["per_image"]):
        drawn = hand_mask_from_keypoints(s.hand.joints2d, s.mask_hand.shape)
        assert abs(mask_iou(drawn, s.mask_hand) - r["grabcut"]["hand_iou"]) < 0.15
        assert r["grabcut"]["hand_iou"] > 0.2  # the drawn hand lies on the rendered one
    assert set(d["segmenters"]) == {"hoikit-seg", "grabcut"}
    for name, summary in d["segmenters"].items():
        assert summary["object_iou_mean"] == pytest.approx(np.mean([r[name]["object_iou"] for r in d["per_image"]]), abs=1e-3)


def test_bench_masks_rejects_an_unknown_segmenter(synth_set, capsys):
    assert main(["bench", "masks", "--synth", str(synth_set), "--segmenters", "magic"]) == 2
    assert "unknown segmenter" in capsys.readouterr().err


def test_bench_masks_on_a_missing_folder_is_exit_2(tmp_path, capsys):
    assert main(["bench", "masks", "--synth", str(tmp_path / "nope")]) == 2
    assert "no such dataset folder" in capsys.readouterr().err
