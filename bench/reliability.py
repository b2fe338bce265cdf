"""Reliability under faults, measured on local mode (run: ``python bench/reliability.py
[scenario ...]``; ``make reliability`` runs them all).

Each scenario starts local mode for the dev stack (pacing off), injects its faults into the
real handlers' AWS calls (:mod:`sesmail.local.faults`: the service's own error, seeded, at the
HTTP layer, so the handlers' SDK retries are part of what is measured), puts Email Requests on
the bus, runs the handlers until everything has settled, and prints one line::

    <scenario>: requests N, sent S, duplicates D, lost L, dlq Q, stuck K, events missing E

- requests N: Email Requests the bus accepted (``PutEvents`` entries without an error).
- sent S: distinct ``emailId`` s SES accepted (the outbox: local mode writes every accepted
  ``SendEmail`` there).
- duplicates D: accepted ``SendEmail`` calls beyond one per ``emailId``.
- lost L: requests whose tracking item is missing or not in a final status (``sent``,
  ``delivered``, ``bounced``, ``complained``, ``soft_bounced``, ``failed``, ``suppressed``) and
  whose ``emailId`` is in no dead-letter queue.
- dlq Q: messages in the email, rule and feedback dead-letter queues.
- stuck K: tracking items still ``processing`` once the run has settled.
- events missing E: changes of a tracking item's ``status`` to anything but ``processing``
  (read from a DynamoDB stream the harness turns on for the tracking table, so every write
  counts, even one a later write overwrote) for which no ``Email Status Changed`` event with
  that ``emailId`` and ``status`` reached the bus (a rule copies them to a capture queue, as a
  subscriber's would).

Exits 1 if any scenario has D, L, Q, K or E above 0.

Timing: local mode plays the deployment's waits on its clock (``LOCAL_TIME_SCALE``: one
deployed minute is one local second): EmailQueue's visibility timeout (180 s deployed) is 3 s,
and so is the sender's claim timeout (deployed, it equals the visibility timeout); a record the
sender reports as failed, or a batch whose invocation died, comes back after it. SES feedback
arrives 60 deployed seconds (1 s) after the send. Fault windows and the template cache are
wall-clock local seconds, as the scenarios state them. Faults fail the handler's call (after
its SDK's retries: ``per="call"``), so the rate is the one the handlers see.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sesmailengine.handlers import batch  # noqa: E402

from bench.bench_local import DATA, TEMPLATE, recipient  # noqa: E402
from sesmail.client import Email, EmailClient, PutEventsFailed  # noqa: E402
from sesmail.local import faults, ses_extensions  # noqa: E402
from sesmail.local.capture import StatusEventCapture  # noqa: E402
from sesmail.local.session import LocalSession, local_session  # noqa: E402

SETTLE_TIMEOUT_SECONDS = 240
FINAL = frozenset(
    {"sent", "delivered", "bounced", "complained", "soft_bounced", "failed", "suppressed"}
)
DEAD_LETTER_QUEUES = ("emailDeadLetterQueueUrl", "ruleDeadLetterQueueUrl")
FEEDBACK_DLQ = "feedbackDeadLetterQueueUrl"


@dataclass
class Result:
    scenario: str
    requests: int = 0
    sent: int = 0
    duplicates: int = 0
    lost: int = 0
    dlq: int = 0
    stuck: int = 0
    events_missing: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.lost or self.dlq or self.stuck or self.events_missing)

    def line(self) -> str:
        return (
            f"{self.scenario}: requests {self.requests}, sent {self.sent}, "
            f"duplicates {self.duplicates}, lost {self.lost}, dlq {self.dlq}, "
            f"stuck {self.stuck}, events missing {self.events_missing}"
        )


# -- scenarios ----------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    emails: int
    faults: Callable[[], list[Any]] = list
    """The fault context managers, entered just before the requests go out."""
    spread_seconds: float = 0
    """Put the requests in evenly over this long (0: all at once)."""
    feedback_delay_seconds: float = 60
    """How long after the send SES's feedback arrives (deployed seconds)."""
    config: dict[str, str] = field(default_factory=dict)


