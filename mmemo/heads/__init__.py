"""The default predictor's small heads, one folder each, and their late fusion.

- ``voice/``: speech -> openSMILE functionals -> classifier, trained on RAVDESS, ASED and
  EmoDB (``corpora.py``), validated leave-one-corpus-out.
- ``face/``: 48x48 face crops -> CNN fused with a face-mesh geometry classifier (FER2013, CK+48).
- ``text/``: transcript -> MiniLM (LoRA) -> classifier (MELD).
- ``bundle.py``: the on-disk format (safetensors + JSON config with checksum) and the numpy MLP.
- ``calibration.py``: temperature scaling and ECE; ``fusion.py``: the log-linear pool with
  reliability weights and a disagreement measure.
- ``train.py`` / ``calibrate.py``: the command lines that reproduce the shipped weights.

Heads import nothing from :mod:`mmemo.training` (the recipe stages) and nothing heavy at
module level.
"""
