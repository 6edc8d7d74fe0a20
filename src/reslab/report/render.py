"""Render a Document as one self-contained HTML page or as Markdown beside its PNGs."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

from reslab.report.document import (
    Block,
    BulletList,
    Code,
    Details,
    Document,
    Figure,
    Heading,
    Paragraph,
    Table,
)
from reslab.report.wording import Wording

# Readable from a 380 px phone to a desktop: a capped column, tables and code that scroll
# sideways inside their own box, images that shrink to fit. No external fonts or scripts.
# Table headers wrap between words only (a word broken mid-way reads as two); a table too
# wide for a phone scrolls sideways in its .table-wrap instead. Chinese has no spaces between
# words, so its headers keep the normal line breaking between characters.
CSS = """
:root { --fg: #1d2127; --muted: #5a6270; --accent: #2457a6; --line: #d9dde3; --soft: #f4f6f8; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0 auto; max-width: 60rem; padding: 1.5rem 1rem 3rem; color: var(--fg);
  font: 16px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC",
  "PingFang SC", "Microsoft YaHei", sans-serif; }
h1 { font-size: 1.65rem; line-height: 1.25; margin: 0 0 .4rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .2rem;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 1.08rem; margin: 1.6rem 0 .4rem; }
p, li { overflow-wrap: anywhere; }
.subtitle { color: var(--muted); margin-top: 0; }
.table-wrap { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: 1rem 0; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { padding: .35rem .65rem; border-bottom: 1px solid var(--line); text-align: left;
  white-space: nowrap; vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: normal; min-width: 4.5rem;
  word-break: keep-all; overflow-wrap: normal; hyphens: manual; }
:lang(zh) th { word-break: normal; }
th .w { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5rem 0; }
img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: .9rem; color: var(--muted); margin-top: .4rem; }
pre { background: var(--soft); padding: .75rem .9rem; overflow-x: auto; font-size: .84rem;
  line-height: 1.45; border-radius: 4px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Noto Sans Mono", monospace; }
.verdict { border-left: 4px solid var(--accent); background: #eef3fb; padding: .6rem .9rem; }
.claim { border-left: 4px solid #9aa3ad; background: var(--soft); padding: .6rem .9rem; }
.note { color: var(--muted); font-size: .93rem; }
table.prose td { white-space: normal; min-width: 7rem; }
.panels { display: flex; flex-wrap: wrap; gap: .5rem; }
.panels img { flex: 1 1 22rem; min-width: 0; }
details { margin: 1rem 0; }
summary { cursor: pointer; color: var(--accent); }
@media (max-width: 480px) {
  .pm { display: block; font-size: .85em; color: var(--muted); }
  th, td { padding: .3rem .3rem; }
  th { min-width: 0; }
  table { font-size: .8rem; }
  table.prose td, table.prose th { min-width: 0; }
  body { font-size: 15px; padding: 1rem .8rem 2rem; }
  h1 { font-size: 1.35rem; }
  h2 { font-size: 1.15rem; }
}
"""


def to_html(doc: Document, t: Wording) -> str:
    """The whole report as one HTML string; figures are embedded as base64 PNG data URIs."""
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{_a(t("html_lang"))}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(doc.title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{_e(doc.title)}</h1>",
        f'<p class="subtitle">{_e(doc.subtitle)}</p>',
    ]
    counter = [0]
    for block in doc.blocks:
        parts.append(_html_block(block, t, counter))
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def _html_block(block: Block, t: Wording, counter: list[int]) -> str:
    if isinstance(block, Details):
        inner = "\n".join(_html_block(b, t, counter) for b in block.blocks)
        return f"<details><summary>{_e(block.summary)}</summary>\n{inner}\n</details>"
    if isinstance(block, Heading):
        return f"<h{block.level}>{_e(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        lead = f"<strong>{_e(block.lead)}</strong> " if block.lead else ""
        cls = "" if block.style == "plain" else f' class="{block.style}"'
        return f"<p{cls}>{lead}{_e(block.text)}</p>"
    if isinstance(block, BulletList):
        items = "".join(f"<li>{_e(item)}</li>" for item in block.items)
        return f"<ul>{items}</ul>"
    if isinstance(block, Table):
        head = "".join(
            f'<th{_num(i, block)} scope="col">{_header(h)}</th>' for i, h in enumerate(block.header)
        )
        body = "".join(
            "<tr>"
            + "".join(f"<td{_num(i, block)}>{_cell(c)}</td>" for i, c in enumerate(row))
            + "</tr>"
            for row in block.rows
        )
        cls = ' class="prose"' if block.prose else ""
        return (
            f'<div class="table-wrap"><table{cls}><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>"
        )
    if isinstance(block, Figure):
        counter[0] += 1
        label = t("figure_label", n=counter[0])
        images = "".join(
            f'<img src="data:image/png;base64,{_b64(p)}" alt="{_a(block.caption)}">'
            for p in block.paths
        )
        if block.extra:
            images = f'<div class="panels">{images}</div>'
        return (
            f"<figure>{images}"
            f"<figcaption><strong>{_e(label)}</strong> {_e(block.caption)}</figcaption></figure>"
        )
    if isinstance(block, Code):
        cls = f' class="language-{_a(block.language)}"' if block.language else ""
        return f"<pre><code{cls}>{_e(block.text)}</code></pre>"
    raise TypeError(f"unknown block {type(block).__name__}")


def to_markdown(doc: Document, t: Wording, markdown_path: Path) -> str:
    """The report as Markdown; figures are linked relative to ``markdown_path``."""
    parts = [f"# {_md(doc.title)}", f"_{_md(doc.subtitle)}_"]
    counter = [0]
    for block in doc.blocks:
        parts.append(_md_block(block, t, counter, markdown_path.parent))
    return "\n\n".join(parts) + "\n"


def _md_block(block: Block, t: Wording, counter: list[int], base: Path) -> str:
    if isinstance(block, Details):
        inner = [_md_block(b, t, counter, base) for b in block.blocks]
        return "\n\n".join([f"_{_md(block.summary)}_", *inner])
    if isinstance(block, Heading):
        return f"{'#' * block.level} {_md(block.text)}"
    if isinstance(block, Paragraph):
        text = _md(block.text)
        if block.lead:
            text = f"**{_md(block.lead)}** {text}"
        return f"> {text}" if block.style in ("verdict", "claim") else text
    if isinstance(block, BulletList):
        return "\n".join(f"- {_md(item)}" for item in block.items)
    if isinstance(block, Table):
        align = ["---:" if i in block.numeric else "---" for i in range(len(block.header))]
        lines = [_md_row(block.header), "| " + " | ".join(align) + " |"]
        lines += [_md_row(row) for row in block.rows]
        return "\n".join(lines)
    if isinstance(block, Figure):
        counter[0] += 1
        label = t("figure_label", n=counter[0])
        images = " ".join(
            f"![{_md(block.caption)}]({Path(os.path.relpath(p, base)).as_posix()})"
            for p in block.paths
        )
        return f"{images}\n\n*{_md(label)}* {_md(block.caption)}"
    if isinstance(block, Code):
        fence = "````" if "```" in block.text else "```"
        return f"{fence}{block.language}\n{block.text.rstrip()}\n{fence}"
    raise TypeError(f"unknown block {type(block).__name__}")


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def _header(text: str) -> str:
    """A column header: a hyphenated word ("CIFAR-10", "ResNet-56") is kept on one line, since
    a browser may break after its hyphen even where words are kept whole."""
    return " ".join(
        f'<span class="w">{_e(word)}</span>' if "-" in word else _e(word)
        for word in text.split(" ")
    )


def _cell(text: str) -> str:
    """A table cell; the "± std" of a "mean ± std" goes on its own line on a phone."""
    mean, sep, std = text.partition(" ± ")
    if not sep or not std or " " in mean:
        return _e(text)
    return f'{_e(mean)}<span class="pm"> ± {_e(std)}</span>'


def _md_row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(_md(c).replace("|", "\\|") for c in cells) + " |"


def _md(text: str) -> str:
    """Escape the characters that would turn prose into emphasis or markup."""
    for ch in ("\\", "*", "_", "`", "<"):
        text = text.replace(ch, "\\" + ch)
    return text


def _num(i: int, table: Table) -> str:
    return ' class="num"' if i in table.numeric else ""


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def _a(text: str) -> str:
    return html.escape(text, quote=True)
