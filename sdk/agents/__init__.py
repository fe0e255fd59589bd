"""The agent toolkit: an agent is a plugin with typed input and output and a `run` function.

An agent plugin is `plugin.toml` (with `requires = ["agents"]`), `__init__.py` (wiring),
`agent.py` (input and output structs, `run`), `tests/`, `locales/`, and `data/` when it
ships data. `agent.py`::

    from typing import Annotated

    import msgspec

    from mindframe.sdk.agents import Agent, Run
    from mindframe.sdk.i18n import N_

    class Question(msgspec.Struct):
        text: Annotated[str, msgspec.Meta(description=N_("What to answer"), examples=["hi"])]

    class Answer(msgspec.Struct):
        text: str

    async def run(data: Question, run: Run) -> Answer:
        found = await run.step("look up", look_up, data.text)   # checkpointed
        return Answer(text=run.gettext("Found: {found}").format(found=found))

    AGENT = Agent(
        industry="demo",
        title=N_("Answers questions"),
        description=N_("Looks the question up and answers it."),
        input=Question,
        output=Answer,
        run=run,
    )

`__init__.py`::

    from typing import Any

    from mindframe.sdk import PluginContext, hookimpl
    from mindframe.sdk.agents import serve_agent

    from .agent import AGENT

    @hookimpl
    def register_routes(ctx: PluginContext) -> list[Any]:
        return serve_agent(ctx, AGENT)

That gives the agent, under its plugin's name:

- `POST /api/<agent>/run` with the input as JSON: 200 with the run (`RunView`: `run_id`,
  `status`, `output` …) once it completed; 202 when it stopped for approval, or at once
  with `Prefer: respond-async` (then follow `Location`); problem details otherwise;
- the bus topic `agents.<agent>.run` (request/reply), and `agents.<agent>.progress` and
  `agents.<agent>.status` as runs go on (`events.agent_topics`);
- a run history (input digest, output, duration, status, who asked) and a trace of each
  run's steps, tool calls and durations, kept by the `agents` plugin and read under
  `/api/agents/runs/<id>`;
- its entry in `GET /api/agents` and `GET /api/agents/<agent>`: industry, title and
  description in the caller's locale, input and output JSON schemas; and an MCP tool
  when the `mcp` plugin runs.

Inside `run`, the `Run` handle gives checkpointed steps (a run resumes from its last
checkpoint after a restart or a reload), tool calls, progress, cancellation (at any await),
an approval step, decisions from the learning engine with rewards, translation in the
asker's locale, and prose from a language model when the `llm` plugin is configured.
"""

from .contracts import (
    SETTLED,
    AgentHandle,
    AgentRegistry,
    AuditEntry,
    RegisteredAgent,
    RunChange,
    RunRecord,
    RunStore,
    RunView,
    Status,
    StoredRun,
    TraceEntry,
)
from .declaration import Agent, AgentError
from .events import AgentTopics, RunProgressed, RunRequested, RunStatusChanged, agent_topics
from .run import Approval, Run
from .schemas import schema_of, translated
from .serving import serve_agent

__all__ = [
    "SETTLED",
    "Agent",
    "AgentError",
    "AgentHandle",
    "AgentRegistry",
    "AgentTopics",
    "Approval",
    "AuditEntry",
    "RegisteredAgent",
    "Run",
    "RunChange",
    "RunProgressed",
    "RunRecord",
    "RunRequested",
    "RunStatusChanged",
    "RunStore",
    "RunView",
    "Status",
    "StoredRun",
    "TraceEntry",
    "agent_topics",
    "schema_of",
    "serve_agent",
    "translated",
]
