"""The architecture diagram of a genome: Graphviz's `dot` through the `graphviz` package.

The graph is the network as the builder specialised it for this genome (NetworkModule's straight-line steps): a
node per input, per layer the genome has in the data flow, per sum, concatenation or product, and per output; an
edge per tensor passed, labelled with its shape (one sample, batch left out). Layers that the genome leaves out of
the flow (a `none` edge, an identity option, a branch switched off, a statement no output reads) draw nothing.
Each network is a cluster; inside it each block instance (`generator.cell1`) is one, and inside that each slot,
labelled with its chosen option (`c3 = conv_5x5`). Given the genes a donor gave (a run's member), their layers are
coloured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection

from pbtnas.errors import EXIT_USER, UserError

DONOR_COLOUR = "#f4a582"  # layers of genes inherited from the donor
BASE_COLOUR = "#d1e5f0"  # layers of the other genes of a slot
FIXED_COLOUR = "#eeeeee"
DIFF_COLOUR = "#fddc5c"  # layers of genes where two genomes differ (the report's diff of the two best)
DIAGRAM_FORMATS = ("svg", "png", "pdf", "dot", "gv")  # dot and gv: the Graphviz source, no `dot` needed
INSTALL_HINT = ("Graphviz's `dot` program is not installed: install it with `apt-get install graphviz` (Debian, "
                "Ubuntu), `brew install graphviz` (macOS) or `conda install graphviz`, or write --graph FILE.dot")


class DiagramError(UserError):
    exit_code = EXIT_USER


@dataclass
class Diagram:
    """The graph as plain data (what the tests count) and its Graphviz source."""

    nodes: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> label, cluster, gene, colour
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (from, to, shape label)
    cluster_labels: dict[str, str] = field(default_factory=dict)  # a slot's cluster: "stage1 = conv3"

    def source(self, title: str = "") -> Any:
        import graphviz

        graph = graphviz.Digraph("architecture", graph_attr={"rankdir": "TB", "label": title, "labelloc": "t",
                                                             "fontsize": "12"},
                                 node_attr={"shape": "box", "style": "rounded,filled", "fontsize": "10"},
                                 edge_attr={"fontsize": "8"})
        clusters: dict[str, list[str]] = {}
        for node_id, node in self.nodes.items():
            clusters.setdefault(node["cluster"], []).append(node_id)
        # nested clusters: "generator" holds "generator.cell1" (also when no layer sits in "generator.p0" itself)
        every = {".".join(c.split(".")[:i]) for c in clusters for i in range(1, c.count(".") + 2)}

        def add(parent: Any, prefix: str) -> None:
            for nid in clusters.get(prefix, []):
                n = self.nodes[nid]
                parent.node(nid, n["label"], fillcolor=n["colour"], shape=n.get("shape", "box"))
            children = sorted(c for c in every if c.startswith(prefix + ".") and "." not in c[len(prefix) + 1:])
            for child in children:
                with parent.subgraph(name="cluster_" + child.replace(".", "_")) as sub:
                    sub.attr(label=self.cluster_labels.get(child, child.rsplit(".", 1)[-1]), style="rounded",
                             color="#999999")
                    add(sub, child)

        for top in sorted({c.split(".")[0] for c in clusters}):
            with graph.subgraph(name="cluster_" + top) as sub:
                sub.attr(label=top, style="bold", color="#333333")
                add(sub, top)
        for a, b, label in self.edges:
            graph.edge(a, b, label=label)
        return graph


def _shape(t: Any) -> str:
    return "[" + ", ".join(str(d) for d in t.shape[1:]) + "]"


def build_diagram(space: Any, genome: Any, donor_genes: Collection[int] = (),
                  highlight_genes: Collection[int] = ()) -> Diagram:
    """The diagram of `genome`'s networks (see the module docstring); `donor_genes` are coloured as inherited,
    `highlight_genes` as differing from another genome."""
    import torch

    from pbtnas.compiler.selected import selected_modules

    genome = space.validate(genome)
    with torch.device("meta"):
        model = space.build(genome, initialise=False)
    model.eval()
    by_path = {m.path: m for m in selected_modules(space.artifact, genome.values)}
    path_of = {id(mod): name for name, mod in model.named_modules()}
    owner: dict[str, int] = {}
    for g in space.genes:
        for path in by_path:
            if g.prefixes and (path + ".").startswith(g.prefixes):
                owner.setdefault(path, g.index)
    diagram = Diagram()
    for net in space.artifact["networks"]:
        name = net["name"]
        module = getattr(model, name)
        values: list[Any] = [torch.zeros(1, *s, device="meta") for s in net["input_shapes"]]
        values += [None] * (module._n_slots - len(values))
        node_of: dict[int, str] = {}
        for i, (var, shape) in enumerate(zip(net["inputs"], net["input_shapes"])):
            node_of[i] = f"{name}/in/{var}"
            diagram.nodes[node_of[i]] = {"label": f"{var}\n{_shape(values[i])}", "cluster": name,
                                        "colour": "white", "shape": "ellipse", "gene": ""}
        with torch.no_grad():
            for k, (kind, out, payload, ins) in enumerate(module._steps):
                if kind == "mod":
                    path = path_of[id(payload)]
                    values[out] = payload(values[ins[0]])
                    layer = by_path[path]
                    node_id, cluster, gene = path, _cluster(path, layer, space), owner.get(path)
                    # a slot's layer: its index in the option (the cluster names the slot); a fixed one: its path
                    where = path.rsplit(".", 1)[-1] if layer.gene is not None else path.split(".", 1)[-1]
                    label = f"{layer.op}\n{where}"
                    if layer.gene is not None:
                        slot = space.genes[layer.gene]
                        diagram.cluster_labels[cluster] = \
                            f"{slot.name.rsplit('.', 1)[-1]} = {slot.options[genome.values[slot.index]]}"
                else:
                    from pbtnas.layers.products import multiply

                    xs = [values[i] for i in ins]
                    if kind == "mul":
                        values[out] = multiply(xs[0], xs[1])
                    elif kind == "add":
                        values[out] = sum(xs[1:], xs[0])
                    else:
                        values[out] = torch.cat(xs, dim=1)
                    node_id, label, gene = f"{name}/{kind}/{k}", {"add": "+", "cat": "cat", "mul": "×"}[kind], None
                    cluster = _common_cluster([diagram.nodes[node_of[i]]["cluster"] for i in ins], name)
                colour = FIXED_COLOUR if gene is None else DIFF_COLOUR if gene in highlight_genes else \
                    DONOR_COLOUR if gene in donor_genes else BASE_COLOUR
                diagram.nodes[node_id] = {"label": label, "cluster": cluster, "colour": colour,
                                          "gene": "" if gene is None else space.genes[gene].name,
                                          "shape": "box" if kind == "mod" else "circle"}
                for i in ins:
                    diagram.edges.append((node_of[i], node_id, _shape(values[i])))
                node_of[out] = node_id
        for j, r in enumerate(module._result):
            out_id = f"{name}/out/{j}"
            diagram.nodes[out_id] = {"label": "output" if len(module._result) == 1 else f"output {j}",
                                     "cluster": name, "colour": "white", "shape": "ellipse", "gene": ""}
            diagram.edges.append((node_of[r], out_id, _shape(values[r])))
    return _reaching_outputs(diagram)


def _reaching_outputs(diagram: Diagram) -> Diagram:
    """Only what an output depends on: the builder computes every statement, also one whose value the genome
    leaves unused (`p1` when `p1 if p1_enabled` is off); the network inputs stay."""
    feeds: dict[str, list[str]] = {}
    for a, b, _ in diagram.edges:
        feeds.setdefault(b, []).append(a)
    keep = {n for n in diagram.nodes if "/out/" in n or "/in/" in n}
    frontier = [n for n in keep if "/out/" in n]
    while frontier:
        for a in feeds.get(frontier.pop(), []):
            if a not in keep:
                keep.add(a)
                frontier.append(a)
    diagram.nodes = {n: d for n, d in diagram.nodes.items() if n in keep}
    diagram.edges = [e for e in diagram.edges if e[0] in keep and e[1] in keep]
    return diagram


def _cluster(path: str, m: Any, space: Any) -> str:
    """The cluster of a layer: a slot's layers form one (the slot's name, inside its block instance's); a fixed
    layer sits in its block instance (its path less the layer's own two components, `stem.0`)."""
    if m.gene is not None:
        return space.genes[m.gene].name
    parts = path.split(".")
    return ".".join(parts[:-2]) if len(parts) > 2 else parts[0]


def _common_cluster(clusters: list[str], net: str) -> str:
    if not clusters:
        return net
    parts = clusters[0].split(".")
    for c in clusters[1:]:
        other = c.split(".")
        n = 0
        while n < min(len(parts), len(other)) and parts[n] == other[n]:
            n += 1
        parts = parts[:n]
    return ".".join(parts) or net


def write_diagram(diagram: Diagram, path: str | Path, title: str = "") -> Path:
    """`.dot` (or `.gv`) writes the Graphviz source; any other suffix (svg, png, pdf) renders it with `dot`."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in DIAGRAM_FORMATS:
        endings = ", ".join("." + f for f in DIAGRAM_FORMATS)
        raise DiagramError(f"cannot draw {path.name}: give a file ending in {endings}")
    graph = diagram.source(title)
    if fmt in ("dot", "gv"):
        try:
            path.write_text(graph.source)
        except OSError as err:
            raise DiagramError(f"cannot write {path}: {err}") from None
        return path
    import graphviz

    try:
        graph.render(outfile=str(path), format=fmt, cleanup=True)
    except graphviz.ExecutableNotFound:
        raise DiagramError(INSTALL_HINT) from None
    except (graphviz.CalledProcessError, OSError) as err:
        raise DiagramError(f"dot failed to write {path}: {err}") from None
    return path
