"""What a command promises about what it writes, in three modules: the checks before any
work (:mod:`.checks`), one writer per output (:mod:`.lock`), and a standard output whose
reader may go away (:mod:`.stdout`)."""
