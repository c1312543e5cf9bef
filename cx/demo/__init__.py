"""Demo data: a believable company with agents, customers and their journeys."""
