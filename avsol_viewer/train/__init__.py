"""Room for the Train menu (SPEC 7): ``avsol train`` in a child process with live curves.
Not built yet."""
