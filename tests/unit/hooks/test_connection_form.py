"""The connection form declaration, as each Airflow 3 version reads it."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import airflow
import jsonschema
import pytest

from airflow_provider_materialize.get_provider_info import get_provider_info
from airflow_provider_materialize.hooks import connection_form
from airflow_provider_materialize.hooks.materialize import MaterializeHook


def _connection_type() -> dict[str, Any]:
    (declared,) = get_provider_info()["connection-types"]
    return declared


def test_declaration_is_valid_for_airflows_provider_yaml_schema() -> None:
    schema = json.loads((Path(airflow.__file__).parent / "provider.yaml.schema.json").read_text())
    jsonschema.validate(_connection_type(), schema["properties"]["connection-types"]["items"])


def test_no_choice_list_offers_null() -> None:
    # The 3.3 form renders an enum's None as a literal "null" choice.
    for name, field in connection_form.conn_fields().items():
        assert None not in field["schema"].get("enum", []), name
    assert connection_form.conn_fields()["sslmode"]["schema"]["enum"] == list(connection_form.SSL_MODES)


def test_placeholders_name_only_standard_fields() -> None:
    # No Airflow 3 form shows placeholders of extra fields: the description carries the example.
    placeholders = _connection_type()["ui-field-behaviour"]["placeholders"]
    assert set(placeholders) <= {"host", "port", "schema", "login", "password", "description"}
    assert placeholders["port"].startswith("6875 (type it in")
    for field in connection_form.EXTRA_FIELDS:
        for example in field.examples:
            assert f"e.g. {example}" in field.description, field.name
        assert "Empty:" in field.description, field.name


def test_the_api_server_of_this_airflow_sends_fields_with_examples() -> None:
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    (meta,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "materialize"]
    assert meta.standard_fields is not None and meta.standard_fields.port is not None
    assert meta.standard_fields.port.placeholder == connection_form.PORT_PLACEHOLDER
    assert meta.standard_fields.url_schema is not None and meta.standard_fields.url_schema.title == "Database"
    extra = meta.extra_fields or {}
    assert set(extra) == {"cluster", "sslmode", "application_name"}
    assert extra["cluster"]["schema"]["examples"] == ["quickstart"]
    assert extra["cluster"]["schema"]["title"] == "Cluster"
    assert None not in extra["sslmode"]["schema"]["enum"]


def test_hook_declares_the_form_itself_for_airflow_3_0_and_3_1() -> None:
    # 3.0 and 3.1 call these only when the hook class defines them, not when it inherits them.
    assert "get_connection_form_widgets" in MaterializeHook.__dict__
    assert "get_ui_field_behaviour" in MaterializeHook.__dict__
    behaviour = MaterializeHook.get_ui_field_behaviour()
    assert behaviour["placeholders"] == _connection_type()["ui-field-behaviour"]["placeholders"]
    assert behaviour["relabeling"] == _connection_type()["ui-field-behaviour"]["relabeling"]


@pytest.fixture
def airflow_3_0_form_stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    """The WTForms and Flask names replaced by the stand-ins Airflow 3.0/3.1's API server uses."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    modules: dict[str, dict[str, Any]] = {
        "wtforms": {"StringField": HookMetaService.MockStringField},
        "wtforms.validators": {
            "Optional": HookMetaService.MockOptional,
            "any_of": HookMetaService.MockEnum,
        },
        "flask_babel": {"lazy_gettext": str},
        "flask_appbuilder": {},
        "flask_appbuilder.fieldwidgets": {"BS3TextFieldWidget": HookMetaService.MockAnyWidget},
    }
    for name, attributes in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        monkeypatch.setitem(sys.modules, name, module)


@pytest.mark.usefixtures("airflow_3_0_form_stand_ins")
def test_legacy_widgets_become_the_same_params_as_conn_fields() -> None:
    widgets = MaterializeHook.get_connection_form_widgets()
    declared = connection_form.conn_fields()
    assert set(widgets) == set(declared)
    for name, widget in widgets.items():
        param = widget.param.dump()
        assert param["schema"]["title"] == declared[name]["label"]
        assert param["description"] == declared[name]["description"]
        assert param["schema"].get("enum") == declared[name]["schema"].get("enum")
        assert param["value"] is None
