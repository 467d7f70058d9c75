"""What the outbox tells the rest of the product."""

from django.dispatch import Signal

# Sent after a message was handed to the mail server and marked sent (not when it was
# only printed to the console). Arguments: message (the OutboxMessage).
message_sent = Signal()
