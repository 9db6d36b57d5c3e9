"""Relaying PostgreSQL's answers to the client, rewritten where Materialize's differ.

Each extended-protocol message is forwarded on its own, followed by a Flush, and PostgreSQL's answer
to it is relayed before the next one is read; so the stand-in always knows which answer belongs to
which message and can replace one. After an error PostgreSQL discards messages until Sync; so does
the stand-in (``skipping``), forwarding them without waiting for answers. An error the stand-in
makes itself is preceded by a statement that fails in PostgreSQL, so that PostgreSQL's transaction
state (aborted block, skipped messages) is what Materialize's would be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.materialize_standin import wire
from tests.support.materialize_standin.errors import MzError
from tests.support.materialize_standin.rules import Plan, Result
from tests.support.materialize_standin.types import patch_array_values
from tests.support.materialize_standin.wire import Channel, notice_fields

if TYPE_CHECKING:
    from tests.support.materialize_standin.server import MaterializeStandin

FAILING_SQL = "mz_standin_injected_failure"


class Relay:
    standin: MaterializeStandin
    client: Channel
    pg: Channel | None
    cluster: str
    skipping: bool

    def _forward(self, tag: bytes, body: bytes, flush: bool = True) -> None:
        assert self.pg is not None
        self.pg.send(tag, body)
        if flush:
            self.pg.send(b"H")
        self.pg.flush()

    def _relay(
        self,
        terminals: bytes,
        patches: dict[int, bytes] | None = None,
        plan: Plan | None = None,
        forward_ready: bool = True,
    ) -> tuple[bytes, bool]:
        """Pass PostgreSQL's messages on until one in ``terminals``; returns it and whether an error came."""
        assert self.pg is not None
        failed = False
        while True:
            tag, body = self.pg.recv()
            if tag == b"T":
                body = self._row_description(body)
            elif tag == b"D" and patches:
                body = wire.build_data_row(patch_array_values(wire.parse_data_row(body), patches))
            elif tag == b"C" and plan is not None and plan.on_complete is not None:
                for notice in plan.on_complete(self):
                    self.client.send(b"N", notice)
            elif tag == b"E":
                failed = True
            if tag == b"G":  # CopyInResponse: the client's CopyData go to PostgreSQL until CopyDone/CopyFail
                self.client.send(tag, body)
                self._copy_in()
                continue
            if tag != b"Z" or forward_ready or failed:
                self.client.send(tag, body)
            if tag in terminals or (tag == b"E" and b"Z" not in terminals):
                if tag == b"E":
                    self.skipping = True
                return tag, failed

    def _copy_in(self) -> None:
        self.client.flush()
        while True:
            tag, body = self.client.recv()
            self._forward(tag, body, flush=False)
            if tag in (b"c", b"f"):
                return

    def _row_description(self, body: bytes) -> bytes:
        columns = self.standin.types.rewrite_columns(wire.parse_row_description(body))
        return wire.build_row_description(columns)

    def _swallow_until(self, wanted: bytes) -> tuple[bytes, bytes]:
        """Read PostgreSQL's answer to something the stand-in sent itself; notices still reach the client."""
        assert self.pg is not None
        while True:
            tag, body = self.pg.recv()
            if tag in wanted or tag == b"E":
                return tag, body
            if tag in (b"N", b"S", b"A"):
                self.client.send(tag, body)

    def _run_plan(self, plan: Plan) -> Result:
        """Run a statement the stand-in answers itself; a bug of its own becomes an error, not a hang."""
        assert plan.run is not None
        try:
            return plan.run(self)
        except MzError:
            raise
        except Exception as bug:
            raise MzError(f"stand-in internal error: {bug!r}") from bug

    def _error(self, error: MzError) -> None:
        self.client.send(b"E", notice_fields("ERROR", error.code, error.message, error.hint))

    def cluster_error(self) -> MzError | None:
        if self.cluster in self.standin.clusters:
            return None
        # CatalogError::UnknownCluster (src/sql/src/catalog.rs) when the query resolves its cluster
        return MzError(f"unknown cluster '{self.cluster}'")

    def check_cluster(self) -> None:
        error = self.cluster_error()
        if error is not None:
            raise error
