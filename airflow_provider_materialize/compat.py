"""Every Airflow name the provider imports that moved between Airflow 3.0 and 3.3, resolved once.

The package imports these names from here and nowhere else, so supporting another Airflow
version means changing this one module. Each seam imports the newest location first and falls
back to the older one; ``docs/versions.md`` lists which version needs which branch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# Public Task SDK names that every supported version (3.0 onwards) has in ``airflow.sdk``.
from airflow.sdk import Asset, AssetAlias, BaseOperator, BaseOperatorLink, Param

if TYPE_CHECKING:
    from airflow.sdk import Context

try:  # 3.1+: the Task SDK's hook, which reads connections through the task's execution API
    from airflow.sdk import BaseHook
except ImportError:  # 3.0: only the core hook, which itself routes to the Task SDK inside a task
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef,attr-defined]

try:  # 3.2+: one class, re-exported by airflow.exceptions
    from airflow.sdk.exceptions import AirflowNotFoundException
except ImportError:  # 3.0, 3.1: the Task SDK raises the core exception
    from airflow.exceptions import AirflowNotFoundException  # type: ignore[no-redef,assignment]

__all__ = [
    "AirflowNotFoundException",
    "Asset",
    "AssetAlias",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "Context",
    "Param",
]
