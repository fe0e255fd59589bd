"""Cold start (issue 16): booting every built-in plugin on a fresh database imports only
what starting needs. Heavy packages are imported where they are used (an agent's run, a
learner's first decision, a migration that has to run), so they cost nothing until then."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

BOOT = textwrap.dedent(
    """
    import json
    import sys
    from pathlib import Path

    import anyio

    import mindframe.kernel.cli  # what `mindframe run` imports before it boots
    from mindframe.kernel.runtime import Runtime
    from mindframe.kernel.settings import load_settings


    async def main() -> None:
        settings = load_settings(environ={}, overrides={"data_dir": Path(sys.argv[1])})
        async with Runtime(settings) as runtime:
            states = {name: record.state.value for name, record in runtime.records.items()}
            modules = sorted(sys.modules)
        print(json.dumps({"states": states, "modules": modules}))


    anyio.run(main)
    """
)

NOT_AT_START = {
    "alembic": "the fresh database is stamped without Alembic (kernel/stamp.py)",
    "mako": "Alembic's templates, for writing revisions only",
    "numpy": "imported by the learners and agents where they compute",
    "aiosmtpd": "the mail plugin's inbound listener, off unless given a port",
    "scipy": "imported inside agents' and experiments' computations",
    "sklearn": "imported inside an agent's run",
    "statsmodels": "imported inside an agent's run and an experiment's analysis",
    "ortools": "imported inside an agent's run",
}


def boot_fresh(tmp_path: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINDFRAME_")}
    result = subprocess.run(
        [sys.executable, "-c", BOOT, str(tmp_path / "data")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_fresh_boot_starts_every_builtin_plugin_without_the_heavy_packages(tmp_path: Path):
    booted = boot_fresh(tmp_path)
    states = booted["states"]
    assert states and set(states.values()) == {"active"}, states
    roots = {name.split(".")[0] for name in booted["modules"]}  # type: ignore[union-attr]
    imported = {name: why for name, why in NOT_AT_START.items() if name in roots}
    assert imported == {}
