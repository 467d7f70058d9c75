"""The mail backend of the embedded default: messages are printed, not sent.

Django's console backend prints the whole MIME message, so a confirmation's PDFs would
fill the `make run` console with base64. This one prints what a reader wants to see: the
headers, the text part and the attachments' names and sizes.
"""

from __future__ import annotations

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.console import EmailBackend


class ConsoleBackend(EmailBackend):
    # The sender marks what this backend handled "printed", not "sent": nobody got it.
    prints_only = True

    def write_message(self, message: EmailMessage) -> None:
        lines = [
            "Mail (printed, not sent: set EMAIL_URL to send it)",
            f"From: {message.from_email}",
            f"To: {', '.join(message.to)}",
            f"Subject: {message.subject}",
        ]
        if message_id := message.extra_headers.get("Message-ID"):
            lines.append(f"Message-ID: {message_id}")
        lines += ["", message.body.rstrip()]
        if isinstance(message, EmailMultiAlternatives) and message.alternatives:
            lines.append("")
            lines += [f"[alternative: {alternative[1]}]" for alternative in message.alternatives]
        for attachment in message.attachments:
            if isinstance(attachment, tuple):
                filename, content, mimetype = attachment
                size = len(content)
            else:  # a MIME part attached as such
                filename, mimetype = attachment.get_filename(), attachment.get_content_type()
                size = len(attachment.get_payload(decode=True) or b"")
            lines.append(f"[attachment: {filename} ({mimetype}, {size} bytes)]")
        self.stream.write("\n".join(lines) + "\n" + "-" * 79 + "\n")
