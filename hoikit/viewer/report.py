"""``hoikit report DIR``: one static HTML page that works offline (no CDN, no server).

For a result folder: the overlay, the three views, a turntable of the 3D result (pre-rendered PNG
frames played by a few lines of inline JavaScript, so no 3D library is needed) and the record's
numbers. For a ``hoikit eval`` folder: the summary table, the plots and, per sample, its overlay,
views, turntable and scores. Images are embedded as data URIs, so the page is one file.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hoikit.viewer.scene import ResultScene, load_result, result_folders

TURNTABLE_FRAMES = 24
TURNTABLE_SIZE = 256
MAX_SAMPLES = 50  # an eval report shows this many samples in full (all are in the tables)

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}img{max-width:100%}.row{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start}
.turntable img{width:256px;height:256px;border:1px solid #ddd}.failed{color:#b00}"""
# plays the frames of every .turntable; the slider scrubs (no external code)
SCRIPT = """document.querySelectorAll('.turntable').forEach(function(t){
var frames=JSON.parse(t.dataset.frames),img=t.querySelector('img'),s=t.querySelector('input'),i=0,play=true;
s.max=frames.length-1;s.oninput=function(){play=false;i=+s.value;img.src=frames[i];};
setInterval(function(){if(play){i=(i+1)%frames.length;img.src=frames[i];s.value=i;}},120);});"""


def png_uri(image: np.ndarray | Path) -> str:
    """A data URI of an image array (H, W, 3) uint8 or of a PNG file."""
    if isinstance(image, Path):
        data = image.read_bytes()
    else:
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG")
        data = buf.getvalue()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


MAX_INLINE_VIDEO_BYTES = 20 * 2**20


def turntable_frames(scene: ResultScene, n: int = TURNTABLE_FRAMES, size: int = TURNTABLE_SIZE) -> list[np.ndarray]:
    """The hand and object turned a full circle about the vertical axis, ``n`` frames."""
    from hoikit.render.overlay import HAND_RGB, OBJECT_RGB, orbit_renders

    parts = [(np.asarray(m.vertices), np.asarray(m.faces), c) for m, c in ((scene.hand, HAND_RGB), (scene.object, OBJECT_RGB)) if m is not None]
    return orbit_renders(parts, [((0, 1, 0), 360.0 * k / n) for k in range(n)], size)


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    cell = lambda v: f"{v:.4g}" if isinstance(v, float) else html.escape("—" if v is None else str(v))
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _numbers(record: dict) -> str:
    flat = {k: v for k, v in record.items() if isinstance(v, (int, float, str)) and k not in ("schema_version", "source")}
    flat.update({f"timing {k} (s)": v for k, v in (record.get("timings_s") or {}).items() if k == "total"})
    return _table(list(flat.items()), ["", "value"])


def result_section(folder: Path, title: str, scores: dict | None = None, frames: int = TURNTABLE_FRAMES) -> str:
    scene = load_result(folder)
    turntable = [png_uri(f) for f in turntable_frames(scene, frames)] if frames else []
    parts = [f"<h2>{html.escape(title)}</h2>", '<div class="row">']
    if (folder / "overlay.png").is_file():
        parts.append(f'<div><h3>overlay</h3><img alt="overlay" src="{png_uri(folder / "overlay.png")}" style="max-width:420px"></div>')
    video = folder / "overlay.mp4"  # a video result: the overlay clip, inlined (the page stays one offline file)
    if video.is_file() and video.stat().st_size <= MAX_INLINE_VIDEO_BYTES:
        uri = "data:video/mp4;base64," + base64.b64encode(video.read_bytes()).decode("ascii")
        parts.append(f'<div><h3>overlay</h3><video controls loop muted src="{uri}" style="max-width:420px"></video></div>')
    if turntable:
        parts.append(f'<div class="turntable" data-frames=\'{json.dumps(turntable)}\'><h3>3D (turntable)</h3>'
                     f'<img alt="turntable" src="{turntable[0]}"><br><input type="range" min="0" value="0"></div>')  # fmt: skip
    parts.append("</div>")
    if (folder / "views.png").is_file():
        parts.append(f'<h3>views (camera, side, above)</h3><img alt="views" src="{png_uri(folder / "views.png")}">')
    parts.append(_numbers({**scene.record, **(scores or {})}))
    return "\n".join(parts)


def _eval_sections(root: Path, frames: int) -> list[str]:
    from hoikit.eval.summary import ALIGN, sample_columns, summary_columns

    summary = json.loads((root / "summary.json").read_text())
    align = summary.get("align", ALIGN)
    cols, sample_cols = summary_columns(align), sample_columns(align)
    out = ["<h2>summary</h2>", _table([[summary.get(k) for k in cols]], list(cols.values()))]
    out.append('<div class="row">' + "".join(f'<img alt="{p}" src="{png_uri(root / p)}" style="width:360px">'
                                             for p in ("cd_hist.png", "fscore_curve.png", "iv_vs_cd.png") if (root / p).is_file()) + "</div>")  # fmt: skip
    records = [json.loads(p.read_text()) for p in sorted((root / "records").glob("*.json"))]
    out += ["<h2>samples</h2>", _table([[r.get(k) for k in sample_cols] for r in records], list(sample_cols.values()))]
    from hoikit.eval.runner import record_key

    shown = [r for r in records if (root / "results" / record_key(r["id"]) / "result.json").is_file()][:MAX_SAMPLES]
    out += [result_section(root / "results" / record_key(r["id"]), r["id"], {k: r.get(k) for k in ("cd_cm2", "f5", "f10", "iv_cm3")}, frames)
            for r in shown]  # fmt: skip
    return out


def write_report(root: str | Path, out: str | Path | None = None, frames: int = TURNTABLE_FRAMES) -> Path:
    """Write the report of a result folder or of a ``hoikit eval`` folder; returns the HTML path."""
    root = Path(root)
    if (root / "summary.json").is_file() and (root / "records").is_dir():
        sections, title = _eval_sections(root, frames), f"hoikit eval report: {root.name}"
    else:
        folders = result_folders(root)
        sections, title = [result_section(f, f.name, None, frames) for f in folders[:MAX_SAMPLES]], f"hoikit report: {root.name}"
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{''.join(sections)}<script>{SCRIPT}</script></body></html>")  # fmt: skip
    path = Path(out) if out else root / "report.html"
    from hoikit.io.results import write_text_atomic

    write_text_atomic(path, page)
    return path
