"""How the voice head learns across corpora, and how it is validated leave-one-corpus-out.

- :func:`fit_masked_lr`: multinomial logistic regression where each clip's softmax runs only
  over the classes its corpus has (``mask``), so ASED (no calm, disgust, surprised) never
  teaches that a clip is *not* disgust. Same objective as scikit-learn's
  ``LogisticRegression``: ``C * sum_i w_i * loss_i + ||W||^2 / 2``, with sample weights.
- :func:`corpus_shift`: how far each feature moves between corpora with the emotion held
  fixed (language, microphone, room); the single-clip classifier leaves out the most
  shifted share of the features (``Recipe.drop_shifted``), scored on its training corpora.
- :class:`Recipe`: every setting of the head (feature sets, silence trimming, speaker
  normalisation, C of each classifier, corpus balancing, shifted features left out,
  augmented training copies), chosen by :func:`loco`.
- :func:`loco`: train on two of RAVDESS/ASED/EmoDB, test on the third, on the classes they
  share; :func:`grouped_cv`: speaker-grouped folds within the corpora.

Two classifiers come out of a recipe: ``clip`` (one clip alone, features standardised with
the training pool's statistics) and ``speaker`` (features normalised within each speaker's
clips first; used when several clips of one speaker are predicted together, its
log-probabilities mixed with a share ``Recipe.speaker_clip_weight`` of the clip
classifier's).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mmemo.heads.bundle import MLP
from mmemo.heads.voice.corpora import CORE_LABELS, CORPORA, CORPUS_LABELS
from mmemo.heads.voice.features import speaker_normalise

# the voice head's outputs: the union of the corpora's classes, in the taxonomy's order
VOICE_LABELS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
# ComParE_2016 (6373) then eGeMAPSv02 (88): the column layout of the feature cache
FEATURE_COLUMNS = {"ComParE_2016": slice(0, 6373), "eGeMAPSv02": slice(6373, 6461)}


@dataclass
class VoiceData:
    """Features ``X [N, D]`` of labelled clips with their label, speaker, corpus and gender.

    ``augmented`` maps an augmentation's name (:mod:`mmemo.heads.voice.augment`) to the
    features of every clip's perturbed copy, row for row with ``X`` (NaN rows: no copy); a
    subset keeps the copies of its rows, so a fold's copies stay with their fold.
    """

    X: np.ndarray
    label: np.ndarray
    speaker: np.ndarray
    corpus: np.ndarray
    gender: np.ndarray
    path: np.ndarray = field(default_factory=lambda: np.array([]))
    augmented: dict[str, np.ndarray] = field(default_factory=dict)

    def subset(self, m: np.ndarray) -> VoiceData:
        return VoiceData(
            self.X[m],
            self.label[m],
            self.speaker[m],
            self.corpus[m],
            self.gender[m],
            self.path[m] if len(self.path) else self.path,
            {name: a[m] for name, a in self.augmented.items()},
        )

    def with_copies(self, names: tuple[str, ...]) -> VoiceData:
        """These clips followed by their copies ``names`` (no ``augmented`` left). A copy's
        speaker is its speaker's name plus ``#name``: a slower voice is another voice, so
        speaker normalisation treats it as one."""
        missing = [n for n in names if n not in self.augmented]
        if missing:
            raise ValueError(f"no features of the augmented copies {missing}")
        parts = [(self.X, self.speaker, np.ones(len(self.X), bool))]
        for n in names:
            a = self.augmented[n]
            parts.append((a, np.char.add(self.speaker.astype(str), f"#{n}"), ~np.isnan(a).any(1)))
        keep = np.concatenate([ok for _, _, ok in parts])
        tile = len(parts)
        return VoiceData(
            np.concatenate([x for x, _, _ in parts])[keep],
            np.tile(self.label, tile)[keep],
            np.concatenate([s for _, s, _ in parts])[keep],
            np.tile(self.corpus, tile)[keep],
            np.tile(self.gender, tile)[keep],
            np.tile(self.path, tile)[keep] if len(self.path) else self.path,
        )

    def columns(self, feature_sets: tuple[str, ...]) -> np.ndarray:
        return np.concatenate([self.X[:, FEATURE_COLUMNS[f]] for f in feature_sets], axis=1)


@dataclass(frozen=True)
class Recipe:
    """The settings of the voice head; the shipped values are chosen by :func:`loco`."""

    feature_sets: tuple[str, ...] = ("ComParE_2016", "eGeMAPSv02")
    trim: bool = True
    speaker_norm: str = "rank_gauss"
    C_clip: float = 0.002
    C_speaker: float = 0.003
    components: int | None = 256  # principal components the LR is fitted on (None: all)
    balance_corpora: bool = True  # each corpus carries the same total sample weight
    masked: bool = True  # a corpus's clips are scored only on the classes it has
    # share of the features with the largest between-corpus shift (:func:`corpus_shift`,
    # scored on the training corpora) that the clip classifier leaves out; 0 keeps all
    drop_shifted: float = 0.1
    # when several clips of a speaker are read together, the share of the clip classifier's
    # log-probabilities mixed into the speaker classifier's (:func:`speaker_mode_logits`);
    # 0 reads the speaker classifier alone
    speaker_clip_weight: float = 0.25
    # perturbed copies of every training clip fitted alongside it (mmemo.heads.voice.augment);
    # C_clip and C_speaker stay per original clip (the copies share its weight)
    augment: tuple[str, ...] = ("speed_0.9", "speed_1.1", "gain_eq")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["feature_sets"] = list(self.feature_sets)
        d["augment"] = list(self.augment)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        """The recipe recorded in a head's config (:meth:`to_dict`; lists back to tuples)."""
        d = {"augment": (), **d}  # a record without it is from a head trained without copies
        for key in ("feature_sets", "augment"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


def class_mask(corpora: np.ndarray, labels: tuple[str, ...] = VOICE_LABELS) -> np.ndarray:
    """``[N, K]`` bool: the classes each row's corpus has (all classes for unknown corpora)."""
    table = {
        c: np.array([lab in CORPUS_LABELS.get(c, labels) for lab in labels]) for c in set(corpora)
    }
    return np.stack([table[c] for c in corpora]) if len(corpora) else np.zeros((0, len(labels)))


def sample_weights(corpora: np.ndarray, balance: bool) -> np.ndarray:
    """Mean-one weights; with ``balance`` every corpus gets the same total weight."""
    w = np.ones(len(corpora))
    if balance:
        names, counts = np.unique(corpora, return_counts=True)
        per = dict(zip(names, len(corpora) / (len(names) * counts), strict=True))
        w = np.array([per[c] for c in corpora])
    return w / w.mean()


def corpus_shift(X: np.ndarray, labels: np.ndarray, corpora: np.ndarray) -> np.ndarray:
    """Per feature, how far the corpora sit apart with the emotion held fixed: ``[D]``.

    On the features standardised over all rows: each corpus's centroid is the mean of its
    class means over the classes every corpus in ``corpora`` has (so a corpus's class mix
    does not move it); the score is the variance of those centroids across corpora over the
    pooled within-(corpus, class) variance. A feature that tracks language, microphone or
    room more than emotion scores high. Fewer than two corpora: all zeros.
    """
    X = np.asarray(X, np.float64)
    names = np.unique(corpora)
    shared = sorted(set.intersection(*(set(labels[corpora == c]) for c in names)))
    if len(names) < 2 or not shared:
        return np.zeros(X.shape[1])
    scale = X.std(axis=0)
    scale[scale < 1e-8] = 1.0
    Z = (X - X.mean(axis=0)) / scale
    centroids, within, n = [], np.zeros(X.shape[1]), 0
    for c in names:
        means = []
        for lab in shared:
            rows = Z[(corpora == c) & (labels == lab)]
            means.append(rows.mean(axis=0))
            within += rows.var(axis=0) * len(rows)
            n += len(rows)
        centroids.append(np.mean(means, axis=0))
    return np.var(centroids, axis=0) / (within / n + 1e-6)


def stable_columns(
    X: np.ndarray, labels: np.ndarray, corpora: np.ndarray, drop: float
) -> np.ndarray | None:
    """``[D]`` bool: the features kept once the ``drop`` share with the largest
    :func:`corpus_shift` is left out (None: ``drop`` is 0, or one corpus only)."""
    if drop <= 0 or len(np.unique(corpora)) < 2:
        return None
    score = corpus_shift(X, labels, corpora)
    return score <= np.quantile(score, 1.0 - drop)


def fit_masked_lr(
    X: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray,
    C: float,
    weights: np.ndarray | None = None,
    max_iter: int = 1000,
    components: int | None = None,
    columns: np.ndarray | None = None,
) -> MLP:
    """Standardise, then fit a masked multinomial LR; returns it as a one-layer :class:`MLP`.

    ``y`` holds class indices; ``mask[i, k]`` is False for classes row ``i`` cannot have
    (their logits are excluded from its softmax). Rows whose own class is masked are an error.
    With ``components``, the LR is fitted on the top principal components of the
    standardised features (randomised SVD) and folded back into one ``[D, K]`` matrix, so
    inference is unchanged; the L2 penalty is the same because the basis is orthonormal.
    On 6,461 openSMILE features this turns a memory-bound fit of minutes into seconds.
    ``columns`` (``[D]`` bool) restricts the fit to those features; the others get zero
    weight (they are still standardised, so the layout and inference are unchanged).
    """
    from scipy.optimize import minimize

    X = np.asarray(X, np.float64)
    n, d = X.shape
    k = mask.shape[1]
    if not mask[np.arange(n), y].all():
        raise ValueError("a row's label is outside its corpus's classes")
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-8] = 1.0
    Z = (X - mean) / scale
    full_d = d
    if columns is not None:
        columns = np.asarray(columns, bool)
        Z = Z[:, columns]
        d = int(columns.sum())
    basis = None
    if components is not None and min(n, d) > components:
        from sklearn.utils.extmath import randomized_svd

        _, _, vt = randomized_svd(Z.astype(np.float32), components, n_iter=4, random_state=0)
        basis = vt.T.astype(np.float64)  # [D, r], orthonormal columns
        Z = Z @ basis
        d = components
    w = np.ones(n) if weights is None else np.asarray(weights, np.float64)
    neg = np.where(mask, 0.0, -np.inf)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W = theta[: d * k].reshape(d, k)
        b = theta[d * k :]
        logits = Z @ W + b + neg
        top = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - top)
        s = e.sum(axis=1, keepdims=True)
        logp = logits[np.arange(n), y] - (top[:, 0] + np.log(s[:, 0]))
        loss = -C * np.sum(w * logp) + 0.5 * np.sum(W * W)
        g = C * w[:, None] * (e / s - onehot)
        grad_w = Z.T @ g + W
        grad_b = g.sum(axis=0)
        return loss, np.concatenate([grad_w.ravel(), grad_b])

    res = minimize(
        objective,
        np.zeros(d * k + k),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter},
    )
    W = res.x[: d * k].reshape(d, k)
    b = res.x[d * k :]
    if basis is not None:
        W = basis @ W
    if columns is not None:
        W_full = np.zeros((full_d, k))
        W_full[columns] = W
        W = W_full
    return MLP(
        mean.astype(np.float32),
        scale.astype(np.float32),
        [W.astype(np.float32)],
        [b.astype(np.float32)],
    )


