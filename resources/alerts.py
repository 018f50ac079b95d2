"""Alerts for the operator: Slack-compatible JSON posted to NEXUS_ALERT_WEBHOOK_URL and/or an e-mail through the
SMTP server of NEXUS_ALERT_SMTP_HOST to NEXUS_ALERT_EMAIL_TO, secrets redacted.

Slack incoming webhooks (and Mattermost, Rocket.Chat, Teams' Slack-compatible connectors) accept
`{"text": ..., "blocks": [...]}`; `text` alone is the fallback every receiver shows. Every field is passed through
`redact_text` with the values of all configured secrets before it leaves the process, so an error message that
quotes a URL with an API key, or a key itself, arrives masked.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Literal

import httpx
from pydantic import BaseModel, Field, SecretStr

from resources.redact import redact_text, redact_url
from resources.settings import Settings

AlertKind = Literal["run_failure", "check_failure"]


class Alert(BaseModel):
    """What went wrong, where, and why: one message to the operator."""

    kind: AlertKind
    title: str
    run_id: str | None = None
    job: str | None = None
    subject: str | None = None  # the asset or check that failed
    reason: str


class SlackMessage(BaseModel):
    """The webhook's contract: fallback text plus one section block in Slack mrkdwn."""

    text: str
    blocks: list[dict[str, object]]


def secret_values(settings: Settings) -> list[str]:
    """Every configured secret's value, for literal redaction (never logged or returned elsewhere)."""
    return [value.get_secret_value() for value in settings.__dict__.values() if isinstance(value, SecretStr)]


def slack_message(alert: Alert, secrets: list[str]) -> SlackMessage:
    lines = [f":rotating_light: *{alert.title}*"]
    if alert.job:
        lines.append(f"*job:* `{alert.job}`")
    if alert.run_id:
        lines.append(f"*run:* `{alert.run_id}`")
    if alert.subject:
        lines.append(f"*{'check' if alert.kind == 'check_failure' else 'step'}:* `{alert.subject}`")
    lines.append(f"*reason:* {alert.reason[:2500]}")
    text = redact_text("\n".join(lines), secrets)
    return SlackMessage(text=text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}])


def post_alert(alert: Alert, settings: Settings, client: httpx.Client | None = None) -> bool:
    """Post `alert` to the configured webhook; False when no webhook is configured. Raises on an HTTP error."""
    if settings.alert_webhook_url is None:
        return False
    url = settings.alert_webhook_url.get_secret_value()
    message = slack_message(alert, secret_values(settings))
    owned = client is None
    client = client or httpx.Client(timeout=10.0)
    try:
        response = client.post(url, json=message.model_dump())
        if response.status_code >= 400:
            raise RuntimeError(f"alert webhook answered HTTP {response.status_code} ({redact_url(_host(url))})")
    finally:
        if owned:
            client.close()
    return True


def _host(url: str) -> str:
    """Only the webhook's host, never its path: Slack webhook paths are themselves the secret."""
    return httpx.URL(url).host or "webhook"


class EmailChannel(BaseModel):
    """The e-mail channel's contract, from NEXUS_ALERT_SMTP_* and NEXUS_ALERT_EMAIL_* (the password is a secret)."""

    host: str
    port: int
    starttls: bool
    user: str | None = None
    password: SecretStr | None = None
    sender: str
    recipients: list[str] = Field(min_length=1)


def email_channel(settings: Settings) -> EmailChannel | None:
    """The configured e-mail channel; None without NEXUS_ALERT_SMTP_HOST. Raises when it has no recipient."""
    if not settings.alert_smtp_host:
        return None
    recipients = [r.strip() for r in (settings.alert_email_to or "").split(",") if r.strip()]
    if not recipients:
        raise ValueError("NEXUS_ALERT_SMTP_HOST is set but NEXUS_ALERT_EMAIL_TO names no recipient")
    return EmailChannel(
        host=settings.alert_smtp_host,
        port=settings.alert_smtp_port,
        starttls=settings.alert_smtp_starttls,
        user=settings.alert_smtp_user,
        password=settings.alert_smtp_password,
        sender=settings.alert_email_from,
        recipients=recipients,
    )


def email_message(alert: Alert, channel: EmailChannel, secrets: list[str]) -> EmailMessage:
    """Plain text: the same lines as the webhook message, without Slack markup."""
    lines = [alert.title]
    lines += [f"{name}: {value}" for name, value in (("job", alert.job), ("run", alert.run_id)) if value]
    if alert.subject:
        lines.append(f"{'check' if alert.kind == 'check_failure' else 'step'}: {alert.subject}")
    lines.append(f"reason: {alert.reason[:5000]}")
    message = EmailMessage()
    message["Subject"] = redact_text(f"[nexus] {alert.title}", secrets)
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.recipients)
    message.set_content(redact_text("\n".join(lines), secrets))
    return message


def email_alert(alert: Alert, settings: Settings) -> bool:
    """Send `alert` by e-mail; False when no SMTP server is configured. Raises on an SMTP error."""
    channel = email_channel(settings)
    if channel is None:
        return False
    message = email_message(alert, channel, secret_values(settings))
    with smtplib.SMTP(channel.host, channel.port, timeout=30) as smtp:
        if channel.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if channel.user and channel.password:
            smtp.login(channel.user, channel.password.get_secret_value())
        smtp.send_message(message)
    return True


def send_alert(alert: Alert, settings: Settings) -> list[str]:
    """Every configured channel gets the alert; the names of those it went to (empty: none configured)."""
    sent = ["webhook"] if post_alert(alert, settings) else []
    return sent + (["email"] if email_alert(alert, settings) else [])