SCENARIOS = [
    Scenario("load", 1000),
    Scenario(
        "ses-throttle",
        200,
        lambda: [faults.inject("sesv2", "SendEmail", "TooManyRequestsException", 0.3, seed=1)],
    ),
    Scenario(
        "dynamodb-faults",
        200,
        lambda: [
            faults.inject(
                "dynamodb",
                "TransactWriteItems",
                "ProvisionedThroughputExceededException",
                0.1,
                seed=2,
            ),
            faults.inject("dynamodb", "TransactWriteItems", "InternalServerError", 0.1, seed=3),
        ],
    ),
    Scenario(
        "crash-after-send",
        200,
        lambda: [faults.die_after("sesv2", "SendEmail", 0.05, seed=4, limit=3)],
        # Later than EmailQueue's visibility timeout (180 s), so the crashed batch comes back
        # before SES's Send event: the live claim, not the event, must stop a second send.
        feedback_delay_seconds=300,
    ),
    Scenario(
        "s3-outage",
        300,
        lambda: [
            faults.inject("s3", "GetObject", "ServiceUnavailable", 0.5, seed=5, window=(0, 30))
        ],
        spread_seconds=30,
        config={"templateCacheSeconds": "5"},
    ),
    Scenario(
        "status-event-faults",
        200,
        lambda: [faults.inject("events", "PutEvents", "InternalException", 0.3, seed=6)],
    ),
]
"""Two faults of 10 % each on one operation fail 19 % of its calls (the second draws only
for calls the first let through): TransactWriteItems failing about 20 %."""


def run(scenario: Scenario) -> Result:
    result = Result(scenario.name)
    with tempfile.TemporaryDirectory() as workdir, ExitStack() as stack:
        session = stack.enter_context(
            local_session(
                project_dir=ROOT,
                state_dir=Path(workdir) / ".sesmail",
                config_overrides={"maxSendRate": "0", **scenario.config},
            )
        )
        handlers_session = session.emulator.session()
        faults.install(handlers_session.events)
        batch.reset(handlers_session)  # the handlers' clients, faults installed
        capture = StatusEventCapture(session, name="reliability-status-events")
        changes = StatusChanges(session)
        delay = scenario.feedback_delay_seconds / session.runtime.time_scale
        feedback = stack.enter_context(delayed_feedback(delay))
        in_force = [stack.enter_context(fault) for fault in scenario.faults()]
        ids = put_requests(session, scenario, result)
        settle(session, feedback)
        for fault in in_force:
            result.notes.append(
                f"{fault.service} {fault.operation} {fault.error_code or 'crash'}: "
                f"{fault.injected} of {fault.calls} calls"
            )
        measure(session, ids, capture, changes, result)
    return result


