"""Text from customers, the bot and staff, shown by Streamlit's Markdown exactly as written.

Every Markdown and HTML character is escaped, so nothing typed is ever formatted or run. Line
breaks are kept: Markdown joins single lines into one paragraph, which ran the bot's menu lists
("• Espresso - 2,500" one per line) into a single line. Indentation is kept as no-break spaces,
so four leading spaces never turn a line into a code block.
"""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&])")
_LEADING = re.compile(r"^[ \t]+", re.MULTILINE)


def md_escape(text: str) -> str:
    escaped = _MD_SPECIAL.sub(r"\\\1", text.replace("\r\n", "\n").replace("\r", "\n"))
    kept = _LEADING.sub(lambda m: "\u00a0" * len(m.group(0)), escaped)
    return "  \n".join(line.rstrip(" \t") for line in kept.split("\n"))
