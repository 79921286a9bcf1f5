"""Frozen entry point of ``avsol-viewer`` (PyInstaller runs this file as ``__main__``), and
of ``avsol`` where that is a symbolic link to it (Linux, macOS: one program carries the
Python archive once, see ``avsol.spec``): the name it was started by picks the CLI or the
app. ``freeze_support`` first: ``avsol synth`` and the feature cache start ``spawn``
workers, which a frozen program runs by starting itself again with multiprocessing's
arguments (``sys.executable``, the viewer's file, whichever name started the parent).
"""
import multiprocessing
import os
import sys

#: The names that start the CLI (``avsol``, ``avsol.exe``); any other starts the app.
CLI_NAMES = ("avsol", "avsol.exe")

if __name__ == "__main__":
    multiprocessing.freeze_support()
    if os.path.basename(sys.argv[0]).lower() in CLI_NAMES:
        from model_core.cli import main
    else:
        from avsol_viewer.app import main

    sys.exit(main())
