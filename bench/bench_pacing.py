"""Benchmark of zero-config pacing (run: ``python bench/bench_pacing.py [--seconds 40]``).

Two sender instances share one simulated SES quota, with ``MAX_SEND_RATE`` unset: how much of
the quota do they use, and does any email go out twice or end in the DLQ?

- **SES** is the embedded emulator (moto's server, ``sesmail.local.emulator``) taught two things
  SES does: ``GetAccount`` answers the account's ``SendQuota``, and ``SendEmail`` draws on one
  token bucket of ``--quota`` emails/s (1 s of burst) shared by every caller, answering the
  excess as SES does: HTTP 429 ``TooManyRequestsException``, "Maximum sending rate exceeded."
- **Each instance is its own process** (a Lambda container): the real handler
  (``handlers.email_sender.handler``) on batches of 10 it receives from EmailQueue, deleting
  what it consumed, as the event source mapping does; a record it reports failed stays hidden
  for the backoff the handler set. Its AWS calls go over HTTP to the emulator, so botocore's
  retries see the throttles exactly as they would see SES's.
- **Scenarios**: the two instances alone; then with a co-tenant, another application of the
  account we do not control, sending at random (Poisson) ``--co-tenant`` of the quota.
- **Modes** (``--modes``): ``adaptive`` (``MAX_SEND_RATE`` unset: this engine's pacing),
  ``botocore`` (no pacing of ours, botocore's ``adaptive`` retry mode on the SES client),
  ``fixed`` (``MAX_SEND_RATE`` = quota ÷ 2, hand-tuned as before).

Printed per run: achieved rate ÷ quota over the measured window (after ``WARM_UP_SECONDS``),
the co-tenant's share, every SendEmail attempt SES throttled, duplicates (SES accepted one
``emailId`` twice), DLQ count, and emails not sent once the queue has drained.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WARM_UP_SECONDS = 5.0
DRAIN_SECONDS = 120.0
BATCH_SIZE = 10
MAX_RECEIVE_COUNT = 10
INSTANCES = 2
TRACKING, SUPPRESSION, BUCKET = "EmailTracking", "Suppression", "templates"
QUEUE, DLQ = "EmailQueue", "EmailQueue-dlq"


# -- the simulated quota, in the emulator's process ---------------------------------------------


class Quota:
    """SES's sending rate: one token bucket for the whole account, 1 s of burst."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tokens = rate
        self._updated = time.monotonic()
        self._lock = threading.Lock()
        self.accepted: list[tuple[float, str]] = []
        """(time, emailId tag) of every send of ours SES accepted."""
        self.throttled = 0
        self.co_tenant_accepted: list[float] = []

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.rate, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


def teach_the_emulator(quota: Quota) -> None:
    """GetAccount answers the quota; SendEmail draws on it (installed before the server
    starts, which routes by these URL patterns)."""
    from moto.core.exceptions import JsonRESTError
    from moto.sesv2 import urls as sesv2_urls
    from moto.sesv2.responses import SESV2Response

    from sesmail.local import ses_extensions

    ses_extensions.install()  # the emulator's own SES additions first; ours wrap them

    class TooManyRequests(JsonRESTError):
        code = 429

        def __init__(self) -> None:
            super().__init__("TooManyRequestsException", "Maximum sending rate exceeded.")

    send_email = SESV2Response.send_email

    def throttled_send_email(self: SESV2Response) -> str:
        if not quota.take():
            with quota._lock:
                quota.throttled += 1
            raise TooManyRequests()
        answer = send_email(self)
        tags = {tag["Name"]: tag["Value"] for tag in json.loads(self.body).get("EmailTags", [])}
        with quota._lock:
            quota.accepted.append((time.monotonic(), tags.get("emailId", "")))
        return answer

    def get_account(self: SESV2Response) -> str:
        return json.dumps(
            {
                "SendQuota": {
                    "Max24HourSend": 1_000_000.0,
                    "MaxSendRate": quota.rate,
                    "SentLast24Hours": float(len(quota.accepted)),
                },
                "SendingEnabled": True,
                "ProductionAccessEnabled": True,
                "EnforcementStatus": "HEALTHY",
            }
        )

    SESV2Response.send_email = throttled_send_email
    SESV2Response.get_account = get_account
    sesv2_urls.url_paths["{0}/v2/email/account$"] = SESV2Response.dispatch


