"""Elements that need their raw children: code blocks and ``pre``, lists and task lists, images, emoticons, dates."""

from __future__ import annotations

import re

from lxml import etree

from confluence_pipeline.convert.links import LinkRendering, md_url
from confluence_pipeline.convert.names import (
    AC_ALT,
    AC_CAPTION,
    AC_EMOJI_FALLBACK,
    AC_EMOJI_ID,
    AC_EMOJI_SHORTNAME,
    AC_NAME,
    AC_TASK,
    AC_TASK_BODY,
    AC_TASK_STATUS,
    RI_ATTACHMENT,
    RI_FILENAME,
    RI_URL,
    RI_VALUE,
)
from confluence_pipeline.convert.text import (
    INLINE,
    LI,
    code_span,
    escape_brackets,
    escape_text,
    fence_code,
    list_item,
)
from confluence_pipeline.convert.xml import qname

_BEFORE_SUBLIST = re.compile(r"\n\n(?=(?:[-*+]|\d{1,9}[.)]) )")
_EMOJI_ID = re.compile(r"^[0-9a-f]{4,6}(?:-[0-9a-f]{4,6})*$")
_EMOTICONS = {
    "smile": "🙂",
    "slight_smile": "🙂",
    "sad": "🙁",
    "cheeky": "😛",
    "stuck_out_tongue": "😛",
    "laugh": "😀",
    "grinning": "😀",
    "wink": "😉",
    "thumbs-up": "👍",
    "thumbsup": "👍",
    "thumbs-down": "👎",
    "thumbsdown": "👎",
    "information": "ℹ️",
    "info": "ℹ️",
    "tick": "✅",
    "check_mark": "✅",
    "cross": "❌",
    "cross_mark": "❌",
    "warning": "⚠️",
    "plus": "➕",
    "minus": "➖",
    "question": "❓",
    "question_mark": "❓",
    "light-on": "💡",
    "light_bulb_on": "💡",
    "light-off": "💡",
    "light_bulb_off": "💡",
    "yellow-star": "⭐",
    "yellow_star": "⭐",
    "red-star": "⭐",
    "red_star": "⭐",
    "green-star": "⭐",
    "green_star": "⭐",
    "blue-star": "⭐",
    "blue_star": "⭐",
    "heart": "❤️",
    "broken-heart": "💔",
    "broken_heart": "💔",
}

# Parents under which an image stands on its own line rather than inside running text.
_BLOCK_PARENTS = frozenset(
    {
        "confluence-storage",
        "li",
        "td",
        "th",
        "div",
        "blockquote",
        "section",
        "body",
        "ac:rich-text-body",
        "ac:layout-cell",
        "ac:adf-content",
        "ac:task-body",
        "ac:adf-fallback",
    }
)


