"""Assistants: the no-code spec, its versions, and running it on a model."""
