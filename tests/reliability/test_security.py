"""A `.nas` file, a config file, a checkpoint and a run directory are data: proven with crafted files.

Each attack names a marker file that exists only if the payload ran; every test asserts the marker is absent and
that the user got a diagnostic naming the file. The pickle payload is first shown to be live (it does create the
marker under `torch.load(weights_only=False)`), so these tests would fail if pbtnas ever unpickled it.
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import pbtnas
from pbtnas.cli import app
from pbtnas.compiler import DiagnosticError, compile_space, compile_text
from pbtnas.engine.config import SearchConfig
from pbtnas.engine.loading import LoadError, load_space_of_run
from pbtnas.engine.names import UnsafeName, safe_name
from pbtnas.engine.population import Member
from pbtnas.engine.runner import MemberRunner, UntrustedLoader, load_space, loader_name
from pbtnas.errors import UserError

REPO = Path(__file__).resolve().parents[2]
SPACES = REPO / "spaces"
runner = CliRunner()


class Payload:
    """Unpickling this calls open(marker, "w"): the file appears iff the pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (builtins.open, (self.marker, "w"))


def craft_checkpoint(path: Path, marker: Path, legacy: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model": {"w": torch.zeros(2)}, "meta": Payload(marker)}
    if legacy:  # torch's older, non-zip format: a pickle stream read by the same (restricted) unpickler
        torch.save(state, path, _use_new_zipfile_serialization=False)
    else:
        torch.save(state, path)
    return path


def cli(args: list[str]) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(app, args)
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes is not None else ""), \
        result.exception


def assert_refused(args: list[str], name: str) -> str:
    code, out, exc = cli(args)
    assert exc is None or isinstance(exc, SystemExit), f"{type(exc).__name__}: {exc}\n{out}"
    assert code != 0 and "Traceback" not in out, out
    assert name in out, (name, out)
    return out


@pytest.fixture()
def no_exec(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every call of eval/exec/os.system/os.popen/subprocess.Popen made from pbtnas's own code while the
    code under test runs (the standard library's dataclasses and typing call exec/eval for themselves)."""
    calls: list[str] = []
    package = str(REPO / "pbtnas")

    def spy(owner: Any, name: str) -> None:
        real = getattr(owner, name)

        def called(*args: Any, **kwargs: Any) -> Any:
            caller = sys._getframe(1).f_code.co_filename
            if caller.startswith(package):
                calls.append(f"{name} from {caller}")
                raise AssertionError(f"{name} called from {caller}")
            return real(*args, **kwargs)
        monkeypatch.setattr(owner, name, called)

    for owner, name in ((builtins, "eval"), (builtins, "exec"), (os, "system"), (os, "popen"),
                        (subprocess, "Popen")):
        spy(owner, name)
    return calls


# ---- a finished run directory built by hand (no Ray) ---------------------------------------------------------------


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    """A complete classify run of spaces/digits.nas (whose network takes the digits: `search --resume` checks it)
    with two members of the same genome, as the engine lays it out."""
    space = compile_space(SPACES / "digits.nas")
    genome = space.random_genome(np.random.default_rng(0))
    run = tmp_path / "run"
    cfg = SearchConfig.model_validate({"space": str(SPACES / "digits.nas"), "population": 2, "epochs": 1, "step": 1,
                                       "workers": 1, "progress": False, "tensorboard": False,
                                       "task_options": {"train_limit": 64}})
    (run / "population").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"format": 1, "space": space.name, "schema_hash": space.schema_hash,
                                              "algorithm": "pbtnas"}))
    (run / "config.json").write_text(cfg.model_dump_json())
    (run / "space.json").write_text(json.dumps({"loader": loader_name(type(space)), "artifact": space.to_json()}))
    members = [Member(slot=i, uid=i, genome=tuple(genome.values), lineage=[[i] * len(genome.values)],
                      fitness=[(1, 0.5 + i / 10)], status="ok", born_epoch=0, origin={}, error=None).to_json()
               for i in range(2)]
    (run / "population" / "epoch_0001.json").write_text(json.dumps({"epoch": 1, "members": members,
                                                                    "evaluated": [], "events": []}))
    (run / "progress.json").write_text(json.dumps({"epoch": 1, "complete": True, "next_uid": 2, "next_step": 1}))
    state = {k: v.detach() for k, v in space.build(genome, seed=0).state_dict().items()}
    for i in range(2):
        (run / "checkpoints" / "epoch_0001").mkdir(parents=True, exist_ok=True)
        torch.save({"model": state, "shadows": {}, "optim": {}, "meta": {}},
                   run / "checkpoints" / "epoch_0001" / f"member_{i:02d}.pt")
    (run / "best").mkdir()
    torch.save(state, run / "best" / "model.pt")
    (run / "best" / "genome.json").write_text(json.dumps(space.to_json_genome(genome)))
    (run / "best" / "info.json").write_text("{}")
    return run


