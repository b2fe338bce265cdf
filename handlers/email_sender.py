"""Email sender Lambda entry point (filled in by the sender issue)."""


def handler(event: dict, context: object) -> dict:
    return {"batchItemFailures": []}
