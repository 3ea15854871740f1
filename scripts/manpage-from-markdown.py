#!/usr/bin/env python3
"""Turns docs/MANIFEST.md into the secret-sync-manifest(5) man page, so the page and the reference
cannot drift: headings become sections, tables become tagged paragraphs, code blocks stay as
they are.

    python3 scripts/manpage-from-markdown.py docs/MANIFEST.md VERSION DATE > secret-sync-manifest.5
"""

from __future__ import annotations

import re
import sys


def escape(text: str) -> str:
    text = text.replace("\\", "\\e")
    return text


def inline(text: str) -> str:
    text = escape(text)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)            # links: their text
    text = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", text)           # bold
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)                 # code
    text = text.replace("—", "\\(em").replace("–", "\\(en").replace("…", "...").replace("×", "x")
    return text


def line_safe(text: str) -> str:
    """A text line must not start with a control character."""
    return "\\&" + text if text.startswith((".", "'")) else text


def convert(markdown: str, version: str, date: str) -> str:
    out = [f'.TH SECRET-SYNC-MANIFEST 5 "{date}" "secret-sync {version}" "File Formats"', ".SH NAME",
           "secret-sync-manifest \\- the secret-sync manifest (version 1)"]
    lines = markdown.splitlines()
    index = 0
    in_code = False
    table_header: list[str] | None = None
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.startswith("```"):
            if in_code:
                out += [".fi", ".RE"]
            else:
                out += [".RS 4", ".nf"]
            in_code = not in_code
            continue
        if in_code:
            out.append(line_safe(escape(line)))
            continue
        if line.startswith("# "):
            out.append(".SH DESCRIPTION")
            continue
        if line.startswith("## "):
            out.append(".SH " + inline(line[3:]).upper().replace('"', ""))
            continue
        if line.startswith("### "):
            out.append(".SS " + inline(line[4:]).replace('"', ""))
            continue
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
            if table_header is None:
                table_header = cells
                continue
            if all(set(cell) <= set("-: ") for cell in cells):
                continue
            first, rest = cells[0], cells[1:]
            details = [f"{name}: {inline(value)}" for name, value in zip(table_header[1:], rest) if value and name != "meaning"]
            meaning = dict(zip(table_header[1:], rest)).get("meaning", "")
            out += [".TP", line_safe(inline(first)) + (" (" + "; ".join(details) + ")" if details else "")]
            if meaning:
                out.append(line_safe(inline(meaning)))
            continue
        table_header = None
        if not line.strip():
            out.append(".PP")
            continue
        if line.startswith("- "):
            out += [".IP \\(bu 2", line_safe(inline(line[2:]))]
            continue
        out.append(line_safe(inline(line.strip())))
    out += [".SH SEE ALSO", "secret-sync(1), secret-sync-once(1), secret-sync-daemon(1), secret-sync-run(1), secret-sync-validate(1)"]
    # Collapse runs of paragraph marks.
    collapsed: list[str] = []
    for entry in out:
        if entry == ".PP" and collapsed and collapsed[-1] in (".PP", ".TP") or (entry == ".PP" and collapsed and collapsed[-1].startswith((".SH", ".SS"))):
            continue
        collapsed.append(entry)
    return "\n".join(collapsed) + "\n"


if __name__ == "__main__":
    source, version, date = sys.argv[1:4]
    sys.stdout.write(convert(open(source).read(), version, date))
