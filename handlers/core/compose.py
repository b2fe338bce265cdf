"""From a request and its rendered template to the email SES is asked to send.

Sender resolution: the address is ``senderOverride.email``, then the template's
``senderEmail``, then ``DEFAULT_SENDER_EMAIL``; the display name, independently,
``senderOverride.name``, then the template's ``senderName``, then ``DEFAULT_SENDER_NAME``.
Reply-To is the request's ``replyTo``, else the template's. The subject is the request's
``subject`` (taken literally, never rendered), else the template's. Subject and display name
are checked after rendering, as data can put anything in them: no CR/LF, control characters or
bidirectional overrides (:func:`.addresses.check_header_text`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .addresses import check_address, check_header_text, format_from
from .models import MAX_SUBJECT_LENGTH, EmailRequest
from .rendering import RenderedTemplate, RenderFailed
from .tags import message_tags


@dataclass(frozen=True)
class OutgoingEmail:
    email_id: str
    template_name: str
    to: str
    from_header: str
    reply_to: tuple[str, ...]
    subject: str
    html: str
    text: str
    tags: tuple[dict[str, str], ...]
    headers: tuple[tuple[str, str], ...] = ()
    """Extra headers (``List-Unsubscribe`` for marketing mail), as (name, value)."""


def compose(
    email_id: str,
    request: EmailRequest,
    rendered: RenderedTemplate,
    default_sender_email: str | None,
    default_sender_name: str | None,
    headers: tuple[tuple[str, str], ...] = (),
) -> OutgoingEmail:
    """The email to send, or RenderFailed with the reason it cannot be sent."""
    override = request.sender_override
    sender_email = _first(override and override.email, rendered.sender_email, default_sender_email)
    if sender_email is None:
        raise RenderFailed(
            "no sender address: set senderOverride.email, the template's "
            "senderEmail or DEFAULT_SENDER_EMAIL"
        )
    sender_name = _first(override and override.name, rendered.sender_name, default_sender_name)
    reply_to = request.reply_to or list(rendered.reply_to)
    subject = request.subject or rendered.subject
    if not subject:
        raise RenderFailed("empty subject")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise RenderFailed(f"subject longer than {MAX_SUBJECT_LENGTH} characters")
    try:
        check_header_text(subject, "subject")
        from_header = format_from(check_address(sender_email, "sender address"), sender_name)
        reply_to = [check_address(address, "replyTo") for address in reply_to]
    except ValueError as error:
        raise RenderFailed(str(error)) from None
    return OutgoingEmail(
        email_id=email_id,
        template_name=request.template_name,
        to=request.to,
        from_header=from_header,
        reply_to=tuple(reply_to),
        subject=subject,
        html=rendered.html,
        text=rendered.text,
        tags=tuple(message_tags(email_id, request.template_name, request.tags)),
        headers=headers,
    )


def _first(*values: str | None) -> str | None:
    return next((value for value in values if value), None)
