"""The mail's text/html part: ``Message.markdown`` as CommonMark, else ``Message.text`` escaped.

Plan text is somebody's document, not trusted markup, and a mail client renders what it is
given: raw HTML is escaped rather than passed through, images are off (remote content,
trackers), and only http(s) links are kept, so no ``javascript:`` or ``data:`` link reaches
a reader. A message without markdown is its text escaped, its http(s) URLs made links.
"""

from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt

from notifiers._base import Message

__all__ = ["render_html"]


class _Markdown(MarkdownIt):
    """CommonMark whose raw HTML is escaped, with no images (remote content, trackers) and
    only http(s) links: plan text is somebody's document, not trusted markup."""

    def __init__(self) -> None:
        super().__init__("commonmark", {"html": False, "breaks": True})
        self.disable("image")

    def validateLink(self, url: str) -> bool:
        return url.lower().startswith(("http://", "https://"))


_MARKDOWN = _Markdown()
# http(s) URLs in plain text: RFC 3986 characters but for the brackets and quotes that
# usually enclose a URL; a sentence's trailing punctuation is not part of it.
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#@!$&*+,;=%\[\]]+", re.IGNORECASE)


def render_html(message: Message) -> str:
    """The text/html part: ``message.markdown`` rendered, else ``message.text`` escaped."""
    body = _MARKDOWN.render(message.markdown) if message.markdown is not None \
        else f"<p>{_linked(message.text)}</p>\n"
    return (f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>{html.escape(message.title)}</title></head>\n<body>\n{body}</body></html>\n")


def _linked(text: str) -> str:
    out, at = [], 0
    for match in _URL.finditer(text):
        url = match[0].rstrip(".,;:!?")
        out += [html.escape(text[at:match.start()]),
                f'<a href="{html.escape(url)}">{html.escape(url)}</a>']
        at = match.start() + len(url)
    out.append(html.escape(text[at:]))
    return "".join(out).replace("\n", "<br>\n")
