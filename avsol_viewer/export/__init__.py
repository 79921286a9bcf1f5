"""File › Export: the overlay as a video with its sound (dialog and background worker;
its pictures and sound feed, ``export_render`` and ``export_media``, are Qt-free) and
screenshots."""
