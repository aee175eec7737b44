"""Tenants, users, roles, API keys and login sessions."""
