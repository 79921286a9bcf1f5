"""What the dialogs that start a job (Tools › Evaluate folder…, Tools › Train model…,
File › Export overlay video…) build alike: a field with its buttons on one row, and the Ok
button named after the job."""
from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox, QHBoxLayout, QLineEdit, QPushButton, QWidget


def field_row(*widgets) -> QWidget:
    """``widgets`` side by side without margins; a line edit takes the width left."""
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    for x in widgets:
        lay.addWidget(x, 1 if isinstance(x, QLineEdit) else 0)
    return w


def run_buttons(dialog, ok_text: str, accept=None) -> tuple[QDialogButtonBox, QPushButton]:
    """Ok (named ``ok_text``: "Evaluate", "Train", "Export") and Cancel, wired to ``accept``
    (``dialog``'s accept unless the dialog checks more first) and ``dialog``'s reject;
    returns the box and its Ok button (enabled only when the choices are usable)."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(accept or dialog.accept)
    buttons.rejected.connect(dialog.reject)
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok.setText(ok_text)
    return buttons, ok


def browse_into(edit: QLineEdit, chosen: str, then=None) -> None:
    """Put the path the user chose in a file dialog (empty: cancelled, nothing changes) into
    ``edit``, then call ``then`` (the dialog checks its choices again)."""
    if chosen:
        edit.setText(chosen)
        if then is not None:
            then()
