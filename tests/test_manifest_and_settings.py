"""Manifests and settings: every error names the file or plugin, the field or key, and
what was expected."""

from pathlib import Path

import pytest

from mindframe.kernel.manifest import ManifestError, load_manifest
from mindframe.kernel.settings import SettingsError, load_settings
from mindframe.sdk import PluginSettings


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_valid_manifest_fills_defaults(tmp_path):
    manifest = load_manifest(
        write(
            tmp_path / "plugin.toml", 'name = "mail-out"\nversion = "1.0"\nrequires = ["auth>=0.2"]'
        )
    )
    assert manifest.module_name == "mail_out"
    assert manifest.isolation == "inprocess"
    assert manifest.requirements[0].name == "auth"
    assert str(manifest.requirements[0].specifier) == ">=0.2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('version = "1.0"', "field 'name' is required"),
        ('name = "Mail"\nversion = "1.0"', "field 'name': a lowercase name"),
        ('name = "m"\nversion = "one"', "field 'version': a version such as '1.2.0'"),
        ('name = "m"\nversion = "1"\nrequires = ["auth >>= 2"]', "field 'requires'"),
        ('name = "m"\nversion = "1"\nisolaton = "process"', "field 'isolaton' is not known here"),
        (
            'name = "m"\nversion = "1"\n[permissions]\nnetwork = "maybe"',
            "field 'permissions.network'",
        ),
        ('name = "m"\nversion = ', "not valid TOML"),
    ],
)
def test_manifest_errors_name_file_and_field(tmp_path, text, expected):
    path = write(tmp_path / "plugin.toml", text)
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)


def test_settings_layer_file_then_environment_then_overrides(tmp_path):
    config = write(
        tmp_path / "mindframe.toml",
        'port = 9000\nhost = "0.0.0.0"\n[mail]\nsmtp_host = "mx"\nsmtp_port = 25\n',
    )
    settings = load_settings(
        config,
        environ={"MINDFRAME_MAIL__SMTP_PORT": "2525", "MINDFRAME_PORT": "9100"},
        overrides={"host": "127.0.0.2", "data_dir": None},
    )
    assert settings.kernel.port == 9100
    assert settings.kernel.host == "127.0.0.2"
    assert settings.sections["mail"] == {"smtp_host": "mx", "smtp_port": "2525"}


def test_database_url_from_environment(tmp_path):
    settings = load_settings(None, environ={"MINDFRAME_DATABASE_URL": "postgresql+asyncpg://x/y"})
    assert settings.kernel.resolved_database_url() == "postgresql+asyncpg://x/y"
    default = load_settings(None, environ={"MINDFRAME_DATA_DIR": str(tmp_path)})
    assert default.kernel.resolved_database_url() == f"sqlite+aiosqlite:///{tmp_path}/mindframe.db"


def test_plugin_section_is_validated_by_its_model_with_manifest_defaults():
    class MailSettings(PluginSettings):
        smtp_host: str
        smtp_port: int

    settings = load_settings(None, environ={"MINDFRAME_MAIL__SMTP_PORT": "2525"})
    validated = settings.plugin_section(
        "mail", {"smtp_host": "localhost", "smtp_port": 25}, MailSettings
    )
    assert validated == MailSettings(smtp_host="localhost", smtp_port=2525)


def test_plugin_setting_of_wrong_type_names_plugin_key_and_type():
    class MailSettings(PluginSettings):
        smtp_port: int

    settings = load_settings(None, environ={"MINDFRAME_MAIL__SMTP_PORT": "twenty-five"})
    with pytest.raises(SettingsError) as caught:
        settings.plugin_section("mail", {"smtp_port": 25}, MailSettings)
    message = str(caught.value)
    assert "settings of plugin 'mail'" in message
    assert "key 'smtp_port'" in message and "valid integer" in message


def test_unknown_kernel_setting_is_refused_with_the_file(tmp_path):
    config = write(tmp_path / "mindframe.toml", "prot = 80\n")
    with pytest.raises(SettingsError, match=r"mindframe.toml: key 'prot' is not known here"):
        load_settings(config, environ={})


def test_missing_settings_file_is_an_error_not_a_silent_default(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_bad_kernel_setting_from_the_environment_names_the_variable():
    with pytest.raises(SettingsError) as caught:
        load_settings(None, environ={"MINDFRAME_PORT": "eighty"})
    assert "key 'port'" in str(caught.value)
    assert "set by environment variable MINDFRAME_PORT" in str(caught.value)


@pytest.mark.anyio
async def test_plugin_failed_by_an_environment_setting_names_the_variable_not_kernel_code(
    tmp_path, plugin_factory
):
    from mindframe.kernel.runtime import Runtime

    plugin_factory.make(
        "tuned",
        """
        from mindframe.sdk import PluginSettings, hookimpl

        class Tuned(PluginSettings):
            level: int = 1

        @hookimpl
        def settings_model():
            return Tuned
        """,
    )
    environ = {
        "MINDFRAME_DATA_DIR": str(tmp_path / "data"),
        "MINDFRAME_BUILTIN_PLUGINS": "false",
        "MINDFRAME_PLUGINS_DIRS": f'["{plugin_factory.root}"]',
        "MINDFRAME_TUNED__LEVEL": "high",
    }
    async with Runtime(load_settings(None, environ=environ), entry_points=False) as runtime:
        error = runtime.plugin("tuned").error
    assert "key 'level'" in error and "set by environment variable MINDFRAME_TUNED__LEVEL" in error
    assert "settings.py" not in error
