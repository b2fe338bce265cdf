"""The local runtime drives the sender as its event source mapping would: retries on the
queue's (scaled) visibility timeout, several instances at once, each function's memory."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from local_support import PROJECT_DIR
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sqs.models import sqs_backends

from sesmail.local import runtime
from sesmail.local.outbox import Outbox
from sesmail.local.provision import LocalDeployment, LocalFunction
from sesmail.local.runtime import LOCAL_TIME_SCALE, LocalContext, LocalRuntime, local_seconds
from sesmail.local.session import LocalSession, local_session


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Iterator[LocalSession]:
    """Local mode on its default clock (the end-to-end tests run theirs faster)."""
    workdir = tmp_path_factory.mktemp("runtime")
    with local_session(
        project_dir=PROJECT_DIR,
        state_dir=workdir / ".sesmail",
        config_overrides={"maxSendRate": "0"},
    ) as running:
        yield running


@pytest.fixture
def sender(session: LocalSession, monkeypatch) -> Callable[[Callable[..., Any]], None]:
    """Replace the sender's entry point for one test (other functions keep theirs)."""
    trigger = session.deployment.queue_triggers[0]
    real = runtime._handler

    def use(fake: Callable[..., Any]) -> None:
        monkeypatch.setattr(
            runtime,
            "_handler",
            lambda name: fake if name == trigger.function.handler else real(name),
        )

    return use


def email_queue(session: LocalSession) -> Any:
    """The emulator's own record of EmailQueue (when a hidden message shows again)."""
    name = session.outputs["emailQueueUrl"].rsplit("/", 1)[-1]
    return sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].queues[name]


def hidden_for(session: LocalSession, body: str) -> float:
    """Seconds until the message with this body is visible again."""
    [message] = [m for m in email_queue(session)._messages if m.body == body]
    return message.visible_at / 1000 - time.time()


@pytest.fixture(autouse=True)
def empty_queue(session: LocalSession) -> Iterator[None]:
    """Each test starts with EmailQueue empty (PurgeQueue: once a minute; hidden messages
    cannot be received and deleted)."""
    yield
    with email_queue(session)._messages_lock:
        email_queue(session)._messages = []


def test_the_sender_trigger_is_polled_as_the_created_mapping_says(session) -> None:
    [trigger] = session.deployment.queue_triggers
    mapping = session.client("lambda").get_event_source_mapping(UUID=trigger.uuid)
    assert trigger.maximum_concurrency == mapping["ScalingConfig"]["MaximumConcurrency"] == 2
    assert trigger.batch_size == mapping["BatchSize"] == 10
    assert trigger.visibility_timeout_seconds == 180


def test_a_failed_record_comes_back_after_the_scaled_visibility_timeout(session, sender) -> None:
    # GIVEN a sender that fails every record
    sender(lambda event, context: {"batchItemFailures": _all(event)})
    session.client("sqs").send_message(
        QueueUrl=session.outputs["emailQueueUrl"], MessageBody="fails once"
    )
    # WHEN one round has run it
    session.runtime.step()
    # THEN it is hidden for 180 s / LOCAL_TIME_SCALE, not back at once nor for 180 s
    assert local_seconds(180) == 3
    assert 2 < hidden_for(session, "fails once") <= local_seconds(180)


def test_a_record_whose_visibility_the_handler_changed_keeps_the_handlers_choice(
    session, sender
) -> None:
    # GIVEN a sender that backs off on its own (ChangeMessageVisibility: 40 s) and fails
    def backs_off(event: dict, context: Any) -> dict:
        sqs = boto3.client("sqs")  # the function's environment points it at the emulator
        for record in event["Records"]:
            sqs.change_message_visibility(
                QueueUrl=session.outputs["emailQueueUrl"],
                ReceiptHandle=record["receiptHandle"],
                VisibilityTimeout=40,
            )
        return {"batchItemFailures": _all(event)}

    sender(backs_off)
    session.client("sqs").send_message(
        QueueUrl=session.outputs["emailQueueUrl"], MessageBody="backs off"
    )
    # WHEN one round has run it
    session.runtime.step()
    # THEN the runtime left the handler's 40 s alone
    assert 38 < hidden_for(session, "backs off") <= 40


