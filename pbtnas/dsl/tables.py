"""The grammar's LALR tables, built once and committed as plain JSON (`nas_tables.json`; the formatter's
`nas_tables_concrete.json`).

Building lark's LALR(1) tables from `grammars/nas.lark` takes about 65 ms, every time a process starts; `pbtnas
check` and the language server's start pay it. lark can dump a built parser to plain data (`memo_serialize`, what
its standalone generator embeds) and rebuild the parser from it (`Lark._load_from_dict`) in a few milliseconds.
The data is stored as JSON, never pickle: loading it cannot run code. JSON has no tuples and only string keys, so
a small codec keeps both (`{"#t": [...]}` a tuple, `{"#d": [[k, v], ...]}` a dict with other keys).

Each file records the grammar's hash and lark's version; when either differs (the grammar edited without
regenerating, another lark installed), `load` returns None and the parser is built from the grammar as before:
slower, never wrong. tests/dsl/test_tables.py regenerates the files and compares, so the two cannot drift; after
editing the grammar, regenerate with

    python -m pbtnas.dsl.tables

(lark numbers tokens and states in set order, which differs between runs; `build` renumbers them canonically, so
the files are the same on every run.)
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from lark import Lark

# One file per tree shape: keep_all_tokens (the formatter's concrete trees) is decided when lark compiles the
# grammar's rules, so it is stored, not a load option. Only the parser a process uses is read.
TABLES_PATHS = {False: Path(__file__).with_name("nas_tables.json"),
                True: Path(__file__).with_name("nas_tables_concrete.json")}
REGENERATE = "python -m pbtnas.dsl.tables"
_TUPLE, _DICT = "#t", "#d"

# The options every parser of the language is built with; the concrete-syntax parser adds keep_all_tokens.
OPTIONS: dict[str, Any] = {"parser": "lalr", "lexer": "contextual", "propagate_positions": True,
                           "maybe_placeholders": False}


def _encode(x: Any) -> Any:
    if isinstance(x, tuple):
        return {_TUPLE: [_encode(v) for v in x]}
    if isinstance(x, list):
        return [_encode(v) for v in x]
    if isinstance(x, dict):
        if all(isinstance(k, str) for k in x):
            if _TUPLE in x or _DICT in x:  # would read back as a tuple or a dict: refuse rather than corrupt
                raise ValueError(f"a key of lark's data collides with the codec's markers: {sorted(x)}")
            return {k: _encode(v) for k, v in x.items()}
        return {_DICT: [[_encode(k), _encode(v)] for k, v in x.items()]}
    if x is None or isinstance(x, (str, int, float, bool)):
        return x
    raise TypeError(f"lark's serialised parser holds a {type(x).__name__}, which JSON cannot store")


def _decode_object(obj: dict) -> Any:
    if len(obj) == 1:
        if _TUPLE in obj:
            return tuple(obj[_TUPLE])
        if _DICT in obj:
            return {k: v for k, v in obj[_DICT]}
    return obj


def _stamp(grammar: str) -> dict[str, str]:
    import lark

    return {"grammar_sha256": hashlib.sha256(grammar.encode()).hexdigest(), "lark": lark.__version__}


def build(grammar: str, keep_all_tokens: bool = False) -> dict:
    """The tables of `grammar`, built by lark (slow: this is what the committed file saves)."""
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    data, memo = Lark(grammar, **OPTIONS, keep_all_tokens=keep_all_tokens).memo_serialize([TerminalDef, Rule])
    data["parser"]["parser"] = _canonical(data["parser"]["parser"])
    return {**_stamp(grammar), "data": data, "memo": memo}


def _canonical(table: dict) -> dict:
    """The parse table with tokens numbered in name order and states in breadth-first order from the start
    states (transitions taken in token-name order): lark numbers both in the iteration order of sets of objects,
    which differs between runs; the automaton is the same."""
    names = sorted(table["tokens"].values())
    token_ix = {name: i for i, name in enumerate(names)}
    states = table["states"]
    named = {s: {table["tokens"][t]: act for t, act in acts.items()} for s, acts in states.items()}
    order: dict[int, int] = {}
    queue = [table["start_states"][k] for k in sorted(table["start_states"])]
    while queue:
        s = queue.pop(0)
        if s in order:
            continue
        order[s] = len(order)
        queue += [arg for _, (action, arg) in sorted(named[s].items()) if action == 0 and arg not in order]
    if len(order) != len(states):
        raise ValueError("the LALR automaton has states unreachable from its start states")
    new_states = {order[s]: {token_ix[t]: (action, order[arg] if action == 0 else arg)
                             for t, (action, arg) in sorted(named[s].items(), key=lambda kv: token_ix[kv[0]])}
                  for s in sorted(states, key=order.__getitem__)}
    return {**table, "tokens": dict(enumerate(names)), "states": new_states,
            "start_states": {k: order[v] for k, v in table["start_states"].items()},
            "end_states": {k: order[v] for k, v in table["end_states"].items()}}


def dumps(tables: dict) -> str:
    return json.dumps(_encode(tables), indent=None, separators=(",", ":"), sort_keys=False) + "\n"


def loads(text: str) -> dict:
    return json.loads(text, object_hook=_decode_object)


def load(grammar: str, keep_all_tokens: bool = False) -> dict | None:
    """The committed tables if they were built from `grammar` by this lark, else None (build them then)."""
    try:
        tables = loads(TABLES_PATHS[keep_all_tokens].read_text())
    except (OSError, ValueError):  # missing or damaged: the grammar is still there
        return None
    stamp = _stamp(grammar)
    if not isinstance(tables, dict) or any(tables.get(k) != v for k, v in stamp.items()):
        return None
    return tables


def make_parser(grammar_path: Path, keep_all_tokens: bool = False, lexer_callbacks: dict | None = None) -> Lark:
    """A parser of the grammar with `OPTIONS`: from the committed tables when they match it, else built."""
    grammar = grammar_path.read_text()
    tables = load(grammar, keep_all_tokens)
    if tables is None:
        return Lark(grammar, **OPTIONS, keep_all_tokens=keep_all_tokens, lexer_callbacks=lexer_callbacks or {})
    return Lark._load_from_dict(tables["data"], tables["memo"], lexer_callbacks=lexer_callbacks or {})


def generate(keep_all_tokens: bool = False) -> str:
    """A file's text, from the grammar."""
    from pbtnas.dsl.parser import GRAMMAR_PATH

    return dumps(build(GRAMMAR_PATH.read_text(), keep_all_tokens))


def main(argv: list[str]) -> int:
    if argv:
        print(f"usage: {REGENERATE}", file=sys.stderr)
        return 2
    for keep, path in TABLES_PATHS.items():
        path.write_text(generate(keep))
        print(f"wrote {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
