#!/usr/bin/env python3
"""Generate an addon's README.rst and static/description/index.html (its Apps page) from its
manifest and its readme/ fragments, laid out as OCA's README generator lays them out.

    scripts/gen_readme.py [--check] ADDON_DIR...

README.rst: the title (the manifest's name), a note that the file is generated, the manifest's
summary, badges (maturity when the manifest declares a development_status, the license), the
description, a table of contents, then the sections of the fragments present, in OCA's order
(Use Cases / Context, Installation, Configuration, Usage, Development, Known issues / Roadmap,
Changelog), Bug Tracker and Credits (Authors from the manifest, Contributors and Other credits
from their fragments, Maintainers). index.html is README.rst rendered by docutils, the HTML body
only (Odoo's Apps page drops a page's own style sheet and uses its own, Bootstrap's), with images
relative to static/description/, where the page is and where Odoo looks for them.

The fragments are Markdown (readme/DESCRIPTION.md, USAGE.md...), converted here to
reStructuredText without pandoc. The subset understood: paragraphs; bullet and numbered lists,
nested by indentation, with several paragraphs or code blocks per item; ## to #### headings;
fenced code blocks (with or without a language); pipe tables; an image alone in its paragraph,
![alt](../static/description/file.png); and in the text **strong**, *emphasis*, `code`,
[links](https://...), <https://...> and backslash escapes. Anything else is taken as text and
escaped so that it reads as written. An image inside a sentence, a heading in DESCRIPTION.md or a
single "#" heading is an error.

The files are written only when their content changes, so a second run changes nothing. With
--check nothing is written: the exit status is 1 when a file differs from what would be generated
(for CI), with the names of those files.
"""

import argparse
import ast
import hashlib
import io
import json
import os
import re
import sys
from pathlib import Path

from docutils.core import publish_parts
from docutils.utils import SystemMessage

FRAGMENTS_DIR = "readme"
# The sections of the fragments, in the order of OCA's README.
SECTIONS = (
    ("CONTEXT", "Use Cases / Context"),
    ("INSTALL", "Installation"),
    ("CONFIGURE", "Configuration"),
    ("USAGE", "Usage"),
    ("DEVELOP", "Development"),
    ("ROADMAP", "Known issues / Roadmap"),
    ("HISTORY", "Changelog"),
)
CREDITS = (("CONTRIBUTORS", "Contributors"), ("CREDITS", "Other credits"))
FRAGMENTS = ("DESCRIPTION", *(name for name, _title in SECTIONS), *(name for name, _title in CREDITS))

LICENSE_BADGES = {
    "LGPL-3": ("https://img.shields.io/badge/licence-LGPL--3-blue.png", "https://www.gnu.org/licenses/lgpl-3.0"),
    "AGPL-3": ("https://img.shields.io/badge/licence-AGPL--3-blue.png", "https://www.gnu.org/licenses/agpl-3.0"),
    "GPL-3": ("https://img.shields.io/badge/licence-GPL--3-blue.png", "https://www.gnu.org/licenses/gpl-3.0"),
}
MATURITY_BADGES = {
    "alpha": ("Alpha", "red"),
    "beta": ("Beta", "yellow"),
    "production/stable": ("Production/Stable", "green"),
    "mature": ("Mature", "brightgreen"),
}
MATURITY_PAGE = "https://odoo-community.org/page/development-status"

# Section underlines by level: the document's sections, their subsections, and below.
UNDERLINES = {1: "=", 2: "-", 3: "~", 4: "^"}

# Rendering of the Apps page; warnings stop the generation (a README that renders with warnings
# renders badly on GitHub and in Odoo).
DOCUTILS_SETTINGS = {
    "file_insertion_enabled": False,
    "raw_enabled": False,
    "halt_level": 2,
    "report_level": 2,
    "smart_quotes": True,
    "syntax_highlight": "none",
    "embed_stylesheet": False,
    "doctitle_xform": True,
    "initial_header_level": 2,
    "output_encoding": "unicode",
}


class FragmentError(Exception):
    """A fragment uses Markdown outside the subset this script converts."""


# ----------------------------------------------------------------------------------------------
# Markdown blocks
# ----------------------------------------------------------------------------------------------

LIST_ITEM = re.compile(r"^( {0,3})([-*+]|\d{1,9}[.)])( +|$)")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)\s*$")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(\s+#+)?\s*$")
TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
IMAGE_ALONE = re.compile(r'^!\[([^\]]*)\]\(\s*(\S+?)(?:\s+"[^"]*")?\s*\)$')


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def _starts_block(line):
    """Whether the line interrupts a paragraph (as in CommonMark: a heading, a fence, a list)."""
    item = LIST_ITEM.match(line)
    if item and line[item.end() :].strip():
        marker = item.group(2)
        if not marker[0].isdigit() or int(marker[:-1]) == 1:
            return True
    return bool(HEADING.match(line) or FENCE.match(line))


