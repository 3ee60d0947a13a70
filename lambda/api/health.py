"""GET /health: the liveness probe; it calls nothing."""

from api.reply import Call, Reply
from api.services import Services


def answer(services: Services, call: Call) -> Reply:
    return Reply({"status": "ok"})
