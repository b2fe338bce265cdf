"""Where moto, as local mode's emulator, is slower or looser than the AWS service it stands for.

`ses_extensions` teaches moto what SES does; this module fixes how moto does what it already
does, in ways a deployment never shows but a local run of thousands of emails does:

- DynamoDB `TransactWriteItems` deep-copies every table it names, to roll back on failure:
  each transaction costs the size of the tables (1,000 emails: 4 emails/s, 3 GB). Here only
  the items the transaction touches are copied, and only they (and the table's stream
  records) are put back when it is cancelled: the same all-or-nothing, the same
  `CancellationReasons`, at the cost of the transaction.
- DynamoDB requests are atomic. moto's server answers each request on a thread of its own,
  and its conditional writes are a read, then a write; DynamoDB applies a conditional write,
  and a transaction, as one step. With several sender instances at once, two conditional
  writes to the same item must not both succeed: one lock makes each DynamoDB request one
  step, as in the service.
- SQS requests to one queue are atomic too: moto's delete rebuilds the queue's message list,
  so a message a rule delivers meanwhile (another thread) could be lost, and two concurrent
  receives could return the same message.
- SQS at thousands of queued messages: moto's receive asks, for every message it returns,
  for all the queue's attributes (which count every message, twice), and its delete rebuilds
  the message list; each queue operation cost the size of the queue. Here the retention
  check reads the one attribute, the visible messages are found with one clock reading, and a
  delete stops at the message it deletes (the oldest, usually: the ones received first).
- DynamoDB update expressions: moto validates one in ten passes over its syntax tree, and at
  every node of every pass asks Python's ABC machinery whether the pass handles that node's
  class. The answer depends only on the pass and the class: it is asked once per pair here.
- Every request asked the file system which services moto has (`os.listdir` of its package
  and a `stat` per entry) to route it; the answer does not change while the process runs.
- SQS counts (`ApproximateNumberOfMessagesNotVisible`, `...Delayed`) read the clock once per
  message; moto's send asks for all the queue's attributes on every message. Here a count
  reads the clock once.
- EventBridge input transformers: moto builds a new JSONPath parser (a PLY grammar) for every
  path of every event a rule delivers; a path's parse does not change: it is made once.
- SNS signs every message with a new X.509 certificate (an RSA signature and a new PEM per
  delivery). SNS signs with one certificate for a long time: here each subscription makes
  its certificate once and signs every message with it.
- DynamoDB update expressions are parsed once per expression text (DynamoDB's clients send a
  handful of texts, over and over; moto only reads the tree), and the validator's private
  copy of the tree is made by pickling instead of `copy.deepcopy`: the same tree, faster. Of the
  validator's passes, three look only at the expression's text, its attribute names and the
  table's keys (too many clauses, overlapping paths, a key updated): once they passed for
  those, they are not run again.
- DynamoDB `GetItem` and DynamoDB Streams `GetRecords` answers are already DynamoDB JSON;
  moto's response serializer walks them against the service model, attribute by attribute
  (most of the cost of reading a stream). Here they are written with `json.dumps`: the same
  document (timestamps as epoch seconds, as the serializer writes them); an answer with a
  binary attribute still goes through the serializer.
- S3 bucket policies: moto evaluates a statement's conditions without the request's context,
  so the engine's TLS-only deny (`aws:SecureTransport` false) would deny every request.
  Deployed, every SDK reaches S3 over TLS; here the loopback stands for it, and the policy's
  other statements still apply.
- Which messages a handler changed the visibility of: a record the sender failed keeps the
  visibility the handler chose (`visibility_changed`), the runtime times only the others.

Install once per process, before the emulator answers (`install()` is idempotent).
"""

from __future__ import annotations

import base64
import calendar
import copy
import functools
import json
import pickle
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509.oid import NameOID
from jsonpath_ng.ext import parse as parse_json_path
from moto import backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.core.utils import (
    iso_8601_datetime_with_milliseconds,
    unix_time,
    unix_time_millis,
    utcnow,
)
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    ResourceNotFoundException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamRecord, Table
from moto.dynamodb.parsing import validators
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.events.utils import EventTemplateParser
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.moto_api._internal import mock_random
from moto.s3.models import FakeBucket
from moto.sns.models import Subscription, sns_backends
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, SQSBackend

