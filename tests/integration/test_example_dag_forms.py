"""What the example DAGs show in the UI: descriptions, docs, titled Params, a Trigger form that checks sizes.

No servers: the DAG files are only parsed, and Airflow's own Param validation (the JSON schema the
Trigger form enforces) is applied to the values a person could type.
"""

from __future__ import annotations

import re

import pytest

from airflow_provider_materialize.export.sizes import SIZE_PATTERN, parse_size
from airflow_provider_materialize.get_provider_info import get_provider_info
from tests.support.dag_runs import load_example_dag

EXAMPLES = ["materialize_nightly_snapshot", "materialize_snapshot_on_demand", "materialize_native_export"]
SIZES = ["256MB", "1.5GB", "512MiB", "2g", " 64 MB ", ".5GB", "1.", "1048576", "16mb", "1KIB", "3tb"]
NOT_SIZES = ["huge", "5b", "MB", "1e6", "1,000", "2 GiB x", "-1MB", "256 M B", ""]


@pytest.mark.parametrize("dag_id", EXAMPLES)
def test_every_example_dag_has_a_description_docs_and_titled_params(dag_id: str) -> None:
    dag = load_example_dag(dag_id)
    assert dag.description and len(dag.description) < 120
    assert dag.doc_md and len(dag.doc_md.strip().splitlines()) > 2
    for name in dag.params:
        param = dag.params.get_param(name)
        assert param.schema.get("title") and param.description, (dag_id, name)


def test_the_trigger_form_refuses_a_size_that_is_not_one() -> None:
    from airflow.sdk.definitions.param import ParamValidationError

    param = load_example_dag("materialize_snapshot_on_demand").params.get_param("max_file_size")
    assert param.schema["pattern"] == SIZE_PATTERN
    for text in SIZES:
        assert param.resolve(text) == text
    for text in NOT_SIZES:
        with pytest.raises(ParamValidationError):
            param.resolve(text)


@pytest.mark.parametrize("text", SIZES + NOT_SIZES)
def test_the_form_pattern_accepts_exactly_what_parse_size_reads(text: str) -> None:
    try:
        parse_size(text)
        parsed = True
    except ValueError:
        parsed = False
    assert bool(re.search(SIZE_PATTERN, text)) is parsed


def test_the_provider_page_links_to_the_documentation_project_url() -> None:
    from importlib.metadata import metadata

    urls = dict(
        (label.strip(), url.strip())
        for label, _, url in (
            entry.partition(",")
            for entry in metadata("airflow-provider-materialize").get_all("Project-URL") or []
        )
    )
    info = get_provider_info()
    assert info["documentation-url"] == urls["Documentation"]
    assert urls["Documentation"].startswith(urls["Source"])
    assert info["versions"][0] == metadata("airflow-provider-materialize")["Version"]
    assert not re.search(r"https?://\S*:(\s|$)", info["description"])
