"""Runs the real handlers in-process the way Lambda would, and plays SES's part.

- SQS triggers: Lambda-shaped batches (the mapping's batch size), as many at once as the
  mapping's `ScalingConfig.MaximumConcurrency` (several instances of the function, in
  threads); partial batch failures honoured: a failed record (or a batch whose invocation
  died) comes back after the queue's visibility timeout, on the local clock
  (`LOCAL_TIME_SCALE`), unless the handler set the record's visibility itself; the queue's own
  redrive policy moves a message to its DLQ after `maxReceiveCount` receives; a trigger the
  sending brake disabled is not polled.
- SNS subscriptions: each message becomes an SNS record; a handler error is retried as
  Lambda retries asynchronous invocations, then the event goes to the function's DLQ.
- Durations: the deployment's waits are played `LOCAL_TIME_SCALE` times faster, all of them
  (visibility timeouts and the environment's timeouts equal to them), so they keep their
  proportions: a retried record does not find its own claim still fresh.
- Environments: a function's environment variables are process-wide (`os.environ`), so only
  one function runs at a time: a round of the sender's instances shares its environment, and
  the feedback processor runs between rounds.
- Alarms: a change of an alarm's state (`aws cloudwatch set-alarm-state`) runs the actions
  of its new state, as CloudWatch does: its functions invoked asynchronously (if their
  permissions let CloudWatch), its topics notified.
- SES: after every accepted SendEmail, the events SES would publish (Delivery, Bounce,
  Complaint, following the SES mailbox simulator) go to the configuration set's topic, and the
  message is written to the outbox.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sesmailengine.handlers import observability
from sesmailengine.handlers.core.environment import SenderEnvironment

from . import alarms, moto_extensions, schedules, ses_extensions
from .outbox import Outbox
from .provision import LocalDeployment, LocalFunction, QueueTrigger, StreamTrigger, TopicTrigger
from .ses_events import ses_events_for
from .streams import lambda_event


def _handler(module: str) -> Callable[[dict, Any], Any]:
    """The entry point a Lambda handler string names. Lambda imports the archive's `handlers`
    package; here it is `sesmailengine.handlers`. Imported on first invocation, inside the
    function's environment, as Lambda does (the module-level Logger and Metrics read it)."""
    from sesmailengine.handlers import (
        email_sender,
        feedback_processor,
        sending_brake,
        status_events,
        stuck_sweep,
        unsubscribe,
    )

    entry_points = {
        "handlers.email_sender.handler": email_sender.handler,
        "handlers.feedback_processor.handler": feedback_processor.handler,
        "handlers.sending_brake.handler": sending_brake.handler,
        "handlers.unsubscribe.handler": unsubscribe.handler,
        "handlers.status_events.handler": status_events.handler,
        "handlers.stuck_sweep.handler": stuck_sweep.handler,
    }
    return entry_points[module]


LOCAL_TIME_SCALE = 60.0
"""Deployed seconds per local second: one deployed minute passes in one local second. A
record the sender failed comes back after EmailQueue's visibility timeout, 180 s deployed,
3 s here: long enough to watch a retry happen, short enough for a demo. SQS counts whole
seconds, so a scaled wait is at least 1 s (0 stays 0)."""

SCALED_ENVIRONMENT = (SenderEnvironment.variable_name("claim_timeout_seconds"),)
"""Durations in a function's environment that are measured against the queue's visibility
timeout: scaled with it, or a record retried after 3 s would find its own claim fresh for
another 30 min."""

RETRY_VISIBILITY_SECONDS: int | None = None
"""Overrides, when set, how many local seconds a failed record stays hidden."""

MAX_LOCAL_INSTANCES = 10
"""Most instances of one function at once locally. A mapping without a MaximumConcurrency
scales to hundreds deployed; a laptop gains nothing from more threads than this."""

SENDER_ROUND_BATCHES = 4
"""Batches each instance takes from its queue per round, before the runtime turns to SES
feedback: long enough rounds to keep the instances busy, short enough that feedback keeps
up with sending."""

FEEDBACK_ROUND_MESSAGES = 500
"""Most SNS messages delivered per round (more than a sender round publishes)."""


def local_seconds(deployed_seconds: float, time_scale: float = LOCAL_TIME_SCALE) -> int:
    """A deployed duration on the local clock, in the whole seconds SQS counts."""
    if deployed_seconds <= 0:
        return 0
    return max(1, round(deployed_seconds / time_scale))


