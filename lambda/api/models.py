"""GET /models: the models a caller may choose, and the token bounds every call gets."""

from api.reply import Call, Reply
from api.services import Services


def answer(services: Services, call: Call) -> Reply:
    settings = services.settings
    settings.require("MODELS")
    limits = settings.limits
    return Reply(
        {
            "models": [{"id": model.id, "name": model.name} for model in settings.models],
            "maxTokens": {"default": limits["MAX_TOKENS"], "ceiling": limits["MAX_TOKENS_CEILING"]},
        }
    )
