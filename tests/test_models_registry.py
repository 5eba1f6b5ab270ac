"""The model registry: checkpoint resolution order, the places a miss reports, `hoikit models`."""

import json
import os
import sys

import pytest

from hoikit.cli import main
from hoikit.errors import HoikitError, InputError, MissingCheckpointError
from hoikit.models.checkpoints import CheckpointSpec, hf_hub_dir, lookup, resolve_checkpoint
from hoikit.models.packages import PackageStatus, package_status
from hoikit.models.registry import (
    HUNYUAN3D_2,
    MEMBERS,
    ROLE_NAMES,
    SAM2_TINY,
    ModelsConfig,
    default_member,
    load_backend,
    member_status,
    registry_report,
)
from hoikit.perception.roles import EmbeddedSegmenter, GrabCutSegmenter, Segmenter

FILE_SPEC = CheckpointSpec(
    key="thing", what="Thing checkpoint", kind="file", hoikit_path="thing/thing.pt",
    hf_repos=("org/thing",), hf_path="sub/thing.pt", flag="--thing",
)  # fmt: skip
DIR_SPEC = CheckpointSpec(
    key="folder", what="Folder model", kind="dir", hoikit_path="folder-model",
    hf_repos=("org/folder",), required=("config.json", "model.safetensors|pytorch_model.bin"), flag="--folder",
)  # fmt: skip


