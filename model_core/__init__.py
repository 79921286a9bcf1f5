"""AVSOL Studio's model core: media, features, data formats, model, training, metrics.

Never imports Qt (a test proves it) and imports torch lazily, module by module, so that
``import model_core`` stays cheap for the viewer's start-up and for the CLI's ``--help``.
"""

__version__ = "0.1.0"