def fit_voice(data: VoiceData, recipe: Recipe) -> dict[str, MLP]:
    """The ``clip`` and ``speaker`` classifiers of ``recipe`` fitted on ``data`` (and on its
    augmented copies ``recipe.augment``)."""
    copies = 1 + len(recipe.augment)
    if recipe.augment:
        data = data.with_copies(recipe.augment)
    X = data.columns(recipe.feature_sets)
    y = np.array([VOICE_LABELS.index(lab) for lab in data.label])
    mask = class_mask(data.corpus) if recipe.masked else np.ones((len(y), len(VOICE_LABELS)), bool)
    present = np.zeros(len(VOICE_LABELS), bool)
    present[np.unique(y)] = True
    mask = mask & present  # a class no training clip has gets no logit mass in training
    w = sample_weights(data.corpus, recipe.balance_corpora) / copies
    xs = speaker_normalise(X, data.speaker, recipe.speaker_norm)
    # the clip classifier meets a new corpus's level unnormalised: leave out the features
    # that move most between the training corpora (the speaker one is normalised already)
    keep = stable_columns(X, data.label, data.corpus, recipe.drop_shifted)
    models = {
        "clip": fit_masked_lr(
            X, y, mask, recipe.C_clip, w, components=recipe.components, columns=keep
        ),
        "speaker": fit_masked_lr(xs, y, mask, recipe.C_speaker, w, components=recipe.components),
    }
    for m in models.values():  # classes absent from training are never predicted
        m.biases[-1][~present] = -1e4
    return models