def test_the_hand_built_run_loads(run_dir: Path) -> None:
    module, genome = pbtnas.load(run_dir)
    assert sum(p.numel() for p in module.parameters()) > 0 and len(genome.values) > 0


# ---- (c) crafted checkpoints ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("legacy", [False, True])
def test_the_payload_is_live(tmp_path: Path, legacy: bool) -> None:
    """Without weights_only the crafted file runs its code: the marker proves the other tests have teeth."""
    marker = tmp_path / "pwned"
    path = craft_checkpoint(tmp_path / "evil.pt", marker, legacy)
    torch.load(path, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("legacy", [False, True])
def test_pbtnas_load_refuses_a_crafted_best_model(run_dir: Path, tmp_path: Path, legacy: bool) -> None:
    marker = tmp_path / "pwned"
    craft_checkpoint(run_dir / "best" / "model.pt", marker, legacy)
    with pytest.raises(LoadError, match="model.pt"):
        pbtnas.load(run_dir)
    assert not marker.exists()


def test_evaluate_refuses_a_crafted_best_model(run_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    craft_checkpoint(run_dir / "best" / "model.pt", marker)
    out = assert_refused(["evaluate", str(run_dir)], "model.pt")
    assert "refusing checkpoint" in out
    assert not marker.exists()


def test_soup_refuses_a_crafted_member_checkpoint(run_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    craft_checkpoint(run_dir / "checkpoints" / "epoch_0001" / "member_01.pt", marker)
    assert_refused(["soup", str(run_dir)], "member_01.pt")
    assert not marker.exists()


def test_resume_refuses_a_crafted_member_checkpoint(run_dir: Path, tmp_path: Path, ray_session: str) -> None:
    """The real `search --resume` path: Ray, the worker pool, the driver reading the last step's checkpoints."""
    marker = tmp_path / "pwned"
    craft_checkpoint(run_dir / "checkpoints" / "epoch_0001" / "member_00.pt", marker)
    progress = json.loads((run_dir / "progress.json").read_text())
    (run_dir / "progress.json").write_text(json.dumps({**progress, "complete": False}))
    cfg = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**cfg, "epochs": 2}))
    assert_refused(["search", "--resume", str(run_dir), "--no-progress", "--workers", "1"], "member_00.pt")
    assert not marker.exists()


# ---- (d) the space loader of a run directory ------------------------------------------------------------------------


EVIL_MODULE = "pbtnas_evil_plugin_xyz"