def put_requests(session: LocalSession, scenario: Scenario, result: Result) -> list[str]:
    client = EmailClient(
        session.outputs["eventBusName"], "bench.reliability", events_client=session.client("events")
    )
    emails = [
        Email(to=recipient(n), template=TEMPLATE, data=DATA, email_id=f"{scenario.name}-{n:05d}")
        for n in range(scenario.emails)
    ]
    waves = max(1, int(scenario.spread_seconds))
    size = -(-len(emails) // waves)
    started = time.monotonic()
    accepted: list[str] = []
    for wave in range(waves):
        due = started + wave * scenario.spread_seconds / waves
        while time.monotonic() < due:
            step(session)
        try:
            accepted += client.send_many(emails[wave * size : (wave + 1) * size])
        except PutEventsFailed as error:
            accepted += list(error.sent)
    result.requests = len(accepted)
    return accepted


# -- SES feedback, late ----------------------------------------------------------------------


@dataclass
class HeldFeedback:
    """SendEmail calls SES accepted whose events (and outbox copy) are not out yet."""

    held: list[tuple[float, Any]] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return bool(self.held)


@contextmanager
def delayed_feedback(delay_seconds: float) -> Iterator[HeldFeedback]:
    """SES publishes a send's events `delay_seconds` after it accepted the send: the runtime
    takes accepted sends from `ses_extensions.take_sent_requests`, which this delays."""
    original = ses_extensions.take_sent_requests
    holding = HeldFeedback()

    def take_due() -> list[Any]:
        now = time.monotonic()
        holding.held += [(now + delay_seconds, sent) for sent in original()]
        due = [sent for at, sent in holding.held if at <= now]
        holding.held = [(at, sent) for at, sent in holding.held if at > now]
        return due

    ses_extensions.take_sent_requests = take_due
    try:
        yield holding
    finally:
        ses_extensions.take_sent_requests = original


def step(session: LocalSession) -> None:
    """One runtime pass; an invocation that died is a Lambda crash: its batch stays in flight
    and comes back after the visibility timeout."""
    with suppress(faults.InvocationDied):
        session.runtime.step()


def settle(session: LocalSession, feedback: HeldFeedback) -> None:
    deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            idle = session.runtime.run_until_idle(
                timeout_seconds=deadline - time.monotonic(), settle_seconds=0.3
            )
        except faults.InvocationDied:
            continue
        if not idle:
            break
        if not feedback.pending:
            return
        time.sleep(0.1)
    print(f"  (not settled after {SETTLE_TIMEOUT_SECONDS} s)", file=sys.stderr)


# -- measuring ----------------------------------------------------------------------------------


class StatusChanges:
    """Every write that changed a tracking item's status, from a stream on the table (the
    table's own, if it has one that shows new images; else one turned on here)."""

    def __init__(self, session: LocalSession) -> None:
        self._streams = session.client("dynamodbstreams")
        dynamodb, table = session.client("dynamodb"), session.outputs["trackingTableName"]
        described = dynamodb.describe_table(TableName=table)["Table"]
        view = described.get("StreamSpecification", {}).get("StreamViewType")
        if view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            self.stream_arn = described["LatestStreamArn"]
            return
        if view is not None:
            raise RuntimeError(f"the tracking table's stream shows no new images ({view})")
        self.stream_arn = dynamodb.update_table(
            TableName=table,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )["TableDescription"]["LatestStreamArn"]

    def changes(self) -> set[tuple[str, str]]:
        """(emailId, status) of every write that set a status other than the one before it
        (records come in write order per item) and other than ``processing``."""
        found, last = set(), {}
        shards = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"][
            "Shards"
        ]
        for shard in shards:
            iterator = self._streams.get_shard_iterator(
                StreamArn=self.stream_arn,
                ShardId=shard["ShardId"],
                ShardIteratorType="TRIM_HORIZON",
            )["ShardIterator"]
            while iterator:
                answer = self._streams.get_records(ShardIterator=iterator, Limit=1000)
                for record in answer["Records"]:
                    email_id = record["dynamodb"]["Keys"]["emailId"]["S"]
                    new = _status(record["dynamodb"].get("NewImage"))
                    if new and new != last.get(email_id) and new != "processing":
                        found.add((email_id, new))
                    last[email_id] = new
                if not answer["Records"]:
                    break
                iterator = answer.get("NextShardIterator")
        return found


def _status(image: dict[str, Any] | None) -> str | None:
    return (image or {}).get("status", {}).get("S")


def measure(
    session: LocalSession,
    ids: list[str],
    capture: StatusEventCapture,
    changes: StatusChanges,
    result: Result,
) -> None:
    sends = Counter(sent_email_ids(session))
    result.sent = len(sends)
    result.duplicates = sum(count - 1 for count in sends.values())
    statuses = tracking_statuses(session, ids)
    dead = dead_letters(session)
    result.dlq = sum(len(bodies) for bodies in dead.values())
    in_dlq = {email_id for bodies in dead.values() for body in bodies for email_id in _ids(body)}
    result.stuck = sum(1 for status in statuses.values() if status == "processing")
    result.lost = sum(
        1 for email_id in ids if statuses.get(email_id) not in FINAL and email_id not in in_dlq
    )
    announced = {(body["detail"]["emailId"], body["detail"]["status"]) for body in capture.drain()}
    result.events_missing = len(changes.changes() - announced)
    for label, bodies in dead.items():
        if bodies:
            result.notes.append(f"{label}: {len(bodies)}")


