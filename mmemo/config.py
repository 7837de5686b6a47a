"""Recipe configuration: YAML loading, ``key=value`` overrides, ``_component_`` wiring,
validation, and the resolved config written next to the outputs.

- :func:`load_config` reads a recipe YAML and applies overrides such as ``model.path=/tmp/tiny``,
  ``grpo.num_generations=4``, ``rewards.1.weight=0.5`` (list items by index) or
  ``stages=[sft]``. Values are parsed as YAML scalars/lists (``true``, ``1e-6``, ``[a, b]``).
- :func:`instantiate` builds an object from a ``{_component_: dotted.path, **params}`` mapping.
  Parameters may themselves be components (a schedule inside a reward) but only **one** level
  deep: deeper nesting is rejected (style.md §4).
- :func:`validate_recipe` checks a recipe and raises :class:`ConfigError` naming every bad key.
- :func:`save_resolved` writes ``resolved_config.yaml`` (all ``_component_`` keys kept) so a
  run can be reloaded with :func:`load_config` (round trip tested).

Library code never receives a config object: :mod:`mmemo.training` turns sections into plain
keyword arguments.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

COMPONENT = "_component_"
RESOLVED_NAME = "resolved_config.yaml"

# Top-level recipe keys and what they hold (used by validation and `mmemo recipes`).
RECIPE_KEYS: dict[str, str] = {
    "output_dir": "folder for checkpoints, logs and the resolved config",
    "seed": "random seed for every stage",
    "stages": "ordered list of stages to run: sft, grpo",
    "data": "manifests: train (required), sft (optional SFT-only manifest), eval, limit",
    "model": "backbone component (mmemo.models.backbones.load_backbone) and its options",
    "lora": "PEFT LoRA options (enabled, r, alpha, dropout, target_modules)",
    "sft": "TRL SFTConfig arguments for the SFT stage",
    "grpo": "TRL GRPOConfig arguments for the GRPO stage (generation_kwargs passed through)",
    "rewards": "list of reward components, each with an optional weight",
    "reward_preset": "a preset of mmemo.rewards.presets (its rewards and shapers come first)",
    "reward_shapers": "list of group-aware shaper components applied after the gather",
    "synthesis": "options for synthesising SFT reasoning targets from cues",
    "report_to": "none, tensorboard or wandb",
}
STAGES = ("sft", "grpo")
LORA_KEYS = {"enabled", "r", "alpha", "dropout", "target_modules"}
DATA_KEYS = {"train", "sft", "eval", "limit"}
# Keys mmemo consumes itself inside the stage sections (not TRL arguments).
STAGE_EXTRA_KEYS = {"sft": {"enabled"}, "grpo": {"enabled"}}


class ConfigError(ValueError):
    """A recipe problem; ``errors`` lists each one as ``key: reason``."""

    def __init__(self, errors: Iterable[str], source: str | None = None) -> None:
        self.errors = list(errors)
        head = f"{source}: " if source else ""
        super().__init__(head + "invalid recipe:\n  " + "\n  ".join(self.errors))


# ---- loading and overrides ----------------------------------------------------------------
def load_yaml(path: str | Path) -> dict:
    """Read one YAML mapping (clear error naming the file when it is not one)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"{path}: no such file"])
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError([f"YAML syntax error: {exc}"], str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError(["the top level must be a mapping"], str(path))
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """``'a.b.0=1e-6'`` -> (['a', 'b', '0'], 1e-06). The value is parsed as YAML."""
    import yaml

    if "=" not in text:
        raise ConfigError([f"override {text!r}: expected key=value"])
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError([f"override {text!r}: empty key"])
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    if isinstance(value, str):  # PyYAML reads "1e-6" (no dot) as a string
        with contextlib.suppress(ValueError):
            value = float(value)
    return key.split("."), value


def apply_overrides(cfg: dict, overrides: Iterable[str]) -> dict:
    """A copy of ``cfg`` with each ``key=value`` applied (missing mappings are created)."""
    cfg = copy.deepcopy(cfg)
    for text in overrides:
        keys, value = parse_override(text)
        node: Any = cfg
        for i, key in enumerate(keys[:-1]):
            node = _child(node, key, ".".join(keys[: i + 1]), create=True)
        _assign(node, keys[-1], value, ".".join(keys))
    return cfg


def _child(node: Any, key: str, where: str, create: bool) -> Any:
    if isinstance(node, list):
        idx = _index(node, key, where)
        return node[idx]
    if not isinstance(node, dict):
        raise ConfigError([f"{where}: cannot descend into a {type(node).__name__}"])
    if key not in node or node[key] is None:
        if not create:
            raise ConfigError([f"{where}: no such key"])
        node[key] = {}
    return node[key]


def _assign(node: Any, key: str, value: Any, where: str) -> None:
    if isinstance(node, list):
        if key == str(len(node)):  # one past the end appends (e.g. rewards.3={...})
            node.append(value)
        else:
            node[_index(node, key, where)] = value
    elif isinstance(node, dict):
        node[key] = value
    else:
        raise ConfigError([f"{where}: cannot set a key inside a {type(node).__name__}"])


def _index(node: list, key: str, where: str) -> int:
    try:
        idx = int(key)
    except ValueError:
        raise ConfigError([f"{where}: {key!r} is not a list index"]) from None
    if not -len(node) <= idx < len(node):
        raise ConfigError([f"{where}: index {idx} out of range (list has {len(node)} items)"])
    return idx


def load_config(path: str | Path, overrides: Iterable[str] = (), validate: bool = True) -> dict:
    """Load a recipe, apply overrides, optionally validate; relative ``data`` paths are kept
    as written (they are resolved against the current directory when the run starts)."""
    cfg = apply_overrides(load_yaml(path), overrides)
    if validate:
        validate_recipe(cfg, source=str(path))
    return cfg


# ---- components ---------------------------------------------------------------------------
def locate(dotted: str) -> Any:
    """Import ``package.module.attr`` (the longest importable module prefix wins)."""
    if not isinstance(dotted, str) or "." not in dotted:
        raise ImportError(f"{dotted!r} is not a dotted path like 'package.module.name'")
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and not module_name.startswith(exc.name) and exc.name != module_name:
                raise  # the module exists but one of its own imports is missing
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            raise ImportError(
                f"{dotted!r}: module {module_name!r} has no {'.'.join(parts[cut:])!r}"
            ) from None
        return obj
    raise ImportError(f"{dotted!r}: no importable module in this path")


def is_component(node: Any) -> bool:
    return isinstance(node, dict) and COMPONENT in node


def instantiate(node: dict, *, drop: Iterable[str] = (), **extra: Any) -> Any:
    """Build ``node[_component_](**params, **extra)``; keys in ``drop`` are not passed.

    Parameters that are components (or lists of components) are built first, one level deep
    only; a component inside such a parameter raises :class:`ConfigError`.
    """
    return _instantiate(node, depth=0, where=node.get(COMPONENT, "?"), drop=set(drop), extra=extra)


def _instantiate(node: dict, depth: int, where: str, drop: set, extra: dict) -> Any:
    target = locate(node[COMPONENT])
    params = {}
    for key, value in node.items():
        if key == COMPONENT or key in drop:
            continue
        params[key] = _build_param(value, depth, f"{where}.{key}")
    params.update(extra)
    return target(**params)


def _build_param(value: Any, depth: int, where: str) -> Any:
    if is_component(value):
        if depth >= 1:
            raise ConfigError([f"{where}: components nest at most one level deep"])
        return _instantiate(value, depth + 1, where, set(), {})
    if isinstance(value, list) and any(is_component(v) for v in value):
        return [_build_param(v, depth, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


# ---- validation ---------------------------------------------------------------------------
def _check_component(node: Any, where: str, errors: list[str], depth: int = 0) -> None:
    if not is_component(node):
        errors.append(f"{where}: expected a mapping with a {COMPONENT} dotted path")
        return
    try:
        target = locate(node[COMPONENT])
        if not callable(target):
            errors.append(f"{where}.{COMPONENT}: {node[COMPONENT]!r} is not callable")
    except ImportError as exc:
        errors.append(f"{where}.{COMPONENT}: cannot import ({exc})")
    for key, value in node.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            if is_component(v):
                if depth >= 1:
                    errors.append(f"{where}.{key}: components nest at most one level deep")
                else:
                    _check_component(v, f"{where}.{key}", errors, depth + 1)


def _trl_fields(stage: str) -> set[str]:
    import dataclasses

    if stage == "sft":
        from trl.trainer.sft_config import SFTConfig as cls
    else:
        from trl.trainer.grpo_config import GRPOConfig as cls
    return {f.name for f in dataclasses.fields(cls)}


def validate_recipe(cfg: dict, source: str | None = None, check_trl: bool = True) -> None:
    """Raise :class:`ConfigError` listing every problem (unknown keys, missing sections,
    components that do not import, stage arguments TRL does not know)."""
    errors: list[str] = []
    for key in cfg:
        if key not in RECIPE_KEYS:
            errors.append(f"{key}: unknown top-level key (known: {', '.join(RECIPE_KEYS)})")
    stages = cfg.get("stages")
    if not isinstance(stages, list) or not stages:
        errors.append("stages: must be a non-empty list of " + " / ".join(STAGES))
        stages = []
    for i, stage in enumerate(stages):
        if stage not in STAGES:
            errors.append(f"stages[{i}]: unknown stage {stage!r} (known: {', '.join(STAGES)})")
    if not cfg.get("output_dir"):
        errors.append("output_dir: required")
    data = cfg.get("data")
    if not isinstance(data, dict) or not data.get("train"):
        errors.append("data.train: required (path of a manifest JSONL)")
    else:
        errors += [
            f"data.{k}: unknown key (known: {', '.join(sorted(DATA_KEYS))})"
            for k in data
            if k not in DATA_KEYS
        ]
    if "model" not in cfg:
        errors.append("model: required")
    else:
        _check_component(cfg["model"], "model", errors)
        if is_component(cfg["model"]) and not cfg["model"].get("path"):
            errors.append("model.path: required (local checkpoint folder or cached hub id)")
    lora = cfg.get("lora") or {}
    if not isinstance(lora, dict):
        errors.append("lora: must be a mapping")
    else:
        errors += [
            f"lora.{k}: unknown key (known: {', '.join(sorted(LORA_KEYS))})"
            for k in lora
            if k not in LORA_KEYS
        ]
    for stage in STAGES:
        section = cfg.get(stage)
        if stage in stages and not isinstance(section, dict):
            errors.append(f"{stage}: section required because stages lists {stage!r}")
            continue
        if isinstance(section, dict) and check_trl:
            known = _trl_fields(stage) | STAGE_EXTRA_KEYS[stage]
            for key in section:
                if key not in known:
                    errors.append(f"{stage}.{key}: not an argument of TRL's {stage.upper()}Config")
    preset = cfg.get("reward_preset")
    if preset is not None:
        _check_component(preset, "reward_preset", errors)
    if "grpo" in stages:
        rewards = cfg.get("rewards")
        if rewards is None and preset is not None:
            rewards = []
        if not isinstance(rewards, list) or (not rewards and preset is None):
            errors.append(
                "rewards: the grpo stage needs a non-empty list of reward components "
                "(or a reward_preset)"
            )
        else:
            for i, node in enumerate(rewards):
                _check_component(node, f"rewards[{i}]", errors)
                weight = node.get("weight", 1.0) if isinstance(node, dict) else None
                if not isinstance(weight, (int, float)):
                    errors.append(f"rewards[{i}].weight: must be a number, got {weight!r}")
    for i, node in enumerate(cfg.get("reward_shapers") or []):
        _check_component(node, f"reward_shapers[{i}]", errors)
    report_to = cfg.get("report_to", "none")
    if report_to not in ("none", "tensorboard", "wandb"):
        errors.append(f"report_to: {report_to!r} is not one of none, tensorboard, wandb")
    if errors:
        raise ConfigError(errors, source)


# ---- resolved config ----------------------------------------------------------------------
def save_resolved(cfg: dict, out_dir: str | Path) -> Path:
    """Write ``cfg`` (components and all) to ``out_dir/resolved_config.yaml``; returns the path."""
    import yaml

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESOLVED_NAME
    path.write_text(yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None))
    return path
