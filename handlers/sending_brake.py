"""Sending brake Lambda: pauses sending when the bounce- or complaint-rate alarm fires.

Invoked by the alarms' Lambda action, or by hand:
`aws lambda invoke --function-name <brakeFunctionName> --payload '{"action": "release"}' out.json`
(also `engage` and `status`). Wired as `handlers.sending_brake.handler`.
"""

import os

from aws_lambda_powertools.metrics import MetricUnit

from .aws.sending_switch import SendingSwitch
from .core.brake import BrakeCommand, brake_command
from .core.environment import BrakeEnvironment
from .core.metrics import BRAKE_ENGAGED
from .observability import observability

logger, metrics = observability(BrakeEnvironment)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: object) -> dict:
    command, why = brake_command(event)
    environment = BrakeEnvironment.from_env(os.environ)
    switch = SendingSwitch(
        environment.configuration_set, environment.sender_event_source_mapping_uuid
    )
    if command is BrakeCommand.ENGAGE:
        state = switch.engage()
        logger.warning("Sending brake engaged", extra={"why": why})
        metrics.add_metric(name=BRAKE_ENGAGED, unit=MetricUnit.Count, value=1)
    elif command is BrakeCommand.RELEASE:
        state = switch.release()
        logger.warning("Sending brake released", extra={"why": why})
    else:
        state = switch.state()
        logger.info("Sending brake unchanged", extra={"why": why})
    return {"command": command.value if command else None, "why": why, **state.as_dict()}
