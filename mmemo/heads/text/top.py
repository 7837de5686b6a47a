"""Top-block LoRA fine-tuning of MiniLM on cached lower-block token states.

The lower blocks stay frozen, so their token states are computed once per utterance
(:func:`mmemo.heads.text.meld.meld_lower_states`) and every training step runs only the
adapted top blocks: this is what makes dialogue-grouped cross-validation of fine-tuning
affordable on a shared 2-core CPU. The adapter is an ordinary PEFT LoRA restricted to those
blocks (``input.lora.layers`` in ``text.json``); at load it is merged, so inference costs the
same as the frozen encoder.

``python -m mmemo.heads.text.top --data /work/shared/data`` runs the selection experiment:
4-fold CV on MELD train grouped by dialogue, for each setting in ``--settings``; out-of-fold
logits are cached so settings can be added without rerunning the others.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from mmemo.heads.report import log
from mmemo.heads.text.model import TEXT_LABELS

N_BLOCKS = 6
EMBED_SCALE = 10.0  # the classifier sees 10 x the unit-length embedding
TOP_RECIPE: dict[str, Any] = {
    "start": 4,  # blocks 4-5 (0-based) adapted, 0-3 frozen
    "r": 16,
    "alpha": 32,
    "dropout": 0.1,
    "epochs": 4,
    "lr": 1e-3,
    "head_lr": 3e-3,
    "weight_decay": 0.01,
    "batch": 32,
    "warmup": 0.06,
    "label_smoothing": 0.0,
}
CV_FOLDS = 4


class States:
    """Flat token states ``[T, 384]`` + per-utterance lengths; ``batch(idx)`` pads a batch."""

    def __init__(self, states: np.ndarray, lengths: np.ndarray) -> None:
        self.states = states
        self.lengths = np.asarray(lengths)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)])

    def __len__(self) -> int:
        return len(self.lengths)

    def batch(self, idx: np.ndarray) -> tuple[Any, Any]:
        import torch

        lens = self.lengths[idx]
        h = np.zeros((len(idx), int(lens.max()), self.states.shape[1]), np.float32)
        m = np.zeros((len(idx), int(lens.max())), np.int64)
        for k, i in enumerate(idx):
            h[k, : lens[k]] = self.states[self.offsets[i] : self.offsets[i + 1]]
            m[k, : lens[k]] = 1
        return torch.from_numpy(h), torch.from_numpy(m)


def finetune_top(
    states: States, y: np.ndarray, seed: int, hp: dict | None = None, tag: str = ""
) -> tuple[Any, Any]:
    """LoRA on blocks ``hp["start"]``.. of MiniLM + a linear classifier, trained on cached
    lower-block states; returns (peft model, classifier) in eval mode."""
    from mmemo.heads.text.encoder import fit_lora_classifier, top_pooled

    hp = {**TOP_RECIPE, **(hp or {})}
    start = int(hp["start"])

    def pooled_batch(_tok: Any, model: Any, idx: np.ndarray) -> Any:
        h, m = states.batch(idx)
        return top_pooled(model, h, m, start)

    _, model, head = fit_lora_classifier(
        hp, y, seed, pooled_batch, n_classes=len(TEXT_LABELS), scale=EMBED_SCALE,
        layers=range(start, N_BLOCKS), label_smoothing=float(hp["label_smoothing"]), tag=tag,
        log_every=200,
    )  # fmt: skip
    return model, head


def top_logits(model: Any, head: Any, states: States, start: int, batch: int = 128) -> np.ndarray:
    """Logits ``[N, 7]`` of a top-block fine-tune on cached lower-block states."""
    import torch

    from mmemo.heads.text.encoder import top_pooled

    out = []
    with torch.no_grad():
        for i in range(0, len(states), batch):
            h, m = states.batch(np.arange(i, min(i + batch, len(states))))
            out.append(head(top_pooled(model, h, m, start) * EMBED_SCALE).numpy())
    return np.concatenate(out)


def dialogue_folds(dialogues: np.ndarray, k: int = CV_FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import GroupKFold

    return list(GroupKFold(k).split(dialogues, dialogues, dialogues))


def cv_logits(
    data: Path, cache: Path, hp: dict, seed: int = 0, folds: list[int] | None = None
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Out-of-fold logits of the recipe ``hp`` on MELD train (4 folds grouped by dialogue),
    fold by fold cached under ``cache``; returns (logits, labels, per-fold weighted F1)."""
    from sklearn.metrics import f1_score

    from mmemo.heads.text.meld import meld_lower_states, meld_meta

    hp = {**TOP_RECIPE, **hp}
    start = int(hp["start"])
    S, L, y = meld_lower_states(data, "train", cache, start)
    states = States(S, L)
    dialogues = np.array([m.dialogue for m in meld_meta(data, "train")])
    key = recipe_key(hp)
    oof = np.full((len(y), len(TEXT_LABELS)), np.nan, np.float32)
    scores = []
    for f, (tr, te) in enumerate(dialogue_folds(dialogues)):
        path = cache / f"top_cv_{key}_s{seed}_f{f}.npy"
        if path.is_file():
            oof[te] = np.load(path)
        elif folds is None or f in folds:
            model, head = finetune_top(states_subset(states, tr), y[tr], seed, hp,
                                       tag=f"cv {key} fold {f}")  # fmt: skip
            oof[te] = top_logits(model, head, states_subset(states, te), start)
            np.save(path, oof[te])
        else:
            continue
        scores.append(float(f1_score(y[te], oof[te].argmax(1), average="weighted")))
        log(f"cv {key} fold {f}: weighted F1 {scores[-1]:.4f}")
    return oof, y, scores


