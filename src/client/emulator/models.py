"""The emulator's models, in one import: the catalogue, request validation, prompt reading and answers.

Each concern lives in its own module (:mod:`.catalogue`, :mod:`.bodies`, :mod:`.prompts`, :mod:`.answers`);
this module re-exports their public names for code that imports them from here.
"""

from __future__ import annotations

from .answers import answer_body, answer_events
from .bodies import ANTHROPIC_VERSION, InvalidRequest, validate_request
from .catalogue import (
    KNOWN_MODELS,
    LEGACY_TEXT_COMPLETION_MODELS,
    UnknownModel,
    base_model_id,
    resolve_model,
)
from .prompts import prompt_text

__all__ = [
    "ANTHROPIC_VERSION",
    "KNOWN_MODELS",
    "LEGACY_TEXT_COMPLETION_MODELS",
    "InvalidRequest",
    "UnknownModel",
    "answer_body",
    "answer_events",
    "base_model_id",
    "prompt_text",
    "resolve_model",
    "validate_request",
]
