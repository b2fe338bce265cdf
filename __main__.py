"""The sesmailengine stack: stack config → EngineSettings → EmailEngine → stack outputs."""

import pulumi
from sesmailengine import EmailEngine, EngineSettings, SettingsError
from sesmailengine.settings import stack_config

try:
    settings = EngineSettings.from_config(stack_config())
except SettingsError as error:
    # A RunError stops `pulumi up` before anything changes and shows only the message.
    raise pulumi.RunError(str(error)) from None

engine = EmailEngine("sesmailengine", settings)
for key, value in engine.outputs().items():
    pulumi.export(key, value)
