"""Options declared once (model_core.options): the parser, the checks and the viewer's
command lines all come from the declaration, so they cannot disagree."""
from __future__ import annotations

import argparse
import dataclasses
import re

import pytest

from model_core.cli import build_parser, main
from model_core.options.eval import EvalCommand
from model_core.options.infer import InferCommand
from model_core.options.models import ModelsInspectCommand, ModelsListCommand
from model_core.options.reports import AgreementCommand, CompareCommand, ImportCommand, MetricsCommand
from model_core.options.spec import declared, default_of, flag_of, from_args, problems, to_argv
from model_core.options.synth import SynthCommand
from model_core.options.train import TrainCommand
from model_core.train.options import TrainOptions

COMMANDS = [TrainCommand, EvalCommand, InferCommand, SynthCommand, MetricsCommand, CompareCommand, ImportCommand,
            AgreementCommand, ModelsListCommand, ModelsInspectCommand]
# options read by a parser of their own: one valid value each, not the default
PARSED = {"layers": [2, 1, 1, 3], "size": (64, 48), "threshold": "top-gt"}


def subparser(name: str) -> argparse.ArgumentParser:
    """The parser of a command, or of a nested action (``models inspect``)."""
    parser = build_parser()
    for word in name.split():
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    return parser


def sample(f: dataclasses.Field, o) -> object:
    """A valid value of an option that is not its default."""
    default = default_of(f)
    if f.name in PARSED:
        return PARSED[f.name]
    if o.choices is not None:
        return next(c for c in o.choices if c != default)
    if o.kind is bool:
        return not default
    if o.repeat or o.nargs is not None:
        return [f"/tmp/{f.name}_a", f"/tmp/{f.name}_b"]
    if o.kind is int:
        lo = int(o.lo) + (1 if o.lo_open else 0) if o.lo is not None else 0
        value = lo + 2
        return value if o.hi is None or value <= o.hi else int(o.hi)
    if o.kind is float:
        lo = o.lo if o.lo is not None else 0.0
        hi = o.hi if o.hi is not None else lo + 2.0
        return lo + (hi - lo) * 0.375 if lo + (hi - lo) * 0.375 != default else lo + (hi - lo) * 0.625
    return f"/tmp/{f.name} value"


def first_of_each_one_of(cls) -> set[str]:
    seen: dict[str, str] = {}
    for f, o in declared(cls):
        if o.one_of is not None:
            seen.setdefault(o.one_of, f.name)
    return set(seen.values())


def full(cls):
    """The declaration with every option set to a valid value other than its default (of
    options only one of which may be given, the first)."""
    return cls(**{f.name: sample(f, o) for f, o in declared(cls)
                  if o.one_of is None or f.name in first_of_each_one_of(cls)})


def required_only(cls):
    return cls(**{f.name: sample(f, o) for f, o in declared(cls)
                  if o.required or f.name in first_of_each_one_of(cls)})


@pytest.mark.parametrize("cls", COMMANDS, ids=lambda c: c.COMMAND)
def test_every_option_round_trips_through_the_parser(cls):
    # what the viewer would send for a full option set is accepted and parses back unchanged
    for obj in (full(cls), required_only(cls)):
        assert problems(obj) == [], problems(obj)
        argv = to_argv(obj)
        assert argv[:len(cls.COMMAND.split())] == cls.COMMAND.split()
        args = build_parser().parse_args(argv)
        assert from_args(cls, args) == obj


def test_values_that_look_like_options_round_trip():
    cmd = TrainCommand(data="/d", head="dnm", epochs=1, out="-x.pt", config="-demo.json", cache="-c")
    argv = to_argv(cmd)
    assert "--out=-x.pt" in argv and "--cache=-c" in argv
    assert from_args(TrainCommand, build_parser().parse_args(argv)) == cmd
    e = EvalCommand(data="/d", checkpoint=["-a.pt", "b.pt"], out="r.json", threshold="median")
    assert from_args(EvalCommand, build_parser().parse_args(to_argv(e))) == e