def _is_table(lines, index):
    return (
        "|" in lines[index]
        and index + 1 < len(lines)
        and "|" in lines[index + 1]
        and TABLE_SEPARATOR.match(lines[index + 1])
    )


def _split_row(line):
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)]


def parse_blocks(lines):
    """Markdown lines -> blocks: ("heading", level, text), ("code", language, lines),
    ("table", header, rows), ("image", alt, path), ("list", ordered, start, items) where each item
    is a list of blocks, ("para", lines)."""
    blocks = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        fence = FENCE.match(line)
        if fence:
            end = index + 1
            while end < len(lines) and not (
                lines[end].strip().startswith(fence.group(1)[0] * len(fence.group(1)))
                and not lines[end].strip().strip(fence.group(1)[0])
            ):
                end += 1
            if end == len(lines):
                raise FragmentError(f"code block not closed: {line.strip()}")
            code = [code_line[_indent(line) :] if code_line.strip() else "" for code_line in lines[index + 1 : end]]
            blocks.append(("code", fence.group(2), code))
            index = end + 1
            continue
        heading = HEADING.match(line)
        if heading:
            blocks.append(("heading", len(heading.group(1)), heading.group(2)))
            index += 1
            continue
        if _is_table(lines, index):
            header = _split_row(line)
            rows = []
            index += 2
            while index < len(lines) and lines[index].strip() and "|" in lines[index]:
                row = _split_row(lines[index])
                rows.append((row + [""] * len(header))[: len(header)])
                index += 1
            blocks.append(("table", header, rows))
            continue
        if LIST_ITEM.match(line):
            index = _parse_list(lines, index, blocks)
            continue
        paragraph = [line]
        index += 1
        while index < len(lines) and lines[index].strip() and not _starts_block(lines[index]):
            paragraph.append(lines[index])
            index += 1
        text = " ".join(part.strip() for part in paragraph)
        image = IMAGE_ALONE.match(text)
        if image:
            blocks.append(("image", image.group(1), image.group(2)))
        else:
            blocks.append(("para", [part.strip() for part in paragraph]))
    return blocks


def _parse_list(lines, index, blocks):
    """Parse the list starting at lines[index] into blocks; return the index after it."""
    first = LIST_ITEM.match(lines[index])
    indent = len(first.group(1))
    ordered = first.group(2)[0].isdigit()
    start = int(first.group(2)[:-1]) if ordered else 1
    items = []
    while index < len(lines):
        item = LIST_ITEM.match(lines[index])
        if not item or len(item.group(1)) != indent or item.group(2)[0].isdigit() != ordered:
            break
        content = indent + len(item.group(2)) + (len(item.group(3)) if len(item.group(3)) <= 4 else 1)
        item_lines = [lines[index][content:]]
        index += 1
        while index < len(lines):
            line = lines[index]
            if not line.strip():
                following = next((other for other in lines[index + 1 :] if other.strip()), None)
                if following is None or _indent(following) < content:
                    break
                item_lines.append("")
            elif _indent(line) >= content:
                item_lines.append(line[content:])
            elif item_lines[-1].strip() and not _starts_block(line) and not LIST_ITEM.match(line):
                item_lines.append(line.strip())  # a lazy continuation line
            else:
                break
            index += 1
        items.append(parse_blocks(item_lines))
        # Blank lines between items keep the list going.
        following = index
        while following < len(lines) and not lines[following].strip():
            following += 1
        next_item = following < len(lines) and LIST_ITEM.match(lines[following])
        if next_item and len(next_item.group(1)) == indent and next_item.group(2)[0].isdigit() == ordered:
            index = following
    blocks.append(("list", ordered, start, items))
    return index


# ----------------------------------------------------------------------------------------------
# Markdown inline text
# ----------------------------------------------------------------------------------------------

