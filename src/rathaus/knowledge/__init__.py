"""Collections of the city's documents: upload, ingestion, search."""
