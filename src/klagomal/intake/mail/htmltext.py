"""HTML into plain text: no script, style or head; block elements become lines;
links keep their text; ``<blockquote type=cite>`` becomes ``>`` lines.  The
tokenizer is its own, linear in the length of the markup whatever the markup."""

from __future__ import annotations

import html
import re

from klagomal.intake.mail.text import WHITESPACE, normalise_text

__all__ = ["html_to_text"]


_SKIPPED_ELEMENTS = frozenset(
    {"script", "style", "head", "title", "template", "noscript", "xml", "svg", "math", "object",
     "iframe", "embed", "applet", "select", "textarea", "button"}
)  # fmt: skip
_PARAGRAPH_ELEMENTS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "pre", "blockquote",
     "address", "figure", "center", "form", "fieldset", "section", "article", "header", "footer",
     "main", "aside", "nav", "details"}
)  # fmt: skip
_LINE_ELEMENTS = frozenset(
    {"div", "br", "li", "tr", "dt", "dd", "caption", "figcaption", "summary", "hr", "legend", "option"}
)  # fmt: skip
_VOID_ELEMENTS = frozenset(
    {"br", "hr", "img", "meta", "link", "input", "col", "wbr", "area", "base", "source", "track", "param"}
)  # fmt: skip


# The tokenizer: linear in the length of the markup, whatever it is.  (The
# standard library's html.parser is not: in Python 3.11 twenty thousand
# unclosed "<a " take it twenty seconds, which a sender could use to stall
# intake.)
_TAG_OPEN = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:._-]*)")
_TAG_STOP = re.compile(r">|=\s*([\"'])")  # the end of a tag, or a quoted attribute value
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
# Elements whose content is text, not markup, up to their end tag.
_RAW_TEXT_ELEMENTS = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext"}
)
_RAW_TEXT_END = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in _RAW_TEXT_ELEMENTS}


def _tag_end(markup: str, start: int) -> int:
    """The index of the ">" that ends the tag whose attributes start at *start*, or -1."""
    position = start
    while True:
        stop = _TAG_STOP.search(markup, position)
        if stop is None:
            return -1
        if stop.group() == ">":
            return stop.start()
        close = markup.find(stop.group(1), stop.end())
        if close < 0:
            return -1
        position = close + 1


