"""Reading a raw export: tolerant parsing, cleaning, the roster, project splits."""
