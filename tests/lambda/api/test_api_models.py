"""Callers choose a model by its id; the function calls it through the application inference profile MODELS names."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from api.config import from_environ
from botocore.stub import Stubber

from .api_fakes import (
    ENVIRONMENT,
    HAIKU,
    MODELS,
    NOVA,
    SONNET,
    body_of,
    converse_params,
    converse_response,
    rest_event,
)

Call = Callable[[dict[str, Any]], dict[str, Any]]


def test_each_model_is_called_by_its_profile() -> None:
    settings = from_environ(ENVIRONMENT)

    assert settings.model_ids() == (HAIKU, SONNET, NOVA)
    assert [settings.target(model) for model in (HAIKU, SONNET, NOVA)] == [
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/h4iku0profil",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/s0nnet0profl",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/n0va0profile",
    ]


def test_a_model_without_a_profile_is_called_by_its_id() -> None:
    settings = from_environ({**ENVIRONMENT, "MODELS": json.dumps(MODELS)})

    assert settings.problems == {}
    assert settings.target(NOVA) == NOVA


@pytest.mark.parametrize("arn", ["", 42, None])
def test_a_profile_that_is_not_an_arn_string_is_misconfigured(arn: Any) -> None:
    settings = from_environ({**ENVIRONMENT, "MODELS": json.dumps([{"id": HAIKU, "name": "Haiku", "arn": arn}])})

    assert settings.problems["MODELS"] == 'MODELS[0] has an "arn" that is not a non-empty string'


def test_callers_never_see_the_profiles(call: Call) -> None:
    body = body_of(call(rest_event("GET", "/models")))

    assert [model["id"] for model in body["models"]] == [HAIKU, SONNET, NOVA]
    assert "arn:" not in json.dumps(body)


def test_chat_sends_the_profile_and_answers_with_the_id(call: Call, runtime_stub: Stubber) -> None:
    profile = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/s0nnet0profl"
    expected = {**converse_params(SONNET, [("user", "Hi")]), "modelId": profile}
    runtime_stub.add_response("converse", converse_response("Hi!"), expected)

    response = call(rest_event("POST", "/chat", {"model": SONNET, "messages": [{"role": "user", "content": "Hi"}]}))

    assert response["statusCode"] == 200
    assert body_of(response)["model"] == SONNET
