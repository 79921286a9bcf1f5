"""Room for Evaluate folder (SPEC 7): ``avsol eval`` in a child process, results table,
summaries, jump to an item. Not built yet."""
