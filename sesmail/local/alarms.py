"""What CloudWatch does when an alarm changes state, and the emulator (moto) does not: run the
alarm's actions for its new state.

moto stores an alarm's actions and changes its state (`SetAlarmState`, as
`aws cloudwatch set-alarm-state` does), but runs nothing. Here every change of state is
recorded as it happens, and the local runtime runs the actions of the new state as CloudWatch
would:

- a Lambda function is invoked asynchronously with the event CloudWatch's Lambda alarm action
  sends, if the function's resource policy lets `lambda.alarms.cloudwatch.amazonaws.com`
  invoke it for this alarm (deployed, CloudWatch fails without that permission);
- an SNS topic receives the notification CloudWatch publishes.

Install once per process, before the emulator answers (`install()` is idempotent).
"""

from __future__ import annotations

import fnmatch
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moto.cloudwatch.models import Alarm

ALARM_ACTION_PRINCIPAL = "lambda.alarms.cloudwatch.amazonaws.com"

_installed = False
_lock = threading.Lock()
_transitions: list[AlarmTransition] = []


@dataclass(frozen=True)
class AlarmState:
    value: str
    reason: str
    timestamp: datetime

    def as_event(self) -> dict[str, str]:
        return {"value": self.value, "reason": self.reason, "timestamp": _iso(self.timestamp)}


@dataclass(frozen=True)
class AlarmTransition:
    """One alarm's change of state, with the actions CloudWatch runs for the new state."""

    name: str
    arn: str
    description: str | None
    previous: AlarmState
    current: AlarmState
    actions: tuple[str, ...]

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]

    def lambda_event(self) -> dict[str, Any]:
        """The event CloudWatch's Lambda alarm action delivers."""
        return {
            "source": "aws.cloudwatch",
            "alarmArn": self.arn,
            "accountId": self.account,
            "time": _iso(self.current.timestamp),
            "region": self.region,
            "alarmData": {
                "alarmName": self.name,
                "state": self.current.as_event(),
                "previousState": self.previous.as_event(),
                "configuration": {"description": self.description or ""},
            },
        }

    def notification(self) -> tuple[str, str]:
        """The subject and message CloudWatch publishes to an SNS action."""
        subject = f'{self.current.value}: "{self.name}" in {self.region}'
        message = {
            "AlarmName": self.name,
            "AlarmDescription": self.description,
            "AWSAccountId": self.account,
            "AlarmArn": self.arn,
            "NewStateValue": self.current.value,
            "NewStateReason": self.current.reason,
            "StateChangeTime": _iso(self.current.timestamp),
            "Region": self.region,
            "OldStateValue": self.previous.value,
        }
        return subject[:100], json.dumps(message)


def install() -> None:
    """Record every alarm's change of state in this process (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        Alarm.update_state = _recording_changes(Alarm.update_state)  # type: ignore[method-assign]
        _installed = True


def take_transitions() -> list[AlarmTransition]:
    """Every change of state since the last call, oldest first."""
    with _lock:
        taken = list(_transitions)
        _transitions.clear()
    return taken


def invocation_allowed(policy: str | None, alarm_arn: str) -> bool:
    """Whether a function's resource policy lets CloudWatch invoke it for this alarm."""
    for statement in json.loads(policy or "{}").get("Statement", []):
        principal = (statement.get("Principal") or {}).get("Service")
        actions = statement.get("Action")
        if (
            statement.get("Effect") == "Allow"
            and principal == ALARM_ACTION_PRINCIPAL
            and "lambda:InvokeFunction" in ([actions] if isinstance(actions, str) else actions)
            and _source_matches(statement.get("Condition") or {}, alarm_arn)
        ):
            return True
    return False


def _source_matches(condition: dict[str, Any], alarm_arn: str) -> bool:
    for operator in ("ArnLike", "ArnEquals"):
        for key, pattern in (condition.get(operator) or {}).items():
            if key.lower() == "aws:sourcearn" and not fnmatch.fnmatchcase(alarm_arn, pattern):
                return False
    return True


def _recording_changes(update_state: Any) -> Any:
    def update_and_record(self: Alarm, reason: str, reason_data: str, state_value: str) -> None:
        previous = AlarmState(self.state_value, self.state_reason, self.state_updated_timestamp)
        update_state(self, reason, reason_data, state_value)
        if previous.value == state_value:
            return  # CloudWatch acts on a change of state only
        actions = {
            "ALARM": self.alarm_actions,
            "OK": self.ok_actions,
            "INSUFFICIENT_DATA": self.insufficient_data_actions,
        }[state_value]
        transition = AlarmTransition(
            name=self.name,
            arn=self.alarm_arn,
            description=self.description,
            previous=previous,
            current=AlarmState(state_value, reason, self.state_updated_timestamp),
            actions=tuple(actions or ()) if self.actions_enabled else (),
        )
        with _lock:
            _transitions.append(transition)

    return update_and_record


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")