def touch(path, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def hf_snapshot(hub, repo, rev, mtime=None):
    snap = hub / ("models--" + repo.replace("/", "--")) / "snapshots" / rev
    snap.mkdir(parents=True, exist_ok=True)
    if mtime is not None:
        os.utime(snap, (mtime, mtime))
    return snap


@pytest.fixture
def places(tmp_path):
    """An empty $HOIKIT_MODELS and an empty HF home, as an environment mapping."""
    env = {"HOIKIT_MODELS": str(tmp_path / "models"), "HF_HOME": str(tmp_path / "hf"), "HOME": str(tmp_path / "home")}
    return env, tmp_path / "models", tmp_path / "hf" / "hub"


def test_hf_hub_dir_precedence(tmp_path):
    assert hf_hub_dir({"HOME": "/h"}).as_posix() == "/h/.cache/huggingface/hub"
    assert hf_hub_dir({"HOME": "/h", "XDG_CACHE_HOME": "/x"}).as_posix() == "/x/huggingface/hub"
    assert hf_hub_dir({"HOME": "/h", "XDG_CACHE_HOME": "/x", "HF_HOME": "/f"}).as_posix() == "/f/hub"
    assert hf_hub_dir({"HF_HOME": "/f", "HF_HUB_CACHE": "/c"}).as_posix() == "/c"


def test_resolution_order_flag_then_hoikit_models_then_hf_cache(places, tmp_path):
    env, models, hub = places
    in_hf = touch(hf_snapshot(hub, "org/thing", "abc") / "sub" / "thing.pt")
    assert resolve_checkpoint(FILE_SPEC, env=env) == in_hf
    in_models = touch(models / "thing" / "thing.pt")
    assert resolve_checkpoint(FILE_SPEC, env=env) == in_models
    given = touch(tmp_path / "elsewhere" / "my.pt")
    assert resolve_checkpoint(FILE_SPEC, given, env=env) == given
    # a folder given for a file checkpoint is searched for the conventional name
    touch(tmp_path / "dir" / "thing.pt")
    assert resolve_checkpoint(FILE_SPEC, tmp_path / "dir", env=env) == tmp_path / "dir" / "thing.pt"


def test_explicit_path_is_the_only_place_looked(places, tmp_path):
    env, models, _ = places
    touch(models / "thing" / "thing.pt")  # would be found without the flag
    with pytest.raises(MissingCheckpointError) as e:
        resolve_checkpoint(FILE_SPEC, tmp_path / "typo.pt", env=env)
    msg = str(e.value)
    assert f"--thing: {tmp_path / 'typo.pt'}" in msg
    assert "HOIKIT_MODELS:" not in msg


def test_hf_cache_prefers_refs_main_then_newest(places):
    env, _, hub = places
    old = touch(hf_snapshot(hub, "org/thing", "old", mtime=1_000) / "sub" / "thing.pt")
    new = touch(hf_snapshot(hub, "org/thing", "new", mtime=2_000) / "sub" / "thing.pt")
    os.utime(old.parents[1], (1_000, 1_000))
    os.utime(new.parents[1], (2_000, 2_000))
    assert resolve_checkpoint(FILE_SPEC, env=env) == new
    touch(hub / "models--org--thing" / "refs" / "main", "old\n")
    assert resolve_checkpoint(FILE_SPEC, env=env) == old


def test_folder_checkpoint_needs_its_files(places):
    env, models, hub = places
    folder = models / "folder-model"
    touch(folder / "config.json")
    assert lookup(DIR_SPEC, env=env).path is None  # weights missing
    touch(folder / "pytorch_model.bin")
    assert lookup(DIR_SPEC, env=env).path == folder
    # a file given for a folder checkpoint stands for its folder
    assert resolve_checkpoint(DIR_SPEC, folder / "config.json", env=env) == folder
    # the HF snapshot folder itself is the checkpoint when hf_path is empty
    snap = hf_snapshot(hub, "org/folder", "r1")
    touch(snap / "config.json")
    touch(snap / "model.safetensors")
    assert resolve_checkpoint(DIR_SPEC, env={k: v for k, v in env.items() if k != "HOIKIT_MODELS"}) == snap


def test_missing_checkpoint_error_lists_every_place(places):
    env, models, hub = places
    hf_snapshot(hub, "org/thing", "deadbeef")  # a snapshot without the file
    with pytest.raises(MissingCheckpointError) as e:
        resolve_checkpoint(FILE_SPEC, env=env)
    assert isinstance(e.value, InputError) and e.value.exit_code == 2
    msg = str(e.value)
    assert "Thing checkpoint not found: looked for thing.pt" in msg
    assert f"HOIKIT_MODELS: {models / 'thing' / 'thing.pt'}" in msg
    assert f"hf-cache: {hub / 'models--org--thing' / 'snapshots' / 'deadbeef' / 'sub' / 'thing.pt'}" in msg
    assert "--thing PATH" in msg and "never downloads" in msg
    # without a snapshot, the pattern that would have matched is named
    env2 = dict(env, HF_HOME=str(hub.parent.parent / "empty"))
    msg2 = " ".join(p.path for p in lookup(FILE_SPEC, env=env2).tried)
    assert "models--org--thing/snapshots/*/sub/thing.pt" in msg2


def test_unset_hoikit_models_is_reported(tmp_path):
    found = lookup(SAM2_TINY, env={"HOME": str(tmp_path)})
    assert found.path is None
    assert found.tried[0].source == "HOIKIT_MODELS" and "not set" in found.tried[0].path
    assert found.tried[1].path.endswith("models--facebook--sam2.1-hiera-tiny/snapshots/*/sam2.1_hiera_tiny.pt")


def test_package_status_reasons():
    missing = package_status("hoikit_no_such_package", extra="thing")
    assert not missing.ok and "not installed" in missing.reason and "hoikit[thing]" in missing.reason
    assert package_status("json").ok


def test_every_role_has_one_embedded_default_and_adapters():
    for role in ROLE_NAMES:
        ms = [m for m in MEMBERS if m.role == role]
        assert any(m.embedded for m in ms), role
        assert any(not m.embedded for m in ms), role
        # the default member is the first embedded one (segmentation has two: hoikit-seg, GrabCut)
        assert default_member(role).name == getattr(ModelsConfig(), role), role
    for m in MEMBERS:
        assert m.licence and m.summary
        assert (m.loader is None) == (m.not_implemented is not None), m.name


def test_hunyuan_without_hy3dgen_is_unavailable_and_nothing_breaks(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "hy3dgen", None)  # what Python does for a blocked/absent package
    import hoikit.shape.hunyuan  # noqa: F401 — the adapter module itself imports without hy3dgen

    hunyuan = next(m for m in MEMBERS if m.name == "hunyuan3d-2")
    st = member_status(hunyuan, env={"HOME": str(tmp_path)})
    assert not st.available
    assert any("package 'hy3dgen' is not installed" in r and "--no-deps hy3dgen" in r for r in st.reasons)
    assert any("not found" in r and "hunyuan3d-dit-v2-0" in r for r in st.reasons)
    with pytest.raises(HoikitError, match="hy3dgen"):
        load_backend("shape", ModelsConfig(shape="hunyuan3d-2"), env={"HOME": str(tmp_path)})
    report = registry_report(env={"HOME": str(tmp_path)}, import_check=False)
    assert [r["role"] for r in report["roles"]] == list(ROLE_NAMES)


def test_load_backend_missing_checkpoint_is_exit_2(monkeypatch, tmp_path):
    # whether or not the extras are installed here, the checkpoint must be what fails
    installed = lambda name, extra=None, import_check=True: PackageStatus(name, True)
    monkeypatch.setattr("hoikit.models.registry.package_status", installed)
    with pytest.raises(MissingCheckpointError) as e:
        load_backend("shape", ModelsConfig(shape="hunyuan3d-2"), env={"HOME": str(tmp_path)})
    assert HUNYUAN3D_2.hf_repos[0].replace("/", "--") in str(e.value)


def test_load_backend_embedded_default_implements_the_protocol():
    seg = load_backend("segmentation")
    assert isinstance(seg, EmbeddedSegmenter) and isinstance(seg, Segmenter) and seg.name == "hoikit-seg"
    grabcut = load_backend("segmentation", ModelsConfig(segmentation="grabcut"))
    assert isinstance(grabcut, GrabCutSegmenter) and grabcut.method == "grabcut"


def test_auto_picks_an_available_adapter(tmp_path):
    env = {"HOIKIT_MODELS": str(tmp_path), "HOME": str(tmp_path)}
    report = registry_report(ModelsConfig(segmentation="auto"), env=env, import_check=False)
    seg = next(r for r in report["roles"] if r["role"] == "segmentation")
    sam2 = next(m for m in seg["members"] if m["name"] == "sam2")
    assert seg["in_use"] == ("sam2" if sam2["available"] else "hoikit-seg")
    touch(tmp_path / "sam2" / "sam2.1_hiera_tiny.pt")
    report = registry_report(ModelsConfig(segmentation="auto"), env=env, import_check=False)
    seg = next(r for r in report["roles"] if r["role"] == "segmentation")
    sam2 = next(m for m in seg["members"] if m["name"] == "sam2")
    assert sam2["checkpoint"]["found"] == str(tmp_path / "sam2" / "sam2.1_hiera_tiny.pt")
    assert seg["in_use"] == ("sam2" if all(p["ok"] for p in sam2["packages"]) else "hoikit-seg")


def test_hoikit_models_json(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOIKIT_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    touch(tmp_path / "models" / "dinov2-giant" / "config.json")
    touch(tmp_path / "models" / "dinov2-giant" / "model.safetensors")
    given = touch(tmp_path / "mine" / "sam2.1_hiera_small.pt")
    rc = main(["models", "--json", "--no-import-check", "--sam2", str(given), "--shape", "hunyuan3d-2"])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert report["hoikit_models"] == str(tmp_path / "models")
    assert report["hf_hub_cache"] == str(tmp_path / "hf" / "hub")
    roles = {r["role"]: r for r in report["roles"]}
    assert set(roles) == set(ROLE_NAMES)
    assert roles["segmentation"]["in_use"] == "hoikit-seg" and roles["shape"]["in_use"] == "hunyuan3d-2"
    by_name = {m["name"]: m for r in report["roles"] for m in r["members"]}
    assert by_name["sam2"]["checkpoint"]["found"] == str(given)
    assert by_name["sam2"]["checkpoint"]["looked"] == [{"source": "--sam2", "path": str(given)}]
    assert by_name["dinov2"]["checkpoint"]["found"] == str(tmp_path / "models" / "dinov2-giant")
    hy = by_name["hunyuan3d-2"]
    assert not hy["available"] and hy["checkpoint"]["found"] is None
    assert [p["source"] for p in hy["checkpoint"]["looked"]] == ["HOIKIT_MODELS", "hf-cache"]
    assert hy["checkpoint"]["looked"][1]["path"].endswith("models--tencent--Hunyuan3D-2/snapshots/*/hunyuan3d-dit-v2-0")
    assert by_name["hamer"]["reasons"][0] == "not implemented yet (needs MANO)"
    assert by_name["moge-2"]["available"] is False
    for m in by_name.values():
        assert m["kind"] in ("embedded", "adapter") and isinstance(m["reasons"], list)


def test_hoikit_models_text(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOIKIT_MODELS", str(tmp_path))
    assert main(["models", "--no-import-check"]) == 0
    out = capsys.readouterr().out
    assert f"HOIKIT_MODELS: {tmp_path}" in out
    for role in ROLE_NAMES:
        assert f"{role}: in use" in out
    assert f"HOIKIT_MODELS: {tmp_path / 'sam2' / 'sam2.1_hiera_tiny.pt'}" in out


def test_torchvision_importable_when_installed():
    if package_status("torchvision", import_check=False).ok is False:
        pytest.skip("torchvision is not installed (adapter extras absent)")
    from hoikit.models.packages import import_package, torchvision_has_ops

    tv = import_package("torchvision")
    import torch

    out = tv.transforms.Normalize([0.5] * 3, [0.25] * 3)(torch.full((3, 2, 2), 0.75))
    assert torch.allclose(out, torch.ones(3, 2, 2))
    st = package_status("torchvision")
    assert st.ok and (st.note != "") == (torchvision_has_ops() is False)


def test_help_lists_models():
    import subprocess

    out = subprocess.run([sys.executable, "-m", "hoikit", "models", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for flag in ("--json", "--sam2", "--hunyuan", "--flux-kontext", "--segmentation", "--no-import-check"):
        assert flag in out.stdout, flag
