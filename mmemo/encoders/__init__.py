"""Modality encoders: measure cues (facial action units, prosody, frames) from raw media."""
