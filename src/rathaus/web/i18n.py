"""Interface text in German (default) and English; one dictionary per language, same keys."""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("de", "en")
COOKIE = "rathaus_lang"

MESSAGES: dict[str, dict[str, str]] = {
    "de": {
        "app.name": "Rathaus",
        "app.tagline": "KI-Plattform der Verwaltung",
        "skip": "Zum Inhalt springen",
        "nav.main": "Hauptnavigation",
        "nav.assistants": "Assistenten",
        "nav.logout": "Abmelden",
        "lang.switch": "English",
        "lang.label": "Sprache wechseln",
        "login.title": "Anmelden",
        "login.email": "E-Mail-Adresse",
        "login.password": "Passwort",
        "login.tenant": "Mandant (optional)",
        "login.submit": "Anmelden",
        "login.failed": "E-Mail-Adresse oder Passwort ist falsch.",
        "login.throttled": "Zu viele Fehlversuche. Bitte warten Sie {seconds} Sekunden.",
        "login.busy": "Die Anmeldung ist gerade ausgelastet. Bitte versuchen Sie es gleich noch einmal.",
        "login.intro": "Melden Sie sich mit Ihrem Dienstkonto an.",
        "assistants.title": "Assistenten",
        "assistants.search": "Assistenten durchsuchen",
        "assistants.search.submit": "Suchen",
        "assistants.empty": "Keine Assistenten gefunden.",
        "assistants.version": "Version",
        "assistants.visibility.private": "Privat",
        "assistants.visibility.team": "Team",
        "assistants.visibility.tenant": "Ganze Verwaltung",
        "assistants.count": "{count} Assistenten",
        "signed_in_as": "Angemeldet als {email} ({role})",
        "role.admin": "Administration",
        "role.builder": "Gestaltung",
        "role.staff": "Sachbearbeitung",
        "notice.fictional": "Demo-Stadt Musterstadt: alle Inhalte sind erfunden.",
        "nav.conversations": "Meine Unterhaltungen",
        "chat.open": "Chat öffnen",
        "chat.messages": "Unterhaltung",
        "chat.you": "Sie",
        "chat.assistant": "Assistent",
        "chat.input": "Ihre Nachricht",
        "chat.send": "Senden",
        "chat.starters": "Beispiele",
        "chat.writing": "Die Antwort wird geschrieben …",
        "chat.done": "Antwort vollständig.",
        "chat.error": "Die Antwort ist fehlgeschlagen: {message}",
        "chat.ai_notice": (
            "Antworten werden von einer KI erzeugt und können Fehler enthalten. Bitte prüfen Sie sie."
        ),
        "chat.new": "Neue Unterhaltung",
        "chat.check.title": "Prüfung auf Leichte Sprache",
        "conversations.title": "Meine Unterhaltungen",
        "conversations.empty": "Noch keine Unterhaltungen.",
        "conversations.delete": "Löschen",
        "conversations.export_md": "Markdown",
        "conversations.export_md.label": "Unterhaltung „{title}“ als Markdown herunterladen",
        "conversations.export_docx": "Word",
        "conversations.export_docx.label": "Unterhaltung „{title}“ als Word-Dokument herunterladen",
        "conversations.delete.label": "Unterhaltung „{title}“ löschen",
    },
    "en": {
        "app.name": "Rathaus",
        "app.tagline": "AI platform for public administration",
        "skip": "Skip to content",
        "nav.main": "Main navigation",
        "nav.assistants": "Assistants",
        "nav.logout": "Log out",
        "lang.switch": "Deutsch",
        "lang.label": "Change language",
        "login.title": "Log in",
        "login.email": "E-mail address",
        "login.password": "Password",
        "login.tenant": "Tenant (optional)",
        "login.submit": "Log in",
        "login.failed": "E-mail address or password is wrong.",
        "login.throttled": "Too many failed attempts. Please wait {seconds} seconds.",
        "login.busy": "Login is busy right now. Please try again in a moment.",
        "login.intro": "Log in with your work account.",
        "assistants.title": "Assistants",
        "assistants.search": "Search assistants",
        "assistants.search.submit": "Search",
        "assistants.empty": "No assistants found.",
        "assistants.version": "Version",
        "assistants.visibility.private": "Private",
        "assistants.visibility.team": "Team",
        "assistants.visibility.tenant": "Whole administration",
        "assistants.count": "{count} assistants",
        "signed_in_as": "Signed in as {email} ({role})",
        "role.admin": "Administration",
        "role.builder": "Builder",
        "role.staff": "Staff",
        "notice.fictional": "Demo city Musterstadt: all content is fictional.",
        "nav.conversations": "My conversations",
        "chat.open": "Open chat",
        "chat.messages": "Conversation",
        "chat.you": "You",
        "chat.assistant": "Assistant",
        "chat.input": "Your message",
        "chat.send": "Send",
        "chat.starters": "Examples",
        "chat.writing": "The answer is being written …",
        "chat.done": "Answer complete.",
        "chat.error": "The answer failed: {message}",
        "chat.ai_notice": ("Answers are generated by an AI and may contain mistakes. Please check them."),
        "chat.new": "New conversation",
        "chat.check.title": "Easy-to-read check (Leichte Sprache)",
        "conversations.title": "My conversations",
        "conversations.empty": "No conversations yet.",
        "conversations.delete": "Delete",
        "conversations.export_md": "Markdown",
        "conversations.export_md.label": "Download conversation “{title}” as Markdown",
        "conversations.export_docx": "Word",
        "conversations.export_docx.label": "Download conversation “{title}” as a Word document",
        "conversations.delete.label": "Delete conversation “{title}”",
    },
}


def language(cookie: str | None) -> str:
    """The chosen language: the cookie, else German (the administration's language)."""
    return cookie if cookie in LANGUAGES else "de"


def translator(lang: str) -> Callable[..., str]:
    """`t(key, **values)` for one language; a missing key shows the key, so gaps are visible."""
    messages = MESSAGES.get(lang, MESSAGES["de"])

    def t(key: str, **values: object) -> str:
        text = messages.get(key, key)
        return text.format(**values) if values else text

    return t
