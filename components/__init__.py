"""sesmailengine: production email infrastructure on Amazon SES, as Pulumi components.

Installed as a package, this folder is `sesmailengine`:

    from sesmailengine import EmailEngine, EngineSettings
"""

from .engine import EmailEngine
from .settings import EngineSettings, SettingsError

__all__ = ["EmailEngine", "EngineSettings", "SettingsError"]