def speaker_mode_logits(clip: np.ndarray, speaker: np.ndarray, clip_weight: float) -> np.ndarray:
    """The speaker mode's logits ``[N, K]``: ``(1 - w) * log_softmax(speaker) + w *
    log_softmax(clip)``, the speaker-normalised classifier's log-probabilities with a share
    ``w`` of the single-clip classifier's (which still sees the clip's absolute level);
    ``w`` 0 returns the speaker logits unchanged."""
    if clip_weight <= 0:
        return np.asarray(speaker)
    from scipy.special import log_softmax

    return (1.0 - clip_weight) * log_softmax(np.asarray(speaker, np.float64), axis=1) + (
        clip_weight * log_softmax(np.asarray(clip, np.float64), axis=1)
    )


def voice_logits(models: dict[str, MLP], data: VoiceData, recipe: Recipe) -> dict[str, np.ndarray]:
    """Logits ``[N, K]`` of both modes: ``clip`` (one clip alone) and ``speaker`` (features
    normalised within speakers, mixed with the clip classifier by :func:`speaker_mode_logits`)."""
    X = data.columns(recipe.feature_sets)
    clip = models["clip"].logits(X)
    speaker = models["speaker"].logits(speaker_normalise(X, data.speaker, recipe.speaker_norm))
    return {"clip": clip, "speaker": speaker_mode_logits(clip, speaker, recipe.speaker_clip_weight)}


