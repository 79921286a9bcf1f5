"""Evaluate folder (SPEC 7): ``avsol eval`` in a child process (:mod:`.eval_job`, asked for
by :mod:`.eval_dialog`, menu commands in :mod:`.commands`), and its report shown: summaries
and curves (:mod:`.summary_view`), the items table (:mod:`.items_table`), the large
inspection of an item (:mod:`.inspection`), rescoring and export (:mod:`.results_panel`,
:mod:`.contact_sheet`). The viewer shows the report ``avsol eval`` writes, and rescores it
with ``model_core``'s own scoring, so the GUI and the CLI cannot disagree."""
