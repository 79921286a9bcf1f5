"""Making and correcting AVSOL-E v1 sets, the Qt-free half.

``document``: an editable annotation set, the checked atomic save with its writer lock,
autosave and recovery, and the history of corrections; ``commands``: its undoable edits.
``agreement``: inter-annotator agreement (``avsol agreement``). ``prefill``: boxes proposed
from a model's map. The viewer's annotate mode (``avsol_viewer/annotate``) is built on these.
"""
