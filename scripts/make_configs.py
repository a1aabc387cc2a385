"""Write configs/paper/*.toml (one per cell of the paper's experiments) and their tiny twins
configs/tiny/*.toml (same algorithm and ablation, sized for a 2-core laptop), plus configs/tiny/digits/*.toml and
configs/tiny/mnist1d/*.toml (the classify task: the fastest evidence, and the embedded data where the architecture
matters) and configs/evidence/mnist1d/*.toml (docs/results.md's MNIST-1D comparison at N = 24). Every file is a ``pbtnas search --config`` file; BOHB cells are in
configs/*/bohb/ and are read by ``pbtnas.baselines.bohb``. Re-run after changing a cell:

    python scripts/make_configs.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent / "configs"

# algorithm cells: name -> engine keys
ALGORITHMS: dict[str, dict[str, Any]] = {
    "pbtnas": {"algorithm": "pbtnas"},
    "random": {"algorithm": "random"},
    "mutation": {"algorithm": "mutation"},
}
ABLATIONS: dict[str, dict[str, Any]] = {
    "no_mixing": {"algorithm": "pbtnas", "mix_with_self": True},
    "sp_1_0": {"algorithm": "pbtnas", "shrink_perturb": [1.0, 0.0]},
    "sp_0_1": {"algorithm": "pbtnas", "shrink_perturb": [0.0, 1.0]},
    "random_sp": {"algorithm": "random", "shrink_perturb": [0.4, 0.1]},
}

# 16 px digits at the widths of `make demo`: a tiny twin must run 30 times (6 algorithms x 5 seeds) in an hour or two
# of 2 cores (benchmarks/gan.py: about 22 s per member-epoch at width 16, 33 s at width 32)
TINY_GAN_SET = {"gf_dim": "16", "df_dim": "16", "bottom_width": "2"}
ACTION_DIM = {"quadruped": "12", "walker": "6", "humanoid": "21"}


def gan_setting(space: str, data: str, tiny: bool) -> dict[str, Any]:
    # The authors' Gan-on-STL-10 configs (stl_easy_*) use their STL projection layout (`if_stl_projections`); their
    # GanHard STL configs do not (the projections are searched there). The tiny twin keeps the layout.
    layout = {"stl_projections": "on"} if space == "gan" and data == "stl10" else {}
    if tiny:
        return {"space": f"spaces/{space}.nas", "task": "gan", "overrides": {**TINY_GAN_SET, **layout},
                "task_options": {"preset": "tiny", "data": "digits"}, "population": 8, "epochs": 6, "step": 2}
    overrides = {"gf_dim": "270", "bottom_width": "6", **layout} if data == "stl10" else {}
    return {"space": f"spaces/{space}.nas", "task": "gan", "overrides": overrides,
            "task_options": {"preset": "paper", "data": data, "data_root": "data"},
            "population": 24, "epochs": 300, "step": 10,
            "gpus_per_member": 1.0 if data == "stl10" else 0.5}  # reference: 1 process per GPU on STL-10 only


def rl_setting(env: str, tiny: bool) -> dict[str, Any]:
    domain = env.split("_")[0]
    base = {"space": "spaces/drqv2.nas", "task": "rl", "overrides": {"action_dim": ACTION_DIM[domain]}}
    if tiny:
        return {**base, "task_options": {"preset": "tiny", "env": env, "video": False},
                "population": 4, "epochs": 6, "step": 2}
    if domain == "humanoid":
        return {**base, "task_options": {"preset": "paper", "env": env}, "population": 12, "epochs": 1500,
                "step": 100, "gpus_per_member": 1.0}
    return {**base, "task_options": {"preset": "paper", "env": env}, "population": 12, "epochs": 300, "step": 10,
            "step_schedule": [{"until_epoch": 150, "step": 20}], "gpus_per_member": 1.0}


def digits_setting() -> dict[str, Any]:
    return {"space": "spaces/digits.nas", "task": "classify", "task_options": {"train_limit": 600},
            "population": 8, "epochs": 8, "step": 2}


def mnist1d_setting() -> dict[str, Any]:
    # the preset's training (batch 100, Adam 1e-2, cosine) and engine settings (8 members, 12 epochs, e_step 2)
    return {"space": "spaces/mnist1d.nas", "task": "classify", "task_options": {"preset": "mnist1d"},
            "population": 8, "epochs": 12, "step": 2}


def mnist1d_evidence_setting() -> dict[str, Any]:
    # docs/results.md's MNIST-1D evidence: N = 24 and 20 selection steps (21 one-epoch steps), 5 seeds per algorithm
    return {**mnist1d_setting(), "population": 24, "epochs": 21, "step": 1}


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(v)


def to_toml(cfg: dict[str, Any], comment: str) -> str:
    lines = [f"# {line}" for line in comment.splitlines()] + [""]
    tables = {k: v for k, v in cfg.items() if isinstance(v, dict)}
    arrays = {k: v for k, v in cfg.items() if isinstance(v, list) and v and isinstance(v[0], dict)}
    for k, v in cfg.items():
        if k not in tables and k not in arrays:
            lines.append(f"{k} = {_value(v)}")
    for k, v in tables.items():
        lines += ["", f"[{k}]"] + [f"{kk} = {_value(vv)}" for kk, vv in v.items()]
    for k, v in arrays.items():
        for item in v:
            lines += ["", f"[[{k}]]"] + [f"{kk} = {_value(vv)}" for kk, vv in item.items()]
    return "\n".join(lines) + "\n"


def cells() -> list[tuple[str, str, dict[str, Any], str]]:
    """(kind, name, config, comment) for every cell; kind is 'paper' or 'tiny'."""
    out: list[tuple[str, str, dict[str, Any], str]] = []
    settings = [("cifar10_gan", lambda t: gan_setting("gan", "cifar10", t), "Gan on CIFAR-10 (paper Table 1)"),
                ("cifar10_ganhard", lambda t: gan_setting("ganhard", "cifar10", t), "GanHard on CIFAR-10 (Table 1)"),
                ("stl10_ganhard", lambda t: gan_setting("ganhard", "stl10", t), "GanHard on STL-10 (Table 1)"),
                ("quadruped_run", lambda t: rl_setting("quadruped_run", t), "Quadruped Run (Figure 3)"),
                ("walker_run", lambda t: rl_setting("walker_run", t), "Walker Run (Figure 3)"),
                ("humanoid_run", lambda t: rl_setting("humanoid_run", t), "Humanoid Run (Figure 3)"),
                ("stl10_gan", lambda t: gan_setting("gan", "stl10", t), "Gan on STL-10 (paper Appendix D)")]
    for kind in ("paper", "tiny"):
        tiny = kind == "tiny"
        for setting, make, what in settings:
            for alg, keys in ALGORITHMS.items():
                out.append((kind, f"{setting}_{alg}", {**make(tiny), **keys}, f"{what}: {alg}"))
        # ablations (paper Tables 2-3) on GanHard CIFAR-10 and Quadruped Run
        for setting, make, what in (settings[1], settings[3]):
            for abl, keys in ABLATIONS.items():
                out.append((kind, f"{setting}_{abl}", {**make(tiny), **keys}, f"{what}: ablation {abl}"))
        # population sizes (the paper's population-size study: GanHard 12/24/36, quadruped 6/12/18; pop 6 uses tau 0.4)
        pops = {"cifar10_ganhard": (12, 24, 36), "quadruped_run": (6, 12, 18)}
        tiny_pops = {"cifar10_ganhard": (4, 8, 12), "quadruped_run": (4, 6, 8)}
        for setting, make, what in (settings[1], settings[3]):
            for n in (tiny_pops if tiny else pops)[setting]:
                cfg = {**make(tiny), "algorithm": "pbtnas", "population": n}
                if n == 6:
                    cfg["tau"] = 0.4
                out.append((kind, f"{setting}_pbtnas_pop{n}", cfg, f"{what}: PBT-NAS with population {n}"))
    for alg, keys in {**ALGORITHMS, **ABLATIONS}.items():
        out.append(("tiny/digits", alg, {**digits_setting(), **keys},
                    f"the classify task on scikit-learn's digits: {alg} (scripts/evidence.py)"))
        out.append(("tiny/mnist1d", alg, {**mnist1d_setting(), **keys},
                    f"the classify task on MNIST-1D (generated, offline; [1, 40] sequences): {alg}"))
        out.append(("evidence/mnist1d", alg, {**mnist1d_evidence_setting(), **keys},
                    f"the MNIST-1D evidence of docs/results.md: {alg} (scripts/evidence.py)"))
    return out


def bohb_cells() -> list[tuple[str, str, dict[str, Any], str]]:
    """Appendix B: BOHB with the budget of training N networks; one iteration = one e_step."""
    out = []
    for kind, tiny in (("paper", False), ("tiny", True)):
        gan = gan_setting("ganhard", "cifar10", tiny)
        rl = rl_setting("quadruped_run", tiny)
        for name, setting in (("cifar10_ganhard_bohb", gan), ("quadruped_run_bohb", rl)):
            cfg = {k: v for k, v in setting.items() if k not in ("population", "step_schedule")}
            cfg["budget_members"] = setting["population"]  # total compute = fully training this many networks
            cfg["max_concurrent"] = 6 if not tiny else 2
            out.append((f"{kind}/bohb", name, cfg, "BOHB (paper Appendix B) through Ray Tune's TuneBOHB"))
    out.append(("tiny/bohb", "digits_bohb", {**{k: v for k, v in digits_setting().items() if k != "population"},
                                             "budget_members": 8, "max_concurrent": 2},
                "BOHB on the classify task (pbtnas.baselines.bohb)"))
    return out


def main() -> None:
    n = 0
    for kind, name, cfg, comment in cells() + bohb_cells():
        path = ROOT / kind / f"{name}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        header = (f"{comment}\nGenerated by scripts/make_configs.py; run with "
                  + ("python -m pbtnas.baselines.bohb" if "bohb" in kind else "pbtnas search --config")
                  + f" configs/{kind}/{name}.toml")
        path.write_text(to_toml(cfg, header))
        n += 1
    print(f"wrote {n} configs under {ROOT}")


if __name__ == "__main__":
    main()
