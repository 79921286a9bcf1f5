"""Tools › Train model… (SPEC 7): ``avsol train --jsonl`` in a child process per head
(:mod:`.train_job`, asked for by :mod:`.train_dialog`, menu commands in :mod:`.commands`)
with live curves, Cancel, Resume and loading the checkpoints (:mod:`.train_panel`). Training
runs in the CLI, not in the viewer's process, so a crash or a long run never takes the
window with it and the GUI trains exactly what the command line trains."""
