"""Each command's options, declared once (help, default, range), and the argparse types they use.

:mod:`.types` holds the argparse types and the one-line parser; :mod:`.spec` the mechanism
that turns a dataclass whose fields carry an ``Opt`` into the parser, the checks before
work and the viewer's command lines. Both are leaves (the bottom of model_core's import
layers): the packages that run a command declare their settings with them, as
:class:`~model_core.train.options.TrainOptions`,
:class:`~model_core.evaluation.options.EvalOptions` and
:class:`~model_core.synth.plan.SynthConfig` do, so that a run from code is checked as the
command line is.

The command declarations extend those settings with what only the command line has (the
inputs, the output, the model choice, ``--jsonl``): :mod:`.train`, :mod:`.eval`,
:mod:`.synth`, and :mod:`.infer`, :mod:`.reports`, :mod:`.models` for the commands whose
options are all their own. They sit at the command level, above the packages they import.
Importing this package imports no declaration.
"""
