"""The Materialize connection form, declared once for every Airflow 3 version.

Airflow reads a provider's connection form in one of two ways (checked in ``providers_manager.py``
and ``api_fastapi/core_api/services/ui/connections.py`` of each release):

* 3.2 and later read ``conn-fields`` and ``ui-field-behaviour`` from the provider info
  (:func:`conn_fields`, :func:`ui_field_behaviour`) and then skip the hook's form methods.
* 3.0 and 3.1 read only the hook's ``get_connection_form_widgets`` and ``get_ui_field_behaviour``,
  and only when the hook class defines them itself; their API server turns the WTForms fields
  into the same JSON-schema params (label, description, default, ``any_of`` as an enum).

What no Airflow 3 UI shows: ``placeholders`` of extra fields (the React form takes placeholders
of the standard fields only). An extra field shows its ``description``, and on 3.2+ the values in
``examples`` as suggestions, so each description names an example value itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_materialize.sql import (
    MATERIALIZE_DEFAULT_DATABASE,
    MATERIALIZE_DEFAULT_PORT,
    MATERIALIZE_DEFAULT_USER,
)

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


@dataclass(frozen=True, kw_only=True)
class ExtraField:
    """One field of the form stored in the connection's extra.

    :param name: Key in the connection's extra.
    :param label: Label shown in the form.
    :param description: Help text under the field; says what an empty field means.
    :param examples: Values the 3.2+ form suggests while typing.
    :param choices: Allowed values (a drop-down). Empty is always allowed and is not one of them:
        an enum holding ``None`` makes the form offer a literal ``null``.
    """

    name: str
    label: str
    description: str
    examples: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()

    def schema(self) -> dict[str, Any]:
        """The field's JSON schema in the ``conn-fields`` declaration."""
        schema: dict[str, Any] = {"type": ["string", "null"]}
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.examples:
            schema["examples"] = list(self.examples)
        return schema


EXTRA_FIELDS = (
    ExtraField(
        name="cluster",
        label="Cluster",
        description="Compute cluster every session uses (SET cluster = ...), e.g. quickstart. "
        "Empty: the server's default cluster.",
        examples=("quickstart",),
    ),
    ExtraField(
        name="sslmode",
        label="SSL mode",
        description="libpq sslmode. Empty: libpq's default (prefer). "
        "Materialize Cloud needs require or stricter.",
        choices=SSL_MODES,
    ),
    ExtraField(
        name="application_name",
        label="Application name",
        description="Name the server shows for these sessions, e.g. airflow. Empty: none.",
        examples=("airflow",),
    ),
)

# Standard fields: every field left empty falls back to Materialize's default (MaterializeHook).
# Except for Airflow 3.3's Test button: its connection list sends an empty port as 0, which the API
# server takes for a different endpoint than the stored one and answers 400 "Bad Request" before
# the hook runs. So the port's placeholder asks for the number instead of only showing it.
RELABELING = {"schema": "Database", "login": "User", "password": "Password / app password"}
PORT_PLACEHOLDER = f"{MATERIALIZE_DEFAULT_PORT} (type it in: Airflow's Test button needs a port)"
PLACEHOLDERS = {
    "host": "<id>.<region>.aws.materialize.cloud",
    "port": PORT_PLACEHOLDER,
    "schema": MATERIALIZE_DEFAULT_DATABASE,
    "login": f"{MATERIALIZE_DEFAULT_USER} (Cloud: your e-mail address)",
}


def conn_fields() -> dict[str, dict[str, Any]]:
    """The ``conn-fields`` declaration of the provider info (read by Airflow 3.2+)."""
    return {
        field.name: {"label": field.label, "description": field.description, "schema": field.schema()}
        for field in EXTRA_FIELDS
    }


def ui_field_behaviour() -> dict[str, Any]:
    """The ``ui-field-behaviour`` declaration of the provider info (kebab-case keys, Airflow 3.2+)."""
    return {"hidden-fields": [], "relabeling": dict(RELABELING), "placeholders": dict(PLACEHOLDERS)}


def legacy_ui_field_behaviour() -> dict[str, Any]:
    """What ``get_ui_field_behaviour`` returns (snake_case keys, read by Airflow 3.0 and 3.1)."""
    return {"hidden_fields": [], "relabeling": dict(RELABELING), "placeholders": dict(PLACEHOLDERS)}


def legacy_form_widgets() -> dict[str, Any]:
    """What ``get_connection_form_widgets`` returns: WTForms fields (read by Airflow 3.0 and 3.1).

    The imports are the names Airflow's API server replaces with its own stand-ins when Flask
    AppBuilder is not installed (``wtforms.validators.any_of`` becomes the enum), so they stay
    exactly these.
    """
    from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import StringField
    from wtforms.validators import Optional, any_of

    widgets: dict[str, Any] = {}
    for field in EXTRA_FIELDS:
        validators = [Optional()]
        if field.choices:
            validators.append(any_of(list(field.choices)))
        widgets[field.name] = StringField(
            lazy_gettext(field.label),
            validators=validators,
            description=field.description,
            widget=BS3TextFieldWidget(),
        )
    return widgets
