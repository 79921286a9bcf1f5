"""Side panels and dialogs of the window: display options, the annotated segment's scores,
the canvas's welcome, and the shortcuts dialog."""
