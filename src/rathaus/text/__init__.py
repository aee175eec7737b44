"""Text rules shared by the chat, the citizen chatbot and the checks: Leichte Sprache and Markdown."""
