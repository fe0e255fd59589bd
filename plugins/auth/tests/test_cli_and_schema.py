"""`mindframe users create` against a real data folder, and schemathesis against the auth
routes of the OpenAPI schema on a real uvicorn server (no 5xx allowed)."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
FAST_ENV = {
    "MINDFRAME_AUTH__ARGON2_TIME_COST": "1",
    "MINDFRAME_AUTH__ARGON2_MEMORY_COST": "8",
    "MINDFRAME_AUTH__ARGON2_PARALLELISM": "1",
    "MINDFRAME_AUTH__COOKIE_SECURE": "false",
}
PASSWORD = "correct horse battery"


def environment(data_dir: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MINDFRAME_")}
    return {**clean, **FAST_ENV, "MINDFRAME_DATA_DIR": str(data_dir)}


def create_user(data_dir: Path, *arguments: str, password: str = PASSWORD):
    return subprocess.run(
        [str(BIN / "mindframe"), "users", "create", *arguments, "--password-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=environment(data_dir),
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """A real `mindframe run` on loopback with an admin `root` already created."""
    data_dir = tmp_path / "data"
    assert create_user(data_dir, "root", "--admin").returncode == 0
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "mindframe"), "run", "--port", str(port), "--no-access-log"],
        env=environment(data_dir),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_users_create_makes_an_admin_who_can_sign_in(server):
    with httpx.Client(base_url=server) as client:
        response = client.post("/api/auth/login", json={"username": "root", "password": PASSWORD})
        assert response.status_code == 200, response.text
        assert client.get("/api/auth/me").json()["is_admin"] is True


def test_users_create_refuses_a_short_password_and_a_taken_name(tmp_path):
    data_dir = tmp_path / "data"
    short = create_user(data_dir, "ada", password="short")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    assert create_user(data_dir, "ada").returncode == 0
    again = create_user(data_dir, "ada")
    assert again.returncode == 1 and "already exists" in again.stderr


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_in_the_auth_routes(server, tmp_path):
    with httpx.Client(base_url=server) as client:
        login = client.post("/api/auth/login", json={"username": "root", "password": PASSWORD})
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        token = client.post(
            "/api/auth/tokens", json={"name": "fuzz", "scopes": ["*"]}, headers=csrf
        ).json()
    result = subprocess.run(
        [
            str(BIN / "schemathesis"), "run", f"{server}/schema/openapi.json",
            "--checks", "not_a_server_error",
            "--include-path-regex", "^/api/auth/",
            "--exclude-path-regex", "^/api/auth/me$",  # erasing root would end the run early
            # only the real current password succeeds, so every generated case is a 400
            "--exclude-path-regex", "^/api/auth/me/password$",
            # following GET /tokens, a stateful step revokes the fuzzing token itself
            "--exclude-path-regex", "^/api/auth/tokens/",
            "--header", f"Authorization: Bearer {token['secret']}",
            "--max-examples", "25", "--seed", "1", "--workers", "1",
        ],
        capture_output=True, text=True, timeout=540, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    assert "Authentication failed" not in result.stdout, result.stdout[-4000:]


def tokens_cli(data_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "mindframe"), "tokens", *arguments],
        capture_output=True,
        text=True,
        env=environment(data_dir),
        timeout=120,
    )


def test_tokens_from_the_cli_drive_the_management_api_until_revoked(server, tmp_path):
    data_dir = tmp_path / "data"
    made = tokens_cli(data_dir, "create", "ci", "--user", "root", "--scope", "kernel.plugins.*")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip().splitlines()[-1]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{server}/api/kernel/plugins", headers=bearer).status_code == 200
    assert httpx.get(f"{server}/api/auth/users", headers=bearer).status_code == 403  # not scoped

    listed = tokens_cli(data_dir, "list", "--user", "root")
    assert "ci" in listed.stdout and "kernel.plugins.*" in listed.stdout
    assert secret not in listed.stdout

    revoked = tokens_cli(data_dir, "revoke", "--all", "--user", "root")
    assert revoked.returncode == 0, revoked.stderr
    assert httpx.get(f"{server}/api/kernel/plugins", headers=bearer).status_code == 401


def test_a_cli_token_carries_no_more_than_its_user_holds(tmp_path):
    data_dir = tmp_path / "data"
    assert create_user(data_dir, "clerk").returncode == 0
    made = tokens_cli(data_dir, "create", "x", "--user", "clerk", "--scope", "kernel.plugins.*")
    assert made.returncode == 1
    assert "cannot grant 'kernel.plugins.*'" in made.stderr
    assert tokens_cli(data_dir, "create", "x", "--user", "nobody").returncode == 1
