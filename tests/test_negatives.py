"""``avsol eval --negatives`` (SPEC 5 audio dependence): hand-computed cases for the
metrics, the off-screen picker, the runner with fake models, the pipeline's shared visual
pass with a real tiny model, and the CLI end to end on a tiny synthetic set."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from model_core.errors import InputError
from model_core.evaluation import EvalOptions, run_eval
from model_core.evaluation.distributed import Dist
from model_core.evaluation.negatives import OffscreenPicker, frame_classes
from model_core.formats import AvsolE, Box, Segment, VideoAnnotation, save_avsol_e
from model_core.inference import VideoMaps

from fakes import FakeModel
from model_core.metrics.negatives import item_negatives, negatives_summary, roc_auc

CLASSES = ["bell", "drum", "horn"]
LEFT = np.zeros((7, 7), np.float32)
LEFT[:, :3] = 0.9                     # a map lit on the left (own audio)
QUIET = np.full((7, 7), 0.1, np.float32)


# -- metrics, by hand ------------------------------------------------------------------
def test_roc_auc_by_hand():
    assert roc_auc([0.8, 0.8], [0.8, 0.8]) == 0.5              # identical scores: chance
    assert roc_auc([1, 1, 1], [0, 0, 0]) == 1.0
    assert roc_auc([0.0], [1.0]) == 0.0
    # pairs (p, n): (0.9,0.1) 1, (0.9,0.5) 1, (0.5,0.1) 1, (0.5,0.5) 0.5 -> 3.5 / 4
    assert roc_auc([0.9, 0.5], [0.1, 0.5]) == pytest.approx(0.875)
    assert roc_auc([], [0.1]) is None


def test_item_figures_by_hand():
    own = np.stack([LEFT, LEFT])
    same = item_negatives(own, {"silence": own}, {"silence": [0.9, 0.9]})
    assert same[0]["silence"] == {"p_avc": pytest.approx(0.9), "pia": pytest.approx(same[0]["silence"]["pia"]),
                                  "map_iou": 1.0, "map_change": 0.0}
    quiet = item_negatives(own, {"noise": np.stack([QUIET, QUIET])}, {"noise": [0.1, 0.1]},
                           threshold="fixed:0.5")[0]["noise"]
    # the quiet map predicts nothing under fixed:0.5 (IoU 0 with the lit left part), no
    # pixel above 0.5, and changes by |0.9-0.1| on the lit part, 0 elsewhere (raw maps,
    # bilinear resize: the left 3/7 lit in the middle, so between 0.8 * 2/7 and 0.8 * 3/7)
    assert quiet["map_iou"] == 0.0 and quiet["pia"] == 0.0
    assert 0.8 * 2 / 7 < quiet["map_change"] < 0.8 * 3.5 / 7


def test_items_heard_on_silence_are_left_out_of_the_summary():
    from model_core.metrics.items import ItemResult

    def item(p, neg_p, silent):
        return ItemResult("v.mp4", 0.5, "h", 0, 1, "scored", event=True, p_avc=p, silent_audio=silent,
                          negatives={"silence": {"p_avc": neg_p, "pia": 0.0, "map_iou": 1.0, "map_change": 0.0}})

    # the two items with sound separate perfectly; with the mute one (its own audio is
    # silence too) ROC-AUC would be (1+1+1 + 1+1+1 + 1+1+0.5) / 9 = 8.5 / 9
    s = negatives_summary([item(0.9, 0.1, False), item(0.8, 0.2, False), item(0.5, 0.5, True)])
    assert s["silence"]["roc_auc"] == 1.0 and s["silence"]["n_items"] == 2
    assert roc_auc([0.9, 0.8, 0.5], [0.1, 0.2, 0.5]) == pytest.approx(8.5 / 9)   # what it was


# -- the off-screen picker -------------------------------------------------------------
def _video(name, cat, labels=(), path="x.mp4"):
    from model_core.evaluation.dataset import EvalVideo

    seg = Segment(0, 1, 0.5, True, sounding=(Box(0, 0, 0.5, 1, cat),),
                  silent=tuple(Box(0.5, 0, 1, 1, lab) for lab in labels))
    return EvalVideo(name, Path(path) if path else None, cat, (seg, Segment(1, 2, 1.5, False)))


def test_offscreen_picker_never_picks_a_class_in_the_frame_and_is_seeded():
    vids = [_video("a.mp4", "bell", labels=("drum",)), _video("b.mp4", "drum"), _video("c.mp4", "horn"),
            _video("d.mp4", "bell"), _video("e.mp4", "horn")]
    p = OffscreenPicker(vids, seed=3)
    for v in vids:
        present = frame_classes(v, v.segments[0])
        for draw in range(20):
            other, seg = p.pick(v, v.segments[0], draw)
            assert other.category not in present and other.name != v.name and seg.event
    # a (bell + silent drum) may only hear horn
    assert {p.pick(vids[0], vids[0].segments[0], d)[0].name for d in range(20)} == {"c.mp4", "e.mp4"}
    again = OffscreenPicker(vids, seed=3)
    picks = [p.pick(v, v.segments[0], d)[0].name for v in vids for d in range(5)]
    assert picks == [again.pick(v, v.segments[0], d)[0].name for v in vids for d in range(5)]
    other_seed = OffscreenPicker(vids, seed=4)
    assert picks != [other_seed.pick(v, v.segments[0], d)[0].name for v in vids for d in range(5)]


def test_offscreen_picker_fails_clearly_without_a_candidate():
    vids = [_video("a.mp4", "bell", labels=("drum",)), _video("b.mp4", "drum"),
            _video("c.mp4", "horn", path=None)]          # the only horn video is absent
    with pytest.raises(InputError, match=r"a\.mp4 at 0\.5 s .*bell, drum.*off-screen"):
        OffscreenPicker(vids, source="ann.json").check(vids)


def test_offscreen_picker_never_uses_a_video_without_sound_and_names_it():
    vids = [_video("a.mp4", "bell", path="a.mp4"), _video("b.mp4", "drum", path="b.mp4"),
            _video("c.mp4", "horn", path="c.mp4"), _video("d.mp4", "drum", path="d.mp4")]
    mute = {"b.mp4", "c.mp4"}
    p = OffscreenPicker(vids, seed=3, has_sound=lambda path: str(path) not in mute,
                        is_silent=lambda path, t: False)
    assert p.without_sound == ["b.mp4", "c.mp4"]
    assert {p.pick(vids[0], vids[0].segments[0], d)[0].name for d in range(30)} == {"d.mp4"}
    assert "2 video(s) without a sound track, never used as off-screen sound: b.mp4, c.mp4" in p.report_note()
    # the drum video d's only candidates without its class are a (bell) and the mute c (horn)
    assert {p.pick(vids[3], vids[3].segments[0], d)[0].name for d in range(30)} == {"a.mp4"}
    # with every other class mute, the error says why
    q = OffscreenPicker(vids, has_sound=lambda path: str(path) == "a.mp4", source="ann.json")
    with pytest.raises(InputError, match=r"3 video\(s\) without a sound track left out"):
        q.check(vids)


def test_offscreen_picker_passes_over_silent_windows_and_keeps_other_picks():
    vids = [_video("a.mp4", "bell"), _video("b.mp4", "drum", path="b.mp4"), _video("c.mp4", "horn", path="c.mp4"),
            _video("e.mp4", "horn", path="e.mp4")]
    heard = []

    def is_silent(path, t):
        heard.append(str(path))
        return str(path) == "c.mp4"

    plain = OffscreenPicker(vids, seed=3, has_sound=lambda p: True, is_silent=lambda p, t: False)
    p = OffscreenPicker(vids, seed=3, has_sound=lambda p: True, is_silent=is_silent)
    for d in range(30):
        got = p.pick(vids[0], vids[0].segments[0], d)[0].name
        assert got != "c.mp4"
        was = plain.pick(vids[0], vids[0].segments[0], d)[0].name
        assert was == "c.mp4" or got == was                # a pick with sound is the same as before
    assert heard.count("c.mp4") == 1                       # each window heard once
    p.check(vids)                                          # check reads no audio
    assert len(heard) == len(set(heard))
    everything_silent = OffscreenPicker(vids, has_sound=lambda p: True, is_silent=lambda p, t: True)
    with pytest.raises(InputError, match="is digital silence"):
        everything_silent.pick(vids[1], vids[1].segments[0])


def test_eval_negatives_report_names_the_videos_without_sound(tmp_path):
    from media_helpers import make_clip

    root = make_set(tmp_path)
    for i in range(6):                       # real clips: v1 (a drum) without a sound track
        make_clip(root / "videos" / f"v{i}.mp4", n_frames=10, fps=10.0, size=(32, 32), with_audio=i != 1)
    res = _run(root, FakeLocalize(deaf=False))
    assert res.report["meta"]["negatives"]["videos_without_sound"] == ["v1.mp4"]
    assert any("1 video(s) without a sound track, never used as off-screen sound: v1.mp4" in n
               for n in res.report["notes"])
    rows = [r for r in res.report["items"] if r["kind"] == "event"]
    picks = {e["source"] for r in rows for name, e in r["negatives"].items() if name.startswith("offscreen")}
    assert picks and not any(s.startswith("v1.mp4@") for s in picks)


# -- the runner with fake models -------------------------------------------------------
class FakeLocalize:
    """``deaf``: the same map and p_avc whatever the audio; otherwise p_avc 1 with the own
    audio and 0 with any negative, and a quiet map for negatives."""

    def __init__(self, deaf):
        self.deaf = deaf
        self.negatives_seen = []

    def __call__(self, locs, path, times, cancel=None, negatives=None, **kw):
        n = len(times)
        self.negatives_seen.append(sorted(negatives or {}))
        out = {}
        for loc in locs:
            vm = VideoMaps(np.asarray(times, float), np.stack([LEFT] * n),
                           np.full(n, 0.7 if self.deaf else 1.0, np.float32),
                           np.tile(np.array([0.8, 0.1, 0.1], np.float32), (n, 1)), False)
            for name in negatives or {}:
                vm.negatives[name] = ({"maps": vm.maps.copy(), "p_avc": vm.p_avc.copy()} if self.deaf else
                                      {"maps": np.stack([QUIET] * n), "p_avc": np.zeros(n, np.float32)})
            out[loc.name] = vm
            for src in (negatives or {}).values():
                src.close()
        return out


def make_set(root: Path) -> Path:
    vids = []
    for i in range(6):
        name = f"v{i}.mp4"
        cat = CLASSES[i % 3]
        vids.append(VideoAnnotation(name, cat, (
            Segment(0, 1, 0.5, True, sounding=(Box(0, 0, 0.5, 1, cat),)),
            Segment(1, 2, 1.5, False))))
        (root / "videos").mkdir(parents=True, exist_ok=True)
        (root / "videos" / name).write_bytes(b"not decoded by the fake")
    save_avsol_e(AvsolE(tuple(CLASSES), tuple(vids)), root / "avsol-e.json")
    return root


def _run(root, fake, neg={"offscreen_draws": 2}, **opts):
    return run_eval(root, [], root / "r.json", EvalOptions(negatives=True, **neg, csv=str(root / "r.csv"), **opts),
                    localizers=[FakeModel("a", classes=CLASSES), FakeModel("c", "cls", classes=CLASSES)], localize=fake, dist=Dist(),
                    err=io.StringIO(), stdout=io.StringIO())


def test_a_head_that_ignores_the_sound(tmp_path):
    fake = FakeLocalize(deaf=True)
    res = _run(make_set(tmp_path), fake)
    assert fake.negatives_seen[0] == ["noise", "offscreen", "offscreen#2", "silence"]
    for h in res.report["heads"].values():
        neg = h["negatives"]
        assert set(neg) == {"silence", "noise", "offscreen"}
        for kind, s in neg.items():
            assert s["roc_auc"] == 0.5 and s["map_iou"] == 1.0 and s["map_change"] == 0.0
            assert s["false_alarm"] == 1.0 and s["n_items"] == 6
        assert neg["offscreen"]["n_draws"] == 12 and neg["silence"]["n_draws"] == 6
        assert set(h["per_class"]["bell"]["negatives"]) == {"silence", "noise", "offscreen"}
        assert h["per_class"]["bell"]["negatives"]["silence"]["n_items"] == 2
    assert any("cls head never trains" in n for n in res.report["notes"])
    assert res.report["meta"]["negatives"]["offscreen_draws"] == 2


def test_a_head_that_follows_the_sound(tmp_path):
    res = _run(make_set(tmp_path), FakeLocalize(deaf=False), threshold="fixed:0.5")
    for h in res.report["heads"].values():
        for s in h["negatives"].values():
            assert s["roc_auc"] == 1.0 and s["false_alarm"] == 0.0
            assert s["map_iou"] == 0.0 and s["pia"] == 0.0 and s["map_change"] > 0.2
    rows = [r for r in res.report["items"] if r["kind"] == "event"]
    assert all(r["negatives"]["offscreen"]["source"].endswith("@0.5") for r in rows)
    bg = [r for r in res.report["items"] if r["kind"] == "background"]
    assert bg and all(r["negatives"] is None for r in bg)
    with open(tmp_path / "r.csv") as f:
        table = list(csv.DictReader(f))
    ev = [r for r in table if r["kind"] == "event"]
    assert float(ev[0]["neg_silence_p_avc"]) == 0.0 and float(ev[0]["neg_offscreen_map_iou"]) == 0.0


def test_resume_keeps_the_negative_passes_and_refuses_other_settings(tmp_path):
    root = make_set(tmp_path)
    first = _run(root, FakeLocalize(deaf=False))
    fake = FakeLocalize(deaf=False)
    again = _run(root, fake, resume=True)
    assert fake.negatives_seen == []                     # nothing redone
    assert again.report["heads"]["a"]["negatives"] == first.report["heads"]["a"]["negatives"]
    with pytest.raises(InputError, match="other checkpoints, annotations or settings"):
        _run(root, FakeLocalize(deaf=False), neg={"noise_level": "unit"}, resume=True)


# -- the real pipeline: one visual pass, the same maps as separate runs ----------------
def test_pipeline_negatives_equal_separate_runs(tmp_path, make_tiny_checkpoint):
    from media_helpers import make_clip
    from model_core.inference import Localizer, localize_many
    from model_core.inference.audio_sources import AudioSpec, SilenceAudio, WindowNoiseAudio

    ckpt = make_tiny_checkpoint(CLASSES, name="m", image_size=64, map_size=4)
    sound = (np.random.default_rng(0).standard_normal(32000) * 0.2).astype(np.float32)
    clip = make_clip(tmp_path / "clip.mp4", n_frames=50, fps=25.0, audio=sound)
    loc = Localizer(ckpt, device="cpu", batch_size=4)
    times = [0.5, 1.5, 0.2]
    calls = []      # frames through the visual trunk (the torch backend runs the model's own)
    loc.model.visual_trunk.register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
    both = localize_many([loc], clip, times, negatives={"silence": SilenceAudio(),
                                                        "noise": WindowNoiseAudio(clip, "rms", 0)})["m"]
    assert sum(calls) == 3                               # the visual trunk once per frame
    own = localize_many([loc], clip, times)["m"]
    silent = localize_many([loc], clip, times, audio=AudioSpec("silence"))["m"]
    np.testing.assert_allclose(both.maps, own.maps, atol=1e-5)
    np.testing.assert_allclose(both.negatives["silence"]["maps"], silent.maps, atol=1e-5)
    np.testing.assert_allclose(both.negatives["silence"]["p_avc"], silent.p_avc, atol=1e-5)
    noisy = both.negatives["noise"]["maps"]
    assert noisy.shape == own.maps.shape and not np.allclose(noisy, own.maps)
    # the noise built from the own window the decoder read = the noise source read alone
    alone = localize_many([loc], clip, times, audio=WindowNoiseAudio(clip, "rms", 0))["m"]
    np.testing.assert_allclose(noisy, alone.maps, atol=1e-5)
    # the noise is at the RMS of the item's own window
    src = WindowNoiseAudio(clip, "rms", 0)
    w = src.window(0.5)
    assert np.sqrt(np.mean(w.astype(np.float64) ** 2)) == pytest.approx(0.2, rel=0.1)
    assert WindowNoiseAudio(clip, "unit", 0).window(0.5).std() == pytest.approx(1.0, rel=0.05)
    # off-screen: another clip's window at 1.5 s; through a cache shared with a run over that
    # clip (its own window is reused, not embedded again), the same as hearing it directly
    from model_core.inference.audio_sources import PickedAudio
    from model_core.inference.audio_window import window_key
    from model_core.inference.engine import EmbeddingCache

    other = make_clip(tmp_path / "other.mp4", n_frames=50, fps=25.0, audio=sound[::-1].copy())
    cache = EmbeddingCache()
    localize_many([loc], other, [1.5], embeddings=cache)
    n_audio = []
    real_audio = loc.model.audio
    loc.model.audio = lambda x: (n_audio.append(len(x)), real_audio(x))[1]
    off = localize_many([loc], clip, [0.5], embeddings=cache,
                        negatives={"offscreen": PickedAudio({window_key(0.5): (str(other), 1.5)})})["m"]
    assert sum(n_audio) == 1                             # the clip's own window only
    direct = localize_many([loc], clip, [0.5], audio=AudioSpec("offscreen", str(other), 1.5))["m"]
    np.testing.assert_allclose(off.negatives["offscreen"]["maps"], direct.maps, atol=1e-5)


def test_cli_options_need_negatives(tmp_path, capsys):
    from model_core.cli import main

    rc = main(["eval", str(tmp_path), "--checkpoint", "x.pt", "--out", str(tmp_path / "r.json"),
               "--offscreen-draws", "2"])
    assert rc == 2 and "--offscreen-draws applies only with --negatives" in capsys.readouterr().err
    rc = main(["eval", str(tmp_path), "--checkpoint", "x.pt", "--out", str(tmp_path / "r.json"),
               "--negatives", "--noise-level", "loud"])
    assert rc == 2


@pytest.mark.slow
def test_cli_negatives_end_to_end(tmp_path, capsys, synth_set, make_tiny_checkpoint):
    from model_core.cli import main
    from model_core.formats import load_avsol_e

    data = synth_set(seed=5, videos=6, classes=6, fps=None)
    classes = load_avsol_e(data / "avsol-e.json").classes
    ckpt = make_tiny_checkpoint(classes, "cls", image_size=64, map_size=4)
    capsys.readouterr()
    out = tmp_path / "r.json"
    args = ["eval", str(data), "--checkpoint", str(ckpt), "--out", str(out),
            "--negatives", "--csv", str(tmp_path / "r.csv")]
    assert main(args) == 0
    printed = capsys.readouterr().out
    rep = json.loads(out.read_text())
    neg = rep["heads"]["cls"]["negatives"]
    assert set(neg) == {"silence", "noise", "offscreen"}
    for s in neg.values():
        assert set(s) >= {"roc_auc", "false_alarm", "pia", "map_iou", "map_change", "n_items"}
    assert "negatives silence" in printed and "uncalibrated" in printed
    assert "class " in printed and "ROC-AUC silence" in printed
    # --resume redoes nothing and gives the same negatives
    assert main(args + ["--resume"]) == 0
    assert json.loads(out.read_text())["heads"]["cls"]["negatives"] == neg
    # a set whose frames show every class has no off-screen sound: one clear line, exit 2
    every_class = synth_set(seed=5, videos=3, classes=3, fps=None)
    capsys.readouterr()
    assert main(["eval", str(every_class), "--checkpoint", str(ckpt), "--negatives",
                 "--out", str(tmp_path / "all.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "off-screen negative needs one" in err[0]
