"""The driver's check of a classify run before Ray starts: the trained network's input shape and output size
against the data's sample shape and number of classes. A mismatch is one message naming both shapes and, when the
space has constants of those values, the ``--set`` that would fix it."""

from __future__ import annotations

import itertools
from typing import Any

from pbtnas.tasks.classify.data import DataInfo

__all__ = ["ShapeMismatch", "check_space_fits", "network_shapes"]

MAX_TRIALS = 16  # compilations tried for a hint (constants sharing a value multiply the combinations)


class ShapeMismatch(ValueError):
    """The space's network cannot take the data's samples or cannot output one score per class."""


def _int(text: Any) -> int | None:
    try:
        return int(str(text))
    except ValueError:
        return None


def network_shapes(space: Any, network: str) -> tuple[tuple[int, ...], tuple[int | None, ...]]:
    """(input shape, output shape) of ``network`` as the compiled space declares them."""
    entry = next((n for n in space.artifact["networks"] if n["name"] == network), None)
    if entry is None:
        raise ShapeMismatch(f"the space has no network {network!r} (networks: {', '.join(space.networks)}); "
                            f"set --task-option network=NAME")
    if len(entry["input_shapes"]) != 1 or entry["n_outputs"] != 1:
        raise ShapeMismatch(f"network {network} takes {len(entry['input_shapes'])} inputs and returns "
                            f"{entry['n_outputs']} outputs; the classify task trains a network of one input (a "
                            f"batch of samples) and one output (the class scores)")
    alternatives = entry["output_shapes"][0]
    out = tuple(_int(d) for d in alternatives[0]) if len(alternatives) == 1 else ()
    return tuple(int(d) for d in entry["input_shapes"][0]), out


def _assignments(constants: dict[str, Any], pairs: list[tuple[int, int]]) -> list[dict[str, int]]:
    """Ways to give each mismatched (space value, data value) to a constant of the space value, no constant getting
    two values; none when some value is no constant's."""
    wanted = sorted(set(pairs))
    names = [[k for k, v in constants.items() if isinstance(v, int) and not isinstance(v, bool) and v == have]
             for have, _ in wanted]
    if not wanted or not all(names):
        return []
    out = []
    for combo in itertools.islice(itertools.product(*names), 256):
        sets: dict[str, int] = {}
        if all(sets.setdefault(name, want) == want for name, (_, want) in zip(combo, wanted)):
            out.append(sets)
    return out


def _fixes(space: Any, network: str, data: DataInfo, pairs: list[tuple[int, int]]) -> list[str]:
    """The ``--set NAME=VALUE`` options that make the space fit the data: constants whose values are the
    mismatched dimensions, each combination tried by compiling the space's text with it (a constant that only
    shares the value, a width equal to the image size say, is not suggested)."""
    assignments = _assignments(dict(space.constants), pairs)
    source = getattr(space, "source", None)
    if source is None:
        return []
    from pbtnas.compiler import compile_text  # type: ignore[attr-defined]
    from pbtnas.errors import UserError

    for sets in assignments[:MAX_TRIALS]:
        try:
            candidate = compile_text(source.text, source.name, {k: str(v) for k, v in sets.items()})
            if _problems(candidate, network, data)[0] == []:
                return [f"--set {name}={value}" for name, value in sets.items()]
        except (UserError, ValueError):  # a constant that cannot take the value
            continue
    return []


def _shape(dims: tuple[Any, ...]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def _problems(space: Any, network: str, data: DataInfo) -> tuple[list[str], list[tuple[int, int]]]:
    """What does not fit, and the (space value, data value) of each mismatched dimension."""
    given, out = network_shapes(space, network)
    problems: list[str] = []
    pairs: list[tuple[int, int]] = []
    sample = data.sample_shape
    if given != sample:
        problems.append(f"network {network} of space {space.name} takes input {_shape(given)} but the samples of "
                        f"{data.description} are {_shape(sample)}")
        if len(given) == len(sample):
            pairs += [(g, s) for g, s in zip(given, sample) if g != s]
    if len(out) != 1 or out[0] != data.num_classes:
        problems.append(f"network {network} returns {_shape(out) if out else 'a shape that depends on its genome'} "
                        f"but {data.description} has {data.num_classes} classes (expected [{data.num_classes}])")
        if len(out) == 1 and out[0] is not None:
            pairs.append((out[0], data.num_classes))
    return problems, pairs


def check_space_fits(space: Any, network: str, data: DataInfo) -> None:
    """Raise ShapeMismatch when the samples of ``data`` do not fit ``network``'s input or its output is not one
    score per class."""
    problems, pairs = _problems(space, network, data)
    if not problems:
        return
    fixes = _fixes(space, network, data, pairs)
    hint = f"\nhint: {' '.join(fixes)}" if fixes else (
        "\nhint: change the network's input or output in the .nas file, or choose other data with --data")
    raise ShapeMismatch("the space does not fit the data: " + "; ".join(problems) + hint)
