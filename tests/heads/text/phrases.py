"""Short joy and anger utterances that tiny fine-tuning tests learn to tell apart
(TEXT_LABELS: joy = 3, anger = 0)."""

JOY = [
    "I love this, it's wonderful",
    "Yay, we won!",
    "This is the best day ever",
    "I'm so glad you came",
    "Great news, thank you!",
    "Haha, that's brilliant",
]
ANGER = [
    "Shut up and get out",
    "I hate you for this",
    "How dare you lie to me",
    "This is outrageous, stop it",
    "You ruined everything!",
    "Leave me alone, idiot",
]
