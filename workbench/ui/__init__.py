"""ipywidgets panels, one per stage. Views only: every button calls a function of a stage module.

Panels are imported lazily so that ``import workbench.ui`` stays light::

    from workbench.ui import TrainPanel
    TrainPanel().show()
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "TrainPanel": "workbench.ui.train",
    "ChecksPanel": "workbench.ui.checks",
    "ServePanel": "workbench.ui.serve",
    "ABTestPanel": "workbench.ui.abtest",
    "MonitorPanel": "workbench.ui.monitor",
    "JourneyPanel": "workbench.ui.journey",
    "DashboardPanel": "workbench.ui.dashboard",
    "ClassroomPanel": "workbench.ui.classroom",
    "CheckMyWork": "workbench.ui.lesson",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench.ui' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