@pytest.fixture()
def evil_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An importable module whose import creates the marker."""
    marker = tmp_path / "imported"
    (tmp_path / f"{EVIL_MODULE}.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nclass Space:\n    @classmethod\n    def from_json(cls, t): return cls()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return marker


@pytest.mark.parametrize("loader", [f"{EVIL_MODULE}:Space", "os:system", "builtins:eval", "subprocess:Popen", 5])
def test_a_run_directory_cannot_name_an_arbitrary_loader(run_dir: Path, evil_module: Path, loader: Any) -> None:
    d = json.loads((run_dir / "space.json").read_text())
    (run_dir / "space.json").write_text(json.dumps({**d, "loader": loader}))
    with pytest.raises(LoadError, match="space.json"):
        load_space_of_run(run_dir)
    with pytest.raises(LoadError, match="space.json"):
        pbtnas.load(run_dir)
    assert_refused(["evaluate", str(run_dir)], "space.json")
    assert not evil_module.exists() and EVIL_MODULE not in sys.modules


@pytest.mark.parametrize("plugins", [[EVIL_MODULE], ["os"], [EVIL_MODULE, "json"]])
def test_a_run_directory_names_plugins_but_never_imports_them(run_dir: Path, evil_module: Path,
                                                             plugins: list[str]) -> None:
    """RUN/config.json records the --plugin modules of the search; reading the run imports none of them unless the
    caller names it again ("os" and "json" are imported already: only the unnamed, unimported one is refused)."""
    cfg = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**cfg, "plugins": plugins}))
    if EVIL_MODULE not in plugins:  # modules this program already imported run no new code
        assert load_space_of_run(run_dir) is not None
        return
    with pytest.raises(UserError, match=f"--plugin {EVIL_MODULE}"):
        load_space_of_run(run_dir)
    with pytest.raises(UserError, match=f"plugins=\\['{EVIL_MODULE}'\\]"):
        pbtnas.load(run_dir)
    for command in (["evaluate", str(run_dir)], ["soup", str(run_dir)], ["search", "--resume", str(run_dir)]):
        assert_refused(command, f"--plugin {EVIL_MODULE}")
    assert not evil_module.exists() and EVIL_MODULE not in sys.modules


def test_only_the_loader_a_driver_holds_is_accepted_by_a_worker(evil_module: Path) -> None:
    with pytest.raises(UntrustedLoader):
        load_space(f"{EVIL_MODULE}:Space", "{}")
    assert not evil_module.exists()
    space = compile_space(SPACES / "mlp.nas")
    worker = MemberRunner(loader_name(type(space)), space.to_json(), "classify", {"train_limit": 16})
    assert worker.space.schema_hash == space.schema_hash


# ---- (a) a .nas file, (b) a config file ----------------------------------------------------------------------------


def payloads(marker: Path) -> list[str]:
    m = str(marker)
    return [
        f"__import__('pathlib').Path({m!r}).touch()",
        f"eval(\"open({m!r}, 'w')\")",
        f"exec(\"open({m!r}, 'w')\")",
        f"`touch {m}`",
        f"$(touch {m})",
        f"f\"{{open({m!r}, 'w')}}\"",
        f"{{{{open({m!r}, 'w')}}}}",
        f"open({m!r}, 'w')",
    ]


def nas_with(payload: str) -> list[str]:
    base = (SPACES / "mlp.nas").read_text()
    return [
        f"const evil = {payload}\n" + base,
        base.replace("space mlp", f"space mlp\n# {payload}\nconst x = 1"),
        base + f"\nnetwork evil(x: [4]) -> [4] {{ return x >> {payload} }}\n",
        f"space {payload}\n",
        base.replace("relu", payload, 1),
    ]


def test_nas_payloads_are_only_diagnostics(tmp_path: Path, no_exec: list[str]) -> None:
    marker = tmp_path / "pwned"
    n = 0
    for payload in payloads(marker):
        for text in nas_with(payload):
            try:
                compile_text(text, "evil.nas")
            except DiagnosticError as err:
                assert all(d.span is not None for d in err.diagnostics)
            n += 1
        path = tmp_path / "evil.nas"
        path.write_text(nas_with(payload)[0])
        code, out, exc = cli(["check", str(path), "--set", f"x={payload}"])
        assert code == 1 and "Traceback" not in out and "error" in out, out
    assert n == 40 and not marker.exists() and no_exec == []


def test_config_values_are_data(tmp_path: Path, no_exec: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Payloads in every string of a TOML config: validated as data, nothing runs, nothing outside is written."""
    import pbtnas.engine.commands as commands

    seen: list[Any] = []
    monkeypatch.setattr(commands, "run_search", lambda cfg, *a, **k: seen.append(cfg) or (_ for _ in ()).throw(
        KeyboardInterrupt()))
    marker = tmp_path / "pwned"
    for payload in payloads(marker):
        for key in ("space", "out", "task", "algorithm", "address"):
            cfg = {"space": str(SPACES / "mlp.nas"), "population": 2, "epochs": 1, "step": 1, "progress": False,
                   "out": str(tmp_path / "run"), key: payload, "task_options": {"train_limit": payload}}
            path = tmp_path / "evil.toml"
            path.write_text("".join(f"{k} = {json.dumps(v) if not isinstance(v, dict) else ''}\n"
                                    for k, v in cfg.items() if not isinstance(v, dict))
                            + f"[task_options]\ntrain_limit = {json.dumps(payload)}\n")
            code, out, exc = cli(["search", "--config", str(path)])
            assert code != 0 and "Traceback" not in out, out
    assert not seen, "a config with a payload was accepted"
    assert not marker.exists() and no_exec == []


