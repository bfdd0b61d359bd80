"""The ``digest`` command (``cli.main``): parse, load settings, call the core, report."""