def co_tenant(quota: Quota, share: float, stop: threading.Event, seed: int = 1) -> None:
    """Another application of the account: Poisson sends at ``share`` of the quota."""
    draw = random.Random(seed)
    while not stop.wait(draw.expovariate(share * quota.rate)):
        if quota.take():
            with quota._lock:
                quota.co_tenant_accepted.append(time.monotonic())


# -- the account ----------------------------------------------------------------------------------


def create_account(client: Any) -> dict[str, str]:
    """Tables, template, queues and identity; returns the sender's environment."""
    from sesmailengine.handlers.core.environment import SenderEnvironment

    dynamodb = client("dynamodb")
    for table, key in ((TRACKING, "emailId"), (SUPPRESSION, "email")):
        dynamodb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        )
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    files = {
        "template.html": "<p>Hello {{ name }}</p>",
        "template.txt": "Hello {{ name }}",
        "metadata.json": json.dumps({"subject": "Hi {{ name }}", "requiredVariables": ["name"]}),
    }
    for name, body in files.items():
        s3.put_object(Bucket=BUCKET, Key=f"templates/welcome/{name}", Body=body.encode())
    client("ses").verify_domain_identity(Domain="example.com")
    client("events").create_event_bus(Name="email-bus")
    sqs = client("sqs")
    dlq_url = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=QUEUE,
        Attributes={
            "VisibilityTimeout": "180",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
            ),
        },
    )["QueueUrl"]
    environment = SenderEnvironment(
        tracking_table=TRACKING,
        suppression_table=SUPPRESSION,
        template_bucket=BUCKET,
        configuration_set="sesmailengine",
        event_bus_name="email-bus",
        default_sender_email="noreply@example.com",
        email_dead_letter_queue_url=dlq_url,
        maximum_concurrency=INSTANCES,
    ).variables()
    return environment | {"BENCH_QUEUE_URL": queue_url, "BENCH_DLQ_URL": dlq_url}


def enqueue(sqs: Any, queue_url: str, count: int, run: str) -> None:
    bodies = [
        json.dumps(
            {
                "id": f"{run}-{n}",
                "detail-type": "Email Request",
                "source": "bench",
                "detail": {
                    "emailId": f"{run}-{n}",
                    "to": f"r{n}@example.org",
                    "templateName": "welcome",
                    "templateData": {"name": "Ada"},
                },
            }
        )
        for n in range(count)
    ]
    for start in range(0, count, 10):
        sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "MessageBody": body}
                for i, body in enumerate(bodies[start : start + 10])
            ],
        )


def queue_depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


# -- one sender instance (a worker process) ------------------------------------------------------


def instance(stop_file: Path) -> None:
    """Receive batches and run the real handler on them until ``stop_file`` exists."""
    import boto3
    from sesmailengine.handlers.email_sender import handler

    if os.environ.get("BENCH_MODE") == "botocore":
        from botocore.config import Config
        from sesmailengine.handlers.aws import clients

        clients._CONFIGS["sesv2"] = Config(retries={"mode": "adaptive", "max_attempts": 2})
    sqs = boto3.client("sqs")
    queue_url = os.environ["BENCH_QUEUE_URL"]
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:" + QUEUE

    from lambda_context import Context  # (bench/ is this script's folder)

    while not stop_file.exists():
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=BATCH_SIZE,
            AttributeNames=["All"],
            WaitTimeSeconds=1,
        ).get("Messages", [])
        if not messages:
            continue
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": m["Attributes"]["ApproximateReceiveCount"]
                },
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
        response = handler({"Records": records}, Context())
        failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
        consumed = [m for m in messages if m["MessageId"] not in failed]
        if consumed:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(consumed)
                ],
            )


# -- a run ----------------------------------------------------------------------------------------