INLINE = re.compile(
    r"(?P<code>(?P<ticks>`+)(?P<code_text>.+?)(?P=ticks))"
    r"|(?P<image>!\[[^\]]*\]\([^)]*\))"
    r"|\[(?P<link_text>[^\]]+)\]\((?P<link_url>[^)\s]+)\)"
    r"|<(?P<autolink>https?://[^>\s]+)>"
    r"|\*\*(?P<strong>[^\s*](?:.*?[^\s\\])?)\*\*"
    r"|(?<!\w)__(?P<strong2>[^\s_](?:.*?[^\s\\])?)__(?!\w)"
    r"|\*(?P<em>[^\s*](?:.*?[^\s\\*])?)\*"
    r"|(?<!\w)_(?P<em2>[^\s_](?:.*?[^\s\\_])?)_(?!\w)"
    r"|\\(?P<escaped>[!-/:-@\[-`{-~])",
    re.DOTALL,
)
# What may stand before an inline markup start-string and after an end-string in
# reStructuredText; elsewhere an escaped space (which renders as nothing) separates them.
BEFORE_MARKUP = set(" \n\t-:/'\"<([{‘“«")
AFTER_MARKUP = set(" \n\t-.,:;!?/'\")]}>’”»")


def escape_text(text):
    """Plain text -> reStructuredText that reads the same."""
    text = text.replace("\\", "\\\\")
    text = re.sub(r"([*`|])", r"\\\1", text)
    # A word ending with "_" or "__" would be a reference.
    return re.sub(r"_(?!\w)", r"\\_", text)


def _plain(markdown):
    """The text of a piece of Markdown without its inline markup (inside a link, a strong...)."""
    groups = ("code_text", "link_text", "autolink", "strong", "strong2", "em", "em2", "escaped")
    return INLINE.sub(lambda match: next((match.group(g) for g in groups if match.group(g)), ""), markdown)


def convert_inline(markdown):
    """Markdown text (lines joined with newlines) -> reStructuredText."""
    parts = []  # (is_markup, text)
    position = 0
    for match in INLINE.finditer(markdown):
        if match.start() > position:
            parts.append((False, escape_text(markdown[position : match.start()])))
        position = match.end()
        kind = match.lastgroup
        if kind == "code":
            code = match.group("code_text").strip()
            if "``" in code or code.endswith("\\"):
                raise FragmentError(f"inline code that reStructuredText cannot quote: {code}")
            parts.append((True, f"``{code}``"))
        elif kind == "image":
            raise FragmentError(f"an image inside text (put it in a paragraph of its own): {match.group()}")
        elif match.group("link_text") is not None:
            label = escape_text(_plain(match.group("link_text"))).replace("<", "\\<")
            parts.append((True, f"`{label} <{match.group('link_url')}>`__"))
        elif kind == "autolink":
            parts.append((False, match.group("autolink")))
        elif kind in ("strong", "strong2"):
            parts.append((True, f"**{escape_text(_plain(match.group(kind)))}**"))
        elif kind in ("em", "em2"):
            parts.append((True, f"*{escape_text(_plain(match.group(kind)))}*"))
        else:
            parts.append((False, escape_text(match.group("escaped"))))
    parts.append((False, escape_text(markdown[position:])))
    output = ""
    previous_markup = False
    for is_markup, text in parts:
        if not text:
            continue
        if is_markup and output and output[-1] not in BEFORE_MARKUP:
            output += "\\ "
        elif previous_markup and text[0] not in AFTER_MARKUP:
            output += "\\ "
        output += text
        previous_markup = is_markup
    return output


def _guard_first_line(line):
    """A paragraph's first line that reStructuredText would read as something else (a comment,
    an enumerated list, a field or option list, a doctest...) is escaped."""
    if re.match(r"(\.\.|#\.|>>>|-\S|:\S[^:]*:(\s|$)|\(?[A-Za-z0-9]{1,4}[.)]\s)", line):
        return "\\" + line
    return line


# ----------------------------------------------------------------------------------------------
# reStructuredText
# ----------------------------------------------------------------------------------------------


