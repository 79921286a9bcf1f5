"""Long tasks of the viewer (Evaluate, Train, the overlay export): one job base (:mod:`.job`)
and one panel that shows any job (:mod:`.panel`)."""