def run(mode: str, co_tenant_share: float, seconds: float, quota_rate: float) -> dict[str, Any]:
    from sesmail.local.emulator import running_emulator

    quota = Quota(quota_rate)
    teach_the_emulator(quota)
    with running_emulator() as emulator:
        sqs = emulator.client("sqs")
        environment = create_account(emulator.client)
        queue_url, dlq_url = environment["BENCH_QUEUE_URL"], environment["BENCH_DLQ_URL"]
        requested = math.ceil(quota_rate * seconds * 1.2)
        enqueue(sqs, queue_url, requested, f"{mode}-{co_tenant_share}")
        if mode == "fixed":
            environment["MAX_SEND_RATE"] = f"{quota_rate / INSTANCES:g}"
        elif mode == "botocore":
            environment["MAX_SEND_RATE"] = "0"
        stop_file = Path(f"/tmp/bench-pacing-stop-{os.getpid()}")
        stop_file.unlink(missing_ok=True)
        worker_env = {
            **os.environ,
            **emulator.environment(),
            **environment,
            "BENCH_MODE": mode,
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
        workers = [
            subprocess.Popen(
                [sys.executable, __file__, "--instance", str(stop_file)],
                env=worker_env,
                stdout=subprocess.DEVNULL,
            )
            for _ in range(INSTANCES)
        ]
        stop_co_tenant = threading.Event()
        started = time.monotonic()
        if co_tenant_share:
            threading.Thread(
                target=co_tenant, args=(quota, co_tenant_share, stop_co_tenant), daemon=True
            ).start()
        time.sleep(seconds)
        stop_co_tenant.set()
        ended = time.monotonic()
        deadline = ended + DRAIN_SECONDS
        while (
            time.monotonic() < deadline
            and queue_depth(sqs, queue_url)
            and all(worker.poll() is None for worker in workers)
        ):
            time.sleep(1)
        stop_file.touch()
        for worker in workers:
            worker.wait(timeout=60)
        stop_file.unlink(missing_ok=True)

        window = (started + WARM_UP_SECONDS, ended)
        span = window[1] - window[0]
        ours = sum(1 for at, _ in quota.accepted if window[0] <= at < window[1])
        theirs = sum(1 for at in quota.co_tenant_accepted if window[0] <= at < window[1])
        ids = [email_id for _, email_id in quota.accepted]
        return {
            "mode": mode,
            "co_tenant": co_tenant_share,
            "ours": ours / span / quota_rate,
            "theirs": theirs / span / quota_rate,
            "throttled": quota.throttled,
            "attempts": quota.throttled + len(ids),
            "requested": requested,
            "duplicates": len(ids) - len(set(ids)),
            "dlq": queue_depth(sqs, dlq_url),
            "unsent": requested - len(set(ids)),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--quota", type=float, default=20.0, help="emails/s")
    parser.add_argument("--co-tenant", type=float, default=0.3, help="share of the quota")
    parser.add_argument("--modes", default="adaptive", help="adaptive,botocore,fixed")
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.instance:
        instance(Path(args.instance))
        return 0
    # Each run needs a fresh emulator and fresh patches: one process per run.
    if not os.environ.get("BENCH_ONE_RUN"):
        ok = True
        for mode in args.modes.split(","):
            for share in (0.0, args.co_tenant):
                code = subprocess.call(
                    [
                        sys.executable,
                        __file__,
                        "--seconds",
                        str(args.seconds),
                        "--quota",
                        str(args.quota),
                        "--co-tenant",
                        str(share),
                        "--modes",
                        mode,
                    ],
                    env={**os.environ, "BENCH_ONE_RUN": "1"},
                )
                ok = ok and code == 0
        return 0 if ok else 1
    result = run(args.modes, args.co_tenant, args.seconds, args.quota)
    total = result["ours"] + result["theirs"]
    print(
        f"{result['mode']:>8}, co-tenant {result['co_tenant']:.0%}: "
        f"achieved/quota {result['ours']:.3f} (ours) + {result['theirs']:.3f} (co-tenant) = "
        f"{total:.3f}; throttled {result['throttled']}/{result['attempts']} attempts; "
        f"duplicates {result['duplicates']}, dlq {result['dlq']}, "
        f"unsent {result['unsent']}/{result['requested']}",
        flush=True,
    )
    passed = total >= 0.95 and not (result["duplicates"] or result["dlq"] or result["unsent"])
    return 0 if passed or result["mode"] != "adaptive" else 1


if __name__ == "__main__":
    sys.exit(main())
