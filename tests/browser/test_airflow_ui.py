"""The provider as a person meets it in Airflow's UI, in headless Chromium.

The tests run in file order and build on each other: the connection saved through the form is the
one the triggered run uses.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.airflow_stack import BUCKET, AirflowStack
from tests.browser.page import Page, wait_until

DAG_ID = "materialize_snapshot_on_demand"
TASK_ID = "snapshot_to_s3"
PLACEHOLDERS = {
    "host": "<id>.<region>.aws.materialize.cloud",
    "port": "6875 (type it in: Airflow's Test button needs a port)",
    "login": "materialize (Cloud: your e-mail address)",
    "schema": "materialize",
}


def _open_materialize_form(page: Page) -> None:
    page.open("/connections")
    page.button("Add Connection").click()
    page.element("the Connection ID input", By.NAME, "connection_id")
    kind = page.element("the Connection Type picker", By.CSS_SELECTOR, "[role=dialog] input[role=combobox]")
    kind.send_keys("Materialize")
    page.wait("Materialize in the type list", lambda: "Materialize" in page.text() or None)
    kind.send_keys(Keys.ENTER)
    page.element("the Host field of the Materialize form", By.NAME, "host")


def test_connection_form_shows_its_fields_with_placeholders(page: Page) -> None:
    _open_materialize_form(page)
    for name, placeholder in PLACEHOLDERS.items():
        field = page.element(f"the {name} field", By.NAME, name)
        assert field.get_attribute("placeholder") == placeholder, name
    dialog = page.text()
    for label in ("Host", "User", "Password / app password", "Port", "Database"):
        assert label in dialog, label
    page.screenshot("connection-form-standard-fields")

    page.button("Extra Fields").click()
    cluster = page.element("the Cluster field", By.ID, "element_cluster")
    texts = page.wait_for_text("e.g. quickstart")
    for label in ("Cluster", "SSL mode", "Application name", "Empty: the server's default cluster"):
        assert label in texts, label
    suggestions = cluster.get_attribute("list")
    options = page.driver.find_elements(By.CSS_SELECTOR, f"datalist[id='{suggestions}'] option")
    assert [o.get_attribute("value") for o in options] == ["quickstart"]
    page.screenshot("connection-form-extra-fields")

    ssl_mode = page.element("the SSL mode drop-down", By.CSS_SELECTOR, "#element_sslmode input")
    ssl_mode.send_keys(Keys.ARROW_DOWN)  # opens the menu
    choices = page.wait(
        "the SSL mode choices",
        lambda: (
            [e.text for e in page.driver.find_elements(By.CSS_SELECTOR, "#element_sslmode [id*='-option-']")]
            or None
        ),
    )
    assert choices == ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"], choices
    page.screenshot("connection-form-ssl-mode-choices")
    ssl_mode.send_keys(Keys.ESCAPE)


def test_filled_form_saves_and_the_test_button_succeeds(page: Page, airflow_stack: AirflowStack) -> None:
    _open_materialize_form(page)
    values = {
        "connection_id": "materialize_default",
        "host": "127.0.0.1",
        "port": str(airflow_stack.postgres.port),
        "login": "postgres",
        "schema": "materialize",
    }
    for name, value in values.items():
        page.element(f"the {name} field", By.NAME, name).send_keys(value)
    page.button("Save").click()
    page.wait_for_text("Connection has been successfully created")

    row = f"//tr[.//*[normalize-space(text())='{values['connection_id']}']]"
    test_button = f"{row}//button[@aria-label='Test Connection']"
    page.element("the Test button of materialize_default", By.XPATH, test_button).click()
    # The answer comes as a toast (hook.test_connection's message) and as the icon's colour.
    toast = page.wait(
        "the Test button's answer (a toast)",
        lambda: (
            next((line for line in page.text().splitlines() if "Connected to" in line), None)
            or ("Bad Request" in page.text() and "Bad Request")
            or None
        ),
    )
    page.screenshot("connection-test-button-answer")
    colour = page.driver.find_element(By.XPATH, f"{test_button}//*[name()='svg']").get_attribute("color")
    assert toast.startswith("Connected to PostgreSQL"), f"the Test button answered {toast!r}"
    assert colour == "green", colour


def _open_trigger_form(page: Page, values: dict[str, str]) -> None:
    page.open(f"/dags/{DAG_ID}")
    page.button("Trigger Dag").click()
    for name, value in values.items():
        field = page.element(f"the {name} param", By.ID, f"element_{name}")
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(value)


def _runs(page: Page) -> list[dict[str, Any]]:
    return list(page.api(f"/dags/{DAG_ID}/dagRuns")["dag_runs"])


def _xcom(page: Page, run_path: str) -> dict[str, Any]:
    entry = page.api(f"{run_path}/taskInstances/{TASK_ID}/xcomEntries/return_value?deserialize=true")
    value = entry["value"]
    return dict(json.loads(value) if isinstance(value, str) else value)


def test_trigger_form_refuses_a_bad_size(page: Page) -> None:
    _open_trigger_form(page, {"s3_uri": f"s3://{BUCKET}/refused/", "max_file_size": "huge"})
    page.button("Trigger").click()
    page.wait_for_text("Invalid input for param max_file_size")
    page.screenshot("trigger-form-refuses-huge")
    assert _runs(page) == [], "a run was created for max_file_size='huge'"
    page.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)


def test_triggered_run_succeeds_and_its_xcom_is_visible(page: Page) -> None:
    _open_trigger_form(page, {"s3_uri": f"s3://{BUCKET}/orders_summary/", "max_file_size": "1MB"})
    page.button("Trigger").click()
    (run,) = wait_until("the run to be created", lambda: _runs(page), timeout=60)
    run_id = run["dag_run_id"]
    finished = wait_until(
        "the run to finish",
        lambda: next((r for r in _runs(page) if r["state"] in ("success", "failed")), None),
        timeout=300,
    )
    run_path = f"/dags/{DAG_ID}/runs/{urllib.parse.quote(run_id, safe='')}"
    page.open(run_path)
    page.wait_for_text(TASK_ID)
    page.screenshot(f"run-{finished['state']}")
    assert finished["state"] == "success", f"the run ended {finished['state']}; see {run_path}"

    xcom = _xcom(page, f"/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run_id, safe='')}")
    page.open(f"{run_path}/tasks/{TASK_ID}/xcom")
    page.wait_for_text("return_value")
    page.button("Expand all extra JSON").click()  # the value starts folded: {...}
    shown = page.wait_for_text('"files"')
    page.screenshot("run-xcom")
    for key in ("rows", "bytes", "files"):
        assert key in shown, f"{key!r} is not on the XCom page"
    assert str(xcom["rows"]) in shown, f"rows={xcom['rows']} is not on the XCom page"
