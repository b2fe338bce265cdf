"""The attachment bucket: the objects a request names in ``detail.attachments``.

The sender first asks only for each object's size (``HeadObject``, which IAM authorizes as
``s3:GetObject``), so a missing object or a message too large for SES fails the email before
it is claimed, and reads the objects themselves only when it sends.

A key that is not there is :class:`NotFound` (the sender may list the bucket, so S3 answers a
missing key with 404; a 403 means the object is unreadable, e.g. encrypted with a KMS key the
sender cannot use: as final). Throttling and S3 errors are Throttled or TransientError, retried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.attachments import AttachmentContent
from ..core.errors import NotFound
from ..core.models import AttachmentReference
from . import clients
from .errors import error_code, translate

_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_DENIED_CODES = frozenset({"AccessDenied", "403"})


class AttachmentStore:
    def __init__(self, bucket: str, client: Callable[[], Any] = lambda: clients.client("s3")):
        self.bucket = bucket
        self._client = client

    def size(self, key: str) -> int:
        """The object's size in bytes; NotFound, Throttled, TransientError or the unexpected."""
        with _translated(key):
            response = self._client().head_object(Bucket=self.bucket, Key=key)
        return int(response["ContentLength"])

    def read(self, attachment: AttachmentReference) -> AttachmentContent:
        """The attachment with its content; raises as :meth:`size`."""
        with _translated(attachment.key):
            body = self._client().get_object(Bucket=self.bucket, Key=attachment.key)["Body"]
            content = body.read()
        return AttachmentContent(attachment.filename, attachment.content_type, content)


@contextmanager
def _translated(key: str) -> Iterator[None]:
    """S3's answers about ``key`` as domain exceptions."""
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        if code in _MISSING_CODES:
            raise NotFound(f"attachment not found: {key} is not in the attachment bucket") from None
        if code in _DENIED_CODES:
            raise NotFound(
                f"attachment unreadable: {key} (S3 AccessDenied: encrypted with a key the sender"
                " may not use?)"
            ) from None
        raise translate(error) from error
    except BotoCoreError as error:
        raise translate(error) from error
