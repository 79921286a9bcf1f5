"""Screenshots of the window: PNG files (written atomically) and the clipboard.

A saved screenshot carries our mark (``input_protection.mark_image``) and is checked like
every output (``outputs.check_writable_output``): it may replace an earlier screenshot,
never a photo, a video frame or any data file."""
from __future__ import annotations

import os

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QGuiApplication, QImage

from model_core.atomic import write_bytes
from model_core.errors import InputError
from model_core.input_protection import mark_image


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


def save_png(image: QImage, path: str | os.PathLike, reads=()) -> None:
    """Write ``image`` as PNG to ``path`` atomically; ``InputError`` if the folder is
    unwritable or ``path`` is a file no screenshot may replace (``reads``: the files shown)."""
    from model_core.outputs.checks import check_writable_output

    path = check_writable_output(path, "image", reads, label="the screenshot path")
    try:
        write_bytes(path, mark_image(png_bytes(image)))
    except OSError as exc:
        raise InputError(path, f"cannot write the screenshot ({exc.strerror or exc})") from None


def copy_to_clipboard(image: QImage) -> None:
    QGuiApplication.clipboard().setImage(image)
