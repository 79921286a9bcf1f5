"""Screenshots of the window: PNG files (written atomically) and the clipboard."""
from __future__ import annotations

import os

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QGuiApplication, QImage

from model_core.atomic import write_bytes
from model_core.errors import InputError


def grab(widget) -> QImage:
    """The widget as drawn now (offscreen too), as an image."""
    return widget.grab().toImage()


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, "PNG"):
        raise RuntimeError("Qt could not encode the PNG")
    buf.close()
    return bytes(data.data())


def save_png(image: QImage, path: str | os.PathLike) -> None:
    """Write ``image`` as PNG to ``path`` atomically; ``InputError`` if the folder is unwritable."""
    try:
        write_bytes(path, png_bytes(image))
    except OSError as exc:
        raise InputError(path, f"cannot write the screenshot ({exc.strerror or exc})") from None


def copy_to_clipboard(image: QImage) -> None:
    QGuiApplication.clipboard().setImage(image)
