"""Importers of public expert-finding data into the project's raw schema.

An importer turns someone else's question → answerer data into the two raw files
the ``data_processing`` pipeline reads (``expert_data.csv``: one row per (project,
matched expert); ``experts.csv``: the roster's reference profiles), so that the whole
project runs on real data without a line of pipeline code changing.
"""
