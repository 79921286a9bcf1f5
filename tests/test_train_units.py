"""Training building blocks: schedule, plain-data state, segment index, feature cache."""
from __future__ import annotations

import io
import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from model_core.cli import main
from model_core.errors import InputError
from model_core.train.dataset import load_training_data
from model_core.train.feature_cache import FeatureCache, build_entries, compute_video
from model_core.train.options import model_settings
from model_core.train.schedule import default_warmup, lr_at
from model_core.train.state import is_plain, rng_state, set_rng_state, step_generator


@pytest.fixture(scope="module")
def tiny(synth_set, tmp_path_factory) -> Path:
    """Seed 5's 6 videos (the picks below are its videos), copied: the cache goes beside it."""
    return synth_set(seed=5, videos=6, copy_to=tmp_path_factory.mktemp("train_units") / "set")


def test_schedule_by_hand():
    # warm-up: base * (step + 1) / warmup
    assert lr_at(0, 1.0, 10, 4) == pytest.approx(0.25)
    assert lr_at(3, 1.0, 10, 4) == pytest.approx(1.0)
    # cosine from step 4 (progress 0) to step 10 (progress 1), floor 0.01
    assert lr_at(4, 1.0, 10, 4) == pytest.approx(1.0)
    assert lr_at(7, 1.0, 10, 4) == pytest.approx(0.01 + 0.99 * 0.5)
    assert lr_at(10, 1.0, 10, 4) == pytest.approx(0.01)
    assert lr_at(50, 1.0, 10, 4) == pytest.approx(0.01)
    lrs = [lr_at(s, 2e-3, 100, 5) for s in range(100)]
    assert all(b <= a for a, b in zip(lrs[4:], lrs[5:]))  # non-increasing after warm-up
    assert default_warmup(10) == 1 and default_warmup(1000) == 50 and default_warmup(10**6) == 500


def test_rng_state_round_trip_through_weights_only_load():
    state = {"rng": rng_state(), "opt": torch.optim.AdamW(torch.nn.Linear(2, 2).parameters()).state_dict()}
    assert is_plain(state)
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)
    set_rng_state(loaded["rng"])
    first = (random.random(), np.random.rand(), torch.rand(3))
    set_rng_state(loaded["rng"])
    again = (random.random(), np.random.rand(), torch.rand(3))
    assert first[:2] == again[:2] and torch.equal(first[2], again[2])
    assert not is_plain({"x": np.zeros(2)}) and not is_plain({"x": (1, object())})


def test_step_generator_is_a_function_of_seed_rank_step():
    a = torch.rand(4, generator=step_generator(1, 0, 7))
    assert torch.equal(a, torch.rand(4, generator=step_generator(1, 0, 7)))
    assert not torch.equal(a, torch.rand(4, generator=step_generator(1, 1, 7)))
    assert not torch.equal(a, torch.rand(4, generator=step_generator(1, 0, 8)))


def test_positives_follow_the_annotations(tiny):
    data = load_training_data(tiny)
    # expected by hand from Annotations.txt: rows Category&VideoID&Quality&Start&End
    rows = [ln.split("&") for ln in (tiny / "Annotations.txt").read_text().splitlines()[1:] if ln]
    split_ids = {s: {ln.split("&")[1] for ln in (tiny / f"{s}Set.txt").read_text().splitlines()[1:] if ln}
                 for s in ("train", "val", "test")}
    for split in ("train", "val", "test"):
        expect = sorted((r[1], k, r[0]) for r in rows if r[1] in split_ids[split]
                        for k in range(int(r[3]), int(r[4])))
        got = sorted((data.videos[it.video].video_id, it.segment, data.classes[it.label])
                     for it in data.positives(split))
        assert got == expect
    assert list(data.classes) == __import__("json").loads((tiny / "avsol-e.json").read_text())["classes"]
    it = data.positives("val")[0]
    seg = data.box_segment(it)
    assert seg is not None and seg.frame_time == it.segment + 0.5 and seg.sounding


def test_training_data_errors(tmp_path, tiny):
    with pytest.raises(InputError):
        load_training_data(tmp_path / "nope")
    (tmp_path / "Annotations.txt").write_text("a&b&good&0&1\n")
    with pytest.raises(InputError, match="train"):
        load_training_data(tmp_path)


