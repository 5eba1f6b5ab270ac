"""``hoikit bench image`` keeps one record per input: a failing sample is counted, named and reported."""

from types import SimpleNamespace

from hoikit.bench.image import run_variant
from hoikit.image.config import preset


def test_failed_samples_are_counted_and_listed_per_image():
    broken = [SimpleNamespace(id="000007", family="box"), SimpleNamespace(id="000008", family="ycb")]
    out = run_variant(broken, None, preset("fast"), "rgb", seed=0)
    assert out["rr"] == 0.0 and out["n"] == 2
    assert [r["id"] for r in out["per_image"]] == ["000007", "000008"]
    assert [r["family"] for r in out["per_image"]] == ["box", "ycb"]
    assert all(r["status"] == "failed" and r["reason"] for r in out["per_image"])
    assert all("cd_cm2" not in r for r in out["per_image"])
    assert len(out["failures"]) == 2
