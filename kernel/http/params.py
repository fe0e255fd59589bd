"""Bounded numbers for route parameters: a number the database cannot bind (SQLite and
PostgreSQL integers stop at 2**63 - 1) is a 400 naming the bound, not a 500, and the OpenAPI
schema states the range. 2**53 - 1 stays exact in every JSON client (the schema writes
bounds as floats)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

MAX_ROW_ID = 2**53 - 1

RowId = Annotated[int, Parameter(ge=1, le=MAX_ROW_ID, description="a row's id")]
"""An integer id in a path or query: `async def show(issue_id: RowId) -> ...`."""

Limit = Annotated[int, Parameter(ge=1, le=1000, description="at most this many rows")]
Offset = Annotated[int, Parameter(ge=0, le=MAX_ROW_ID, description="rows to skip")]