def render_blocks(blocks, base_level, addon_dir):
    """Blocks -> reStructuredText lines, the blocks separated by blank lines. A fragment's "##"
    headings are at base_level (None: no headings)."""
    out = []
    for block in blocks:
        if out:
            out.append("")
        kind = block[0]
        if kind == "heading":
            level = base_level + block[1] - 2 if base_level else None
            if block[1] < 2 or level not in UNDERLINES:
                raise FragmentError(f"heading out of range for this fragment: {'#' * block[1]} {block[2]}")
            text = convert_inline(block[2])
            out += [text, UNDERLINES[level] * len(text)]
        elif kind == "para":
            text = convert_inline("\n".join(block[1]))
            lines = text.split("\n")
            lines[0] = _guard_first_line(lines[0])
            if lines[-1].endswith("::"):
                lines[-1] = lines[-1][:-2] + "\\::"
            out += lines
        elif kind == "code":
            out += [f".. code-block:: {block[1]}" if block[1] else "::", ""]
            out += [f"    {line}" if line else "" for line in block[2]]
        elif kind == "image":
            path = block[2]
            if "://" not in path:
                path = re.sub(r"^(\.\./)+|^\./", "", path)
                if not (addon_dir / path).is_file():
                    raise FragmentError(f"image not found: {path}")
            out.append(f".. image:: {path}")
            if block[1]:
                out.append(f"   :alt: {block[1]}")
            # Bootstrap's classes (the Apps page is in Odoo's web client): screenshots wider than the
            # page shrink to fit it, framed and spaced from the text below.
            out.append("   :class: img-fluid border mb-3")
        elif kind == "table":
            out += [".. list-table::", "   :header-rows: 1", "   :widths: auto", "   :class: table table-sm", ""]
            for row in [block[1], *block[2]]:
                for column, cell in enumerate(row):
                    marker = "   * - " if column == 0 else "     - "
                    out.append((marker + _guard_first_line(convert_inline(cell))).rstrip())
        elif kind == "list":
            ordered, start, items = block[1], block[2], block[3]
            compact = all(len(item) == 1 and item[0][0] == "para" for item in items)
            for number, item in enumerate(items, start):
                if out and out[-1] and not compact:
                    out.append("")
                marker = f"{number}. " if ordered else "- "
                lines = render_blocks(item, base_level, addon_dir) or [""]
                out.append((marker + lines[0]).rstrip())
                out += [(" " * len(marker) + line) if line else "" for line in lines[1:]]
    return out


def fragment_to_rst(text, base_level, addon_dir):
    return "\n".join(render_blocks(parse_blocks(text.expandtabs(4).splitlines()), base_level, addon_dir))


def title(text, level, overline=False):
    line = UNDERLINES[level] * len(text)
    return f"{line}\n{text}\n{line}\n" if overline else f"{text}\n{line}\n"


# ----------------------------------------------------------------------------------------------
# The README and the Apps page
# ----------------------------------------------------------------------------------------------


def read_manifest(addon_dir):
    return ast.literal_eval((addon_dir / "__manifest__.py").read_text(encoding="utf-8"))


def read_fragments(addon_dir):
    fragments = {}
    for name in FRAGMENTS:
        path = addon_dir / FRAGMENTS_DIR / f"{name}.md"
        if path.is_file() and path.read_text(encoding="utf-8").strip():
            fragments[name] = path.read_text(encoding="utf-8")
    return fragments


def source_digest(manifest, fragments):
    keys = ("name", "summary", "version", "license", "author", "website", "development_status", "maintainers")
    source = json.dumps({key: manifest.get(key) for key in keys}, sort_keys=True) + "".join(
        f"\0{name}\0{text}" for name, text in sorted(fragments.items())
    )
    return "sha256:" + hashlib.sha256(source.encode("utf-8")).hexdigest()


def badges(manifest):
    """(image, target, alt text) of the badges."""
    result = []
    status = manifest.get("development_status", "").lower()
    if status in MATURITY_BADGES:
        label, colour = MATURITY_BADGES[status]
        image = "https://img.shields.io/badge/maturity-{}-{}.png".format(label.replace("/", "%2F"), colour)
        result.append((image, MATURITY_PAGE, label))
    license_ = manifest.get("license")
    if license_ in LICENSE_BADGES:
        image, target = LICENSE_BADGES[license_]
        result.append((image, target, f"License: {license_}"))
    return result


