"""A report as a list of blocks (headings, paragraphs, tables, images), rendered to Markdown and to one HTML page."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Doc", "fmt"]


def fmt(x: float, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "failed" if x < 0 else "inf"
    return f"{x:.{digits}g}"


@dataclass
class Doc:
    title: str
    blocks: list[tuple[str, object]] = field(default_factory=list)

    def h(self, level: int, text: str) -> None:
        self.blocks.append((f"h{level}", text))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def code(self, text: str) -> None:
        self.blocks.append(("code", text))

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(("table", (header, rows)))

    def img(self, path: str, alt: str) -> None:
        self.blocks.append(("img", (path, alt)))

    # rendering ---------------------------------------------------------------------------------------------
    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for kind, value in self.blocks:
            if kind.startswith("h"):
                out += ["#" * (int(kind[1]) + 1) + f" {value}", ""]
            elif kind == "p":
                out += [str(value), ""]
            elif kind == "code":
                out += ["```", str(value), "```", ""]
            elif kind == "table":
                header, rows = value  # type: ignore[misc]
                out.append("| " + " | ".join(header) + " |")
                out.append("|" + "|".join("---" for _ in header) + "|")
                out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
                out.append("")
            elif kind == "img":
                path, alt = value  # type: ignore[misc]
                out += [f"![{alt}]({path})", ""]
        return "\n".join(out).rstrip() + "\n"

    def html(self) -> str:
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for kind, value in self.blocks:
            if kind.startswith("h"):
                level = int(kind[1]) + 1
                body.append(f"<h{level}>{html.escape(str(value))}</h{level}>")
            elif kind == "p":
                body.append(f"<p>{_inline(str(value))}</p>")
            elif kind == "code":
                body.append(f"<pre>{html.escape(str(value))}</pre>")
            elif kind == "table":
                header, rows = value  # type: ignore[misc]
                head = "".join(f"<th>{_inline(c)}</th>" for c in header)
                trs = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows)
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>")
            elif kind == "img":
                path, alt = value  # type: ignore[misc]
                body.append(f'<p><img src="{html.escape(path)}" alt="{html.escape(alt)}"></p>')
        style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto;line-height:1.4}"
                 "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px}"
                 "th{background:#f3f3f3}img{max-width:100%}pre{background:#f6f6f6;padding:.5em}")
        return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
                f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")

    def write(self, out_dir: Path, stem: str = "report") -> tuple[Path, Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        md, page = out_dir / f"{stem}.md", out_dir / f"{stem}.html"
        md.write_text(self.markdown())
        page.write_text(self.html())
        return md, page


def _inline(text: str) -> str:
    """Markdown's **bold** and `code` in table cells and paragraphs, the rest escaped."""
    out = html.escape(text)
    parts = out.split("**")
    out = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
    parts = out.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
