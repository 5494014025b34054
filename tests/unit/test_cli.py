import subprocess
import sys

import pytest

import nethealth
from nethealth import cli


def test_version_prints_the_package_version(capsys):
    assert cli.main(["version"]) == 0
    assert nethealth.__version__ in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(cli.SUBCOMMANDS))
def test_every_subcommand_explains_itself(name, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([name, "--help"])
    assert info.value.code == 0
    assert f"usage: nethealth {name}" in capsys.readouterr().out


def test_the_probe_path_does_not_import_kopf_or_the_kubernetes_client():
    code = (
        "import sys; from nethealth import cli; cli.build_parser(); "
        "print(sorted(m for m in ('kopf', 'kubernetes') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unknown_option_is_a_usage_error_not_an_inconclusive_probe(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["probe", "--bogus"])
    assert info.value.code == cli.USAGE_ERROR
    assert "--bogus" in capsys.readouterr().err