def test_sender_instances_run_at_once_up_to_the_maximum_concurrency(session, sender) -> None:
    # GIVEN a sender that records how many instances run at once, and with what environment
    running, most, services = 0, 0, set()
    lock = threading.Lock()

    def counts(event: dict, context: Any) -> dict:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            services.add(os.environ["POWERTOOLS_SERVICE_NAME"])
        time.sleep(0.2)
        with lock:
            running -= 1
        return {"batchItemFailures": []}

    sender(counts)
    sqs = session.client("sqs")
    for start in range(0, 60, 10):
        sqs.send_message_batch(
            QueueUrl=session.outputs["emailQueueUrl"],
            Entries=[
                {"Id": str(n), "MessageBody": json.dumps(n)} for n in range(start, start + 10)
            ],
        )
    # WHEN the runtime runs until the queue is empty
    assert session.runtime.run_until_idle(30)
    # THEN two instances (the dev stack's maximumConcurrency) ran at once, never more
    assert most == 2
    # AND every one of them ran in the sender's environment
    assert services == {
        session.deployment.queue_triggers[0].function.environment["POWERTOOLS_SERVICE_NAME"]
    }


def test_each_function_reports_its_declared_memory(session) -> None:
    memory = {
        function.handler: LocalContext(function).memory_limit_in_mb
        for function in session.deployment.functions.values()
    }
    assert memory["handlers.email_sender.handler"] == 512
    assert memory["handlers.feedback_processor.handler"] == 256


def test_the_claim_timeout_runs_on_the_same_local_clock_as_the_visibility_timeout(
    tmp_path,
) -> None:
    # GIVEN a sender whose environment holds a claim timeout (30 min deployed)
    sender = LocalFunction(
        name="sender",
        handler="handlers.email_sender.handler",
        environment={"CLAIM_TIMEOUT_SECONDS": "1800", "TRACKING_TTL_DAYS": "90"},
        timeout_seconds=30,
    )
    deployment = LocalDeployment(functions={"sender": sender})
    # WHEN a runtime drives the deployment (twice: a second runtime must not scale again)
    for _ in range(2):
        LocalRuntime(deployment, client=lambda service: None, outbox=Outbox(tmp_path)).close()
    # THEN the claim timeout is scaled as the visibility timeout is; nothing else is touched
    assert sender.environment == {"CLAIM_TIMEOUT_SECONDS": "30", "TRACKING_TTL_DAYS": "90"}
    assert deployment.time_scale == LOCAL_TIME_SCALE


def _all(event: dict) -> list[dict[str, str]]:
    return [{"itemIdentifier": record["messageId"]} for record in event["Records"]]


# -- how local mode's own calls reach the emulator ---------------------------------------------


def test_local_modes_clients_answer_in_process_without_the_server(session) -> None:
    # GIVEN an emulator whose endpoint no server listens on
    from botocore.exceptions import EndpointConnectionError

    from sesmail.local.emulator import Emulator

    offline = Emulator()
    offline.endpoint = "http://127.0.0.1:9"
    queue_url = session.outputs["emailQueueUrl"]
    name = queue_url.rsplit("/", 1)[-1]
    # WHEN its clients (and a plain boto3 client) call it
    answered = offline.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
    # THEN its clients reach moto's backends all the same; the plain client reaches nothing
    assert answered.rsplit("/", 1)[-1] == name
    from botocore.config import Config

    no_retries = Config(retries={"max_attempts": 1, "mode": "standard"})
    plain = boto3.client("sqs", **{**offline._client_settings(), "config": no_retries})
    with pytest.raises(EndpointConnectionError):
        plain.get_queue_url(QueueName=name)


def test_the_server_still_answers_other_clients(session) -> None:
    # GIVEN a client that goes through HTTP, as another process's would
    plain = boto3.client(
        "sqs",
        endpoint_url=session.emulator.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    # WHEN it and local mode's own client ask the same question
    # THEN they get the same answer
    expected = session.client("sqs").list_queues()["QueueUrls"]
    assert plain.list_queues()["QueueUrls"] == expected


@pytest.mark.parametrize("per", ["call", "attempt"])
def test_faults_still_strike_the_calls_answered_in_process(session, per) -> None:
    # GIVEN a session whose clients answer in process, with faults installed
    from botocore.exceptions import ClientError

    from sesmail.local import faults

    routed = session.emulator.session()
    faults.install(routed.events)
    sqs = routed.client("sqs", **session.emulator._client_settings())
    # WHEN every ListQueues fails
    fault = faults.inject("sqs", "ListQueues", "InternalError", rate=1, seed=1, per=per)
    with fault as injected, pytest.raises(ClientError) as failed:
        sqs.list_queues()
    # THEN the call fails with the injected error
    assert failed.value.response["Error"]["Code"] == "InternalError"
    assert injected.injected >= 1
