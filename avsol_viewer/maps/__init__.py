"""Maps in the window: the map worker (the Qt shell around ``model_core.inference``'s
engine: mailbox, thread, signals), the service the GUI asks, and the views that draw maps
over the frame (one head or the heads side by side) with their colormaps."""
