"""Runs the real handlers in-process the way Lambda would, and plays SES's part.

- SQS triggers: Lambda-shaped batches (the mapping's batch size), partial batch failures
  honoured (failed records come back after a short local visibility timeout), the queue's own
  redrive policy moves a message to its DLQ after `maxReceiveCount` receives; a trigger the
  sending brake disabled is not polled.
- SNS subscriptions: each message becomes an SNS record; a handler error is retried as
  Lambda retries asynchronous invocations, then the event goes to the function's DLQ.
- SES: after every accepted SendEmail, the events SES would publish (Delivery, Bounce,
  Complaint, following the SES mailbox simulator) go to the configuration set's topic, and the
  message is written to the outbox.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import ses_extensions
from .outbox import Outbox
from .provision import LocalDeployment, LocalFunction, QueueTrigger, TopicTrigger
from .ses_events import ses_events_for


def _handler(module: str) -> Callable[[dict, Any], Any]:
    """The entry point a Lambda handler string names. Lambda imports the archive's `handlers`
    package; here it is `sesmailengine.handlers`. Imported on first invocation, inside the
    function's environment, as Lambda does (the module-level Logger and Metrics read it)."""
    from sesmailengine.handlers import (
        email_sender,
        feedback_processor,
        sending_brake,
        unsubscribe,
    )

    entry_points = {
        "handlers.email_sender.handler": email_sender.handler,
        "handlers.feedback_processor.handler": feedback_processor.handler,
        "handlers.sending_brake.handler": sending_brake.handler,
        "handlers.unsubscribe.handler": unsubscribe.handler,
    }
    return entry_points[module]


RETRY_VISIBILITY_SECONDS = 0
"""How soon a failed record comes back locally (the deployed queue waits its visibility
timeout, minutes, which a local run should not)."""


_CONSOLE = ("<stdout>", "<stderr>")


class LocalContext:
    """The parts of Lambda's context object the handlers use."""

    def __init__(self, function: LocalFunction) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
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

    @property
    def any(self) -> bool:
        return bool(self.sqs_records or self.sns_records or self.emails_sent)


class LocalRuntime:
    """Drives a provisioned deployment: call `step()` repeatedly, or `run_until_idle()`."""

    def __init__(
        self,
        deployment: LocalDeployment,
        client: Callable[[str], Any],
        outbox: Outbox,
        log_file: Path | None = None,
        aws_environment: dict[str, str] | None = None,
    ) -> None:
        """`aws_environment` points the handlers' SDK at the emulator (endpoint, fake
        credentials); it is set only while a handler runs."""
        self.deployment = deployment
        self._aws_environment = aws_environment or {}
        self.client = client
        self.outbox = outbox
        self._log_file = log_file.open("a") if log_file else None

    # -- invoking -----------------------------------------------------------------------------

    def invoke(self, function: LocalFunction, event: dict[str, Any]) -> Any:
        """One synchronous invocation with the function's environment."""
        environment = {**self._aws_environment, **function.environment}
        with _environment(environment), self._captured_output():
            handler = _handler(function.handler)
            self._route_handler_logs()
            return handler(event, LocalContext(function))

    def _captured_output(self) -> Any:
        # Metrics (EMF) are printed; locally they belong in the log file, not the terminal.
        if self._log_file is None:
            return nullcontext()
        return redirect_stdout(self._log_file)

    def _route_handler_logs(self) -> None:
        # Powertools loggers write JSON to stdout; locally it goes to the log file instead.
        if self._log_file is None:
            return
        for logger in list(logging.Logger.manager.loggerDict.values()):
            for handler in getattr(logger, "handlers", []):
                stream_name = getattr(getattr(handler, "stream", None), "name", None)
                if type(handler) is logging.StreamHandler and stream_name in _CONSOLE:
                    handler.setStream(self._log_file)

    # -- one pass -----------------------------------------------------------------------------

    def step(self) -> Activity:
        activity = Activity()
        for trigger in self.deployment.queue_triggers:
            activity.sqs_records += self._poll_queue(trigger)
        activity.emails_sent += self._publish_ses_events()
        for trigger in self.deployment.topic_triggers:
            activity.sns_records += self._poll_topic(trigger)
        return activity

    def run_until_idle(self, timeout_seconds: float = 60, settle_seconds: float = 0.3) -> bool:
        """Step until nothing has happened for `settle_seconds` and no message is in flight.
        Returns False if `timeout_seconds` passed first."""
        deadline = time.monotonic() + timeout_seconds
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            if self.step().any or self._messages_in_flight():
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
        if not self._enabled(trigger):
            return 0
        sqs = self.client("sqs")
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
        try:
            response = self.invoke(trigger.function, event) or {}
            if trigger.reports_batch_item_failures:
                failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            else:
                failed = set()
        except Exception:
            logging.getLogger(__name__).exception(
                "%s failed; the batch will be retried", trigger.function.name
            )
            failed = {m["MessageId"] for m in messages}
        for message in messages:
            if message["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=trigger.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=RETRY_VISIBILITY_SECONDS,
                )
            else:
                sqs.delete_message(
                    QueueUrl=trigger.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return len(messages)

    # -- SNS subscriptions --------------------------------------------------------------------

    def _poll_topic(self, trigger: TopicTrigger) -> int:
        sqs = self.client("sqs")
        messages = sqs.receive_message(
            QueueUrl=trigger.tap_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        for message in messages:
            event = {
                "Records": [_sns_record(json.loads(message["Body"]), trigger.subscription_arn)]
            }
            self._invoke_async(trigger.function, event)
            sqs.delete_message(
                QueueUrl=trigger.tap_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
        return len(messages)

    def _invoke_async(self, function: LocalFunction, event: dict[str, Any]) -> None:
        error: Exception | None = None
        for _ in range(1 + function.async_retries):
            try:
                self.invoke(function, event)
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

    # -- SES ----------------------------------------------------------------------------------

    def _publish_ses_events(self) -> int:
        sent = ses_extensions.take_sent_requests()
        sns = self.client("sns")
        for request in sent:
            self.outbox.write(request)
            configuration_set = request.request.get("ConfigurationSetName")
            destinations = self.deployment.event_destinations.get(configuration_set, [])
            for event in ses_events_for(request):
                for event_types, topic_arn in destinations:
                    if _event_type_code(event["eventType"]) in event_types:
                        sns.publish(TopicArn=topic_arn, Message=json.dumps(event))
        return len(sent)


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
