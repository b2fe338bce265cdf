"""What the sending brake is asked to do: pure rules, no AWS."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ValidationError


class BrakeCommand(StrEnum):
    ENGAGE = "engage"
    RELEASE = "release"
    STATUS = "status"


class _AlarmState(BaseModel):
    value: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]


class _AlarmData(BaseModel):
    alarmName: str
    state: _AlarmState


class AlarmStateChange(BaseModel):
    """The event a CloudWatch alarm's Lambda action delivers (the parts we use)."""

    source: Literal["aws.cloudwatch"]
    alarmArn: str
    alarmData: _AlarmData


class ManualCommand(BaseModel):
    """`{"action": "release"}`, sent by a person with `aws lambda invoke`."""

    action: BrakeCommand


class UnknownBrakeEvent(ValueError):
    """Neither an alarm state change nor a manual command."""


def brake_command(event: dict[str, Any]) -> tuple[BrakeCommand | None, str]:
    """The command an event asks for, and why (for the log).

    An alarm entering ALARM engages the brake. Its return to OK does not release it: the
    rate is an average over hours, so OK says little about the list being clean; a person
    releases the brake after cleaning it.
    """
    if "alarmData" in event:
        try:
            alarm = AlarmStateChange.model_validate(event)
        except ValidationError as error:
            raise UnknownBrakeEvent(f"malformed alarm event: {error}") from error
        name, state = alarm.alarmData.alarmName, alarm.alarmData.state.value
        if state == "ALARM":
            return BrakeCommand.ENGAGE, f"alarm {name} is in ALARM"
        return None, f"alarm {name} is {state}; the brake is released by hand"
    try:
        return ManualCommand.model_validate(event).action, "requested by hand"
    except ValidationError as error:
        raise UnknownBrakeEvent(
            'expected a CloudWatch alarm event or {"action": "engage" | "release" | "status"}'
        ) from error
