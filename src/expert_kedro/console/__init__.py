"""What a person sees in a terminal: recommendation tables, run summaries, logs."""
