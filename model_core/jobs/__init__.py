"""What a long command reports while it runs (:mod:`.events`) and where it goes (:mod:`.sinks`).

A leaf of ``model_core``: the commands, the training loop and the evaluation runner import it,
and so do the viewer's jobs and ``scripts/``; it imports nothing of theirs.
"""
