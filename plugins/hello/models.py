"""The plugin's one table: every greeting it has given."""

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, func

metadata = MetaData()

greetings = Table(
    "hello_greetings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, index=True),
    Column("text", String(400), nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
)
