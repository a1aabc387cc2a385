"""Every token of a `.nas` text as lark's parser sees it, with where it sits in the grammar: the reference the
editor grammars are checked against."""

from __future__ import annotations

from functools import lru_cache

from lark import Lark, Token, Tree

from pbtnas.dsl.parser import GRAMMAR_PATH

Located = tuple[Token, str, int, tuple[str, ...]]
_COMMENTS: list[Token] = []


@lru_cache(maxsize=1)
def _parser() -> Lark:
    # keep_all_tokens: keywords and punctuation stay in the tree; comments are ignored by the grammar, so they are
    # collected by a lexer callback.
    return Lark(GRAMMAR_PATH.read_text(), parser="lalr", lexer="contextual", keep_all_tokens=True,
                maybe_placeholders=False, lexer_callbacks={"COMMENT": _COMMENTS.append})


def _walk(tree: Tree, ancestors: tuple[str, ...] = ()):
    names = 0
    for child in tree.children:
        if isinstance(child, Tree):
            yield from _walk(child, ancestors + (str(tree.data),))
        else:
            yield child, str(tree.data), names, ancestors + (str(tree.data),)
            names += child.type == "NAME"


def tokens(text: str) -> list[Located]:
    """(token, its rule, the token's index among that rule's NAME tokens, the enclosing rules outermost first);
    comments last, with an empty rule."""
    _COMMENTS.clear()
    tree = _parser().parse(text)
    return list(_walk(tree)) + [(c, "", 0, ()) for c in _COMMENTS]
