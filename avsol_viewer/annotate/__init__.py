"""The viewer's annotate mode (issue 30): draw, fix and save AVSOL-E v1 boxes per 1 s segment.

``document`` holds the editable set (until ``model_core.annotate`` lands, a small stand-in
with the same duties: load/validate, snapshot edits, atomic save under the output lock,
autosave and recovery); ``canvas`` draws the segment frame and its boxes; ``mode`` wires
them into the main window (:func:`install_annotate_actions`).
"""