def test_feature_cache_matches_the_media_layer_and_is_keyed_by_content(tiny, tmp_path):
    from model_core.features import log_mel
    from model_core.media.audio import read_audio
    from model_core.media.frames import VideoReader

    video = sorted((tiny / "videos").glob("*.mp4"))[0]
    cache = FeatureCache(tmp_path / "cache", 32)
    keys, failures = build_entries(cache, [video])
    assert not failures
    entry = cache.open(keys[0])
    assert entry.frames.shape == (3, 32, 32, 3) and entry.mels.shape == (3, 1, 64, 101)
    assert entry.valid.all() and entry.has_audio
    with VideoReader(video) as r:
        np.testing.assert_array_equal(entry.frames[1], r.read_at_time(1.5, size=(32, 32)))
    window = read_audio(video, 1.0, 2.0)
    np.testing.assert_allclose(entry.mels[1], log_mel(window).numpy(), atol=1e-4)
    # a copy under another name hits the same entry; changed bytes miss it
    copy = tmp_path / "renamed.mp4"
    copy.write_bytes(video.read_bytes())
    assert cache.key_for(copy) == keys[0]
    copy.write_bytes(video.read_bytes() + b"\0")
    assert cache.key_for(copy) != keys[0]
    assert FeatureCache(tmp_path / "cache", 48).key_for(video) != keys[0]  # settings count
    # a second build decodes nothing
    calls = []
    import model_core.train.feature_cache as fc

    orig = fc.compute_video
    fc.compute_video = lambda *a, **k: calls.append(a) or orig(*a, **k)
    try:
        build_entries(FeatureCache(tmp_path / "cache", 32), [video])
    finally:
        fc.compute_video = orig
    assert calls == []