class _HtmlText:
    """Collects the visible text of an HTML document as lines with a quote depth."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []
        self._current: list[str] = []
        self._current_depth = 0
        self._depth = 0
        self._quote_stack: list[bool] = []
        self._skip: list[str] = []
        self._pre = 0
        self._href: str | None = None
        self._link_text: list[str] = []

    # -- lines
    def _add(self, text: str) -> None:
        if not self._current:
            self._current_depth = self._depth
        self._current.append(text)
        if self._href is not None:
            self._link_text.append(text)

    def _flush(self) -> None:
        joined = "".join(self._current)
        line = joined.rstrip() if self._pre else re.sub(r"[ \t]{2,}", " ", joined).strip()
        self._current = []
        if line:
            self.lines.append((self._current_depth, line))

    def _blank(self) -> None:
        self._flush()
        if self.lines and self.lines[-1][1]:
            self.lines.append((self._depth, ""))

    # -- the tokenizer
    def feed(self, markup: str) -> None:
        """Read the whole document, calling the handlers below; never fails, whatever the markup."""
        position, length = 0, len(markup)
        while position < length:
            lt = markup.find("<", position)
            if lt < 0:
                self.handle_data(html.unescape(markup[position:]))
                return
            if lt > position:
                self.handle_data(html.unescape(markup[position:lt]))
            if markup.startswith("<!--", lt):  # a comment (also Outlook's conditional ones)
                end = markup.find("-->", lt + 4)
                position = length if end < 0 else end + 3
                continue
            if markup.startswith(("<!", "<?"), lt):  # doctype, <![if ...]>, CDATA, processing instruction
                end = markup.find(">", lt + 2)
                position = length if end < 0 else end + 1
                continue
            tag = _TAG_OPEN.match(markup, lt)
            if tag is None:
                self.handle_data("<")
                position = lt + 1
                continue
            gt = _tag_end(markup, tag.end())
            if gt < 0:
                return  # a tag left open runs to the end, as in a browser: nothing more shows
            name = tag.group(2).lower()
            position = gt + 1
            if tag.group(1):
                self.handle_endtag(name)
                continue
            attributes = [
                (
                    match.group(1).lower(),
                    html.unescape(match.group(2) or match.group(3) or match.group(4) or ""),
                )
                for match in _ATTRIBUTE.finditer(markup, tag.end(), gt)
            ]
            self.handle_starttag(name, attributes)
            if name in _RAW_TEXT_ELEMENTS:
                end_tag = _RAW_TEXT_END[name].search(markup, position)
                self.handle_data(markup[position : end_tag.start() if end_tag else length])
                self.handle_endtag(name)
                position = end_tag.end() if end_tag else length

    # -- handlers
    def handle_starttag(self, tag: str, attributes: list[tuple[str, str]]) -> None:
        if tag == "body":
            self._skip = [name for name in self._skip if name not in ("head", "title")]
            return
        if tag in _SKIPPED_ELEMENTS:
            self._skip.append(tag)
            return
        if self._skip:
            return
        if tag == "a":
            self._end_link()
            href = dict(attributes).get("href", "")
            self._href = href.strip() if re.match(r"^\s*https?://", href, re.IGNORECASE) else ""
            self._link_text = []
        elif tag == "blockquote":
            values = dict(attributes)
            cite = values.get("type", "").lower() == "cite" or "quote" in values.get("class", "").lower()
            self._quote_stack.append(cite)
            self._blank()
            if cite:
                self._depth += 1
            return
        elif tag in ("td", "th"):
            self._add(" ")
        elif tag == "pre":
            self._pre += 1
        if tag in _PARAGRAPH_ELEMENTS:
            self._blank()
        elif tag == "br" and not "".join(self._current).strip():
            self._blank()  # <div><br></div>: an empty line
        elif tag in _LINE_ELEMENTS:
            self._flush()
            if tag == "li":
                self._add("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_ELEMENTS:
            if tag in self._skip:
                while self._skip and self._skip.pop() != tag:
                    pass
            return
        if self._skip or tag in _VOID_ELEMENTS:
            return
        if tag == "a":
            self._end_link()
        elif tag == "blockquote":
            self._flush()
            if self._quote_stack and self._quote_stack.pop():
                self._depth = max(0, self._depth - 1)
            self._blank()
            return
        elif tag == "pre":
            self._flush()
            self._pre = max(0, self._pre - 1)
        if tag in _PARAGRAPH_ELEMENTS:
            self._blank()
        elif tag in _LINE_ELEMENTS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        data = data.replace("\xa0", " ")
        if self._pre:
            first, *rest = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            self._add(first)
            for line in rest:
                if self._current:
                    self._flush()
                elif self.lines and self.lines[-1][1]:
                    self.lines.append((self._depth, ""))
                self._add(line)
        else:
            self._add(WHITESPACE.sub(" ", data))

    def _end_link(self) -> None:
        if self._href is None:
            return
        href, text = self._href, "".join(self._link_text).strip()
        self._href, self._link_text = None, []
        bare = re.sub(r"^https?://", "", href, flags=re.IGNORECASE).rstrip("/")
        if href and len(href) <= 500 and text and bare.lower() not in text.lower():
            self._add(f" ({href})")

    def text(self) -> str:
        self._end_link()
        self._flush()
        out: list[str] = []
        for depth, line in self.lines:
            prefix = ">" * depth
            out.append(f"{prefix} {line}" if prefix and line else prefix or line)
        return "\n".join(out)


def html_to_text(markup: str) -> str:
    """The visible text of *markup*: no scripts, styles or tags; paragraphs and lines kept."""
    parser = _HtmlText()
    parser.feed(markup)
    return normalise_text(parser.text())
