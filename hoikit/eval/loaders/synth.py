"""``synth:DIR`` — a folder written by ``hoikit synth`` (single images), as an evaluation dataset."""

from __future__ import annotations

from pathlib import Path

from hoikit.errors import InputError
from hoikit.eval.datasets import SynthDataset, SynthImageSample, load_sample
from hoikit.eval.loaders.base import Source, select_split


class SynthSource(Source):
    """ids: the sample folder names."""

    name = "synth"

    def load(self, sample_id: str) -> SynthImageSample:
        sample = load_sample(self.root / sample_id)
        if not isinstance(sample, SynthImageSample):
            raise InputError(f"{self.root / sample_id}: a video sample; --method image needs single images")
        return sample


def open_synth(root: Path, split: str | None = None) -> SynthSource:
    ds = SynthDataset(root)  # checks index.json and that every listed folder exists
    return SynthSource(Path(root), select_split(ds.ids, split, {}, f"synth dataset {root}"))
