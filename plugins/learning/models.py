"""The plugin's tables: policies and their kept versions, the decision and reward log, and
A/B experiments. The two logs share one sequence (`seq`), the order the engine saw them in,
so a policy's state is its checkpoint plus whatever the log holds after `through`."""

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData()

policies = Table(
    "learning_policies",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("actions", LargeBinary, nullable=False),  # JSON list of action names
    Column("live_version", Integer, nullable=False),
    Column("reward_window", Float, nullable=False),
    Column("created_at", Float, nullable=False),
)

versions = Table(
    "learning_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("policy", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("options", LargeBinary, nullable=False),  # JSON
    Column("state", LargeBinary, nullable=True),  # JSON: the learner's checkpoint
    Column("through", Integer, nullable=False, server_default="0"),  # last seq in `state`
    Column("created_at", Float, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("evaluation", LargeBinary, nullable=True),  # JSON: why it was promoted
    UniqueConstraint("policy", "version", name="learning_versions_policy_version"),
)

decisions = Table(
    "learning_decisions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("id", String(40), nullable=False, unique=True),
    Column("policy", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("action", Integer, nullable=False),  # index into the policy's actions
    Column("propensity", Float, nullable=False),
    Column("context", LargeBinary, nullable=True),  # JSON
    Column("agent", String(200), nullable=True),
    Column("subject", String(200), nullable=True),
    Column("experiment", String(200), nullable=True),
    Column("arm", String(200), nullable=True),
    Column("made_at", Float, nullable=False),
)

rewards = Table(
    "learning_rewards",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("decision_id", String(40), nullable=False, unique=True),
    Column("policy", String(200), nullable=False),
    Column("value", Float, nullable=False),
    Column("done", Boolean, nullable=False),
    Column("agent", String(200), nullable=True),
    Column("received_at", Float, nullable=False),
)

experiments = Table(
    "learning_experiments",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("arms", LargeBinary, nullable=False),  # JSON {arm: {"policy", "weight"}}
    Column("metric", String(20), nullable=False),
    Column("alpha", Float, nullable=False),
    Column("power", Float, nullable=False),
    Column("effect", Float, nullable=False),
    Column("created_at", Float, nullable=False),
)
