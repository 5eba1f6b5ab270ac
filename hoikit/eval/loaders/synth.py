"""``synth:DIR`` — a folder written by ``hoikit synth`` (single images for ``--method image``,
clips for ``--method video``), as an evaluation dataset."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hoikit.eval.datasets import SynthDataset, SynthSample, load_sample
from hoikit.eval.loaders.base import Source, select_split


@dataclass
class SynthSource(Source):
    """ids: the sample folder names; ``video``: the set holds clips, not single images."""

    video: bool = False
    name = "synth"

    def load(self, sample_id: str) -> SynthSample:
        return load_sample(self.root / sample_id)


def open_synth(root: Path, split: str | None = None) -> SynthSource:
    ds = SynthDataset(root)  # checks index.json and that every listed folder exists
    return SynthSource(Path(root), select_split(ds.ids, split, {}, f"synth dataset {root}"), ds.is_video)
