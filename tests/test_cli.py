"""The command line, run as a user runs it: a real process, a real server on loopback."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

MINDFRAME = [sys.executable, "-m", "mindframe.kernel.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINDFRAME_")}
    return {**env, "MINDFRAME_DATA_DIR": str(tmp_path / "data"), **extra}


def test_plugins_without_a_server_does_a_dry_load_and_fails_on_broken_plugins(tmp_path, corpus):
    result = subprocess.run(
        [*MINDFRAME, "plugins", "--url", f"http://127.0.0.1:{free_port()}"],
        cwd=tmp_path,
        env=clean_env(tmp_path, MINDFRAME_PLUGINS_DIRS=f'["{corpus}"]'),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "showing a dry load, nothing started" in result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "loaded" in lines["steady"]
    assert "loaded" in lines["hello"]
    assert "failed" in lines["syntax-error"] and "SyntaxError" in lines["syntax-error"]
    assert "requires 'ghost>=1.0', which is not installed" in lines["missing-requirement"]


@pytest.fixture
def server(tmp_path, corpus):
    port = free_port()
    process = subprocess.Popen(
        [*MINDFRAME, "run", "--port", str(port), "--plugins-dir", str(corpus), "--no-access-log"],
        cwd=tmp_path,
        env=clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/health", timeout=1)
            break
        except httpx.HTTPError:
            if process.poll() is not None:
                pytest.fail(f"server exited early:\n{process.stdout.read()}")
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("server did not answer /health within 30 s")
    yield url, process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def test_run_serves_builtin_and_extra_plugins_and_stops_cleanly(server, tmp_path):
    url, process = server
    assert httpx.post(f"{url}/api/hello/greetings", json={"name": "Bo"}).status_code == 201
    assert httpx.get(f"{url}/api/steady/ping").json() == {"pong": "steady"}
    assert (tmp_path / "data" / "mindframe.db").is_file()
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "Application shutdown complete" in output


def test_plugins_commands_talk_to_the_running_server(server, tmp_path):
    url, _ = server

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*MINDFRAME, "plugins", "--url", url, *args],
            env=clean_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )

    listed = cli()
    assert "showing a dry load" not in listed.stderr
    assert any(
        line.split()[:3] == ["steady", "1.2.0", "active"] for line in listed.stdout.splitlines()
    )
    assert cli("disable", "steady").stdout.strip() == "stopped: steady"
    assert httpx.get(f"{url}/api/steady/ping").status_code == 503
    assert "active" in cli("enable", "steady").stdout
    reloaded = cli("reload", "steady")
    assert reloaded.returncode == 0 and reloaded.stdout.startswith("reloaded steady 1.2.0 in ")
    missing = cli("reload", "ghost")
    assert missing.returncode == 1 and "no plugin named 'ghost'" in missing.stderr


def test_management_needs_a_token_once_auth_has_a_user(server, tmp_path):
    url, _ = server
    env = clean_env(tmp_path)
    created = subprocess.run(
        [*MINDFRAME, "users", "create", "root", "--admin", "--password-stdin"],
        input="correct horse battery\n",
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    with httpx.Client(base_url=url) as browser:
        login = browser.post(
            "/api/auth/login", json={"username": "root", "password": "correct horse battery"}
        )
        assert login.status_code == 200, login.text
        csrf = login.json()["csrf_token"]
        # the session cookie is Secure: a browser sends it to localhost over http, httpx not
        session = "; ".join(f"{k}={v}" for k, v in login.cookies.items())
        made = browser.post(
            "/api/auth/tokens",
            json={"name": "cli", "scopes": ["kernel.*"]},
            headers={"X-CSRF-Token": csrf, "Cookie": session},
        )
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]

    def cli(*args: str, token: str | None = None) -> subprocess.CompletedProcess:
        extra = {"MINDFRAME_TOKEN": token} if token else {}
        return subprocess.run(
            [*MINDFRAME, "plugins", "--url", url, *args],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )

    refused = cli("disable", "steady")
    assert refused.returncode == 1 and "401" in refused.stderr
    assert cli("disable", "steady", token=secret).stdout.strip() == "stopped: steady"
    assert httpx.get(f"{url}/api/steady/ping").status_code == 503

    asked = cli("disable", "auth", token=secret)
    assert asked.returncode == 1 and "turns sign-in off" in asked.stderr
    assert "--yes" in asked.stderr
    assert httpx.get(f"{url}/api/auth/me").status_code == 401  # auth still signs people in
    stopped = cli("disable", "auth", "--yes", token=secret).stdout.strip()
    assert stopped.removeprefix("stopped: ").split(", ")[-1] == "auth"  # its dependents first
    assert httpx.get(f"{url}/api/auth/me").status_code == 503


def write_plugin(folder: Path, manifest: str, code: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(manifest)
    (folder / "__init__.py").write_text(code)
    return folder


def test_help_lists_plugin_commands_from_manifests_without_importing_plugins(tmp_path):
    marker = tmp_path / "imported"
    write_plugin(
        tmp_path / "extra" / "almanac",
        'name = "almanac"\nversion = "1.0"\n[commands]\nalmanac = "Print the calendar."\n',
        f"open({str(marker)!r}, 'w').close()\n",
    )
    result = subprocess.run(
        [*MINDFRAME, "--help"],
        cwd=tmp_path,
        env=clean_env(tmp_path, MINDFRAME_PLUGINS_DIRS=f'["{tmp_path / "extra"}"]'),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    assert "Print the calendar. [plugin almanac]" in rows["almanac"]
    assert "users" in rows and "[plugin auth]" in rows["users"]  # a built-in plugin's command
    assert "run" in rows and "plugins" in rows
    assert not marker.exists(), "--help imported a plugin"


def test_dry_load_honours_plugins_dir_and_the_settings_file(tmp_path):
    write_plugin(tmp_path / "flag" / "flagged", 'name = "flagged"\nversion = "1.0"\n', "")
    write_plugin(tmp_path / "conf" / "configured", 'name = "configured"\nversion = "1.0"\n', "")
    config = tmp_path / "site.toml"
    config.write_text(f"plugins_dirs = [{str(tmp_path / 'conf')!r}]\nbuiltin_plugins = false\n")
    result = subprocess.run(
        [
            *MINDFRAME,
            "plugins",
            "--url",
            f"http://127.0.0.1:{free_port()}",
            "--plugins-dir",
            str(tmp_path / "flag"),
            "--config",
            str(config),
        ],
        cwd=tmp_path,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    names = {line.split()[0] for line in result.stdout.splitlines()}
    assert names == {"flagged", "configured"}