_installed = False
_install_lock = threading.Lock()
_dynamodb_lock = threading.RLock()
_sqs_lock = threading.RLock()
_visibility_lock = threading.Lock()
_visibility_changed: set[str] = set()

MOTO_SERVICES = tuple(backends.list_of_moto_modules())
"""What `backends.list_of_moto_modules()` answers: the same for the life of the process."""


def install() -> None:
    """Patch moto's DynamoDB, SQS and request routing in this process (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        DynamoDBBackend.transact_write_items = transact_write_items
        DynamoHandler.call_action = _serialised(DynamoHandler.call_action, _dynamodb_lock)
        DynamoHandler.get_item = _answered_as_json(DynamoHandler.get_item)
        DynamoDBStreamsHandler.get_records = _answered_as_json(DynamoDBStreamsHandler.get_records)
        for name in (
            "delete_message",
            "delete_message_batch",
            "send_message",
            "send_message_batch",
            "purge_queue",
        ):
            setattr(SQSBackend, name, _serialised(getattr(SQSBackend, name), _sqs_lock))
        SQSBackend.change_message_visibility = _recording_visibility(
            _serialised(SQSBackend.change_message_visibility, _sqs_lock)
        )
        SQSBackend.receive_message = _receive_without_holding_the_queue(SQSBackend.receive_message)
        SQSBackend.is_message_valid_based_on_retention_period = _within_retention
        Queue.messages = property(_visible_messages)  # type: ignore[assignment]
        Queue.delete_message = _delete_message
        Queue.approximate_number_of_messages_delayed = property(_delayed_count)  # type: ignore[assignment]
        Queue.approximate_number_of_messages_not_visible = property(_not_visible_count)  # type: ignore[assignment]
        DepthFirstTraverser.traverse_node_recursively = _traverse_node_recursively
        UpdateExpressionParser.make = _parsed_once(UpdateExpressionParser.make)  # type: ignore[method-assign]
        validators.deepcopy = _copy_tree  # type: ignore[attr-defined]
        validators.UpdateExpressionValidator.validate = _validate_update  # type: ignore[method-assign]
        EventTemplateParser.parse = staticmethod(_transform_input)  # type: ignore[method-assign]
        Subscription.get_post_data = _signed_with_one_certificate  # type: ignore[method-assign]
        backends.list_of_moto_modules = lambda: MOTO_SERVICES
        FakeBucket.get_permission = _permission_over_tls  # type: ignore[method-assign]
        _installed = True


def visibility_changed(receipt_handle: str) -> bool:
    """Whether anyone called ChangeMessageVisibility with this receipt handle; forgets it."""
    with _visibility_lock:
        if receipt_handle in _visibility_changed:
            _visibility_changed.discard(receipt_handle)
            return True
        return False


def forget_visibility_changes() -> None:
    with _visibility_lock:
        _visibility_changed.clear()


def _permission_over_tls(self: FakeBucket, action: str, resource: str) -> PermissionResult:
    if self.policy is None:
        return PermissionResult.NEUTRAL
    policy = json.loads(self.policy)
    statements = (
        policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    )
    # A statement applies only when all its conditions hold: over TLS, one that asks for
    # `aws:SecureTransport` false never does.
    applicable = [s for s in statements if not _only_without_tls(s.get("Condition") or {})]
    if not applicable:
        return PermissionResult.NEUTRAL
    return IAMPolicy(json.dumps({**policy, "Statement": applicable})).is_action_permitted(
        action, resource
    )


def _only_without_tls(condition: dict[str, Any]) -> bool:
    secure = {k.lower(): v for k, v in (condition.get("Bool") or {}).items()}
    return str(secure.get("aws:securetransport", "")).lower() == "false"


def _serialised(method: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    @functools.wraps(method)
    def serialised(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)

    return serialised


def _recording_visibility(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def change_message_visibility(
        self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        method(self, queue_name, receipt_handle, visibility_timeout)
        with _visibility_lock:
            _visibility_changed.add(receipt_handle)

    return change_message_visibility


# -- SQS ----------------------------------------------------------------------------------------


def _receive_without_holding_the_queue(method: Callable[..., Any]) -> Callable[..., Any]:
    """moto's receive, one pass at a time under the lock: a long poll waits between passes
    without the lock, or no message could arrive while it waits."""

    @functools.wraps(method)
    def receive_message(
        self: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Message]:
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with _sqs_lock:
                messages = method(
                    self, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
            remaining = deadline - time.monotonic()
            if messages or remaining <= 0:
                return messages
            time.sleep(min(_LONG_POLL_INTERVAL, remaining))

    return receive_message


_LONG_POLL_INTERVAL = 0.05


def _within_retention(self: SQSBackend, queue_name: str, message: Message) -> bool:
    retention_period = int(self.get_queue(queue_name).message_retention_period)
    return retention_period + message.sent_timestamp / 1000 > unix_time()


def _visible_messages(self: Queue) -> list[Message]:
    now = unix_time_millis()
    return [m for m in self._messages if now > m.visible_at and now >= m.delayed_until]


def _delayed_count(self: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for m in self._messages if now < m.delayed_until)


def _not_visible_count(self: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for m in self._messages if not now > m.visible_at)


def _delete_message(self: Queue, receipt_handle: str) -> None:
    if receipt_handle in self.deleted_messages:
        return  # deleting twice is not an error
    for message in self._messages:
        if message.receipt_handle == receipt_handle or (
            receipt_handle in message._old_receipt_handles
        ):
            break
    else:
        raise ReceiptHandleIsInvalid()
    self._messages.remove(message)
    self.pending_messages.discard(message)
    self.deleted_messages.update(message.all_receipt_handles)


# -- DynamoDB update expressions ----------------------------------------------------------------

_handles: dict[tuple[type, type], tuple[bool, bool]] = {}
"""(pass class, node class) → (is the node a syntax node, does the pass process it)."""


def _traverse_node_recursively(self: DepthFirstTraverser, node: Any, child_id: int = -1) -> Any:
    """moto's `DepthFirstTraverser.traverse_node_recursively`: depth first, children before
    their parent, each node the pass handles replaced by what it makes of it."""
    key = (type(self), type(node))
    handles = _handles.get(key)
    if handles is None:
        handles = _handles[key] = (
            isinstance(node, Node),
            isinstance(node, self.nodes_to_be_processed()),
        )
    is_node, processed = handles
    if not is_node:
        return node
    parent_node = node.parent
    if node.children is not None:
        for i, child_node in enumerate(node.children):
            self.pre_processing_of_child(node, i)
            self.traverse_node_recursively(child_node, i)
    if processed:
        node = self.process(node)
        node.parent = parent_node
        if parent_node:
            parent_node.children[child_id] = node
    return node


def _parsed_once(make: Callable[[str], Node]) -> Callable[[str], Node]:
    """`UpdateExpressionParser.make`, each expression text parsed once (or refused once: a
    syntax error is raised again, not remembered). Every caller shares the tree: moto's only
    read it, and its validator works on a copy of its own."""

    @functools.lru_cache(maxsize=1024)
    @functools.wraps(make)
    def make_once(expression_str: str) -> Node:
        tree = make(expression_str)
        tree._sesmail_expression = expression_str  # type: ignore[attr-defined]
        return tree

    return make_once


_SYNTAX_PASSES = (
    validators.ActionCountValidator,
    validators.OverlappingPathsValidator,
    validators.UpdateHashRangeKeyValidator,
)
_syntax_passed: set[tuple[Any, ...]] = set()
"""(expression text, attribute names, table keys) the syntax passes accepted."""


def _validate_update(self: validators.UpdateExpressionValidator) -> Node:
    """moto's `Validator.validate`, without the syntax passes an identical update (same
    text, same attribute names, same table keys) already passed."""
    text = getattr(self.node_to_validate, "_sesmail_expression", None)
    names = self.expression_attribute_names or {}
    key = (text, tuple(sorted(names.items())), tuple(self.table.table_key_attrs))
    known = text is not None and key in _syntax_passed
    node = self.node_to_validate
    for processor in self.processors:
        syntax = isinstance(processor, _SYNTAX_PASSES)
        if not (known and syntax):
            node = processor.traverse(node)
        if text is not None and not syntax and not known:
            known = True  # every syntax pass (they come first) accepted it
            _syntax_passed.add(key)
    return node


def _copy_tree(tree: Any) -> Any:
    """A deep copy of a syntax tree (or of anything picklable, else by `copy.deepcopy`)."""
    try:
        return pickle.loads(pickle.dumps(tree, pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError):
        return copy.deepcopy(tree)


# -- DynamoDB JSON answers ---------------------------------------------------------------------


def _answered_as_json(action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A response method whose result is DynamoDB JSON, answered as a JSON body."""

    @functools.wraps(action)
    def answer(self: Any) -> Any:
        result = action(self)
        if not isinstance(result, ActionResult):
            return result
        try:
            body = json.dumps(result.result, default=_epoch_seconds, separators=(",", ":"))
        except TypeError:
            return result  # binary values: the serializer knows how to encode them
        if '"B":' in body or '"BS":' in body:
            return result
        return body

    return answer


