"""Side and bottom panels: display options, the annotated segment's scores, the
spectrogram, and the shortcuts dialog."""
