"""Domain exceptions. Adapters translate ``ClientError`` codes into these; the batch loop
decides retry versus fail from them, in one place."""


class DomainError(Exception):
    """Base class for the errors the adapters raise."""


class Throttled(DomainError):
    """AWS asked us to slow down (HTTP 429 and friends). Retry later, through SQS."""


class TransientError(DomainError):
    """A service or network error that a later attempt may not hit. Retry later, through SQS."""


class NotFound(DomainError):
    """The thing asked for does not exist (an unknown template)."""


class ConditionFailed(DomainError):
    """A conditional write found the item in another state than the one it expected."""


class Rejected(DomainError):
    """SES refused this particular message for good (``MessageRejected``, ``BadRequest``)."""


class TemplateInvalid(DomainError):
    """A template's files cannot be used (bad metadata.json, Jinja2 syntax error)."""


class ConfigurationError(Exception):
    """The function's environment is incomplete or invalid: fail the whole invocation loudly."""