# ---- (e) a static scan of the package -------------------------------------------------------------------------------


FORBIDDEN_CALLS = {"eval", "exec", "__import__"}
FORBIDDEN_ATTRS = {("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"), ("yaml", "load"),
                   ("yaml", "unsafe_load"), ("marshal", "load"), ("marshal", "loads"), ("os", "system"),
                   ("os", "popen"), ("dill", "load"), ("dill", "loads"), ("shelve", "open")}
# Dynamic imports are the explicit plug-in points, nowhere else: a task named module:Class, --plugin modules that
# register ops, the allowlisted space loader, and the BOHB trainable (its loader string comes from a live object).
# pbtnas/tasks/rl/__init__.py imports fixed submodules lazily (dm_control is optional).
IMPORT_SITES = {"pbtnas/tasks/registry.py", "pbtnas/compiler/commands.py", "pbtnas/engine/runner.py",
                "pbtnas/baselines/bohb.py", "pbtnas/tasks/rl/__init__.py"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def scan(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = _dotted(node.func)
            parts = tuple(name.split("."))
            kw = {k.arg: k.value for k in node.keywords}
            where = f"{rel}:{node.lineno}"
            if name in FORBIDDEN_CALLS or parts[-2:] in FORBIDDEN_ATTRS:
                problems.append(f"{where}: {name}()")
            if name == "torch.load":
                w = kw.get("weights_only")
                if not (isinstance(w, ast.Constant) and w.value is True):
                    problems.append(f"{where}: torch.load without weights_only=True")
            if "shell" in kw and not (isinstance(kw["shell"], ast.Constant) and kw["shell"].value is False):
                problems.append(f"{where}: {name}(shell=...)")
            if parts[-1] == "import_module" and rel not in IMPORT_SITES:
                problems.append(f"{where}: importlib.import_module outside the plug-in points")
    return problems


def test_static_scan_of_the_package() -> None:
    assert scan(REPO / "pbtnas") == []


def test_the_static_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    pkg = tmp_path / "pbtnas"
    pkg.mkdir()
    (pkg / "bad.py").write_text("import torch, pickle, subprocess, importlib\n"
                                "eval('1')\nexec('x=1')\npickle.loads(b'')\ntorch.load('x')\n"
                                "torch.load('x', weights_only=False)\nsubprocess.run('ls', shell=True)\n"
                                "importlib.import_module('os')\n")
    assert len(scan(pkg)) == 7


# ---- (f) names and ids never leave the run directory ---------------------------------------------------------------


BAD_NAMES = ["../x", "..", ".", "/tmp/abs", "a/b", "a\\b", "nul\x00byte", "", "  ", ".hidden", "x" * 300, "tab\tname"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_safe_name_refuses(name: str) -> None:
    with pytest.raises(UnsafeName):
        safe_name(name, "the name")


def test_plain_names_pass() -> None:
    for name in ["best", "soup_generator", "mlp-pbtnas-20240101-120000", "seed_3", "run.v2"]:
        assert safe_name(name, "the name") == name


@pytest.mark.parametrize("name", ["../escaped", "/tmp/abs_soup", "a/b", "..", "x\x00y"])
def test_soup_name_cannot_leave_the_run(run_dir: Path, name: str) -> None:
    before = set(run_dir.parent.rglob("*"))
    # a NUL byte is refused before any command runs (the CLI's root), the other names by the soup's name check
    assert_refused(["soup", str(run_dir), "--name", name], "NUL byte" if "\x00" in name else "not a plain name")
    assert set(run_dir.parent.rglob("*")) == before


@pytest.mark.parametrize("which", ["../run", "/etc", "best/../../run", "..", "x\x00"])
def test_which_network_cannot_leave_the_run(run_dir: Path, which: str) -> None:
    with pytest.raises(LoadError, match="not a plain name"):
        pbtnas.load(run_dir, which)
    assert_refused(["sample", str(run_dir), "--which", which, "--out", str(run_dir / "s.png")],
                   "NUL byte" if "\x00" in which else "error")


def test_default_run_name_from_a_crafted_space_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    space = compile_space(SPACES / "mlp.nas")
    artifact = json.loads(space.to_json())
    artifact["space"] = "../../escaped"
    path = tmp_path / "crafted.json"
    path.write_text(json.dumps(artifact))
    monkeypatch.chdir(tmp_path)
    out = assert_refused(["search", str(path), "--no-progress"], "not a plain name")
    assert "default run name" in out
    assert not (tmp_path.parent / "escaped").exists() and not (tmp_path / "runs").exists()


def test_experiment_config_names_stay_inside(tmp_path: Path) -> None:
    config = tmp_path / "...toml"  # its stem is ".."
    config.write_text(f"space = {json.dumps(str(SPACES / 'mlp.nas'))}\n")
    assert_refused(["experiment", str(config), "--out", str(tmp_path / "exp"), "--no-progress"], "plain name")
    assert not (tmp_path / "seed_0").exists()


def test_member_ids_are_integers() -> None:
    d = Member(slot=0, uid=3, genome=(0,), lineage=[[0]], fitness=[], status="ok", born_epoch=0, origin={},
               error=None).to_json()
    for bad in ("../x", "/abs", "3/../../x"):
        with pytest.raises(ValueError):
            Member.from_json({**d, "uid": bad})


def test_gan_grids_are_named_by_integer_uid(monkeypatch: pytest.MonkeyPatch) -> None:
    import pbtnas.tasks.gan.task as gan_task
    from pbtnas.engine.raycluster import write_worker_files

    monkeypatch.setattr(gan_task, "grid_png", lambda *a, **k: b"png")
    fake = type("Fake", (), {"latent_dim": 8, "final_generator": lambda self, s, g: None})()
    assert gan_task.GanTask.after_step(fake, {}, None, 7, 3) == {"generated/member_0007/epoch_0003.png": b"png"}
    with pytest.raises((ValueError, TypeError)):
        gan_task.GanTask.after_step(fake, {}, None, "../../x", 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # and the driver, which writes what workers return, refuses to leave the run
        write_worker_files(Path("run") / "workdirs", {"../../escaped.png": b"png"})


def test_rl_video_names_ignore_strings_from_a_checkpoint(tmp_path: Path) -> None:
    from pbtnas.tasks.rl.task import RLTask

    videos: list[Path | None] = []
    options = type("O", (), {"video": True, "video_format": "mp4", "eval_episodes": 1})()
    fake = type("Fake", (), {"workdir": tmp_path, "options": options,
                             "evaluate_episodes": lambda self, s, g, seed, n, video=None: videos.append(video) or [0.0]})()
    RLTask.evaluate(fake, {"meta": {"step": 5, "train_seed": 11}}, None, 2)
    assert videos[-1] == tmp_path / "videos" / "eval_step000000005_member11_seed2.mp4"
    with pytest.raises(ValueError):
        RLTask.evaluate(fake, {"meta": {"step": 5, "train_seed": "/../../../escaped"}}, None, 2)
    assert len(videos) == 1