def restricted_scores(logits: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]) -> dict:
    """Accuracy and UAR with the argmax over ``classes`` only, on rows labelled with one."""
    idx = [VOICE_LABELS.index(c) for c in classes]
    keep = np.isin(labels, classes)
    y = np.array([classes.index(lab) for lab in labels[keep]])
    pred = np.asarray(logits)[keep][:, idx].argmax(axis=1)
    recalls = [float((pred[y == c] == c).mean()) for c in range(len(classes)) if (y == c).any()]
    return {"n": int(keep.sum()), "acc": float((pred == y).mean()), "uar": float(np.mean(recalls))}


def shared_classes(held_out: str, train: tuple[str, ...]) -> tuple[str, ...]:
    """Classes the held-out corpus shares with the union of the training corpora."""
    have = set().union(*(CORPUS_LABELS[c] for c in train))
    return tuple(c for c in VOICE_LABELS if c in CORPUS_LABELS[held_out] and c in have)


def loco(data: VoiceData, recipe: Recipe, fit=fit_voice, logits_of=voice_logits) -> dict:
    """Leave-one-corpus-out: per held-out corpus, scores of both classifiers and the logits.

    Scores are on the four classes every corpus has (``core``) and on all the classes the
    held-out corpus shares with the training pair (``shared``). ``fit``/``logits_of`` let a
    baseline reuse the protocol.
    """
    out: dict[str, Any] = {}
    for held in CORPORA:
        train = tuple(c for c in CORPORA if c != held)
        tr, te = np.isin(data.corpus, train), data.corpus == held
        models = fit(data.subset(tr), recipe)
        test = data.subset(te)
        logits = logits_of(models, test, recipe)
        shared = shared_classes(held, train)
        out[held] = {
            "train": list(train),
            "shared_classes": list(shared),
            "scores": {
                mode: {
                    "core": restricted_scores(lo, test.label, CORE_LABELS),
                    "shared": restricted_scores(lo, test.label, shared),
                }
                for mode, lo in logits.items()
            },
            "logits": logits,
            "labels": test.label,
            "models": models,
        }
    return out


def grouped_cv(data: VoiceData, recipe: Recipe, folds: int = 5, seed: int = 0) -> dict:
    """Speaker-grouped folds over all corpora pooled: per corpus, scores on its own classes."""
    rng = np.random.default_rng(seed)
    speakers = np.unique(data.speaker)
    fold_of = dict(zip(rng.permutation(speakers), np.arange(len(speakers)) % folds, strict=True))
    f = np.array([fold_of[s] for s in data.speaker])
    logits = {m: np.zeros((len(f), len(VOICE_LABELS))) for m in ("clip", "speaker")}
    for k in range(folds):
        models = fit_voice(data.subset(f != k), recipe)
        for mode, lo in voice_logits(models, data.subset(f == k), recipe).items():
            logits[mode][f == k] = lo
    out: dict[str, Any] = {}
    for corpus in CORPORA:
        m = data.corpus == corpus
        out[corpus] = {
            mode: restricted_scores(lo[m], data.label[m], CORPUS_LABELS[corpus])
            for mode, lo in logits.items()
        }
    return out


def loco_summary(result: dict, mode: str, which: str = "core") -> dict[str, float]:
    """Mean and spread of UAR/accuracy over the held-out corpora of a :func:`loco` result."""
    uar = [r["scores"][mode][which]["uar"] for r in result.values()]
    acc = [r["scores"][mode][which]["acc"] for r in result.values()]
    return {
        "uar_mean": float(np.mean(uar)),
        "uar_min": float(np.min(uar)),
        "uar_std": float(np.std(uar)),
        "acc_mean": float(np.mean(acc)),
    }
