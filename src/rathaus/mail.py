"""Sending one e-mail over the installation's SMTP server (`RATHAUS_SMTP_*`).

Used by the workflow step `send_email` and for invitation links. Nothing is queued here: the caller decides
what a failure means (a step is retried, an invitation shows its link to pass on by hand).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from rathaus.settings import Settings

SMTP_TIMEOUT_SECONDS = 60.0  # per network operation with the mail server


class MailFailed(RuntimeError):
    """The e-mail was not sent; `retry` says whether trying again may help (refused recipients: no), `code`
    what happened (`no_mail_server`, `mail_refused`, `mail_failed`)."""

    def __init__(self, message: str, retry: bool = True, code: str = "mail_failed") -> None:
        super().__init__(message)
        self.retry = retry
        self.code = code


def mail_configured(settings: Settings) -> bool:
    """Whether IT has set up a mail server."""
    return bool(settings.smtp_host)


def send_mail(
    settings: Settings,
    to: list[str],
    subject: str,
    body: str,
    message_id: str | None = None,
    reply_to: str | None = None,
    timeout: float = SMTP_TIMEOUT_SECONDS,
) -> None:
    """Send a plain-text e-mail; raises MailFailed. The same `message_id` lets mail systems spot a repeat."""
    if not settings.smtp_host:
        raise MailFailed(
            "no SMTP server is configured (RATHAUS_SMTP_HOST)", retry=False, code="no_mail_server"
        )
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    if message_id:
        message["Message-ID"] = message_id
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content(body)
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    except OSError as exc:
        raise MailFailed(f"sending the e-mail failed: {type(exc).__name__}: {exc}") from None
    try:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user and settings.smtp_password:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailFailed(
            f"the mail server refused the recipients: {exc.recipients}", retry=False, code="mail_refused"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailFailed(f"sending the e-mail failed: {type(exc).__name__}: {exc}") from None
    finally:  # once the server has accepted the message, nothing that follows may count as a failure
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
