"""ClientError codes to domain exceptions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.addresses import redact_addresses
from ..core.errors import Throttled, TransientError

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "LimitExceededException",
        "SlowDown",
    }
)
TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    """The error's message as the domain may keep it (``statusReason``, logs, events): AWS
    messages can name addresses (SES lists the unverified identities), so they are redacted."""
    return redact_addresses(str(error.response.get("Error", {}).get("Message", "")))


def translate(error: Exception) -> Exception:
    """The domain exception for ``error``, or ``error`` itself when it is unexpected."""
    if isinstance(error, ClientError):
        code = error_code(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in THROTTLING_CODES or status == 429:
            return Throttled(f"{code}: {error_message(error)}")
        if code in TRANSIENT_CODES or (isinstance(status, int) and status >= 500):
            return TransientError(f"{code}: {error_message(error)}")
        return error
    if isinstance(error, BotoCoreError):
        # Connection failures and timeouts, after botocore's own retries.
        return TransientError(f"{type(error).__name__}: {error}")
    return error


def condition_met(write: Callable[[], Any]) -> bool:
    """Run one conditional DynamoDB write: True if it was written, False if its condition
    failed; any other error is raised as its domain exception (see `translate`)."""
    try:
        write()
    except ClientError as error:
        if error_code(error) == "ConditionalCheckFailedException":
            return False
        raise translate(error) from error
    except BotoCoreError as error:
        raise translate(error) from error
    return True
