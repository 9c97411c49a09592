"""Training examples and their layouts: instruction pairs, partial agendas,
rerank pairs, the agenda/profile formatting and region lines shared with inference."""
