"""The product: grounded expert recommendations (rerank or generative) as a service."""
