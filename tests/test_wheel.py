"""The addon as a Python package (issue #12): whool builds odoo-addon-crm_retail from
crm_retail/pyproject.toml as OCA builds its Odoo 19 addons; the wheel, installed into a
fresh venv beside this project's Odoo, installs the addon into a new database, with
crm_retail found only in that venv (this repository is not on the addons path)."""
import ast
import configparser
import email.parser
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from conftest import CONF, PG_ENV, ROOT, _free_port, _shell

pytest.importorskip(
    "whool", reason="whool is not installed in .venv: `make setup` installs requirements-dev.txt")
from packaging.requirements import Requirement  # whool's own dependency

ADDON = ROOT / "crm_retail"
MANIFEST = ast.literal_eval((ADDON / "__manifest__.py").read_text())
SERIES = ".".join(MANIFEST["version"].split(".")[:2])
ODOO_PYLIB = ROOT / ".local" / "odoo-root" / "usr" / "lib" / "python3" / "dist-packages"
# Files a shop or the Apps list needs from the package, beside the manifest's own.
REQUIRED_FILES = ["__init__.py", "__manifest__.py", "i18n/vi.po",
                  "static/description/icon.png", "readme/DESCRIPTION.md",
                  "readme/CONFIGURE.md", "readme/USAGE.md", "readme/CONTRIBUTORS.md"]
TIMEOUT = 180  # seconds per step; the whole module takes 30-45 s


def _run(args, **kwargs):
    """Run a step; on failure, its output is the assertion message."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, **kwargs)
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="crm_retail_wheel_") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
def wheel(workdir):
    """The wheel, built in place as `pip wheel crm_retail/` does, with whool from .venv
    (no build isolation: nothing is downloaded)."""
    env = {k: v for k, v in os.environ.items() if k != "WHOOL_POST_VERSION_STRATEGY_OVERRIDE"}
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--disable-pip-version-check", "-q", "-w", workdir / "dist", ADDON], env=env)
    wheels = list((workdir / "dist").glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def metadata(wheel):
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.HeaderParser().parsestr(zf.read(name).decode())


@pytest.fixture(scope="module")
def venv(workdir, wheel):
    """A fresh venv that sees this project's Odoo and its Python packages as .venv does
    (through .venv's site-packages and its odoo-debian.pth), with the wheel installed."""
    path = workdir / "venv"
    _run([sys.executable, "-m", "venv", path])
    python = path / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run([python, "-c", purelib]).strip())
    project_site = _run([ROOT / ".venv" / "bin" / "python", "-c", purelib]).strip()
    # addsitedir, not a plain path line, so that .venv's own .pth files (Odoo) apply too.
    (site / "crm-retail-project.pth").write_text(
        f"import site; site.addsitedir({project_site!r})\n")
    # --no-deps: Odoo is Debian's, not pip's; pip would chase Odoo's own requirements.
    # test_requirements_satisfied checks the wheel's requirements instead.
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index",
          "--disable-pip-version-check", "-q", wheel])
    return python, site


def test_metadata(wheel, metadata):
    version = MANIFEST["version"]
    assert metadata["Name"] == "odoo-addon-crm_retail"
    # whool's post-version for 19.0: the manifest's version, then `.N` commits since the
    # version changed (`.dev1` when it changed and is not committed yet).
    assert re.fullmatch(re.escape(version) + r"(\.\d+|\.dev1)?", metadata["Version"]), \
        metadata["Version"]
    assert wheel.name == f"odoo_addon_crm_retail-{metadata['Version']}-py3-none-any.whl"
    # Every dependency is an Odoo core addon, so no odoo-addon-* requirement.
    assert sorted(metadata.get_all("Requires-Dist")) == sorted(
        [f"odoo=={SERIES}.*", *MANIFEST["external_dependencies"]["python"]])
    assert "phonenumbers" in metadata.get_all("Requires-Dist")
    assert metadata["Summary"] == " ".join(MANIFEST["summary"].split())
    assert metadata["License"] == MANIFEST["license"]
    assert f"Framework :: Odoo :: {SERIES}" in metadata.get_all("Classifier")


