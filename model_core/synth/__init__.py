"""The project's synthetic audio-visual data set (SPEC 6), written by ``avsol synth``.

- :mod:`.classes`: the K object classes (look + sound recipe), :func:`make_classes`.
- :mod:`.plan`: :class:`SynthConfig` and :func:`plan_video` (seeded per video).
- :mod:`.scene`, :mod:`.sound`: drawing frames and synthesising the soundtrack.
- :mod:`.annotations`: AVSOL-E entries, AVE rows and the stratified split.
- :mod:`.generate`: :func:`generate` writes a whole set.

Importing this package is cheap (numpy only); OpenCV and PyAV load when a video is drawn.
"""
from model_core.synth.classes import MAX_CLASSES, SynthClass, make_classes
from model_core.synth.generate import SynthResult, generate
from model_core.synth.plan import SynthConfig, VideoPlan, plan_video

__all__ = ["MAX_CLASSES", "SynthClass", "make_classes", "SynthConfig", "VideoPlan",
           "plan_video", "SynthResult", "generate"]
