"""A small TextMate tokenizer on Python's `re`, enough to run the generated `.nas` grammar in tests.

It follows vscode-textmate's rules for what the grammar uses: each line is matched with a `\\n` appended; at each
position the rule whose match starts leftmost wins, ties go to the open region's `end` and then to pattern order;
`match` rules scope their match, `begin`/`end` rules open and close a region whose `name` covers both ends;
`captures`, `beginCaptures`, `endCaptures`, `include` of `#name` and `$self`, and pattern groups. Back-references in
`end`, `contentName`, `while` and injections are not used by the grammar and not supported (asserted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Scopes = tuple[str, ...]


@dataclass
class _Region:
    rule: dict[str, Any]
    scopes: Scopes
    end: re.Pattern[str] | None
    patterns: list[dict[str, Any]]


class Grammar:
    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.repo: dict[str, Any] = data.get("repository", {})
        self._compiled: dict[str, re.Pattern[str]] = {}

    def regex(self, pattern: str) -> re.Pattern[str]:
        if pattern not in self._compiled:
            self._compiled[pattern] = re.compile(pattern)
        return self._compiled[pattern]

    def flatten(self, patterns: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The match and begin rules of a pattern list, with includes and pattern groups expanded in order."""
        out: list[dict[str, Any]] = []
        for rule in patterns:
            assert "while" not in rule and "contentName" not in rule and "injections" not in rule, rule
            if "include" in rule:
                ref = rule["include"]
                if ref in ("$self", "$base"):
                    out += self.flatten(self.data["patterns"])
                    continue
                assert ref.startswith("#"), f"unsupported include {ref}"
                target = self.repo[ref[1:]]
                out += [target] if ("match" in target or "begin" in target) else self.flatten(target["patterns"])
            elif "match" in rule or "begin" in rule:
                out.append(rule)
            else:
                out += self.flatten(rule.get("patterns", []))
        return out

    def tokenize(self, text: str) -> list[list[Scopes]]:
        """The scopes of every character of every line (the appended `\\n` left out)."""
        root = _Region({}, (self.data["scopeName"],), None, self.flatten(self.data["patterns"]))
        stack = [root]
        result: list[list[Scopes]] = []
        for line in text.split("\n"):
            s = line + "\n"
            chars: list[Scopes] = [stack[-1].scopes] * len(s)
            pos, seen = 0, set()
            while pos < len(s):
                region = stack[-1]
                state = (pos, len(stack), id(region.rule))
                assert state not in seen, f"the grammar loops at column {pos} of {line!r}"
                seen.add(state)
                best: tuple[int, int, re.Match[str], dict[str, Any] | None] | None = None
                if region.end is not None:
                    m = region.end.search(s, pos)
                    if m:
                        best = (m.start(), -1, m, None)
                for order, rule in enumerate(region.patterns):
                    m = self.regex(rule.get("match") or rule["begin"]).search(s, pos)
                    if m and (best is None or m.start() < best[0]):
                        best = (m.start(), order, m, rule)
                if best is None:
                    _paint(chars, pos, len(s), region.scopes)
                    break
                start, _, m, rule = best
                _paint(chars, pos, start, region.scopes)
                if rule is None:  # the region's end
                    stack.pop()
                    self._scope_match(chars, m, region.scopes, region.rule.get("endCaptures", {}))
                    pos = m.end()
                elif "match" in rule:
                    scopes = region.scopes + ((rule["name"],) if "name" in rule else ())
                    self._scope_match(chars, m, scopes, rule.get("captures", {}))
                    pos = m.end() if m.end() > m.start() else m.end() + 1
                else:
                    scopes = region.scopes + ((rule["name"],) if "name" in rule else ())
                    self._scope_match(chars, m, scopes, rule.get("beginCaptures", rule.get("captures", {})))
                    assert "\\1" not in rule["end"], "back-references in `end` are not supported"
                    stack.append(_Region(rule, scopes, self.regex(rule["end"]), self.flatten(rule.get("patterns", []))))
                    pos = m.end()
            result.append(chars[:-1])
        return result

    @staticmethod
    def _scope_match(chars: list[Scopes], m: re.Match[str], scopes: Scopes, captures: dict[str, Any]) -> None:
        _paint(chars, m.start(), m.end(), scopes)
        for group in sorted(captures, key=int):
            g = int(group)
            if g <= (m.re.groups or 0) and m.start(g) >= 0 and "name" in captures[group]:
                _paint(chars, m.start(g), m.end(g), scopes + (captures[group]["name"],))


def _paint(chars: list[Scopes], start: int, end: int, scopes: Scopes) -> None:
    for i in range(start, min(end, len(chars))):
        chars[i] = scopes
