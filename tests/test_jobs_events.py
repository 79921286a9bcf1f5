"""The job protocol (``model_core.jobs.events``): every kind survives the wire, and a line that
is not an event of a known kind and version is one clear error, never a traceback."""
from __future__ import annotations

import json

import pytest

from model_core.jobs.events import (KINDS, VERSION, Done, Epoch, Error, EventError, Item, Log, Progress, Start,
                                    Step, parse)

ONE_OF_EACH = [
    Start(head="dnm", epochs=2, steps_per_epoch=5, total_steps=10, step=4, batch_size=8, train_segments=40,
          val_segments=6, classes=["bell", "dog"], device="cpu", world_size=2, resumed_from=4, out="m.pt"),
    Progress(done=3, total=7, items=12, video="a.mp4", elapsed_s=1.5, eta_s=2.0),
    Progress(done=0, total=9, stage="cache", folder="/c"),
    Item(row={"video": "a.mp4", "head": "avc", "time": 0.5, "kind": "event", "ciou": None, "hit": True}),
    Step(epoch=1, step=3, total_steps=10, samples_per_s=12.5, lr=1e-3, loss=0.75, l_avc=0.5, l_cls=0.25,
         avc_acc=1.0, cls_acc=0.5, grad_norm=3.0),
    Epoch(epoch=1, epochs=2, step=5, train={"loss": 0.5}, val={"ciou@0.5": 0.25}, seconds=3.0),
    Log(text="a video has no sound", level="warning"),
    Error(video="b.mp4", status="failed", error="cannot decode"),
    Done(out="m.pt", steps=10, epochs=2, samples=80, seconds=4.5, train={"loss": 0.5}, val={}),
    Done(report="r.json"),
]


def test_every_kind_round_trips():
    assert {type(e) for e in ONE_OF_EACH} == set(KINDS.values())
    for event in ONE_OF_EACH:
        line = event.to_json()
        assert "\n" not in line
        msg = json.loads(line)
        assert msg["event"] == event.kind and msg["v"] == VERSION
        assert parse(line) == event and parse(line.encode()) == event


def test_the_wire_keeps_the_flat_keys_the_readers_of_earlier_runs_know():
    assert json.loads(Done(report="r.json").to_json()) == {"event": "done", "v": 1, "report": "r.json"}
    item = json.loads(ONE_OF_EACH[3].to_json())
    assert item["video"] == "a.mp4" and item["ciou"] is None and "row" not in item
    # a None field is left out and reads back as None
    assert "eta_s" not in json.loads(Progress(done=1, total=2).to_json())


def test_a_line_of_an_earlier_run_without_a_version_still_reads():
    assert parse('{"event": "done", "report": "r.json"}') == Done(report="r.json")
    assert parse('{"event": "cache", "done": 2, "total": 5, "video": "x.mp4"}') == \
        Progress(done=2, total=5, stage="cache", video="x.mp4")
    # a field a newer writer added is ignored
    assert parse('{"event": "log", "v": 1, "text": "hi", "colour": "red"}') == Log(text="hi")


@pytest.mark.parametrize("line, problem", [
    ("{", "not a JSON line"),
    ("progress 3/4", "not a JSON line"),
    ("[1, 2]", "not an event: a JSON list"),
    ('{"done": 1}', 'no "event" field'),
    ('{"event": "launch"}', "unknown event 'launch'"),
    ('{"event": "done", "v": 2, "report": "r.json"}', "protocol version 2"),
    ('{"event": "done", "v": "1"}', "protocol version '1'"),
    ('{"event": "progress", "v": 1, "done": "three", "total": 4}', "field 'done' has a bad value 'three'"),
    ('{"event": "step", "v": 1, "step": 1, "loss": "nan?"}', "field 'loss'"),
    ('{"event": "epoch", "v": 1, "epoch": 1, "val": [1]}', "field 'val'"),
])
def test_a_bad_line_is_one_clear_error(line, problem):
    with pytest.raises(EventError) as err:
        parse(line, where="run.jsonl:3")
    text = str(err.value)
    assert text.startswith("run.jsonl:3: ") and problem in text and "\n" not in text
