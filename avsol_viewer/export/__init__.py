"""File › Export: the overlay as a video with its sound (dialog and background worker)
and screenshots."""