def generate_readme(addon_dir):
    """The README.rst of the addon, as text."""
    manifest = read_manifest(addon_dir)
    fragments = read_fragments(addon_dir)
    if "DESCRIPTION" not in fragments:
        raise FragmentError(f"{addon_dir / FRAGMENTS_DIR / 'DESCRIPTION.md'} is missing")
    addon = addon_dir.name
    project = manifest.get("website", "").rstrip("/")
    if not project.startswith("https://github.com/"):
        raise FragmentError(f"{addon}: the manifest's website is not the project's GitHub repository")
    version = manifest["version"]

    def section(name, heading, level, base_level):
        if name not in fragments:
            return ""
        try:
            body = fragment_to_rst(fragments[name], base_level, addon_dir)
        except FragmentError as error:
            raise FragmentError(f"{addon}/{FRAGMENTS_DIR}/{name}.md: {error}") from error
        return f"{title(heading, level)}\n{body}\n\n"

    out = title(manifest["name"], 1, overline=True)
    out += (
        "\n..\n"
        "   !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        "   !! This file is generated by scripts/gen_readme.py from the   !!\n"
        "   !! manifest and readme/*.md: changes here will be overwritten !!\n"
        "   !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        f"   !! source digest: {source_digest(manifest, fragments)}\n"
        "   !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n"
    )
    if manifest.get("summary"):
        out += f"*{escape_text(' '.join(manifest['summary'].split()))}*\n\n"
    badge_list = badges(manifest)
    for number, (image, target, alt) in enumerate(badge_list, 1):
        out += f".. |badge{number}| image:: {image}\n    :target: {target}\n    :alt: {alt}\n"
    if badge_list:
        out += "\n" + " ".join(f"|badge{number}|" for number in range(1, len(badge_list) + 1)) + "\n\n"
    try:
        description = fragment_to_rst(fragments["DESCRIPTION"], None, addon_dir)
    except FragmentError as error:
        raise FragmentError(f"{addon}/{FRAGMENTS_DIR}/DESCRIPTION.md: {error}") from error
    out += f"{description}\n\n**Table of contents**\n\n.. contents::\n   :local:\n   :depth: 2\n\n"
    for name, heading in SECTIONS:
        out += section(name, heading, 1, 2)
    issues = f"{project}/issues"
    feedback = (
        f"{issues}/new?body=module:%20{addon}%0Aversion:%20{version}"
        "%0A%0A**Steps%20to%20reproduce**%0A-%20...%0A%0A**Current%20behavior**%0A%0A**Expected%20behavior**"
    )
    out += title("Bug Tracker", 1) + (
        f"\nBugs are tracked on `GitHub Issues <{issues}>`_.\n"
        "In case of trouble, please check there if your issue has already been reported.\n"
        "If you spotted it first, help us to smash it by providing a detailed and welcomed\n"
        f"`feedback <{feedback}>`_.\n\n"
        "Do not contact contributors directly about support or help with technical issues.\n\n"
    )
    out += title("Credits", 1) + "\n"
    authors = [author.strip() for author in manifest.get("author", "").split(",") if author.strip()]
    if authors:
        out += title("Authors", 2) + "\n" + "".join(f"- {escape_text(author)}\n" for author in authors) + "\n"
    for name, heading in CREDITS:
        out += section(name, heading, 2, 3)
    out += title("Maintainers", 2) + "\n"
    maintainers = manifest.get("maintainers", [])
    if maintainers:
        for login in maintainers:
            out += (
                f".. |maintainer-{login}| image:: https://github.com/{login}.png?size=40px\n"
                f"    :target: https://github.com/{login}\n    :alt: {login}\n"
            )
        plural = "s" if len(maintainers) > 1 else ""
        out += f"\nCurrent maintainer{plural}:\n\n" + " ".join(f"|maintainer-{login}|" for login in maintainers)
        out += "\n\n"
    repository = project.removeprefix("https://github.com/")
    out += (
        f"This module is part of the `{repository} <{project}>`_ project on GitHub.\n\nYou are welcome to contribute.\n"
    )
    return out


def generate_index(readme, readme_path):
    """The Apps page: README.rst rendered by docutils, the HTML body only; images referred to
    relative to static/description/, where the page is and where Odoo looks for them."""
    warnings = io.StringIO()
    try:
        parts = publish_parts(
            source=readme,
            source_path=str(readme_path),
            writer_name="html4css1",
            settings_overrides={**DOCUTILS_SETTINGS, "warning_stream": warnings},
        )
    except SystemMessage as error:
        raise FragmentError(f"{readme_path} does not render cleanly: {error}\n{warnings.getvalue()}") from error
    html = re.sub(r'(<img [^>]*src=")static/description/', r"\1", parts["html_body"])
    return html.rstrip("\n") + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("addons", nargs="+", type=Path, metavar="ADDON_DIR")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when a file differs from what would be generated"
    )
    args = parser.parse_args(argv)
    stale = []
    for addon_dir in args.addons:
        addon_dir = addon_dir.resolve()
        if not (addon_dir / "__manifest__.py").is_file():
            parser.error(f"{addon_dir} is not an addon (no __manifest__.py)")
        try:
            readme = generate_readme(addon_dir)
            readme_path = addon_dir / "README.rst"
            index = generate_index(readme, readme_path)
        except FragmentError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        for path, content in ((readme_path, readme), (addon_dir / "static" / "description" / "index.html", index)):
            current = path.read_text(encoding="utf-8") if path.is_file() else None
            if current == content:
                continue
            stale.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8")
    for path in stale:
        print(f"{'out of date' if args.check else 'written'}: {os.path.relpath(path)}")
    if args.check and stale:
        sys.stdout.flush()
        print("Run scripts/gen_readme.py (make readme) and commit the result.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