@pytest.mark.parametrize("cls", COMMANDS, ids=lambda c: c.COMMAND)
def test_parser_defaults_are_the_declared_defaults(cls):
    obj = required_only(cls)
    args = build_parser().parse_args(to_argv(obj))
    for f, o in declared(cls):
        if not o.required and f.name not in first_of_each_one_of(cls):
            expected = [] if o.repeat else default_of(f)
            assert getattr(args, f.name) == expected, f.name
    # a to_argv of defaults writes only the command, the positionals and the required options
    def tokens(f, o):
        value = getattr(obj, f.name)
        if o.positional:
            return len(value) if o.nargs is not None else 1
        return 2 * len(value) if o.repeat else (1 + len(value) if o.nargs is not None else 2)

    expected = len(cls.COMMAND.split()) + sum(tokens(f, o) for f, o in declared(cls) if o.required or f.name in first_of_each_one_of(cls))
    assert len(to_argv(obj)) == expected


@pytest.mark.parametrize("cls", COMMANDS, ids=lambda c: c.COMMAND)
def test_help_lists_each_option_once(cls):
    text = subparser(cls.COMMAND).format_help()
    entries = re.split(r"\n(?=  \S)", text[text.index("\n\n"):])   # one per listed argument, usage left out
    for f, o in declared(cls):
        flag = flag_of(f, o)
        mine = [e for e in entries if re.match(rf"  {re.escape(flag)}(?=[\s,]|$)", e)]
        assert len(mine) == (0 if o.hidden else 1), (flag, len(mine))
        if not (o.hidden or o.positional or o.required or o.negate or o.repeat or o.kind is bool or o.nargs) \
                and default_of(f) is not None and "default" not in o.help:
            assert "(default" in " ".join(mine[0].split()), flag     # the declared default is shown


def test_help_shows_the_declared_default_value():
    entry = " ".join(subparser("train").format_help().split())
    assert "--batch-size BATCH_SIZE per process (default 32)" in entry
    assert "--lr LR peak learning rate of AdamW (default 0.002)" in entry


