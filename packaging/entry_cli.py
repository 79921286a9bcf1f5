"""Frozen entry point of ``avsol.exe`` on Windows (PyInstaller runs this file as
``__main__``); elsewhere ``avsol`` is a link to ``avsol-viewer``, whose entry
(``entry_viewer.py``) starts the CLI by that name.

``freeze_support`` first: ``avsol synth`` and the feature cache start ``spawn`` workers,
which a frozen program runs by starting itself again with multiprocessing's arguments.
"""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from model_core.cli import main

    sys.exit(main())
