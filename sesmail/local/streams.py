"""DynamoDB stream records as Lambda delivers them to a function.

``GetRecords`` (through boto3) answers with ``ApproximateCreationDateTime`` parsed as a
datetime and without the stream's ARN; Lambda's event carries epoch seconds and
``eventSourceARN``. Local mode's stream trigger and the handler tests both build events here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any


def lambda_event(records: Iterable[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    """The Lambda event for ``records`` read from the stream ``stream_arn`` with GetRecords."""
    return {"Records": [_lambda_record(record, stream_arn) for record in records]}


def _lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": change, "eventSourceARN": stream_arn}
