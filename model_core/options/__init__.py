"""Each command's options, declared once (help, default, range), and the argparse types they use.

:mod:`.types` holds the argparse types and the one-line parser; :mod:`.spec` the mechanism
that turns a dataclass whose fields carry an ``Opt`` into the parser, the checks before
work and the viewer's command lines. The declarations: a training run's options
(:class:`model_core.train.options.TrainOptions`, extended by :mod:`.train` with the model
choice and ``--jsonl``), and :mod:`.eval`, :mod:`.infer`, :mod:`.synth`. Importing this
package imports no declaration: they import the packages that run them, which import
this mechanism.
"""
