"""The viewer's annotate mode: draw, fix and save AVSOL-E v1 boxes per 1 s segment.

The editable set, its undoable commands, the locked atomic save and the autosave are
``model_core.annotate.document``'s (Qt-free); here ``canvas`` draws the segment frame and its
boxes, and ``mode`` wires them into the main window (:func:`install_annotate_actions`).
"""
