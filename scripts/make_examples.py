"""Regenerate the `make demo` example: a photo rendered by hoikit's own synthesiser, its intrinsics
and its true object mesh (so the demo can score its reconstruction).

    python scripts/make_examples.py

Sample 2 of `hoikit synth --n 3 --seed 7 --objects procedural` (a right hand holding a
superquadric). Rendered here, so it carries no third-party licence (CC0, like hoikit's own data).
"""

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from hoikit.synth.writer import SynthSettings, write_dataset

OUT = Path(__file__).resolve().parents[1] / "hoikit" / "data" / "examples"
SEED, INDEX = 7, 2


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(tmp, SynthSettings(n=INDEX + 1, seed=SEED, objects="procedural"))
        src = Path(tmp) / f"{INDEX:06d}"
        meta = json.loads((src / "meta.json").read_text())
        OUT.mkdir(parents=True, exist_ok=True)
        Image.open(src / "rgb.png").convert("RGB").save(OUT / "demo_photo.jpg", quality=93)
        shutil.copy(src / "object.ply", OUT / "demo_object.ply")
        K = np.asarray(meta["K"], dtype=float)
        info = {
            "photo": "demo_photo.jpg",
            "object": "demo_object.ply",
            "fx": K[0, 0], "fy": K[1, 1], "cx": K[0, 2], "cy": K[1, 2],
            "hand": meta["hand"]["side"],
            "family": meta["object"]["family"],
            "source": f"hoikit synth --n {INDEX + 1} --seed {SEED} --objects procedural, sample {INDEX:06d}",
            "licence": "CC0-1.0 (rendered by hoikit)",
        }  # fmt: skip
        (OUT / "demo.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"wrote {OUT}/demo_photo.jpg, demo_object.ply, demo.json")


if __name__ == "__main__":
    main()
