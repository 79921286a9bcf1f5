"""Pairing levers against scene memorisation (model_core.train.pairs): absent-class
negatives, silent-object swaps, and a resumed run with both reaching the same weights."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model_core.cli import main
from model_core.model.checkpoint import load_checkpoint
from model_core.train.dataset import SegmentItem, load_training_data
from model_core.train.loop import Trainer
from model_core.train.options import PRESETS, TrainOptions
from model_core.train.pairs import pick_absent_negatives, swap_silent, visible_classes, visible_mask


def test_absent_negatives_never_pick_a_visible_class():
    # item 0 shows classes 0 and 2; item 1 shows 1; item 2 shows 2 and 1; item 3 shows 3
    visible = visible_mask([(0, (2,)), (1, ()), (2, (1,)), (3, ())], 4)
    assert visible.tolist() == [[True, False, True, False], [False, True, False, False],
                                [False, True, True, False], [False, False, False, True]]
    labels = torch.tensor([0, 1, 2, 3])
    seen = {i: set() for i in range(4)}
    for s in range(200):
        neg = pick_absent_negatives(visible, labels, torch.Generator().manual_seed(s))
        for i, j in enumerate(neg.tolist()):
            seen[i].add(j)
    # by hand: frame 0 may take audio 1 or 3 (not 0: itself, not 2: class 2 visible);
    # frame 1: 0, 2, 3; frame 2: 0, 3 (1 and 2 visible); frame 3: 0, 1, 2
    assert seen == {0: {1, 3}, 1: {0, 2, 3}, 2: {0, 3}, 3: {0, 1, 2}}


def test_absent_negatives_minus_one_when_every_class_is_visible():
    visible = visible_mask([(0, (1,)), (1, (0,))], 2)
    neg = pick_absent_negatives(visible, torch.tensor([0, 1]), torch.Generator().manual_seed(0))
    assert neg.tolist() == [-1, -1]


def test_swap_silent_pairs_a_frame_with_its_silent_objects_sound():
    items = [SegmentItem(0, 0, 0), SegmentItem(1, 0, 1)]
    visible = [(0, (2,)), (1, ())]
    by_class = {2: [SegmentItem(7, 3, 2)], 1: [items[1]]}
    audio, labels = swap_silent(items, visible, by_class, 1.0, torch.Generator().manual_seed(0))
    assert audio == [SegmentItem(7, 3, 2), items[1]] and labels == [2, 1]   # item 1: no silent object
    audio, labels = swap_silent(items, visible, by_class, 0.0, torch.Generator().manual_seed(0))
    assert audio == items and labels == [0, 1]
    # p = 0.5: about half of the eligible items swap
    n = sum(swap_silent(items, visible, by_class, 0.5, torch.Generator().manual_seed(s))[1][0] == 2
            for s in range(400))
    assert 160 < n < 240


@pytest.fixture(scope="module")
def tiny(synth_set, tmp_path_factory) -> Path:
    """The session's synthetic set, copied: the feature cache goes beside it."""
    return synth_set(copy_to=tmp_path_factory.mktemp("train_pairs") / "set")


def test_visible_classes_come_from_the_silent_boxes(tiny):
    data = load_training_data(tiny)
    items = data.positives("train")
    vis = visible_classes(data, items)
    for it, (label, silent) in zip(items, vis):
        seg = data.box_segment(it)
        assert label == it.label
        assert set(silent) == {data.classes.index(b.label) for b in seg.silent} - {it.label}
    assert any(silent for _, silent in vis)


@pytest.mark.slow
def test_resume_with_both_levers_reaches_the_same_weights(tiny, tmp_path):
    def opts(out, **kw):
        return TrainOptions(data=str(tiny), head="dnm", epochs=2, out=str(out), device="cpu", batch_size=4,
                            model=dict(PRESETS["tiny"]), save_every=2, log_every=1,
                            cache=str(tiny.parent / "cache"), threads=1, absent_negatives=True,
                            swap_silent=0.5, **kw)

    straight = Trainer(opts(tmp_path / "a.pt")).run()
    cut = Trainer(opts(tmp_path / "b.pt", stop_after_steps=3)).run()
    assert cut["stopped"]
    resumed = Trainer(opts(tmp_path / "b.pt", resume=True)).run()
    a, b = load_checkpoint(tmp_path / "a.pt"), load_checkpoint(tmp_path / "b.pt")
    for k in a.state_dict:
        assert torch.equal(a.state_dict[k], b.state_dict[k]), k
    assert straight["history"] == resumed["history"]
    assert straight["options"]["absent_negatives"] is True and straight["options"]["swap_silent"] == 0.5
    # a run without the levers draws other pairs: other weights
    plain = Trainer(TrainOptions(data=str(tiny), head="dnm", epochs=2, out=str(tmp_path / "c.pt"),
                                 device="cpu", batch_size=4, model=dict(PRESETS["tiny"]),
                                 cache=str(tiny.parent / "cache"), threads=1)).run()
    assert "absent_negatives" not in plain["options"]
    c = load_checkpoint(tmp_path / "c.pt")
    assert any(not torch.equal(a.state_dict[k], c.state_dict[k]) for k in a.state_dict)


def test_bad_swap_probability_exits_2(tiny, tmp_path, capsys):
    assert main(["train", str(tiny), "--head", "dnm", "--epochs", "1", "--out", str(tmp_path / "x.pt"),
                 "--swap-silent", "1.5"]) == 2
    err = capsys.readouterr().err  # refused by the option parser, before any work
    assert "--swap-silent" in err and "must be <= 1, got 1.5" in err and len(err.strip().splitlines()) == 1


def test_val_limit_validates_on_a_fixed_subset(tiny, tmp_path):
    def run(out, seed, limit):
        return Trainer(TrainOptions(data=str(tiny), head="avc", epochs=1, out=str(tmp_path / out), device="cpu",
                                    batch_size=4, model=dict(PRESETS["tiny"]), cache=str(tiny.parent / "cache"),
                                    threads=1, seed=seed, val_limit=limit)).run()

    full = run("a.pt", 0, None)
    a, b = run("b.pt", 0, 2), run("c.pt", 1, 2)
    assert full["val_segments"] > 2 and a["val_segments"] == b["val_segments"] == 2
    assert a["val"]["n"] == 2 and a["options"]["val_limit"] == 2


def test_random_crops_by_hand():
    from model_core.train.augment import random_crops

    # a frame whose left half is black and right half white: a crop keeps values in [0, 1],
    # and scale 1 (the whole frame) returns it unchanged
    f = torch.zeros((1, 3, 8, 8), dtype=torch.uint8)
    f[..., 4:] = 255
    whole = random_crops(f, 1.0, torch.Generator().manual_seed(0))
    ratio_whole = whole.mean().item()
    out = random_crops(f.repeat(50, 1, 1, 1), 0.3, torch.Generator().manual_seed(1))
    assert out.shape == (50, 3, 8, 8) and out.dtype == torch.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert not torch.allclose(out, out[:1].expand_as(out))        # crops differ per item
    a = random_crops(f.repeat(4, 1, 1, 1), 0.3, torch.Generator().manual_seed(2))
    b = random_crops(f.repeat(4, 1, 1, 1), 0.3, torch.Generator().manual_seed(2))
    assert torch.equal(a, b)                                      # a function of the generator
    # scale 1 with aspect ratio != 1 still crops one side; the mean stays about half
    assert 0.3 < ratio_whole < 0.7
