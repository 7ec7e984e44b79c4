"""Readable run names (``brave-owl-417``), as MLflow gives runs that have none."""

from __future__ import annotations

import random

_ADJECTIVES = (
    "able", "agile", "amber", "ample", "bold", "brave", "bright", "calm", "clever", "crisp",
    "curious", "dapper", "eager", "fair", "fancy", "fierce", "gentle", "glad", "golden", "grand",
    "honest", "humble", "jolly", "keen", "kind", "lively", "loud", "lucky", "merry", "mighty",
    "nimble", "noble", "polite", "proud", "quick", "quiet", "rare", "rosy", "shy", "silent",
    "sleek", "smart", "snug", "spry", "steady", "sunny", "swift", "tidy", "vast", "warm", "wise",
)
_NOUNS = (
    "ant", "bat", "bear", "bee", "bison", "boar", "carp", "cat", "colt", "crab", "crane", "crow",
    "deer", "dove", "duck", "eel", "elk", "finch", "fox", "frog", "goat", "hare", "hawk", "heron",
    "horse", "ibis", "jay", "koala", "lark", "lion", "lynx", "mole", "moth", "newt", "otter", "owl",
    "panda", "puma", "quail", "ram", "robin", "seal", "shrew", "snail", "swan", "tern", "toad",
    "trout", "vole", "wasp", "whale", "wolf", "wren", "yak",
)


def generate_run_name() -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(100, 999)}"