def test_contents(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    prefix = "odoo/addons/crm_retail/"
    files = {n[len(prefix):] for n in names if n.startswith(prefix)}
    assert all(n.startswith((prefix, "odoo_addon_crm_retail-")) for n in names), names
    assert "pyproject.toml" not in files
    assert not [n for n in files if "__pycache__" in n or n.endswith(".pyc")]
    # The addon as it is on disk, bytecode aside: whool packages the files git knows,
    # so a new file is left out of the wheel until it is `git add`ed.
    on_disk = {str(p.relative_to(ADDON)) for p in ADDON.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    missing = sorted({*REQUIRED_FILES, *MANIFEST["data"], *on_disk} - files - {"pyproject.toml"})
    assert not missing, f"missing from the wheel (`git add` them): {missing}"


def test_requirements_satisfied(venv, metadata):
    """What pip --no-deps did not check: each requirement is met in the new venv, `odoo`
    by Debian's odoo-19 (its egg-info), phonenumbers by .venv."""
    python, _site = venv
    requirements = [Requirement(r) for r in metadata.get_all("Requires-Dist")]
    versions = json.loads(_run([python, "-c", (
        "import importlib.metadata as m, json, sys; "
        "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"),
        *[r.name for r in requirements]]))
    for requirement in requirements:
        assert requirement.specifier.contains(versions[requirement.name], prereleases=True), \
            (requirement, versions[requirement.name])


def test_install_from_wheel(venv, workdir, metadata):
    python, site = venv
    # This project's odoo.conf without this repository on the addons path.
    conf = configparser.ConfigParser()
    conf.read(CONF)
    conf["options"]["addons_path"] = str(ODOO_PYLIB / "odoo" / "addons")
    conf_path = workdir / "odoo.conf"
    with open(conf_path, "w") as f:
        conf.write(f)
    odoo = [python, "-m", "odoo"]
    db = f"crm_retail_wheel_{os.getpid()}"
    # A new database: a copy of the dependencies' template, as the other tests use.
    _shell(f'drop_db {db} && copy_db "$(deps_template)" {db}')
    try:
        log = workdir / "install.log"
        # cwd: not this repository, which `python -m` would put on sys.path.
        with open(log, "w") as out:
            done = subprocess.run(
                [*odoo, "-c", conf_path, "-d", db, "-i", "crm_retail", "--stop-after-init",
                 f"--http-port={_free_port()}", "--log-level=warn"],
                stdout=out, stderr=subprocess.STDOUT, cwd=workdir, env=PG_ENV,
                timeout=TIMEOUT)
        text = log.read_text()
        assert done.returncode == 0, text[-5000:]
        assert not re.search(r" (ERROR|CRITICAL) ", text), text[-5000:]

        state = _shell(f"psql -X -d {db} -tAc \"SELECT state || ' ' || latest_version "
                       "FROM ir_module_module WHERE name = 'crm_retail'\"")
        assert state == f"installed {MANIFEST['version']}"

        # Where Odoo found the addon, asked of the same interpreter and configuration.
        script = (
            "import json, os, odoo.addons, odoo.modules.module as mm\n"
            "mod = env['ir.module.module'].search([('name', '=', 'crm_retail')])\n"
            "print('RESULT', json.dumps({'path': mm.get_module_path('crm_retail'),\n"
            "    'file': odoo.addons.crm_retail.__file__, 'icon': mod.icon, 'state': mod.state,\n"
            "    'found_in': [p for p in odoo.addons.__path__\n"
            "                 if os.path.isdir(os.path.join(p, 'crm_retail'))]}))\n"
        )
        out = subprocess.run(
            [*odoo, "shell", "-c", conf_path, "-d", db, f"--http-port={_free_port()}",
             "--log-level=warn"],
            input=script, capture_output=True, text=True, cwd=workdir, env=PG_ENV,
            timeout=TIMEOUT)
        line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
        assert line, out.stdout[-3000:] + out.stderr[-3000:]
        found = json.loads(line[len("RESULT "):])
        installed_dir = str(site / "odoo" / "addons" / "crm_retail")
        assert found["path"] == installed_dir
        assert found["file"] == os.path.join(installed_dir, "__init__.py")
        assert found["found_in"] == [str(site / "odoo" / "addons")]
        assert found["state"] == "installed"
        # The Apps list shows the addon's own icon (static/description/icon.png).
        assert found["icon"] == "/crm_retail/static/description/icon.png"
    finally:
        _shell(f"drop_db {db}")