def _epoch_seconds(value: Any) -> float:
    """A timestamp as moto's JSON serializer writes it (to the millisecond)."""
    if not isinstance(value, datetime):
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    seconds = calendar.timegm(value.utctimetuple())
    return seconds + (value.microsecond // 1000) / 1000.0 if value.microsecond else seconds


# -- EventBridge input transformers ------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _json_path(path: str) -> Any:
    return parse_json_path(path)


def _transform_input(
    input_template: str, input_paths_map: dict[str, Any], event: dict[str, Any]
) -> dict[str, Any]:
    """moto's `EventTemplateParser.parse`, each JSONPath parsed once."""
    template = input_template or EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    paths = input_paths_map or EventTemplateParser.DEFAULT_EVENT_INPUT_PATHS_MAP
    for name, path in paths.items():
        matches = _json_path(path).find(event)
        result = EventTemplateParser._stringify(matches[0].value) if matches else None
        if result:
            template = template.replace(f"<{name}>", result)
    defaults = {
        "aws.events.event.json": event,
        "aws.events.event.ingestion-time": event["ingestion-time"],
    }
    for name, value in defaults.items():
        template = template.replace(f"<{name}>", EventTemplateParser._stringify(value))
    return json.loads(template)


# -- SNS message signatures ---------------------------------------------------------------------

_certificates_lock = threading.Lock()


def _signed_with_one_certificate(
    self: Subscription,
    message: str,
    message_id: str,
    subject: str | None,
    message_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """moto's `Subscription.get_post_data`: the same envelope and signature, with the
    subscription's certificate made once."""
    key = self.private_key()
    key_name, pem = _certificate(self)
    timestamp = iso_8601_datetime_with_milliseconds()
    string_to_sign = (
        f"Message\n{message}\nMessageId\n{message_id}\nTimestamp\n{timestamp}\n"
        f"TopicArn\n{self.topic.arn}\nType\nNotification\n"
    )
    signature = key.sign(string_to_sign.encode("UTF-8"), padding.PKCS1v15(), hashes.SHA256())
    # Where moto serves the PEM from (its backends may have been reset since it was made).
    region = self.topic.sns_backend.region_name
    sns_backends[DEFAULT_ACCOUNT_ID][region]._message_public_keys[key_name] = pem
    post_data: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": self.topic.arn,
        "Message": message,
        "Timestamp": timestamp,
        "SignatureVersion": "2",
        "Signature": base64.b64encode(signature).decode("utf-8"),
        "SigningCertURL": f"https://sns.{region}.amazonaws.com/{key_name}",
        "UnsubscribeURL": (
            "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
            f"arn:aws:sns:us-east-1:{self.account_id}:{self.topic.name}"
            ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
        ),
    }
    if subject:
        post_data["Subject"] = subject
    if message_attributes:
        post_data["MessageAttributes"] = message_attributes
    return post_data


def _certificate(subscription: Subscription) -> tuple[str, bytes]:
    """(name, PEM) of the certificate the subscription signs with, as moto makes it."""
    with _certificates_lock:
        made = subscription.__dict__.get("_sesmail_certificate")
        if made is None:
            key = subscription.private_key()
            issuer = [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon"),
                x509.NameAttribute(NameOID.COMMON_NAME, "Amazon RSA 2048 M01"),
            ]
            now = utcnow()
            certificate = (
                x509.CertificateBuilder()
                .subject_name(
                    x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
                )
                .issuer_name(x509.Name(issuer))
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now)
                .not_valid_after(now + timedelta(days=365))
                .sign(key, hashes.SHA256())
            )
            name = f"SimpleNotificationService-{str(mock_random.uuid4()).replace('-', '')}.pem"
            made = (name, certificate.public_bytes(serialization.Encoding.PEM))
            subscription.__dict__["_sesmail_certificate"] = made
        return made


