"""GET /models: the models a caller may choose, and the token bounds every call gets."""

from api.reply import Call, Reply
from api.services import Services


def answer(services: Services, call: Call) -> Reply:
    settings = services.settings
    settings.require("MODELS")
    return Reply(
        {
            "models": [{"id": model.id, "name": model.name} for model in settings.models],
            "maxTokens": {"default": settings.limit("MAX_TOKENS"), "ceiling": settings.limit("MAX_TOKENS_CEILING")},
        }
    )