class LocalContext:
    """The parts of Lambda's context object the handlers use."""

    def __init__(self, function: LocalFunction) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = function.memory_mb
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{function.name}"
        )
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Activity:
    """What one pass of the runtime did."""

    sqs_records: int = 0
    sns_records: int = 0
    emails_sent: int = 0
    stream_records: int = 0
    alarm_changes: int = 0

    @property
    def any(self) -> bool:
        return bool(
            self.sqs_records
            or self.sns_records
            or self.emails_sent
            or self.stream_records
            or self.alarm_changes
        )


class LocalRuntime:
    """Drives a provisioned deployment: call `step()` repeatedly, or `run_until_idle()`."""

    def __init__(
        self,
        deployment: LocalDeployment,
        client: Callable[[str], Any],
        outbox: Outbox,
        log_file: Path | None = None,
        aws_environment: dict[str, str] | None = None,
        time_scale: float = LOCAL_TIME_SCALE,
    ) -> None:
        """`aws_environment` points the handlers' SDK at the emulator (endpoint, fake
        credentials); it is set only while a handler runs. `client(service)` is used from
        several threads at once. `time_scale`: deployed seconds per local second."""
        self.deployment = deployment
        self._aws_environment = aws_environment or {}
        self.client = client
        self.outbox = outbox
        self.time_scale = time_scale
        self._log_file = log_file.open("a") if log_file else None
        self._log = _LineWriter(self._log_file) if self._log_file else None
        self._instances = ThreadPoolExecutor(MAX_LOCAL_INSTANCES, thread_name_prefix="lambda")
        _scale_environments(deployment, time_scale)

    def close(self) -> None:
        """Stop the instances' threads. The log file stays open: handlers' loggers keep
        writing to it until another session routes them to its own."""
        self._instances.shutdown(wait=True)
        if self._log is not None:
            self._log.flush()

    # -- invoking -----------------------------------------------------------------------------

    def invoke(self, function: LocalFunction, event: dict[str, Any]) -> Any:
        """One synchronous invocation with the function's environment."""
        with self._running(function):
            return self._call(function, event)

    @contextmanager
    def _running(self, function: LocalFunction) -> Iterator[None]:
        """The function's environment, for as many invocations of it as run in the block."""
        environment = {**self._aws_environment, **function.environment}
        with _environment(environment), self._captured_output():
            _handler(function.handler)  # imported inside its environment, as Lambda does
            observability.new_container()  # (or set up for it, if another function imported it)
            self._route_handler_logs()
            yield

    def _call(self, function: LocalFunction, event: dict[str, Any]) -> Any:
        """One invocation; inside `_running(function)`."""
        return _handler(function.handler)(event, LocalContext(function))

    def _captured_output(self) -> Any:
        # Metrics (EMF) are printed; locally they belong in the log file, not the terminal.
        if self._log is None:
            return nullcontext()
        return redirect_stdout(self._log)  # type: ignore[type-var]

    def _route_handler_logs(self) -> None:
        # Powertools loggers write JSON to stdout; locally it goes to the log file instead,
        # wherever an earlier session (or a test's capture) had pointed them.
        if self._log is None:
            return
        for logger in list(logging.Logger.manager.loggerDict.values()):
            handler = getattr(logger, "powertools_handler", None)
            if type(handler) is logging.StreamHandler and handler.stream is not self._log:
                if getattr(handler.stream, "closed", False):
                    handler.stream = self._log  # (setStream would flush the closed one)
                else:
                    handler.setStream(self._log)  # type: ignore[arg-type]

    # -- one pass -----------------------------------------------------------------------------

    def step(self) -> Activity:
        activity = Activity()
        activity.alarm_changes = self._run_alarm_actions()
        schedules.fire_due_schedules(self.client)  # due requests join EmailQueue, polled next
        for trigger in self.deployment.queue_triggers:
            activity.sqs_records += self._poll_queue(trigger)
        activity.emails_sent += self._publish_ses_events()
        for trigger in self.deployment.topic_triggers:
            activity.sns_records += self._poll_topic(trigger)
        for stream in self.deployment.stream_triggers:
            activity.stream_records += self._poll_stream(stream)
        return activity

    def run_until_idle(self, timeout_seconds: float = 60, settle_seconds: float = 0.3) -> bool:
        """Step until nothing has happened for `settle_seconds` and no message is in flight.
        Returns False if `timeout_seconds` passed first."""
        deadline = time.monotonic() + timeout_seconds
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            if self.step().any:
                quiet_since = time.monotonic()
                continue
            if self._messages_in_flight():
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= settle_seconds:
                return True
            time.sleep(0.05)
        return False

    def _messages_in_flight(self) -> bool:
        sqs = self.client("sqs")
        urls = [t.queue_url for t in self.deployment.queue_triggers if self._enabled(t)]
        urls += [t.tap_queue_url for t in self.deployment.topic_triggers]
        for url in urls:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            if any(int(value) for value in attributes.values()):
                return True
        return False

    # -- SQS triggers -------------------------------------------------------------------------

    def _enabled(self, trigger: QueueTrigger) -> bool:
        state = self.client("lambda").get_event_source_mapping(UUID=trigger.uuid)["State"]
        return state == "Enabled"

    def _poll_queue(self, trigger: QueueTrigger) -> int:
        """One round: up to the mapping's maximum concurrency of instances, each taking
        batches until the queue has none or it has done `SENDER_ROUND_BATCHES`. An
        invocation that died (a BaseException, as `faults.InvocationDied`) is raised once
        every instance has finished its round."""
        if not self._enabled(trigger):
            return 0
        instances = min(trigger.maximum_concurrency or MAX_LOCAL_INSTANCES, MAX_LOCAL_INSTANCES)
        with self._running(trigger.function):
            rounds = [
                self._instances.submit(self._instance_round, trigger) for _ in range(instances)
            ]
            died = [r.exception() for r in rounds if r.exception() is not None]
        if died:
            raise died[0]
        return sum(r.result() for r in rounds)

    def _instance_round(self, trigger: QueueTrigger) -> int:
        records = 0
        for _ in range(SENDER_ROUND_BATCHES):
            received = self._invoke_batch(trigger)
            if not received:
                break
            records += received
        return records

    def _invoke_batch(self, trigger: QueueTrigger) -> int:
        sqs = self.client("sqs")
        received_at = time.monotonic()
        messages = sqs.receive_message(
            QueueUrl=trigger.queue_url,
            MaxNumberOfMessages=trigger.batch_size,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [_sqs_record(m, trigger.queue_arn) for m in messages]}
        everything = {m["MessageId"] for m in messages}
        try:
            response = self._call(trigger.function, event) or {}
        except Exception:
            logging.getLogger(__name__).exception(
                "%s failed; the batch will be retried", trigger.function.name
            )
            self._settle(trigger, messages, everything, received_at)
        except BaseException:
            # Died (timeout, crash): nothing deleted; the batch comes back when its
            # visibility timeout ends, as after a failure.
            self._settle(trigger, messages, everything, received_at)
            raise
        else:
            failed = (
                {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
                if trigger.reports_batch_item_failures
                else set()
            )
            self._settle(trigger, messages, failed, received_at)
        return len(messages)

    def _settle(
        self,
        trigger: QueueTrigger,
        messages: list[dict[str, Any]],
        failed: set[str],
        received_at: float,
    ) -> None:
        """Delete what succeeded, as the event source mapping does. A failed record stays
        hidden until the queue's visibility timeout (local clock) from its receive ends, or
        for as long as the handler chose, if it changed the record's visibility itself."""
        sqs = self.client("sqs")
        hidden_for = self._retry_visibility_seconds(trigger)
        consumed = []
        for message in messages:
            handle = message["ReceiptHandle"]
            handler_chose = moto_extensions.visibility_changed(handle)
            if message["MessageId"] not in failed:
                consumed.append(handle)
            elif not handler_chose:
                remaining = hidden_for - (time.monotonic() - received_at)
                sqs.change_message_visibility(
                    QueueUrl=trigger.queue_url,
                    ReceiptHandle=handle,
                    VisibilityTimeout=max(0, round(remaining)),
                )
                moto_extensions.visibility_changed(handle)  # ours, not the handler's
        if consumed:
            sqs.delete_message_batch(
                QueueUrl=trigger.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(consumed)],
            )

    def _retry_visibility_seconds(self, trigger: QueueTrigger) -> int:
        if RETRY_VISIBILITY_SECONDS is not None:
            return RETRY_VISIBILITY_SECONDS
        return local_seconds(trigger.visibility_timeout_seconds, self.time_scale)

    # -- DynamoDB streams ---------------------------------------------------------------------

    def _poll_stream(self, trigger: StreamTrigger) -> int:
        """One batch per shard, as Lambda's poller reads a stream: in order, a batch retried
        from its first failed record (the handler's batch item failure) until it succeeds or
        the mapping's retries are spent, when the batch's range goes to the on-failure
        destination and the shard moves past it."""
        streams = self.client("dynamodbstreams")
        if not trigger.iterators:
            shards = streams.describe_stream(StreamArn=trigger.stream_arn)["StreamDescription"]
            for shard in shards["Shards"]:
                trigger.iterators[shard["ShardId"]] = streams.get_shard_iterator(
                    StreamArn=trigger.stream_arn,
                    ShardId=shard["ShardId"],
                    ShardIteratorType="TRIM_HORIZON",
                )["ShardIterator"]
        read = 0
        for shard_id, iterator in list(trigger.iterators.items()):
            if iterator is None:
                continue
            page = streams.get_records(ShardIterator=iterator, Limit=trigger.batch_size)
            records = page["Records"]
            next_iterator = page.get("NextShardIterator")
            if records:
                failed = self._invoke_stream_batch(trigger, records)
                if failed is not None and not self._stream_retries_spent(trigger, records):
                    next_iterator = streams.get_shard_iterator(
                        StreamArn=trigger.stream_arn,
                        ShardId=shard_id,
                        ShardIteratorType="AT_SEQUENCE_NUMBER",
                        SequenceNumber=failed,
                    )["ShardIterator"]
                else:
                    trigger.failed_attempts = 0
            trigger.iterators[shard_id] = next_iterator
            read += len(records)
        return read

    def _invoke_stream_batch(self, trigger: StreamTrigger, records: list[dict]) -> str | None:
        """The sequence number to retry from, or None when the whole batch succeeded."""
        first = records[0]["dynamodb"]["SequenceNumber"]
        try:
            response = self.invoke(trigger.function, lambda_event(records, trigger.stream_arn))
        except Exception:
            logging.getLogger(__name__).exception(
                "%s failed; the stream batch will be retried", trigger.function.name
            )
            return first
        if not trigger.reports_batch_item_failures:
            return None
        failures = (response or {}).get("batchItemFailures") or []
        return failures[0]["itemIdentifier"] if failures else None

    def _stream_retries_spent(self, trigger: StreamTrigger, records: list[dict]) -> bool:
        trigger.failed_attempts += 1
        limit = trigger.maximum_retry_attempts
        if limit < 0 or trigger.failed_attempts <= limit:
            return False
        if trigger.on_failure_queue_url:
            # What Lambda sends an on-failure destination for a stream: the batch's range.
            self.client("sqs").send_message(
                QueueUrl=trigger.on_failure_queue_url,
                MessageBody=json.dumps(
                    {
                        "requestContext": {"condition": "RetryAttemptsExhausted"},
                        "DDBStreamBatchInfo": {
                            "streamArn": trigger.stream_arn,
                            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                            "batchSize": len(records),
                        },
                    }
                ),
            )
        return True

    # -- SNS subscriptions --------------------------------------------------------------------

    def _poll_topic(self, trigger: TopicTrigger) -> int:
        """Each SNS message is one asynchronous invocation; a round delivers what has been
        published, up to `FEEDBACK_ROUND_MESSAGES`."""
        sqs = self.client("sqs")
        delivered = 0
        with ExitStack() as running:
            while delivered < FEEDBACK_ROUND_MESSAGES:
                messages = sqs.receive_message(
                    QueueUrl=trigger.tap_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                ).get("Messages", [])
                if not messages:
                    break
                if not delivered:
                    running.enter_context(self._running(trigger.function))
                for message in messages:
                    envelope = json.loads(message["Body"])
                    event = {"Records": [_sns_record(envelope, trigger.subscription_arn)]}
                    self._invoke_async(trigger.function, event)
                sqs.delete_message_batch(
                    QueueUrl=trigger.tap_queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(messages)
                    ],
                )
                delivered += len(messages)
        return delivered

    def _invoke_async(self, function: LocalFunction, event: dict[str, Any]) -> None:
        """Inside `_running(function)`."""
        error: Exception | None = None
        for _ in range(1 + function.async_retries):
            try:
                self._call(function, event)
                return
            except Exception as failure:  # Lambda retries any error of an async invocation
                error = failure
        if function.dead_letter_queue_arn:
            self.client("sqs").send_message(
                QueueUrl=_queue_url(self.client("sqs"), function.dead_letter_queue_arn),
                MessageBody=json.dumps(event),
                MessageAttributes={
                    "ErrorCode": {"DataType": "String", "StringValue": "200"},
                    "ErrorMessage": {"DataType": "String", "StringValue": str(error)[:1000]},
                    "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                },
            )

    # -- alarms -------------------------------------------------------------------------------

    def _run_alarm_actions(self) -> int:
        transitions = alarms.take_transitions()
        for transition in transitions:
            for action in transition.actions:
                service = action.split(":")[2]
                if service == "lambda":
                    self._invoke_for_alarm(action, transition)
                elif service == "sns":
                    subject, message = transition.notification()
                    self.client("sns").publish(TopicArn=action, Subject=subject, Message=message)
                else:
                    logging.getLogger(__name__).warning(
                        "alarm %s: local mode does not run %s actions (%s)",
                        transition.name,
                        service,
                        action,
                    )
        return len(transitions)

    def _invoke_for_alarm(self, function_arn: str, transition: alarms.AlarmTransition) -> None:
        function = self.deployment.function_named(function_arn)
        lambda_ = self.client("lambda")
        try:
            policy = lambda_.get_policy(FunctionName=function_arn)["Policy"]
        except lambda_.exceptions.ResourceNotFoundException:
            policy = None
        if function is None or not alarms.invocation_allowed(policy, transition.arn):
            # What CloudWatch records in the alarm's history when it cannot invoke.
            logging.getLogger(__name__).error(
                "alarm %s could not invoke %s: no function, or its resource policy does not "
                "allow %s for this alarm",
                transition.name,
                function_arn,
                alarms.ALARM_ACTION_PRINCIPAL,
            )
            return
        with self._running(function):
            self._invoke_async(function, transition.lambda_event())

    # -- SES ----------------------------------------------------------------------------------

    def _publish_ses_events(self) -> int:
        sent = ses_extensions.take_sent_requests()
        by_topic: dict[str, list[str]] = {}
        for request in sent:
            self.outbox.write(request)
            configuration_set = request.request.get("ConfigurationSetName")
            destinations = self.deployment.event_destinations.get(configuration_set, [])
            for event in ses_events_for(request):
                for event_types, topic_arn in destinations:
                    if _event_type_code(event["eventType"]) in event_types:
                        by_topic.setdefault(topic_arn, []).append(json.dumps(event))
        sns = self.client("sns")
        for topic_arn, messages in by_topic.items():
            for start in range(0, len(messages), 10):
                sns.publish_batch(
                    TopicArn=topic_arn,
                    PublishBatchRequestEntries=[
                        {"Id": str(i), "Message": message}
                        for i, message in enumerate(messages[start : start + 10])
                    ],
                )
        return len(sent)


class _LineWriter:
    """The log file as several instances write to it at once: whole lines, one at a time
    (`print` writes a line and its newline in two calls)."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self._lock = threading.Lock()
        self._pending = threading.local()

    def write(self, text: str) -> int:
        pending = getattr(self._pending, "text", "") + text
        lines, newline, rest = pending.rpartition("\n")
        self._pending.text = rest
        if newline:
            with self._lock:
                self._file.write(lines + newline)
        return len(text)

    def flush(self) -> None:
        pending = getattr(self._pending, "text", "")
        self._pending.text = ""
        with self._lock:
            if pending:
                self._file.write(pending)
            self._file.flush()


def _scale_environments(deployment: LocalDeployment, time_scale: float) -> None:
    if deployment.time_scale != 1:
        return  # already on a local clock
    deployment.time_scale = time_scale
    for function in deployment.functions.values():
        for name in SCALED_ENVIRONMENT:
            if name in function.environment:
                deployed = float(function.environment[name])
                function.environment[name] = str(local_seconds(deployed, time_scale))


def _event_type_code(event_type: str) -> str:
    # "DeliveryDelay" → "DELIVERY_DELAY", as event destinations name them.
    return "".join("_" + c if c.isupper() and i else c for i, c in enumerate(event_type)).upper()


def _queue_url(sqs: Any, arn: str) -> str:
    _, _, _, _, account, name = arn.split(":")
    return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def _sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A record as Lambda's SQS event source mapping delivers it."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", ""),
            "SenderId": attributes.get("SenderId", ""),
            "ApproximateFirstReceiveTimestamp": attributes.get(
                "ApproximateFirstReceiveTimestamp", ""
            ),
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "dataType": value.get("DataType"),
                "stringListValues": [],
                "binaryListValues": [],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


def _sns_record(envelope: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    """A record as SNS delivers it to a Lambda subscription."""
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": envelope.get("Type", "Notification"),
            "MessageId": envelope["MessageId"],
            "TopicArn": envelope["TopicArn"],
            "Subject": envelope.get("Subject"),
            "Message": envelope["Message"],
            "Timestamp": envelope.get("Timestamp"),
            "SignatureVersion": envelope.get("SignatureVersion", "1"),
            "Signature": envelope.get("Signature", "EXAMPLE"),
            "SigningCertUrl": envelope.get("SigningCertURL", ""),
            "UnsubscribeUrl": envelope.get("UnsubscribeURL", ""),
            "MessageAttributes": envelope.get("MessageAttributes", {}),
        },
    }


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in (*variables, "AWS_PROFILE")}
    os.environ.pop("AWS_PROFILE", None)  # a profile must not win over the emulator's keys
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