# -- DynamoDB TransactWriteItems --------------------------------------------------------------


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto 5's `DynamoDBBackend.transact_write_items`, with the rollback copying only the
    items the transaction touches. Checks, writes and cancellation reasons are moto's."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    # moto checks this per operation, after the earlier ones have written (and without
    # rolling them back); DynamoDB refuses the request before it writes anything.
    if any(len(item) > 1 for item in transact_items):
        raise TransactWriteSingleOpException
    with _dynamodb_lock:
        before = TouchedItems.before(self, transact_items)
        try:
            errors = _write(self, transact_items)
        except (MultipleTransactionsException, MockValidationException):
            before.restore()
            raise
        if any(code is not None for code, _, _ in errors):
            before.restore()
            raise TransactionCanceledException(errors)


def _write(
    self: DynamoDBBackend, transact_items: list[dict[str, Any]]
) -> list[tuple[str | None, str | None, dict[str, Any] | None]]:
    """Each operation in turn, as moto does: a failed condition (or any error but a
    validation error) is a cancellation reason, and the operations after it still run."""
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            check_unicity(table_name, key)

            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition = get_filter_expression(condition_expression, names, values)
                if not condition.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # moto reports any other error as the operation's reason
            errors.append((type(e).__name__, str(e), original_item))
    return errors