@pytest.mark.parametrize("argv, flag, words", [
    (["--lr", "0"], "--lr", "must be > 0, got 0"),
    (["--batch-size", "0"], "--batch-size", "must be >= 1, got 0"),
    (["--seed", "-1"], "--seed", "must be >= 0"),
    (["--crop-scale", "nan"], "--crop-scale", "finite"),
    (["--layers", "1,2"], "--layers", "expected 4 integers"),
    (["--head", "xyz"], "--head", "invalid choice"),
    (["--select-best", "auc"], "--select-best", "invalid choice"),
])
def test_a_bad_train_value_is_one_line_naming_the_option(tmp_path, capsys, argv, flag, words):
    base = ["train", str(tmp_path), "--head", "dnm", "--epochs", "1", "--out", str(tmp_path / "x.pt")]
    if argv[0] == "--head":
        base = base[:2] + base[4:]
    assert main(base + argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and flag in err and words in err, err
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.parametrize("argv, flag", [
    (["eval", "D", "--checkpoint", "c.pt", "--out", "r.json", "--batch-size", "0"], "--batch-size"),
    (["eval", "D", "--checkpoint", "c.pt", "--out", "r.json", "--threshold", "fixed:2"], "--threshold"),
    (["infer", "v.mp4", "--checkpoint", "c.pt", "--out", "m.npz", "--fps", "0"], "--fps"),
    (["synth", "OUT", "--videos", "2", "--seed", "1", "--workers", "0"], "--workers"),
    (["synth", "OUT", "--videos", "2", "--seed", "1", "--size", "big"], "--size"),
    (["metrics", "--maps", "m.npz", "--report", "r.json", "--out", "o.json"], "--report"),
    (["metrics", "--out", "o.json"], "--maps"),
    (["compare", "a.json", "--out", "c.json", "--resamples", "5"], "--resamples"),
    (["import", "kaggle", "src", "--out", "a.json"], "kaggle"),
    (["agreement", "set.json", "--annotators", "a"], "--annotators"),
])
def test_a_bad_value_of_another_command_is_one_line_naming_the_option(capsys, argv, flag):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and flag in err, err


def test_checks_in_code_name_each_bad_option_once():
    opts = TrainOptions(data="d", head="dnm", epochs=0, out="x.pt", lr=float("nan"), crop_scale=2.0,
                        select_best="auc", batch_size=1)
    found = problems(opts)
    assert found == ["--epochs must be an integer >= 1 and <= 1000000, got 0",
                     "--lr must be a finite number > 0 and <= 10, got nan",
                     "--crop-scale must be a finite number >= 0.1 and <= 1, got 2.0",
                     "--select-best must be one of loss, avc_acc, cls_acc, ciou@0.5, mean_ciou, pointing, "
                     "got 'auc'"]
    assert opts.problems() == found + ["--batch-size must be >= 2 for the AVC loss (negatives come from the batch)"]
    assert problems(TrainOptions(data="d", head="dnm", epochs=True, out="x.pt"))[0].startswith("--epochs")
    assert problems(EvalCommand(data="d", checkpoint=[], out="r.json")) == ["--checkpoint is required"]
    assert problems(EvalCommand(data="d", checkpoint=["c.pt"], out="r.json", threshold="fixed:7"))[0] \
        .startswith("--threshold: ")
    assert EvalCommand(data="d", checkpoint=["c"], out="r", offscreen_draws=2).problems() == \
        ["--offscreen-draws applies only with --negatives"]
    assert problems(MetricsCommand(out="o.json")) == ["exactly one of --maps, --report is required"]
    assert problems(MetricsCommand(out="o.json", maps="m", report="r")) == \
        ["exactly one of --maps, --report is required"]
    assert problems(CompareCommand(reports=[], out="c.json")) == ["REPORT is required"]
    assert problems(ImportCommand(source="kaggle", src="s", out="o")) == \
        ["{vggss,flickr} must be one of vggss, flickr, got 'kaggle'"]


def test_eval_negatives_options_without_negatives_is_refused_before_work(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["eval", str(tmp_path), "--checkpoint", "c.pt", "--out", str(out), "--noise-level", "unit"]) == 2
    assert capsys.readouterr().err.strip() == "avsol eval: error: --noise-level applies only with --negatives"
    assert not out.exists()


def test_the_viewers_command_lines_are_generated_and_parse(tmp_path):
    from avsol_viewer.evaluate.eval_job import EvalRequest
    from avsol_viewer.train.train_job import TrainRequest

    t = TrainRequest(str(tmp_path), ("avc", "dnm"), 3, str(tmp_path / "runs"), batch_size=8, device="cpu",
                     config="tiny", resume=True)
    got = from_args(TrainCommand, build_parser().parse_args(t.args("dnm")))
    assert got == TrainCommand(data=str(tmp_path), head="dnm", epochs=3, out=str(tmp_path / "runs" / "dnm.pt"),
                               device="cpu", batch_size=8, config="tiny", resume=True, jsonl=True)
    e = EvalRequest(str(tmp_path), ("a.pt", "b.pt"), str(tmp_path / "r.json"), annotations="ann.json",
                    threshold="fixed:0.4", device="cpu", batch_size=4, resume=True, csv="t.csv")
    got = from_args(EvalCommand, build_parser().parse_args(e.args()))
    assert got == EvalCommand(data=str(tmp_path), checkpoint=["a.pt", "b.pt"], out=str(tmp_path / "r.json"),
                              annotations="ann.json", threshold="fixed:0.4", device="cpu", batch_size=4,
                              resume=True, csv="t.csv", jsonl=True)
    # the viewer's default rule is sent, as before: eval's own default depends on --protocol
    args = EvalRequest("d", ("a.pt",), "r.json").args()
    assert args[args.index("--threshold") + 1] == "median"
    # a test's or a slow machine's settings are typed fields too, sent only when set: the
    # viewer has no verbatim argv to pass an option the command does not declare
    t = TrainRequest("d", ("avc",), 1, "runs", threads=1, log_every=2, save_every=3, cache="c")
    got = from_args(TrainCommand, build_parser().parse_args(t.args("avc")))
    assert (got.threads, got.log_every, got.save_every, got.cache) == (1, 2, 3, "c")
    assert not {"--threads", "--log-every", "--save-every"} & set(TrainRequest("d", ("avc",), 1, "r").args("avc"))
    e = EvalRequest("d", ("a.pt",), "r.json", threads=2)
    assert from_args(EvalCommand, build_parser().parse_args(e.args())).threads == 2
    assert "--threads" not in EvalRequest("d", ("a.pt",), "r.json").args()
    for request in (TrainRequest, EvalRequest):
        assert all(f.type not in ("tuple[str, ...]", "list[str]") or f.name in ("heads", "checkpoints")
                   for f in dataclasses.fields(request)), request


def test_declared_vocabularies_equal_the_code_that_runs_them():
    from model_core.evaluation.protocols import PROTOCOLS
    from model_core.model import HEADS
    from model_core.synth.plan import SIZE_MIXES, SynthConfig
    from model_core.train.options import HEADS as TRAIN_HEADS

    assert tuple(TRAIN_HEADS) == tuple(HEADS)
    assert set(next(o for f, o in declared(EvalCommand) if f.name == "protocol").choices) == set(PROTOCOLS)
    cmd = required_only(SynthCommand)
    config = cmd.config()
    assert type(config) is SynthConfig and issubclass(SynthCommand, SynthConfig)
    assert all(getattr(config, f.name) == getattr(cmd, f.name) for f in dataclasses.fields(SynthConfig))
    assert (config.width, config.height) == cmd.size == (224, 224)
    assert set(next(o for f, o in declared(SynthConfig) if f.name == "sizes").choices) == set(SIZE_MIXES)
    assert cmd.sizes in SIZE_MIXES


def test_synth_settings_from_code_are_checked_by_their_declaration():
    # the generator called from code refuses what the command line refuses, with the same names
    from model_core.synth.plan import SynthConfig

    assert SynthConfig(videos=1, seed=0).problems() == []
    bad = SynthConfig(videos=0, seed=-1, classes=29, size=(63, 64), fps=0.5, motion=2.0, silent_max=4, sizes="tiny")
    assert bad.problems() == [
        "--videos must be an integer >= 1, got 0",
        "--seed must be an integer >= 0, got -1",
        "--classes must be an integer >= 1 and <= 28, got 29",
        "--size: must be even (H.264 4:2:0), got 63x64",
        "--fps must be a finite number >= 1 and <= 120, got 0.5",
        "--motion must be a finite number >= 0 and <= 1, got 2.0",
        "--silent-max must be an integer >= 0 and <= 3, got 4",
        "--sizes must be one of benchmark, small, got 'tiny'"]
    assert SynthConfig(videos=1, seed=0, size=(8, 8)).problems() == \
        ["--size: must be between 16 and 4096 pixels, got 8x8"]
    # the plan file records the size as width and height, as before
    assert list(SynthConfig(videos=2, seed=3, size=(64, 48)).to_dict().items())[:5] == \
        [("videos", 2), ("seed", 3), ("classes", 8), ("width", 64), ("height", 48)]


def test_a_command_hands_its_options_on_without_naming_them_again():
    from model_core.evaluation.runner import EvalOptions

    cmd = full(TrainCommand)
    opts = cmd.run_options(model={"width": 8})
    assert type(opts) is TrainOptions and opts.model == {"width": 8}
    assert all(getattr(opts, f.name) == getattr(cmd, f.name) for f in dataclasses.fields(TrainOptions)
               if f.name != "model")
    from model_core.options.spec import project

    full_eval = full(EvalCommand)
    e = project(EvalOptions, full_eval, csv="c.csv")
    assert type(e) is EvalOptions and e.csv == "c.csv"
    shared = [f.name for f in dataclasses.fields(EvalOptions) if f.name != "csv"]
    assert len(shared) >= 18 and all(getattr(e, n) == getattr(full_eval, n) for n in shared)
    assert {"backend", "precision", "videos", "negatives"} <= set(shared) and (e.backend, e.precision) == ("auto", "bf16")


def test_the_eval_runner_takes_the_declaration_itself():
    # the runner's settings ARE the command's options (EvalCommand adds the inputs and the
    # report): the same defaults and checks from code as from the command line
    from model_core.evaluation.negatives import NegativeOptions
    from model_core.evaluation.runner import EvalOptions

    assert issubclass(EvalCommand, EvalOptions)
    runs = {f.name for f, _ in declared(EvalOptions)}
    assert {f.name for f, _ in declared(EvalCommand)} - runs == {"data", "checkpoint", "out"}
    assert {f.name for f in dataclasses.fields(EvalOptions)} == runs          # nothing undeclared
    assert EvalOptions().problems() == []
    assert EvalOptions(batch_size=0, threshold="fixed:2", offscreen_draws=3).problems() == [
        "--batch-size must be an integer >= 1 and <= 4096, got 0",
        "--threshold: the threshold must be a finite number in [0, 1), got 2",
        "--offscreen-draws applies only with --negatives"]
    # --negatives' settings: what is not given takes NegativeOptions' own default
    assert EvalOptions().negative_options() is None
    assert EvalOptions(negatives=True).negative_options() == NegativeOptions()
    assert EvalOptions(negatives=True, noise_level="unit", offscreen_draws=2, negatives_seed=7).negative_options() \
        == NegativeOptions("unit", 2, 7)


def test_infer_hands_backend_and_precision_to_the_loader(index_clip, tmp_path, monkeypatch, capsys):
    import model_core.models.loading as loading
    from model_core.errors import InputError

    seen = {}

    def fake_load_model(path, **kw):
        seen.update(kw)
        raise InputError(path, "stop here")

    monkeypatch.setattr(loading, "load_model", fake_load_model)
    assert main(["infer", str(index_clip), "--checkpoint", str(tmp_path / "c.pt"), "--out", str(tmp_path / "m.npz"),
                 "--backend", "openvino", "--precision", "bf16"]) == 2
    assert "stop here" in capsys.readouterr().err
    assert (seen["backend"], seen["precision"]) == ("openvino", "bf16")
    assert (subparser("infer").get_default("backend"), subparser("eval").get_default("precision")) == ("torch", "fp32")


def _events(stdout: str) -> list:
    from model_core.jobs.events import parse

    return [parse(line, "stdout") for line in stdout.splitlines()]


def test_synth_jsonl_emits_the_job_protocol_ending_in_done(tmp_path, capsys):
    from model_core.jobs.events import Done, Progress

    out = tmp_path / "set"
    assert main(["synth", str(out), "--videos", "2", "--seed", "0", "--duration", "1", "--size", "32",
                 "--classes", "2", "--jsonl"]) == 0
    captured = capsys.readouterr()
    events = _events(captured.out)                  # every stdout line is an event
    assert [(e.done, e.total) for e in events if isinstance(e, Progress)][-1] == (2, 2)
    assert isinstance(events[-1], Done) and events[-1].out == str(out)
    assert "wrote 2 videos" in captured.err          # the summary moves to stderr


def test_infer_jsonl_emits_the_job_protocol_ending_in_done(index_clip, make_tiny_checkpoint, tmp_path, capsys):
    from model_core.jobs.events import Done, Progress

    maps = tmp_path / "m.npz"
    assert main(["infer", str(index_clip), "--checkpoint", str(make_tiny_checkpoint()), "--out", str(maps),
                 "--fps", "5", "--device", "cpu", "--jsonl"]) == 0
    captured = capsys.readouterr()
    events = _events(captured.out)
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress and progress[-1].done == 10      # 2 s at 5 frames/s
    assert isinstance(events[-1], Done) and events[-1].out == str(maps) and maps.is_file()
    assert "wrote 10 maps" in captured.err


def test_the_layers_place_the_mechanism_at_the_bottom_and_each_declaration_under_the_cli():
    # the import contract (tests/test_import_contracts.py runs it) must name every declaration
    # module: one left out would be free to import anything
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    contracts = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    lines = [{m.strip() for m in line.replace(":", "|").split("|")} for line in layers]
    declarations = {f"model_core.options.{p.stem}" for p in (root / "model_core" / "options").glob("*.py")
                    if p.stem not in ("__init__", "spec", "types")}
    assert lines[0] == {"model_core.cli"} and lines[1] == declarations
    assert {"model_core.jobs", "model_core.options.spec"} <= lines[-2] and lines[-1] == {"model_core.options.types"}