def sent_email_ids(session: LocalSession) -> list[str]:
    """The emailId tag of every SendEmail SES accepted, one per accepted call."""
    parser = BytesHeaderParser()
    found = []
    for eml in session.outbox.messages():
        with eml.open("rb") as file:
            tags = parser.parse(file).get("X-SES-MESSAGE-TAGS", "")
        pairs = dict(pair.strip().split("=", 1) for pair in tags.split(",") if "=" in pair)
        found.append(pairs.get("emailId", eml.stem))
    return found


def tracking_statuses(session: LocalSession, ids: list[str]) -> dict[str, str]:
    dynamodb = session.client("dynamodb")
    table = session.outputs["trackingTableName"]
    statuses = {}
    for start in range(0, len(ids), 100):
        keys = [{"emailId": {"S": email_id}} for email_id in ids[start : start + 100]]
        request: dict[str, Any] = {
            table: {
                "Keys": keys,
                "ConsistentRead": True,
                "ProjectionExpression": "emailId, #s",
                "ExpressionAttributeNames": {"#s": "status"},
            }
        }
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            for item in answer["Responses"][table]:
                statuses[item["emailId"]["S"]] = item.get("status", {}).get("S", "")
            request = answer.get("UnprocessedKeys") or {}
    return statuses


def dead_letters(session: LocalSession) -> dict[str, list[Any]]:
    sqs = session.client("sqs")
    return {
        output: drain(sqs, session.outputs[output])
        for output in (*DEAD_LETTER_QUEUES, FEEDBACK_DLQ)
    }


def drain(sqs: Any, queue_url: str) -> list[Any]:
    """Every message body in the queue (parsed JSON where it is JSON), deleting them."""
    bodies = []
    while messages := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages", []):
        for message in messages:
            try:
                bodies.append(json.loads(message["Body"]))
            except ValueError:
                bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def _ids(body: Any) -> Iterator[str]:
    """Every emailId in a dead letter: an Email Request event, or an SNS record of an SES event
    whose tags carry it (JSON inside JSON strings included)."""
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "emailId" and isinstance(value, str):
                yield value
            elif key == "emailId" and isinstance(value, list):
                yield from (v for v in value if isinstance(v, str))
            else:
                yield from _ids(value)
    elif isinstance(body, list):
        for value in body:
            yield from _ids(value)
    elif isinstance(body, str) and body[:1] in "{[":
        try:
            yield from _ids(json.loads(body))
        except ValueError:
            return


def run_one(name: str) -> int:
    """Run one scenario in this process and print its line; 0 if it passed."""
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    [scenario] = [s for s in SCENARIOS if s.name == name]
    started = time.monotonic()
    result = run(scenario)
    print(result.line(), flush=True)
    details = "; ".join(result.notes) or "no faults"
    print(f"  ({time.monotonic() - started:.0f} s; {details})", file=sys.stderr, flush=True)
    return 0 if result.ok else 1


def main(argv: list[str]) -> int:
    """Each scenario in a process of its own: local mode keeps its emulator's state, and the
    handlers their loggers and clients, in the process."""
    if argv[:1] == ["--one"]:
        return run_one(argv[1])
    names = [s.name for s in SCENARIOS]
    unknown = [name for name in argv if name not in names]
    if unknown:
        print(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(names)}")
        return 2
    failed = False
    for name in argv or names:
        answer = subprocess.run([sys.executable, __file__, "--one", name], check=False)
        failed = failed or answer.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
