"""The CLI's two sinks (``model_core.jobs.sinks``): ``--jsonl`` writes each event as one line
the protocol parses back; the human sink writes the lines a person read before the events
were typed."""
from __future__ import annotations

import io

from model_core.jobs.events import Done, Epoch, Error, Item, Log, Progress, Start, Step, parse
from model_core.jobs.sinks import HumanSink, JsonlSink

TRAINING = [
    Progress(stage="cache", done=0, total=30, folder="/c"),
    Progress(stage="cache", done=7, total=30, video="a.mp4"),          # not a 25th: no line
    Progress(stage="cache", done=25, total=30, video="b.mp4"),
    Progress(stage="cache", done=30, total=30, video="c.mp4"),
    Start(head="dnm", epochs=2, steps_per_epoch=3, total_steps=6, batch_size=4, train_segments=12,
          val_segments=2, classes=["a", "b"], device="cpu", world_size=2, out="m.pt"),
    Log(text="a.mp4 has no sound track", level="warning"),
    Step(epoch=1, step=3, total_steps=6, samples_per_s=10.0, lr=1e-3, loss=0.5),
    Epoch(epoch=1, epochs=2, step=3, train={"loss": 0.5}, val={"loss": 0.25, "n": 3}),
    Done(out="m.pt", steps=6, epochs=2, samples=24, seconds=2.25),
]


def test_jsonl_is_one_parsable_line_per_event():
    out = io.StringIO()
    sink = JsonlSink(out)
    for event in TRAINING:
        sink(event)
    lines = out.getvalue().splitlines()
    assert [parse(line) for line in lines] == TRAINING


def test_the_human_lines_of_a_training_run_off_a_terminal():
    out = io.StringIO()
    sink = HumanSink("train", "steps", stream=out)
    for event in TRAINING:
        sink(event)
    assert out.getvalue().splitlines() == [
        "feature cache: 0/30 videos",
        "feature cache: 25/30 videos",
        "feature cache: 30/30 videos",
        "training head dnm on 12 segments (2 val), 2 epochs x 3 steps, batch 4, cpu x 2",
        "warning: a.mp4 has no sound track",
        "epoch 1 step 3/6 loss 0.5000 lr 1.00e-03 10.0 samples/s",
        "epoch 1/2 train loss 0.5000 | val loss 0.2500",
        "wrote m.pt (6 steps, 2.2 s)",
    ]


def test_the_human_lines_of_an_evaluation_off_a_terminal():
    out = io.StringIO()
    sink = HumanSink("eval", "videos", stream=out, every=3600)
    sink(Progress(done=1, total=3, items=4, resumed=1))
    sink(Error(video="b.mp4", status="failed", error="cannot decode"))
    sink(Item(row={"video": "b.mp4"}))
    sink(Progress(done=2, total=3, items=8, video="b.mp4"))
    sink(Progress(done=3, total=3, items=12, video="c.mp4"))
    sink(Done(report="r.json"))
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["eval: resuming, 1 of 3 videos already done", "eval: b.mp4: failed: cannot decode"]
    # plain progress: the first update, then (an hour holding the rest back) the last
    assert lines[2].startswith("eval: 2/3 videos, 8 items, ") and lines[3].startswith("eval: 3/3 videos, 12 items")
    assert len(lines) == 4


def test_quiet_writes_nothing():
    out = io.StringIO()
    sink = HumanSink("eval", "videos", stream=out, quiet=True, total=2)
    for event in TRAINING + [Progress(done=2, total=2), Error(video="x", status="failed", error="e")]:
        sink(event)
    assert out.getvalue() == ""


def test_a_total_that_grows_keeps_one_bar():
    """infer's frame count is an estimate: reaching it is not the end of the bar."""
    out = io.StringIO()
    sink = HumanSink("infer", "frames", stream=out, total=0, every=0)
    bar = sink.bar
    sink(Progress(done=4, total=4))
    sink(Progress(done=8, total=8))
    assert sink.bar is bar and bar.total == 8 and bar.done == 8
    sink.close()
    assert sink.bar is None
    assert [line.split(",")[0] for line in out.getvalue().splitlines()] == ["infer: 4/4 frames", "infer: 8/8 frames"]