class ElementRendering(LinkRendering):
    """Renders code blocks, ``pre``, lists, task lists, images, emoticons and ``time`` elements."""

    def _plain_body(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        return self._code_block("".join(el.itertext()), "", tags)

    def _pre(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        parts: list[str] = []

        def walk(node: etree._Element) -> None:
            if node.text:
                parts.append(node.text)
            for child in node:
                if child.tag == "br":
                    parts.append("\n")
                elif isinstance(child.tag, str):
                    walk(child)
                if child.tail:
                    parts.append(child.tail)

        walk(el)
        code = "".join(parts)
        if code.startswith("\n"):
            code = code[1:]
        return self._code_block(code, "", tags)

    def _code_block(
        self, code: str, language: str, tags: frozenset[str], title: str = "", *, keep_empty: bool = False
    ) -> str:
        if not code.strip() and not (keep_empty and title):
            return ""
        heading = f"**{escape_text(title)}**" if title else ""
        if INLINE in tags:
            return " " + " ".join(filter(None, [heading, code_span(" ".join(code.split()))])) + " "
        block = fence_code(code, language) if code.strip() else f"\n\n```{language}\n```\n\n"
        return f"\n\n{heading}{block}" if heading else block

    def _time(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        value = (el.get("datetime") or "").strip()
        if not value:
            return self._render_children(el, tags, depth)
        # Confluence shows a date as a lozenge: a separate word even where the markup has no space around it.
        previous = el.getprevious()
        parent = el.getparent()
        if previous is not None:
            glued_before = not previous.tail or not previous.tail[-1].isspace()
        else:
            glued_before = bool(parent is not None and parent.text and not parent.text[-1].isspace())
        glued_after = bool(el.tail and el.tail[0].isalnum())
        return (" " if glued_before else "") + escape_text(value) + (" " if glued_after else "")

    def _img(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        src = (el.get("src") or "").strip()
        if not src:
            return ""
        alt = el.get("alt") or el.get("title") or src.rsplit("/", 1)[-1].split("?", 1)[0]
        return self._place_image(el, f"![{escape_brackets(alt)}]({md_url(src)})", "", tags)

    def _place_image(self, el: etree._Element, image: str, caption: str, tags: frozenset[str]) -> str:
        parent = el.getparent()
        block = parent is not None and qname(parent.tag) in _BLOCK_PARENTS and INLINE not in tags
        if block:
            return f"\n\n{image}  \n{caption}\n\n" if caption else f"\n\n{image}\n\n"
        return f"{image} {caption}" if caption else image

    def _image(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        url = name = None
        caption = ""
        for child in el:
            tag = child.tag
            if tag == RI_ATTACHMENT:
                name = child.get(RI_FILENAME) or ""
                url = self._attachment_url(child, name)
            elif tag == RI_URL:
                url = child.get(RI_VALUE) or ""
                name = url.rsplit("/", 1)[-1].split("?", 1)[0]
            elif tag == AC_CAPTION:
                caption = self._inline_children(child, tags, depth)
        if not url:
            return caption
        alt = (el.get(AC_ALT) or "").strip() or name or "image"
        return self._place_image(el, f"![{escape_brackets(alt)}]({md_url(url)})", caption, tags)

    def _emoticon(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        emoji_id = (el.get(AC_EMOJI_ID) or "").lower()
        if _EMOJI_ID.match(emoji_id):
            try:
                return "".join(chr(int(code, 16)) for code in emoji_id.split("-"))
            except (ValueError, OverflowError):
                pass
        fallback = el.get(AC_EMOJI_FALLBACK) or ""
        if fallback and not fallback.isascii() and ":" not in fallback:
            return fallback
        name = (el.get(AC_NAME) or "").lower()
        if name in _EMOTICONS:
            return _EMOTICONS[name]
        shortname = (el.get(AC_EMOJI_SHORTNAME) or fallback).strip(":").lower()
        if shortname in _EMOTICONS:
            return _EMOTICONS[shortname]
        return f":{escape_text(shortname)}:" if shortname else ""

    def _task_list(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        items: list[str] = []
        child_tags = tags | {LI}
        for task in el:
            if task.tag != AC_TASK:
                continue
            status = ""
            body = ""
            for part in task:
                if part.tag == AC_TASK_STATUS:
                    status = "".join(part.itertext()).strip().lower()
                elif part.tag == AC_TASK_BODY:
                    body = self._render_children(part, child_tags, depth + 1).strip()
            # Continuation lines align with the list item's content ("- "), not with the checkbox.
            items.append(list_item("- [x]" if status == "complete" else "- [ ]", body, 2))
        return self._list_block(items, tags)

    def _list_block(self, items: list[str], tags: frozenset[str]) -> str:
        if not items:
            return ""
        body = "\n".join(items)
        if LI in tags:
            return "\n" + body + "\n"
        return "\n\n" + body + "\n\n"

    def _list(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        ordered = qname(el.tag) == "ol"
        number = 1
        if ordered:
            start = (el.get("start") or "").strip()
            if start.isdigit():
                number = min(int(start), 999_999_999)
        child_tags = tags | {LI}
        entries: list[tuple[str, str]] = []
        for child in el:
            tag = child.tag
            if tag.__class__ is not str:
                continue
            name = qname(tag)
            if name == "li":
                content = self._render_children(child, child_tags, depth + 1).strip()
                if "\n\n" in content and "```" not in content and "~~~" not in content:
                    # A paragraph followed by a sub-list: keep the item tight, as readers see it.
                    content = _BEFORE_SUBLIST.sub("\n", content)
            else:
                content = self._render(child, child_tags, depth).strip()
                if name in ("ul", "ol") and entries:
                    # Legacy storage nests a list directly in its parent list: it belongs to the previous item.
                    marker, previous = entries[-1]
                    entries[-1] = (marker, f"{previous}\n{content}" if previous else content)
                    continue
            marker = f"{number}." if ordered else "-"
            number += 1
            if content:
                entries.append((marker, content))
        items = [list_item(marker, content) for marker, content in entries]
        return self._list_block(items, tags)
