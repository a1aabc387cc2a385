"""Language-server latency while typing (issue 17, section 3): 50 edits to ganhard.nas over the protocol.

Starts `python -m pbtnas.lsp` as an editor does, opens spaces/ganhard.nas and sends 50 incremental edits, one at
a time: typing a new statement into the discriminator block character by character (most intermediate texts have
a syntax error, as while typing), deleting it again, then changing a constant. After each edit it waits for that
version's published diagnostics and then asks for a hover on a node. Prints the median and 95th percentile of
change -> diagnostics and hover -> answer, plus a burst (the edits sent 25 ms apart, as a fast typist; the latency
of the last one). Targets on the idle reference machine: median under 50 ms, 95th percentile under 150 ms. Writes
benchmarks/results/lsp.json.

    .venv/bin/python benchmarks/lsp.py [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

from _machine import cpu_model  # benchmarks/ is sys.path[0] when this file runs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's pbtnas, also for the server it starts (cwd below)

from pbtnas.lsp.client import StdioClient  # noqa: E402

GANHARD = ROOT / "spaces" / "ganhard.nas"
TYPED = "  extra = a5 >> relu >> c5\n"  # 27 keystrokes in, 15 out, 8 constant edits: 50
MEDIAN_TARGET_S, P95_TARGET_S = 0.050, 0.150


def _pos(text: str, offset: int) -> dict:
    line = text.count("\n", 0, offset)
    return {"line": line, "character": offset - (text.rfind("\n", 0, offset) + 1)}


def edits(text: str) -> list[tuple[int, int, str]]:
    """(start offset, end offset, new text) of each edit, applied in order."""
    anchor = text.index("  b6 = b >> c6 ?? b\n")
    out = [(anchor + i, anchor + i, ch) for i, ch in enumerate(TYPED)]
    out += [(anchor + len(TYPED) - i - 1, anchor + len(TYPED) - i, "") for i in range(15)]
    const = text.index("const df_dim = ") + len("const df_dim = ")
    for value in ("64", "128") * 4:
        out.append((const, None, value))  # end filled in when applied: the current value's length
    return out


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def run(rounds: int) -> dict:
    client = StdioClient(cwd=ROOT)
    t0 = time.perf_counter()
    client.initialize(ROOT)
    init_s = time.perf_counter() - t0
    uri = GANHARD.as_uri()
    text = GANHARD.read_text()
    t0 = time.perf_counter()
    client.open(uri, text)
    _, arrived, seen = client.diagnostics(uri, 1)
    open_s = arrived - t0
    hover_at = _pos(text, text.index("  a = sum(") + 2)  # above the edits: its position does not move
    version, diag_s, hover_s, syntax_errors = 1, [], [], 0
    for _ in range(rounds):
        for start, end, new in edits(GANHARD.read_text()):
            if end is None:
                end = start + len(text[start:].split("\n", 1)[0])
            version += 1
            sent = client.change(uri, version, [{"range": {"start": _pos(text, start), "end": _pos(text, end)},
                                                 "text": new}])
            text = text[:start] + new + text[end:]
            diagnostics, arrived, seen = client.diagnostics(uri, version, seen)
            diag_s.append(arrived - sent)
            syntax_errors += any(d["code"] == "E0001" for d in diagnostics)
            rid, sent = client.send_request("textDocument/hover", {"textDocument": {"uri": uri}, "position": hover_at})
            response, arrived = client.wait_response(rid)
            assert response.get("result"), response
            hover_s.append(arrived - sent)
    # burst: the same edits 25 ms apart; the editor waits for the last version's diagnostics only
    burst_versions = []
    for start, end, new in edits(text)[:len(TYPED)]:
        version += 1
        client.change(uri, version, [{"range": {"start": _pos(text, start), "end": _pos(text, end)}, "text": new}])
        text = text[:start] + new + text[end:]
        burst_versions.append(time.perf_counter())
        time.sleep(0.025)
    _, arrived, seen = client.diagnostics(uri, version, seen)
    burst_last_s = arrived - burst_versions[-1]
    first_burst = version - len(burst_versions) + 1
    published = sum(1 for m, _ in client.notifications if m.get("method") == "textDocument/publishDiagnostics"
                    and (m["params"].get("version") or 0) >= first_burst)
    code = client.close()
    assert code == 0, b"".join(client.stderr)[-2000:]
    return {"edits": len(diag_s), "with_syntax_error": syntax_errors, "initialize_s": init_s, "open_s": open_s,
            "diagnostics_median_s": statistics.median(diag_s), "diagnostics_p95_s": percentile(diag_s, 0.95),
            "diagnostics_max_s": max(diag_s), "hover_median_s": statistics.median(hover_s),
            "hover_p95_s": percentile(hover_s, 0.95), "burst_edits": len(burst_versions),
            "burst_last_to_diagnostics_s": burst_last_s, "burst_publications": published}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1, help="repeat the 50 edits (more samples)")
    args = ap.parse_args()
    r = run(args.rounds)
    r["machine"] = (f"{cpu_model()}, {platform.machine()}, {platform.python_implementation()} "
                    f"{platform.python_version()}")
    ms = lambda s: f"{s * 1e3:.1f} ms"  # noqa: E731
    print(f"server start (initialize): {ms(r['initialize_s'])}; open ganhard.nas -> diagnostics: {ms(r['open_s'])}")
    print(f"{r['edits']} edits ({r['with_syntax_error']} leave a syntax error):")
    print(f"  change -> diagnostics: median {ms(r['diagnostics_median_s'])}, p95 {ms(r['diagnostics_p95_s'])}, "
          f"max {ms(r['diagnostics_max_s'])}   (targets {ms(MEDIAN_TARGET_S)}, {ms(P95_TARGET_S)})")
    print(f"  hover -> answer:       median {ms(r['hover_median_s'])}, p95 {ms(r['hover_p95_s'])}")
    print(f"burst of {r['burst_edits']} edits 25 ms apart: last edit -> its diagnostics "
          f"{ms(r['burst_last_to_diagnostics_s'])}, {r['burst_publications']} publications (stale versions skipped)")
    out = ROOT / "benchmarks" / "results" / "lsp.json"
    out.write_text(json.dumps(r, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
