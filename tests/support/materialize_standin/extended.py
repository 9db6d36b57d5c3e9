"""The extended query protocol: Parse, Bind, Describe, Execute, Close, Sync."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.support.materialize_standin import wire
from tests.support.materialize_standin.errors import PROTOCOL_VIOLATION, MzError
from tests.support.materialize_standin.relay import FAILING_SQL, Relay
from tests.support.materialize_standin.rules import Plan, classify
from tests.support.materialize_standin.sqltext import split_statements
from tests.support.materialize_standin.wire import cstring


@dataclass
class Portal:
    plan: Plan
    patches: dict[int, bytes] = field(default_factory=dict)


class ExtendedProtocol(Relay):
    statements: dict[str, Plan]
    statement_types: dict[str, list[int]]
    portals: dict[str, Portal]

    def _extended_fail(self, error: MzError) -> None:
        self._forward(b"P", wire.build_parse("mz_standin_failure", FAILING_SQL))
        self._swallow_until(b"E")
        self.skipping = True
        self._error(error)

    def _parse(self, body: bytes) -> None:
        name, sql, rest = wire.parse_message(body)
        self.standin.statements.append(sql)
        if self.skipping:
            self._forward(b"P", body, flush=False)
            return
        several = len(split_statements(sql)) > 1  # PostgreSQL refuses those itself
        plan = Plan(sql) if several else classify(sql, self.standin.clusters, self.standin.catalog)
        self._forward(b"P", wire.build_parse(name, plan.sql, rest))
        if self._relay(b"1")[0] == b"1":
            self.statements[name] = plan
            self.statement_types.pop(name, None)

    def _statement_types(self, name: str) -> list[int] | None:
        if name not in self.statement_types:
            self._forward(b"D", b"S" + cstring(name))
            tag, body = self._swallow_until(b"Tn")
            if tag == b"E":
                self.client.send(tag, body)
                self.skipping = True
                return None
            self.statement_types[name] = (
                [c.type_oid for c in wire.parse_row_description(body)] if tag == b"T" else []
            )
        return self.statement_types[name]

    def _bind(self, body: bytes) -> None:
        if self.skipping:
            self._forward(b"B", body, flush=False)
            return
        bind = wire.parse_bind(body)
        patches: dict[int, bytes] = {}
        if 1 in bind.result_formats:
            types = self._statement_types(bind.statement)
            if types is None:
                return
            for index, oid in enumerate(types):
                if bind.result_format(index) != 1:
                    continue
                refusal = self.standin.types.binary_refusal(oid)
                if refusal is not None:
                    self._extended_fail(MzError(refusal, PROTOCOL_VIOLATION))
                    return
                patch = self.standin.types.array_element_patch(oid)
                if patch is not None:
                    patches[index] = patch
        self._forward(b"B", body)
        if self._relay(b"2")[0] == b"2":
            self.portals[bind.portal] = Portal(self.statements.get(bind.statement, Plan("")), patches)

    def _describe(self, body: bytes) -> None:
        self._forward(b"D", body, flush=not self.skipping)
        if self.skipping:
            return
        assert self.pg is not None
        while True:  # ParameterDescription first for a statement, then RowDescription or NoData
            tag, answer = self.pg.recv()
            if tag == b"T" and body[:1] == b"S":
                self.statement_types[wire.split_cstring(body, 1)[0]] = [
                    c.type_oid for c in wire.parse_row_description(answer)
                ]
            self.client.send(tag, self._row_description(answer) if tag == b"T" else answer)
            if tag in (b"T", b"n", b"E"):
                self.skipping = self.skipping or tag == b"E"
                return

    def _execute(self, body: bytes) -> None:
        if self.skipping:
            self._forward(b"E", body, flush=False)
            return
        portal = self.portals.get(wire.split_cstring(body, 0)[0]) or Portal(Plan(""))
        plan = portal.plan
        error = self.cluster_error() if plan.needs_cluster else None
        if error is not None:
            self._extended_fail(error)
            return
        self._forward(b"E", body)
        if plan.run is None:
            self._relay(b"CIs", patches=portal.patches, plan=plan)
            return
        tag, answer = self._swallow_until(b"C")  # the placeholder ran; its own errors are the answer
        if tag == b"E":
            self.client.send(tag, answer)
            self.skipping = True
            return
        try:
            result = self._run_plan(plan)
        except MzError as failure:
            self._extended_fail(failure)
            return
        for notice in result.notices:
            self.client.send(b"N", notice)
        self.client.send(b"C", cstring(result.tag))

    def _close(self, body: bytes) -> None:
        self._forward(b"C", body, flush=not self.skipping)
        name = wire.split_cstring(body, 1)[0]
        (self.statements if body[:1] == b"S" else self.portals).pop(name, None)  # type: ignore[attr-defined]
        if not self.skipping:
            self._relay(b"3")

    def _sync(self, body: bytes) -> None:
        self._forward(b"S", body, flush=False)
        self._relay(b"Z")
        self.skipping = False