@dataclass
class _Saved:
    """One touched item as it was: a copy of it, or None if it did not exist."""

    table: Table
    hash_key: DynamoType
    range_key: DynamoType | None
    item: Item | None
    range_bucket_existed: bool = False


@dataclass
class TouchedItems:
    """What a transaction may change, as it was before: the items its operations name, and
    how many stream records each of their tables had."""

    saved: list[_Saved] = field(default_factory=list)
    streams: list[tuple[Any, list[StreamRecord], int]] = field(default_factory=list)

    @classmethod
    def before(cls, backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> TouchedItems:
        touched = cls()
        seen: set[tuple[int, DynamoType, DynamoType | None]] = set()
        tables: dict[int, Table] = {}
        for entry in transact_items:
            for op_type, op in entry.items():
                located = _locate(backend, op_type, op)
                if located is None:
                    continue  # the operation fails without writing; moto reports why
                table, hash_key, range_key = located
                tables[id(table)] = table
                if (id(table), hash_key, range_key) in seen:
                    continue
                seen.add((id(table), hash_key, range_key))
                touched.saved.append(_saved(table, hash_key, range_key))
        for table in tables.values():
            shard = table.stream_shard
            if shard is not None:
                touched.streams.append((shard, shard.items, len(shard.items)))
        return touched

    def restore(self) -> None:
        for saved in self.saved:
            _restore(saved)
        for shard, records, count in self.streams:
            # A shard hands its records to a stream trigger by starting a new list.
            del records[count:]
            shard.items = records


def _locate(
    backend: DynamoDBBackend, op_type: str, op: Any
) -> tuple[Table, DynamoType, DynamoType | None] | None:
    try:
        table = backend.get_table(op["TableName"])
        attributes = op["Item"] if op_type == "Put" else op["Key"]
        hash_key = DynamoType(attributes[table.hash_key_attr])
        range_key = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, TypeError, AttributeError, ResourceNotFoundException):
        return None
    return table, hash_key, range_key


def _saved(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> _Saved:
    if range_key is None:
        item = table.items.get(hash_key)
        return _Saved(table, hash_key, None, copy.deepcopy(item))
    bucket = table.items.get(hash_key)
    item = bucket.get(range_key) if bucket is not None else None
    return _Saved(table, hash_key, range_key, copy.deepcopy(item), bucket is not None)


def _restore(saved: _Saved) -> None:
    items = saved.table.items
    if saved.range_key is None:
        if saved.item is None:
            items.pop(saved.hash_key, None)
        else:
            items[saved.hash_key] = saved.item
        return
    if saved.item is not None:
        items[saved.hash_key][saved.range_key] = saved.item
        return
    bucket = items.get(saved.hash_key)
    if bucket is not None:
        bucket.pop(saved.range_key, None)
        if not bucket and not saved.range_bucket_existed:
            del items[saved.hash_key]