def recipe_key(hp: dict) -> str:
    """A file-name key of the recipe overrides (``base`` for :data:`TOP_RECIPE` itself)."""
    hp = {**TOP_RECIPE, **hp}
    return "_".join(f"{k}{hp[k]}" for k in sorted(hp) if hp[k] != TOP_RECIPE.get(k)) or "base"


def full_fit(data: Path, cache: Path, hp: dict, seed: int = 0) -> tuple[Any, Any]:
    """The recipe fitted on all of MELD train; the adapter and classifier are cached under
    ``cache`` (keyed by recipe and seed) and rebuilt from there when present."""
    import torch
    from peft import get_peft_model, set_peft_model_state_dict
    from safetensors.numpy import load_file, save_file

    from mmemo.heads.text.encoder import LORA_PREFIX, load_base, lora_config, lora_tensors
    from mmemo.heads.text.meld import meld_lower_states

    hp = {**TOP_RECIPE, **hp}
    start = int(hp["start"])
    path = cache / f"top_full_{recipe_key(hp)}_s{seed}.safetensors"
    if path.is_file():
        log(f"text full fit from cache {path}")
        t = load_file(str(path))
        _, base = load_base()
        model = get_peft_model(base, lora_config(hp["r"], hp["alpha"], 0.0,
                                                 list(range(start, N_BLOCKS))))  # fmt: skip
        state = {k[len(LORA_PREFIX) :]: torch.from_numpy(v)
                 for k, v in t.items() if k.startswith(LORA_PREFIX)}  # fmt: skip
        set_peft_model_state_dict(model, state)
        head = torch.nn.Linear(384, len(TEXT_LABELS))
        with torch.no_grad():
            head.weight.copy_(torch.from_numpy(t["head.weight"]))
            head.bias.copy_(torch.from_numpy(t["head.bias"]))
        return model.eval(), head.eval()
    S, L, y = meld_lower_states(data, "train", cache, start)
    model, head = finetune_top(States(S, L), y, seed, hp, tag=f"full {recipe_key(hp)}")
    cache.mkdir(parents=True, exist_ok=True)
    save_file({**lora_tensors(model),
               "head.weight": head.weight.detach().numpy().copy(),
               "head.bias": head.bias.detach().numpy().copy()}, str(path))  # fmt: skip
    return model, head


def states_subset(states: States, idx: np.ndarray) -> States:
    parts = [states.states[states.offsets[i] : states.offsets[i + 1]] for i in idx]
    return States(np.concatenate(parts), states.lengths[idx])


def main(argv: list[str] | None = None) -> int:
    import argparse

    import torch

    parser = argparse.ArgumentParser(prog="python -m mmemo.heads.text.top")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mmemo_cache/text_12"))
    parser.add_argument("--settings", default="{}", help="JSON list of recipe overrides")
    parser.add_argument("--folds", default=None, help="comma-separated fold numbers to run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--full", action="store_true", help="only the fit on all of train")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    settings = json.loads(args.settings)
    if args.full:
        for hp in settings if isinstance(settings, list) else [settings]:
            full_fit(args.data, args.cache, hp, args.seed)
        return 0
    folds = None if args.folds is None else [int(f) for f in args.folds.split(",")]
    for hp in settings if isinstance(settings, list) else [settings]:
        _, _, scores = cv_logits(args.data, args.cache, hp, args.seed, folds)
        if scores:
            log(f"cv {hp}: {len(scores)} folds, weighted F1 {np.mean(scores):.4f} "
                f"+- {np.std(scores):.4f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
