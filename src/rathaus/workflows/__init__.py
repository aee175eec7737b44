"""Workflows: the no-code spec, step types, the durable engine and its executors."""
