"""Channels that deliver a message to a destination (console, SMS, webhooks).

Nothing lives here yet: the channels come with the notifier work.
"""

__all__: list[str] = []
