"""How long a record to retry stays out of sight before SQS delivers it again.

The delay doubles with every receive (``ApproximateReceiveCount``), from :data:`BASE_SECONDS`
up to :data:`CAP_SECONDS`, and is drawn at random from the upper half of that ceiling: the
jitter spreads retries of records that failed together (a throttled burst comes back as a
trickle), and the fixed lower half guarantees how long the receive budget lasts. With the
default ``maxReceiveCount`` of 10, the nine delays before the last receive add up to between
511 s and 1022 s (8.5 to 17 minutes) plus processing time: transient trouble shorter than
that (a 30-second S3 outage, sustained SES throttling) never sends a message to the DLQ.
"""

from __future__ import annotations

import random

BASE_SECONDS = 2
CAP_SECONDS = 15 * 60
MAX_VISIBILITY_SECONDS = 12 * 60 * 60
"""SQS's limit for a message's visibility timeout."""


def retry_delay(receive_count: int) -> int:
    """Seconds a record received ``receive_count`` times waits before its next receive."""
    exponent = min(max(receive_count, 1) - 1, 30)
    ceiling = min(CAP_SECONDS, BASE_SECONDS * 2**exponent, MAX_VISIBILITY_SECONDS)
    return round(random.uniform(ceiling / 2, ceiling))
