"""Text preparation shared by the skill coder (:mod:`skills.text`) and the persona checks
(:mod:`llm.integrity_facts`), which know nothing of each other: quotes made straight, and
contractions spelled out a word at a time."""

from textprep.spelling import spell_out, straight_quotes

__all__ = ["spell_out", "straight_quotes"]
