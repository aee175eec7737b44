"""Open document formats: YAML/JSON specs with published JSON Schemas and precise validation errors."""
