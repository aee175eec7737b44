"""Citizen chatbots: assistants published as an accessible widget on the city's website."""
