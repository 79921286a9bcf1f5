"""Frozen entry point of ``avsol-viewer`` (PyInstaller runs this file as ``__main__``)."""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from avsol_viewer.app import main

    sys.exit(main())
