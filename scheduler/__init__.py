"""Expansion of plans into stored occurrences, reminders, the daemon and feeds.

Nothing lives here yet: the store is the next piece of work (see the issues).
"""

__all__: list[str] = []
