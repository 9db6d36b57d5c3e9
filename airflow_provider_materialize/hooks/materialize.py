"""MaterializeHook: the Postgres provider's hook with Materialize's defaults, cluster and detection."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import quote, urlencode

from airflow_provider_materialize.compat import PostgresHook
from airflow_provider_materialize.hooks import connection_form
from airflow_provider_materialize.hooks.statements import execute_one
from airflow_provider_materialize.sql import (
    DETECT_MATERIALIZE_SQL,
    MATERIALIZE_DEFAULT_DATABASE,
    MATERIALIZE_DEFAULT_PORT,
    MATERIALIZE_DEFAULT_USER,
    POSTGRES_VERSION_SQL,
    ServerFlavor,
    create_aws_connection_sql,
    create_secret_sql,
    set_cluster_sql,
    validate_connection_sql,
)

_UNDEFINED_FUNCTION = "42883"
_LOGIN_REFUSED = ("password authentication failed", "invalid password")
# libpq keywords a connection's extra may carry through to the Arrow (ADBC) reader's URI.
_LIBPQ_URI_PARAMS = (
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "connect_timeout",
    "options",
    "target_session_attrs",
    "keepalives",
    "keepalives_idle",
)


class MaterializeHook(PostgresHook):
    """
    Interact with Materialize over its PostgreSQL wire protocol.

    Connection fields left empty fall back to Materialize's defaults: port 6875, user
    ``materialize`` and database ``materialize``. Extras understood beyond the Postgres hook's:
    ``cluster`` (the compute cluster every session uses), ``sslmode`` (``require`` for
    Materialize Cloud) and ``application_name``.

    :param materialize_conn_id: The Airflow connection to use (type ``materialize``).
    :param cluster: Compute cluster for this hook's sessions; overrides the connection's
        ``cluster`` extra. Ignored, with a warning, when the server is plain PostgreSQL.
    """

    conn_name_attr = "materialize_conn_id"
    default_conn_name = "materialize_default"
    conn_type = "materialize"
    hook_name = "Materialize"
    ignored_extra_options = PostgresHook.ignored_extra_options | {"cluster"}

    # Airflow 3.0 and 3.1 read the form from these two methods, 3.2+ from the provider info.
    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The form's extra fields (cluster, SSL mode, application name) as WTForms fields."""
        return connection_form.legacy_form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Labels and placeholders of the form's standard fields."""
        return connection_form.legacy_ui_field_behaviour()

    def __init__(self, *args: Any, cluster: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cluster_override = cluster
        self._server_info: tuple[ServerFlavor, str] | None = None
        self._warned_cluster_ignored = False

    @property
    def connection(self) -> Any:
        """The Airflow connection, with Materialize's defaults filled into empty fields."""
        current: Any = self._connection  # type: ignore[has-type]
        if current is None:
            current = self._connection = self.get_connection(self.get_conn_id())
        # Remembered on the hook: Airflow 3.1's Task SDK Connection has slots, so no marker attribute.
        if current is not getattr(self, "_connection_with_defaults", None):
            conn = copy.copy(current)
            conn.port = conn.port or MATERIALIZE_DEFAULT_PORT
            conn.login = conn.login or MATERIALIZE_DEFAULT_USER
            conn.schema = conn.schema or MATERIALIZE_DEFAULT_DATABASE
            self._connection = self._connection_with_defaults = conn
        return self._connection

    @connection.setter
    def connection(self, value: Any) -> None:
        self._connection = value

    @property
    def cluster(self) -> str | None:
        """The cluster sessions use: the hook argument, else the connection's ``cluster`` extra."""
        return self.cluster_override or self.connection.extra_dejson.get("cluster") or None

    def get_conn(self) -> Any:
        """Open a psycopg connection and route it to the configured cluster (on Materialize)."""
        try:
            conn: Any = super().get_conn()
        except Exception as error:
            if not any(text in str(error).lower() for text in _LOGIN_REFUSED):
                raise
            raise PermissionError(self._login_refused(error)) from error
        was_autocommit = conn.autocommit
        conn.autocommit = True
        try:
            cursor = conn.cursor()
            if self._server_info is None:
                self._server_info = self._detect_server(cursor)
            for statement in self.session_setup_statements():
                execute_one(cursor, statement)
            cursor.close()
        finally:
            conn.autocommit = was_autocommit
        return conn

    def _login_refused(self, error: Exception) -> str:
        conn_id = self.get_conn_id()
        conn = self.connection
        return (
            f"The server at {conn.host}:{conn.port} refused the login of user {conn.login!r} from the "
            f"Airflow connection {conn_id!r}: {str(error).strip()}. Correct the user and password of "
            f"{conn_id!r} (Admin > Connections in the Airflow UI, or where the connection is defined); "
            "on Materialize Cloud the password is an app password."
        )

    def session_setup_statements(self) -> list[str]:
        """Statements every new session runs before any query: selecting the cluster on Materialize."""
        flavor, _ = self.server_info
        if not self.cluster:
            return []
        if flavor is ServerFlavor.MATERIALIZE:
            return [set_cluster_sql(self.cluster)]
        if not self._warned_cluster_ignored:
            self._warned_cluster_ignored = True
            self.log.warning(
                "Cluster %r is set, but the server behind %r is PostgreSQL (no clusters): ignoring it",
                self.cluster,
                self.get_conn_id(),
            )
        return []

    @property
    def server_info(self) -> tuple[ServerFlavor, str]:
        """``(flavor, version)`` of the server behind the connection (connects once to find out)."""
        if self._server_info is None:
            self.get_conn().close()
        assert self._server_info is not None
        return self._server_info

    @staticmethod
    def _detect_server(cursor: Any) -> tuple[ServerFlavor, str]:
        try:
            cursor.execute(DETECT_MATERIALIZE_SQL)
            return ServerFlavor.MATERIALIZE, str(cursor.fetchone()[0])
        except Exception as error:
            code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
            if code != _UNDEFINED_FUNCTION:
                raise
        cursor.execute(POSTGRES_VERSION_SQL)
        return ServerFlavor.POSTGRES, str(cursor.fetchone()[0])

    @property
    def is_materialize(self) -> bool:
        return self.server_info[0] is ServerFlavor.MATERIALIZE

    def get_libpq_uri(self) -> str:
        """A plain ``postgresql://`` URI (libpq form) for readers that take one, such as ADBC."""
        conn = self.connection
        auth = quote(conn.login or "", safe="")
        if conn.password:
            auth += ":" + quote(conn.password, safe="")
        host = conn.host or "localhost"
        database = quote(self.database or conn.schema or MATERIALIZE_DEFAULT_DATABASE, safe="")
        params = {
            key: str(value)
            for key, value in conn.extra_dejson.items()
            if key in _LIBPQ_URI_PARAMS and value not in (None, "")
        }
        query = f"?{urlencode(params)}" if params else ""
        return f"postgresql://{auth}@{host}:{conn.port}/{database}{query}"

    def test_connection(self) -> tuple[bool, str]:  # type: ignore[override]
        """Connect, and report which server answered and its version (the UI's Test button)."""
        try:
            flavor, version = self.server_info
        except Exception as error:
            return False, f"Could not connect: {error}"
        if flavor is ServerFlavor.MATERIALIZE:
            cluster = f", cluster {self.cluster}" if self.cluster else ""
            return True, f"Connected to Materialize {version}{cluster}"
        return True, f"Connected to PostgreSQL {version} (not Materialize: Materialize-only features are off)"

    def create_aws_connection(
        self,
        name: str,
        *,
        role_arn: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        region: str | None = None,
        endpoint: str | None = None,
        validate: bool = True,
    ) -> None:
        """
        Create the Materialize AWS connection that native-mode exports name in ``aws_connection``.

        Nothing happens when a connection of that name exists already (it is validated all the same).
        Give either ``role_arn`` (recommended: Materialize assumes the role) or ``access_key_id`` and
        ``secret_access_key`` (e.g. for MinIO or another S3-compatible store); the secret key is
        stored as the Materialize secret ``<name>_secret_access_key`` and never logged.

        :param name: Name of the connection, optionally ``schema.name``.
        :param role_arn: IAM role Materialize assumes to write to the bucket.
        :param access_key_id: Access key ID, with ``secret_access_key``.
        :param secret_access_key: Secret access key, with ``access_key_id``.
        :param region: AWS region of the bucket.
        :param endpoint: Endpoint of an S3-compatible store.
        :param validate: Run ``VALIDATE CONNECTION`` afterwards.
        """
        if (role_arn is None) == (access_key_id is None) or (access_key_id is None) != (
            secret_access_key is None
        ):
            raise ValueError("give either role_arn= or both access_key_id= and secret_access_key=")
        if not self.is_materialize:
            raise RuntimeError(
                f"Connection {self.get_conn_id()!r} leads to PostgreSQL: AWS connections need Materialize"
            )
        options = {
            "ASSUME ROLE ARN": role_arn,
            "ACCESS KEY ID": access_key_id,
            "REGION": region,
            "ENDPOINT": endpoint,
        }
        statements, secrets = [], {}
        if secret_access_key is not None:
            secret_name = f"{name}_secret_access_key"
            statements += create_secret_sql(secret_name, secret_access_key)
            secrets["SECRET ACCESS KEY"] = secret_name
        given = {option: value for option, value in options.items() if value is not None}
        statements.append(create_aws_connection_sql(name, given, secrets))
        with self.get_conn() as conn:
            conn.autocommit = True
            cursor = conn.cursor()
            for statement in statements:
                execute_one(cursor, statement)
        self.log.info(
            "Materialize AWS connection %s is in place (%s)", name, ", ".join(given) or "no options"
        )
        if validate:
            self.validate_aws_connection(name)

    def validate_aws_connection(self, name: str) -> None:
        """Run ``VALIDATE CONNECTION``; fail with Materialize's reason and what to check."""
        try:
            with self.get_conn() as conn:
                conn.autocommit = True
                execute_one(conn.cursor(), validate_connection_sql(name))
        except Exception as error:
            raise RuntimeError(
                f"Materialize could not validate the AWS connection {name!r}: {error}\n"
                "Check the role ARN and its trust policy (Materialize must be allowed to assume it), or the "
                "access key, the region and the endpoint."
            ) from error
        self.log.info("Materialize validated the AWS connection %s", name)
