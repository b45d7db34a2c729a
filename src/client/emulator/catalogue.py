"""The emulator's catalogue: which model ids exist, in which forms, and which family each belongs to.

Pure data and lookups. A model id reaches the service in several forms (a base id, a cross-region inference
profile id, a foundation-model or inference-profile ARN); :func:`base_model_id` maps each to the base id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from client.families import Family

__all__ = [
    "KNOWN_MODELS",
    "LEGACY_TEXT_COMPLETION_MODELS",
    "UnknownModel",
    "base_model_id",
    "model_label",
    "resolve_model",
]

_UNKNOWN_MODEL_MESSAGE = "Could not resolve the foundation model from the provided model identifier."


class UnknownModel(Exception):  # noqa: N818 -- the name is part of the emulator API
    """No such model: the service answers 404 ResourceNotFoundException with the service's own wording."""

    def __init__(self, model_id: str) -> None:
        super().__init__(_UNKNOWN_MODEL_MESSAGE)
        self.message = _UNKNOWN_MODEL_MESSAGE
        self.model_id = model_id


_A, _N, _T, _L, _M, _C = (
    Family.ANTHROPIC,
    Family.NOVA,
    Family.TITAN_TEXT,
    Family.LLAMA,
    Family.MISTRAL,
    Family.COHERE,
)
KNOWN_MODELS: Mapping[str, Family] = MappingProxyType(
    {
        "anthropic.claude-instant-v1": _A,
        "anthropic.claude-v2": _A,
        "anthropic.claude-v2:1": _A,
        "anthropic.claude-3-haiku-20240307-v1:0": _A,
        "anthropic.claude-3-sonnet-20240229-v1:0": _A,
        "anthropic.claude-3-opus-20240229-v1:0": _A,
        "anthropic.claude-3-5-haiku-20241022-v1:0": _A,
        "anthropic.claude-3-5-sonnet-20240620-v1:0": _A,
        "anthropic.claude-3-5-sonnet-20241022-v2:0": _A,
        "anthropic.claude-3-7-sonnet-20250219-v1:0": _A,
        "anthropic.claude-sonnet-4-20250514-v1:0": _A,
        "anthropic.claude-opus-4-20250514-v1:0": _A,
        "anthropic.claude-opus-4-1-20250805-v1:0": _A,
        "anthropic.claude-sonnet-4-5-20250929-v1:0": _A,
        "anthropic.claude-haiku-4-5-20251001-v1:0": _A,
        "amazon.nova-micro-v1:0": _N,
        "amazon.nova-lite-v1:0": _N,
        "amazon.nova-pro-v1:0": _N,
        "amazon.nova-premier-v1:0": _N,
        "amazon.nova-2-lite-v1:0": _N,
        "amazon.titan-text-express-v1": _T,
        "amazon.titan-text-lite-v1": _T,
        "amazon.titan-text-premier-v1:0": _T,
        "amazon.titan-tg1-large": _T,
        "meta.llama3-8b-instruct-v1:0": _L,
        "meta.llama3-70b-instruct-v1:0": _L,
        "meta.llama3-1-8b-instruct-v1:0": _L,
        "meta.llama3-1-70b-instruct-v1:0": _L,
        "meta.llama3-1-405b-instruct-v1:0": _L,
        "meta.llama3-2-1b-instruct-v1:0": _L,
        "meta.llama3-2-3b-instruct-v1:0": _L,
        "meta.llama3-2-11b-instruct-v1:0": _L,
        "meta.llama3-2-90b-instruct-v1:0": _L,
        "meta.llama3-3-70b-instruct-v1:0": _L,
        "meta.llama4-scout-17b-instruct-v1:0": _L,
        "meta.llama4-maverick-17b-instruct-v1:0": _L,
        "mistral.mistral-7b-instruct-v0:2": _M,
        "mistral.mixtral-8x7b-instruct-v0:1": _M,
        "mistral.mistral-small-2402-v1:0": _M,
        "mistral.mistral-large-2402-v1:0": _M,
        "mistral.mistral-large-2407-v1:0": _M,
        "mistral.pixtral-large-2502-v1:0": _M,
        "cohere.command-r-v1:0": _C,
        "cohere.command-r-plus-v1:0": _C,
    }
)
"""Every model id the emulator serves, with its family."""

LEGACY_TEXT_COMPLETION_MODELS = frozenset(
    {"anthropic.claude-instant-v1", "anthropic.claude-v2", "anthropic.claude-v2:1"}
)
"""Anthropic models that also take the legacy Text Completions body (``prompt``, ``max_tokens_to_sample``).

AWS documents the Text Completions API for Claude Instant and Claude 2.x only ("Anthropic Claude Text
Completions API", Bedrock user guide, model-parameters-anthropic-claude-text-completion); Claude 3 and later
take the Messages API alone, and the service refuses a ``prompt`` body for them."""

# Region groups of the cross-region inference profiles.
_PROFILE_PREFIXES = frozenset({"us", "us-gov", "eu", "apac", "global", "jp", "au", "ca"})
_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:bedrock:([a-z]{2}(?:-gov)?-[a-z]+-[0-9]):([0-9]{12})?:"
    r"(foundation-model|inference-profile)/(.+)",
    re.ASCII,
)


def _strip_profile(profile_id: str) -> str | None:
    prefix, dot, rest = profile_id.partition(".")
    return rest if dot and prefix in _PROFILE_PREFIXES and rest in KNOWN_MODELS else None


def base_model_id(model_id: str) -> str:
    """The foundation model id behind a model id, inference profile id or ARN; :class:`UnknownModel` if none.

    Accepted: a known id (``anthropic.claude-3-haiku-20240307-v1:0``), a cross-region inference profile id
    (``us.``, ``us-gov.``, ``eu.``, ``apac.``, ``global.``, ``jp.``, ``au.``, ``ca.`` + a known id), a
    ``foundation-model/`` ARN (account field empty, as AWS writes them, or an account id) and an
    ``inference-profile/`` ARN (account id required, resource a profile id). Everything else -- unknown ids,
    other ARN resource types -- raises :class:`UnknownModel`.
    """
    if isinstance(model_id, str):
        if model_id in KNOWN_MODELS:
            return model_id
        base = _strip_profile(model_id)
        if base is not None:
            return base
        match = _ARN.fullmatch(model_id)
        if match is not None:
            account, kind, resource = match.group(2), match.group(3), match.group(4)
            if kind == "foundation-model" and resource in KNOWN_MODELS:
                return resource
            if kind == "inference-profile" and account is not None:
                base = _strip_profile(resource)
                if base is not None:
                    return base
    raise UnknownModel(model_id if isinstance(model_id, str) else repr(model_id))


def resolve_model(model_id: str) -> Family:
    """The family of a served model (see :func:`base_model_id` for the accepted forms)."""
    return KNOWN_MODELS[base_model_id(model_id)]


def model_label(model_id: str) -> str:
    """The base model id behind ``model_id`` when it is served, else ``model_id`` itself (for answers)."""
    try:
        return base_model_id(model_id)
    except UnknownModel:
        return model_id
