"""Media access: probing, frames by OpenCV, audio by PyAV, and writing (for synth/tests)."""