def test_undecodable_video_is_reported_not_fatal(tiny, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    good = sorted((tiny / "videos").glob("*.mp4"))[0]
    keys, failures = build_entries(FeatureCache(tmp_path / "c", 32), [bad, good])
    assert keys[0] is None and keys[1] is not None and "bad.mp4" in failures
    with pytest.raises(InputError):
        compute_video(bad, 32)


def test_model_settings_presets_and_checks(tmp_path):
    assert model_settings("tiny")["image_size"] == 64
    assert model_settings("demo", {"width": 24})["audio_width"] == 24
    with pytest.raises(InputError, match="map size"):
        model_settings("demo", {"map_size": 14})  # 112 px gives 7 or 3.5, not 14
    with pytest.raises(InputError, match="unknown"):
        model_settings("huge")
    f = tmp_path / "cfg.json"
    f.write_text('{"width": 8, "layers": [1, 1, 1, 1], "image_size": 64, "map_size": 2, "num_classes": 9}')
    assert model_settings(str(f))["map_size"] == 2


def _copy_set(tiny: Path, dest: Path, train: list[str] | None = None, val: bool = True,
              zero_length: bool = False) -> Path:
    """A copy of the tiny set with another train split, no val split, or every event
    row made zero-length (Start = End)."""
    import shutil

    shutil.copytree(tiny, dest)
    header = "Category&VideoID&Quality&StartTime&EndTime\n"
    rows = [ln.split("&") for ln in (dest / "Annotations.txt").read_text().splitlines()[1:] if ln]
    if train is not None:
        (dest / "trainSet.txt").write_text(header + "".join("&".join(r) + "\n" for r in rows if r[1] in train))
    if not val:
        (dest / "valSet.txt").unlink()
    if zero_length:
        text = header + "".join("&".join(r[:4] + [r[3]]) + "\n" for r in rows)
        for name in ("Annotations.txt", "trainSet.txt", "valSet.txt"):
            ids = {ln.split("&")[1] for ln in (dest / name).read_text().splitlines()[1:] if ln}
            (dest / name).write_text(header + "".join(ln + "\n" for ln in text.splitlines()[1:]
                                                      if ln.split("&")[1] in ids))
    return dest


def test_one_class_train_split_is_refused_for_avc_and_dnm_and_a_warning_for_cls(tiny, tmp_path):
    from model_core.train.dataset import check_training_set

    one = _copy_set(tiny, tmp_path / "one", train=["synth_00001", "synth_00004"])  # both blue triangles
    data = load_training_data(one)
    assert {data.classes[it.label] for it in data.positives("train")} == {"blue dotted triangle"}
    for head in ("avc", "dnm"):
        with pytest.raises(InputError, match="one class \\('blue dotted triangle'\\): head " + head):
            check_training_set(data, head)
    warnings = check_training_set(data, "cls")
    assert len(warnings) == 1 and "cls_acc will be 1" in warnings[0]
    assert check_training_set(load_training_data(tiny), "avc") == []      # the full set: nothing to say


def test_no_validation_segment_is_a_warning_and_refuses_select_best(tiny, tmp_path):
    from model_core.train.dataset import check_training_set

    data = load_training_data(_copy_set(tiny, tmp_path / "noval", val=False))
    assert check_training_set(data, "avc") == ["no valSet.txt: no validation figures will be reported"]
    with pytest.raises(InputError, match="--select-best ciou@0.5 needs validation segments: no valSet.txt"):
        check_training_set(data, "avc", select_best="ciou@0.5")
    full = load_training_data(tiny)
    undecodable = check_training_set(full, "avc", train_items=full.positives("train"), val_items=[])
    assert undecodable == ["no event segment of a val-split video could be decoded: no validation figures "
                           "will be reported"]


def test_only_zero_length_events_are_named(tiny, tmp_path):
    with pytest.raises(InputError, match="every event of the 4 train-split video\\(s\\) is zero-length"):
        load_training_data(_copy_set(tiny, tmp_path / "zero", zero_length=True))


@pytest.mark.parametrize("head, words", [("avc", "one class"), ("dnm", "one class")])
def test_train_cli_names_an_impossible_set_in_one_line_before_any_work(tiny, tmp_path, capsys, head, words):
    one = _copy_set(tiny, tmp_path / "one", train=["synth_00001", "synth_00004"])
    rc = main(["train", str(one), "--head", head, "--epochs", "1", "--out", str(tmp_path / "m.pt"),
               "--cache", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert rc == 2 and words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "cache").exists() and not (tmp_path / "m.pt").exists()   # nothing decoded


@pytest.mark.slow
def test_train_cli_warns_of_a_set_without_validation(tiny, tmp_path, capsys):
    noval = _copy_set(tiny, tmp_path / "noval", val=False)
    rc = main(["train", str(noval), "--head", "cls", "--epochs", "1", "--out", str(tmp_path / "m.pt"),
               "--cache", str(tmp_path / "cache"), "--config", "tiny", "--batch-size", "4"])
    out = capsys.readouterr().out
    assert rc == 0 and "warning: no valSet.txt: no validation figures will be reported" in out


def test_grad_clip_by_hand():
    """--grad-clip NORM: the global L2 norm of the gradients after clipping is NORM (when it
    was above), each gradient scaled by the same factor; below NORM nothing changes."""
    from types import SimpleNamespace

    from model_core.train.loop import Trainer

    lin = torch.nn.Linear(2, 1, bias=True)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 1.0]]))
        lin.bias.zero_()
    # loss = w . x + b with x = (3, 0): dL/dw = (3, 0), dL/db = 4 * 1 through the scale below
    loss = lin(torch.tensor([[3.0, 0.0]])).sum() + 3.0 * lin.bias.sum()
    loss.backward()
    assert lin.weight.grad.tolist() == [[3.0, 0.0]] and lin.bias.grad.tolist() == [4.0]   # norm 5
    fake = SimpleNamespace(model=lin, opts=SimpleNamespace(grad_clip=2.0))
    before = Trainer._clip_gradients(fake)
    assert before.item() == pytest.approx(5.0)
    # scaled by 2 / 5: (1.2, 0) and 1.6, whose norm is 2
    assert lin.weight.grad.flatten().tolist() == pytest.approx([1.2, 0.0]) and lin.bias.grad.tolist() == pytest.approx([1.6])
    norm = math.sqrt(sum(float((p.grad ** 2).sum()) for p in lin.parameters()))
    assert norm == pytest.approx(2.0)
    fake.opts.grad_clip = 10.0   # already below: unchanged
    assert Trainer._clip_gradients(fake).item() == pytest.approx(2.0)
    assert lin.weight.grad.flatten().tolist() == pytest.approx([1.2, 0.0]) and lin.bias.grad.tolist() == pytest.approx([1.6])
