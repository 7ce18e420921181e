"""0002 — deployment: systemd units, make install, install.sh, the sample configs, the
Docker image files and the docker-compose cluster.

Fast and self-contained: `make install` runs with stand-in executables into temporary
roots, `systemd-analyze verify` checks the installed units (their paths point into the
temporary PREFIX, so no root is needed), `systemctl --root` enables them offline, the
Docker entry point runs against stand-in servers, and `docker-compose config` validates
the compose file without a Docker engine. Checks that need real binaries (the servers
accepting the configs, runtime-packages.sh) use SLUICE_BUILD_DIR/bin (default build/)
when those binaries exist and are skipped otherwise; the full install.sh run needs root.
"""
import os
import re
import shutil
import socket
import stat
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.path.abspath(os.environ.get("SLUICE_BUILD_DIR", os.path.join(ROOT, "build")))
SYSTEMD_DIR = os.path.join(ROOT, "deploy", "systemd")
DOCKER_DIR = os.path.join(ROOT, "deploy", "docker")
INSTALL_SH = os.path.join(ROOT, "deploy", "install.sh")
ENTRYPOINT = os.path.join(DOCKER_DIR, "sluice-entrypoint.sh")
COMPOSE = os.path.join(DOCKER_DIR, "docker-compose.yml")
BIN_NAMES = ("sluice-controller", "sluice-broker", "sluice")
UNITS = ("sluice-controller@.service", "sluice-broker@.service", "sluice.target",
         "sluice-controllers.target")
VOTERS = "101@h1:9093,102@h2:9094,103@h3:9093"
RUN_TIMEOUT_S = 120
IS_ROOT = os.geteuid() == 0


def run(cmd, expect_rc=0, **kwargs):
    """Run a command; assert its exit code (unless None) and return the result."""
    kwargs.setdefault("cwd", ROOT)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, **kwargs)
    report = f"{cmd}\nrc={proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    if expect_rc is not None:
        assert proc.returncode == expect_rc, report
    return proc


def make(*args, expect_rc=0):
    """make in the repository, free of the calling make's flags and variables (a
    `make test-deploy DESTDIR=…` must not leak into the installs tested here)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DESTDIR", "PREFIX",
                        "SYSTEMD_UNIT_DIR", "B")}
    return run(["make", "-s", "--no-print-directory", *args], expect_rc=expect_rc, env=env)


def parse_properties(text):
    """Active key=value assignments of a properties text (later ones win), as a dict."""
    props = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        m = re.match(r"([^=:\s]+)\s*[=:]\s*(.*)$", line)
        assert m, f"not a properties line: {raw!r}"
        props[m.group(1)] = m.group(2)
    return props


def commented_examples(text):
    """`#key=value` example lines of a sample config: {key: value}."""
    return dict(re.findall(r"^#([a-z][a-z0-9._-]*)=(.*)$", text, re.M))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write_exec(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o755)


def duration_s(value):
    """Seconds of a compose or systemd duration: 90, "90s", "1m", "1m30s", "1min 30s"."""
    if isinstance(value, (int, float)):
        return float(value)
    units = {"h": 3600, "min": 60, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    total, pos = 0.0, 0
    text = value.replace(" ", "")
    for m in re.finditer(r"(\d+(?:\.\d+)?)(h|min|ms|us|m|s)?", text):
        assert m.start() == pos, f"bad duration {value!r}"
        total += float(m.group(1)) * units[m.group(2) or "s"]
        pos = m.end()
    assert pos == len(text) and pos > 0, f"bad duration {value!r}"
    return total


# ---------------------------------------------------------------- key tables (C sources)

CFG_DEF_RE = re.compile(r'\{\s*"([a-z0-9._]+)",\s*SL_CFG_\w+,\s*[^,]+,\s*(?:"([^"]*)"|NULL)')


def table_defaults(path):
    """{key: default or None} of every sl_cfg_def entry in a C file."""
    return {m.group(1): m.group(2) for m in CFG_DEF_RE.finditer(read(path))}


def known_keys(role):
    """{key: default} the server of this role accepts: its own table plus the broker-level
    synonyms of the topic configs (metadata_dynamic_broker_configs)."""
    own = table_defaults(os.path.join(ROOT, role, f"{role}_config.c"))
    meta = read(os.path.join(ROOT, "metadata", "metadata_config.c"))
    topic_defaults = {m.group(1): m.group(2) for m in CFG_DEF_RE.finditer(meta)}
    synonyms = re.findall(r'\{\s*"([a-z0-9._]+)",\s*"([a-z0-9._]+)"\s*\}', meta)
    assert len(synonyms) > 20, "synonym table not found in metadata_config.c"
    keys = {broker_key: topic_defaults.get(topic_key) for topic_key, broker_key in synonyms}
    keys.update(own)
    return keys


def assert_known(props, role, where):
    unknown = sorted(set(props) - set(known_keys(role)))
    assert not unknown, f"{where}: keys unknown to sluice-{role}: {unknown}"


# ---------------------------------------------------------------- fixtures

@pytest.fixture
def stand_in_build(tmp_path):
    """A build directory whose bin/ holds executable stand-ins for the three binaries."""
    bindir = tmp_path / "b" / "bin"
    bindir.mkdir(parents=True)
    for name in BIN_NAMES:
        write_exec(bindir / name, f"#!/bin/sh\necho {name} \"$@\"\n")
    return str(tmp_path / "b")


def installed_files(root):
    """{relative path: mode} of every regular file under root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, root)] = stat.S_IMODE(os.lstat(path).st_mode)
    return out


def real_binaries():
    paths = [os.path.join(BUILD_DIR, "bin", name) for name in BIN_NAMES]
    return paths if all(os.access(p, os.X_OK) for p in paths) else None


# ---------------------------------------------------------------- make install

EXPECTED_INSTALL = {
    "usr/local/bin/sluice-controller": 0o755,
    "usr/local/bin/sluice-broker": 0o755,
    "usr/local/bin/sluice": 0o755,
    "usr/local/lib/systemd/system/sluice-controller@.service": 0o644,
    "usr/local/lib/systemd/system/sluice-broker@.service": 0o644,
    "usr/local/lib/systemd/system/sluice.target": 0o644,
    "usr/local/lib/systemd/system/sluice-controllers.target": 0o644,
    "usr/local/share/sluice/controller.properties": 0o644,
    "usr/local/share/sluice/broker.properties": 0o644,
    "usr/local/share/sluice/install.sh": 0o755,
    "usr/local/share/doc/sluice/deploy.md": 0o644,
}


def test_install_lays_down_the_expected_files(stand_in_build, tmp_path):
    dest = tmp_path / "dest"
    make(f"B={stand_in_build}", "install-only", f"DESTDIR={dest}")
    assert installed_files(dest) == EXPECTED_INSTALL
    for name in BIN_NAMES:
        stand_in = os.path.join(stand_in_build, "bin", name)
        assert read(dest / "usr/local/bin" / name) == read(stand_in)
    for unit in UNITS:  # default PREFIX: the units are installed unchanged
        assert read(dest / "usr/local/lib/systemd/system" / unit) == read(
            os.path.join(SYSTEMD_DIR, unit))
    for role in ("controller", "broker"):
        assert read(dest / f"usr/local/share/sluice/{role}.properties") == read(
            os.path.join(ROOT, "config", f"{role}.properties"))
    # The installed install.sh finds the samples beside it.
    out = run([str(dest / "usr/local/share/sluice/install.sh"), "--print-config", "broker", "1",
               "--voters", VOTERS], cwd=str(tmp_path)).stdout
    assert parse_properties(out)["node.id"] == "1"


def test_install_with_another_prefix_rewrites_the_unit_paths(stand_in_build, tmp_path):
    dest = tmp_path / "dest"
    make(f"B={stand_in_build}", "install-only", f"DESTDIR={dest}", "PREFIX=/opt/sluice",
         "SYSTEMD_UNIT_DIR=/etc/systemd/system")
    files = installed_files(dest)
    assert "opt/sluice/bin/sluice-broker" in files
    assert "etc/systemd/system/sluice-broker@.service" in files
    assert not any(p.startswith("usr/") for p in files), files
    for unit in UNITS:
        text = read(dest / "etc/systemd/system" / unit)
        assert "/usr/local/" not in text, unit
    broker = read(dest / "etc/systemd/system/sluice-broker@.service")
    assert "\nExecStart=/opt/sluice/bin/sluice-broker --config" in broker


def test_install_depends_on_the_three_binaries(stand_in_build):
    database = make("-pn", f"B={stand_in_build}", "install-only").stdout
    rule = re.search(r"^install:(.*)$", database, re.M)
    assert rule, "no install rule in make's database"
    assert rule.group(1).split() == [os.path.join(stand_in_build, "bin", n) for n in BIN_NAMES]
    assert re.search(r"^install-only:\s*$", database, re.M)


def test_install_refuses_a_missing_binary(stand_in_build, tmp_path):
    os.remove(os.path.join(stand_in_build, "bin", "sluice-broker"))
    proc = make(f"B={stand_in_build}", "install-only", f"DESTDIR={tmp_path / 'dest'}",
                expect_rc=None)
    assert proc.returncode != 0
    assert "sluice-broker is missing" in proc.stderr
    assert not os.path.exists(tmp_path / "dest" / "usr/local/bin/sluice")


def test_uninstall_removes_what_install_laid_down(stand_in_build, tmp_path):
    dest = tmp_path / "dest"
    make(f"B={stand_in_build}", "install-only", f"DESTDIR={dest}")
    make(f"B={stand_in_build}", "uninstall", f"DESTDIR={dest}")
    assert installed_files(dest) == {}


def test_install_of_the_built_binaries(tmp_path):
    """The real binaries install unchanged. install-only, not install: this test may run
    while the calling make still builds other targets in the same build directory, and a
    second make there would race it on generated files; the dependency of install on the
    binaries is checked above."""
    bins = real_binaries()
    if not bins:
        pytest.skip(f"sluice-controller/sluice-broker/sluice not all built in {BUILD_DIR}/bin")
    dest = tmp_path / "dest"
    make(f"B={BUILD_DIR}", "install-only", f"DESTDIR={dest}")
    assert installed_files(dest) == EXPECTED_INSTALL
    for path in bins:
        with open(path, "rb") as a, open(dest / "usr/local/bin" / os.path.basename(path),
                                         "rb") as b:
            assert a.read() == b.read(), path


# ---------------------------------------------------------------- systemd units

def unit_directives(path):
    """{(section, key): [values]} of a unit file (keys may repeat)."""
    out, section = {}, None
    for raw in read(path).splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault((section, key.strip()), []).append(value.strip())
    return out


def install_units_into_prefix(stand_in_build, tmp_path):
    """make install-only PREFIX=<tmp>: the units name binaries that exist, no root needed."""
    prefix = tmp_path / "prefix"
    make(f"B={stand_in_build}", "install-only", f"PREFIX={prefix}")
    return prefix / "lib/systemd/system"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed "
                    "(Debian package systemd)")
def test_units_pass_systemd_analyze_verify(stand_in_build, tmp_path):
    unit_dir = install_units_into_prefix(stand_in_build, tmp_path)
    proc = run(["systemd-analyze", "verify", *[str(unit_dir / u) for u in UNITS]])
    assert proc.stdout.strip() == "" and proc.stderr.strip() == "", proc.stderr
    broker = read(unit_dir / "sluice-broker@.service")
    assert f"ExecStart={tmp_path}/prefix/bin/sluice-broker " in broker


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed "
                    "(Debian package systemd)")
def test_systemd_analyze_verify_reports_a_bad_directive(stand_in_build, tmp_path):
    """The check above means something: an unknown directive or filter group is reported."""
    unit_dir = install_units_into_prefix(stand_in_build, tmp_path)
    text = read(unit_dir / "sluice-broker@.service").replace(
        "ProtectClock=yes\n", "ProtectClock=yes\nProtectBogus=yes\nSystemCallFilter=@bogus\n")
    bad = tmp_path / "bad-broker@.service"
    bad.write_text(text)
    out = run(["systemd-analyze", "verify", str(bad)], expect_rc=None)
    report = out.stdout + out.stderr
    assert "ProtectBogus" in report and "@bogus" in report, report


def test_units_keep_their_contract():
    shutdown_wait_ms = int(table_defaults(os.path.join(ROOT, "broker", "broker_config.c"))
                           ["controlled.shutdown.max.wait.ms"])
    for role in ("controller", "broker"):
        d = unit_directives(os.path.join(SYSTEMD_DIR, f"sluice-{role}@.service"))
        one = {k: v[-1] for k, v in d.items()}
        exec_start = one[("Service", "ExecStart")].split()
        assert exec_start[:3] == [f"/usr/local/bin/sluice-{role}", "--config",
                                  f"/etc/sluice/{role}-%i.properties"], exec_start
        assert one[("Service", "User")] == "sluice" and one[("Service", "Group")] == "sluice"
        assert one[("Service", "Restart")] == "on-failure"
        assert one[("Service", "KillSignal")] == "SIGTERM"
        assert int(one[("Service", "LimitNOFILE")]) >= 100000
        assert one[("Unit", "PartOf")] == "sluice.target"
        stop_s = duration_s(one[("Service", "TimeoutStopSec")])
        if role == "broker":
            assert stop_s * 1000 >= shutdown_wait_ms + 30000, "no margin over controlled shutdown"
            assert "sluice-controllers.target" in one[("Unit", "After")].split()
            assert one[("Install", "WantedBy")] == "sluice.target"
        else:
            assert stop_s >= 10
            assert one[("Install", "WantedBy")] == "sluice-controllers.target"
        for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict",
                           "PrivateTmp": "yes", "ProtectHome": "yes",
                           "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
                           "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
                           "CapabilityBoundingSet": "",
                           "StateDirectory": "sluice"}.items():
            assert one.get(("Service", key)) == value, (role, key)
        assert "/var/lib/sluice" in one[("Service", "ReadWritePaths")].split()
        assert sorted(one[("Service", "RestrictAddressFamilies")].split()) == [
            "AF_INET", "AF_INET6", "AF_UNIX"]
        assert d[("Service", "SystemCallFilter")][0] == "@system-service"


def test_units_enable_into_the_targets_offline(stand_in_build, tmp_path):
    if not shutil.which("systemctl"):
        pytest.skip("systemctl not installed (Debian package systemd)")
    dest = tmp_path / "dest"
    make(f"B={stand_in_build}", "install-only", f"DESTDIR={dest}")
    run(["systemctl", f"--root={dest}", "enable", "sluice.target",
         "sluice-controller@101.service", "sluice-broker@1.service"])
    etc = dest / "etc/systemd/system"
    links = {
        "multi-user.target.wants/sluice.target": "sluice.target",
        "sluice-controllers.target.wants/sluice-controller@101.service":
            "sluice-controller@.service",
        "sluice.target.wants/sluice-broker@1.service": "sluice-broker@.service",
    }
    for link, target in links.items():
        assert os.readlink(etc / link) == f"/usr/local/lib/systemd/system/{target}", link
    target = unit_directives(os.path.join(SYSTEMD_DIR, "sluice.target"))
    assert "sluice-controllers.target" in target[("Unit", "Wants")][0].split()


# ---------------------------------------------------------------- install.sh

def install_sh(*args, expect_rc=0, **kwargs):
    return run([INSTALL_SH, *args], expect_rc=expect_rc, **kwargs)


def test_install_sh_help():
    proc = install_sh("--help")
    assert "usage: install.sh" in proc.stdout
    for option in ("--voters", "--enable", "--now", "--print-config", "--root", "--force"):
        assert option in proc.stdout, option
    assert os.access(INSTALL_SH, os.X_OK)


def test_install_sh_renders_a_controller_config():
    text = install_sh("--print-config", "controller", "102", "--voters", VOTERS,
                      "--cluster-id", "c2x1aWNlLXNhbXBsZS0wMQ").stdout
    props = parse_properties(text)
    assert props["node.id"] == "102"
    assert props["controller.quorum.voters"] == VOTERS
    assert props["listeners"] == "CONTROLLER://0.0.0.0:9094"  # its own voter port
    assert props["metadata.log.dir"] == "/var/lib/sluice/controller-102"
    assert props["cluster.id"] == "c2x1aWNlLXNhbXBsZS0wMQ"
    assert props["process.roles"] == "controller"
    assert_known(props, "controller", "install.sh controller config")
    assert text.count("\nnode.id=") == 1, "a key set twice"


def test_install_sh_renders_a_broker_config():
    text = install_sh("--print-config", "broker", "2", "--voters", VOTERS, "--advertised-host",
                      "b2.example.com", "--port", "9192", "--bind", "10.0.0.2",
                      "--set", "log.retention.hours=24", "--set", "num.partitions=6").stdout
    props = parse_properties(text)
    assert props["node.id"] == "2"
    assert props["listeners"] == "PLAINTEXT://10.0.0.2:9192"
    assert props["advertised.listeners"] == "PLAINTEXT://b2.example.com:9192"
    assert props["log.dirs"] == "/var/lib/sluice/broker-2"
    assert props["metrics.listener"] == "10.0.0.2:9308"
    assert props["default.replication.factor"] == "3"
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["log.retention.hours"] == "24"
    assert props["num.partitions"] == "6"
    assert_known(props, "broker", "install.sh broker config")
    # The commented example became the assignment, in place.
    assert "#log.retention.hours" not in text
    single = parse_properties(install_sh("--print-config", "broker", "2", "--voters", VOTERS,
                                         "--replication-factor", "1", "--metrics-port",
                                         "0").stdout)
    assert single["min.insync.replicas"] == "1"
    assert single["default.replication.factor"] == "1"
    assert single["metrics.listener"] == ""


@pytest.mark.parametrize("args, message", [
    (["broker", "1"], "--voters"),
    (["--voters", VOTERS, "zookeeper", "1"], "ROLE must be controller or broker"),
    (["--voters", VOTERS, "broker", "x1"], "NODE_ID must be a number"),
    (["--voters", VOTERS, "broker"], "expected ROLE and NODE_ID"),
    (["--voters", "101@h1", "broker", "1"], "is not ID@HOST:PORT"),
    (["--voters", VOTERS, "controller", "104"], "controller 104 is not in --voters"),
    (["--voters", VOTERS, "broker", "101"], "also a controller voter"),
    (["--voters", VOTERS, "broker", "1", "--port", "70000"], "--port must be"),
    (["--voters", VOTERS, "broker", "1", "--set", "novalue"], "is not KEY=VALUE"),
    (["--voters", VOTERS, "broker", "1", "--now"], "--now needs --enable"),
    (["--voters", VOTERS, "broker", "1", "--bogus"], "unknown option --bogus"),
    (["--voters", VOTERS, "broker", "1", "--data-dir", "rel"], "absolute path"),
])
def test_install_sh_rejects_bad_arguments(args, message):
    proc = install_sh("--print-config", *args, expect_rc=1)
    assert message in proc.stderr
    assert proc.stdout == ""


def as_nobody(cmd):
    """cmd run as an unprivileged user (when we are root)."""
    if not IS_ROOT:
        return cmd
    if not shutil.which("setpriv"):
        pytest.skip("setpriv not installed (Debian package util-linux)")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]


def test_install_sh_refuses_without_root(tmp_path):
    proc = run(as_nobody([INSTALL_SH, "broker", "1", "--voters", VOTERS, "--root",
                          str(tmp_path)]), expect_rc=1)
    assert "must run as root" in proc.stderr
    assert os.listdir(tmp_path) == []
    # --print-config and --help need no root.
    run(as_nobody([INSTALL_SH, "--print-config", "broker", "1", "--voters", VOTERS]))
    run(as_nobody([INSTALL_SH, "--help"]))


def make_fake_root(root):
    """A directory with the account files useradd --root needs."""
    etc = root / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "group").write_text("root:x:0:\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (etc / "gshadow").write_text("root:*::\n")
    os.chmod(etc / "shadow", 0o600)
    os.chmod(etc / "gshadow", 0o600)


def owner(path):
    st = os.stat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


@pytest.mark.skipif(not IS_ROOT, reason="install.sh creates a user and chowns: needs root")
def test_install_sh_full_run_is_idempotent(stand_in_build, tmp_path):
    for tool in ("useradd", "groupadd", "systemctl"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} not installed")
    root = tmp_path / "root"
    make_fake_root(root)
    make(f"B={stand_in_build}", "install-only", f"DESTDIR={root}")
    args = ["--root", str(root), "--voters", VOTERS, "--enable"]
    out = install_sh(*args, "controller", "101").stdout
    assert "created system user sluice" in out
    out = install_sh(*args, "broker", "1", "--data-dir", "/data/sluice",
                     "--advertised-host", "h1").stdout
    assert "user sluice exists" in out

    entries = [l for l in read(root / "etc/passwd").splitlines() if l.startswith("sluice:")]
    assert len(entries) == 1, entries
    uid, gid = (int(x) for x in entries[0].split(":")[2:4])
    assert entries[0].split(":")[6] == "/usr/sbin/nologin"
    assert owner(root / "etc/sluice") == (0, gid, 0o750)
    for d in ("var/lib/sluice", "var/lib/sluice/controller-101", "var/log/sluice",
              "data/sluice/broker-1"):
        assert owner(root / d) == (uid, gid, 0o750), d
    cfg = root / "etc/sluice/broker-1.properties"
    assert owner(cfg) == (0, gid, 0o640)
    props = parse_properties(read(cfg))
    assert props["log.dirs"] == "/data/sluice/broker-1"
    assert props["advertised.listeners"] == "PLAINTEXT://h1:9092"
    dropin = read(root / "etc/systemd/system/sluice-broker@1.service.d/data-dir.conf")
    assert "ReadWritePaths=/data/sluice" in dropin
    assert os.path.islink(root / "etc/systemd/system/sluice.target.wants/sluice-broker@1.service")
    assert os.path.islink(root / "etc/systemd/system/sluice-controllers.target.wants/"
                                 "sluice-controller@101.service")
    assert "SLUICE_BROKER_OPTS=" in read(root / "etc/default/sluice")

    # Again: nothing changes, the config is kept.
    before = {p: read(root / p) for p in ("etc/passwd", "etc/group",
                                         "etc/sluice/controller-101.properties")}
    out = install_sh(*args, "controller", "101", "--set", "log.level=debug").stdout
    assert "kept /etc/sluice/controller-101.properties" in out
    assert {p: read(root / p) for p in before} == before
    # --force rewrites it.
    install_sh(*args, "controller", "101", "--set", "log.level=debug", "--force")
    assert parse_properties(read(root / "etc/sluice/controller-101.properties"))[
        "log.level"] == "debug"
    assert not [f for f in os.listdir(root / "etc/sluice") if f.endswith((".new", ".tmp"))]


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="shellcheck not installed "
                    "(Debian package shellcheck)")
def test_shell_scripts_pass_shellcheck():
    scripts = [INSTALL_SH, ENTRYPOINT, os.path.join(DOCKER_DIR, "runtime-packages.sh")]
    run(["shellcheck", "--shell=bash", *scripts])


# ---------------------------------------------------------------- sample configs

@pytest.mark.parametrize("role", ["controller", "broker"])
def test_sample_config_uses_known_keys_and_true_defaults(role):
    text = read(os.path.join(ROOT, "config", f"{role}.properties"))
    props = parse_properties(text)
    assert_known(props, role, f"config/{role}.properties")
    assert props["process.roles"] == role
    examples = commented_examples(text)
    assert len(examples) >= 5
    assert_known(examples, role, f"commented examples in config/{role}.properties")
    keys = known_keys(role)
    for key, value in examples.items():
        if keys[key]:  # an example of a key with a default shows that default
            assert value == keys[key], f"{role}.properties: #{key}={value}, default {keys[key]}"


def test_sample_configs_form_a_single_machine_cluster():
    ctl = parse_properties(read(os.path.join(ROOT, "config", "controller.properties")))
    brk = parse_properties(read(os.path.join(ROOT, "config", "broker.properties")))
    assert ctl["controller.quorum.voters"] == brk["controller.quorum.voters"]
    voter_id, _, addr = ctl["controller.quorum.voters"].partition("@")
    assert voter_id == ctl["node.id"] != brk["node.id"]
    assert ctl["listeners"] == f"CONTROLLER://{addr}"
    assert brk["advertised.listeners"] == brk["listeners"]
    assert brk["default.replication.factor"] == brk["offsets.topic.replication.factor"] == "1"


def server_accepts(role, config):
    binary = os.path.join(BUILD_DIR, "bin", f"sluice-{role}")
    proc = run([binary, "--config", str(config), "--print-config"])
    assert "unknown_key" not in proc.stderr, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("role", ["controller", "broker"])
def test_servers_accept_the_sample_and_rendered_configs(role, tmp_path):
    if not os.access(os.path.join(BUILD_DIR, "bin", f"sluice-{role}"), os.X_OK):
        pytest.skip(f"sluice-{role} not built in {BUILD_DIR}/bin")
    server_accepts(role, os.path.join(ROOT, "config", f"{role}.properties"))
    node = "101" if role == "controller" else "1"
    rendered = tmp_path / "rendered.properties"
    rendered.write_text(install_sh("--print-config", role, node, "--voters", VOTERS,
                                   "--advertised-host", "h1").stdout)
    server_accepts(role, rendered)


# ---------------------------------------------------------------- Docker entry point

@pytest.fixture
def stand_in_servers(tmp_path):
    """PATH with stand-in servers that print their arguments and the config they got,
    and a stand-in `sluice` whose exit status comes from STAND_IN_RC."""
    bindir = tmp_path / "sbin"
    bindir.mkdir()
    for role in ("controller", "broker"):
        write_exec(bindir / f"sluice-{role}",
                   f"#!/bin/sh\necho \"ARGS sluice-{role} $*\"\ncat \"$2\"\n")
    write_exec(bindir / "sluice", "#!/bin/sh\necho \"ARGS sluice $*\" >&2\n"
                                  "exit \"${STAND_IN_RC:-0}\"\n")
    return f"{bindir}:/usr/bin:/bin"


def entrypoint(path, args, env, tmp_path, expect_rc=0):
    full = {"PATH": path, "SLUICE_CONFIG_DIR": str(tmp_path / "etc"),
            "SLUICE_DATA_DIR": str(tmp_path / "data"), **env}
    return run([ENTRYPOINT, *args], expect_rc=expect_rc, env=full)


def started_config(stdout):
    """(argument line, rendered config) printed by a stand-in server."""
    first, _, rest = stdout.partition("\n")
    assert first.startswith("ARGS "), stdout
    return first, parse_properties(rest)


def test_entrypoint_renders_a_broker_config(stand_in_servers, tmp_path):
    env = {"SLUICE_NODE_ID": "1", "SLUICE_CONTROLLER_QUORUM_VOTERS": VOTERS,
           "SLUICE_CFG_MIN_INSYNC_REPLICAS": "2", "SLUICE_CFG_LOG_RETENTION_HOURS": "24",
           "SLUICE_CFG_SOME__UNDER___DASH_KEY": "x", "SLUICE_CLUSTER_ID": "abc"}
    out = entrypoint(stand_in_servers, ["broker", "--override", "log.level=debug"], env,
                     tmp_path).stdout
    args, props = started_config(out)
    assert args == (f"ARGS sluice-broker --config {tmp_path}/etc/broker.properties "
                    "--override log.level=debug")
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == VOTERS
    assert props["process.roles"] == "broker"
    assert props["log.dirs"] == f"{tmp_path}/data/data"
    assert props["listeners"] == "PLAINTEXT://0.0.0.0:9092"
    assert props["advertised.listeners"] == f"PLAINTEXT://{socket.gethostname()}:9092"
    assert props["min.insync.replicas"] == "2"
    assert props["log.retention.hours"] == "24"
    assert props["some_under-dash.key"] == "x"
    assert props["cluster.id"] == "abc"
    assert read(tmp_path / "etc/role").strip() == "broker"


def test_entrypoint_controller_listens_on_its_voter_port(stand_in_servers, tmp_path):
    env = {"SLUICE_NODE_ID": "102", "SLUICE_CONTROLLER_QUORUM_VOTERS": VOTERS}
    _, props = started_config(entrypoint(stand_in_servers, ["controller"], env, tmp_path).stdout)
    assert props["listeners"] == "CONTROLLER://0.0.0.0:9094"
    assert props["process.roles"] == "controller"
    assert_known(props, "controller", "entrypoint controller config")


def test_entrypoint_layers_file_then_environment(stand_in_servers, tmp_path):
    base = tmp_path / "mounted.properties"
    base.write_text("node.id=7\ncontroller.quorum.voters=101@c:9093\nlog.dirs=/srv/x\n"
                    "num.partitions=4\nlisteners=PLAINTEXT://10.1.1.1:9092\n")
    env = {"SLUICE_CONFIG_FILE": str(base), "SLUICE_CFG_NUM_PARTITIONS": "8"}
    _, props = started_config(entrypoint(stand_in_servers, ["broker"], env, tmp_path).stdout)
    assert props["node.id"] == "7"
    assert props["log.dirs"] == "/srv/x"           # the file beats the image default
    assert props["num.partitions"] == "8"           # the environment beats the file
    assert props["listeners"] == "PLAINTEXT://10.1.1.1:9092"
    assert "advertised.listeners" not in props      # no listener defaults with a file


@pytest.mark.parametrize("env, message", [
    ({"SLUICE_CONTROLLER_QUORUM_VOTERS": VOTERS}, "node.id is not set"),
    ({"SLUICE_NODE_ID": "1"}, "controller.quorum.voters is not set"),
    ({"SLUICE_NODE_ID": "1", "SLUICE_CONTROLLER_QUORUM_VOTERS": VOTERS,
      "SLUICE_CFG_LOG_DIRS": "a\nb"}, "contains a newline"),
    ({"SLUICE_CONFIG_FILE": "/nonexistent"}, "not readable"),
])
def test_entrypoint_refuses_incomplete_config(stand_in_servers, tmp_path, env, message):
    proc = entrypoint(stand_in_servers, ["broker"], env, tmp_path, expect_rc=1)
    assert message in proc.stderr
    assert "ARGS" not in proc.stdout, "the server started"
    assert os.listdir(tmp_path / "etc") == [], "a config was left behind"


def free_listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock


def test_entrypoint_healthcheck_of_a_controller_is_a_tcp_connect(stand_in_servers, tmp_path):
    sock = free_listener()
    port = sock.getsockname()[1]
    env = {"SLUICE_NODE_ID": "101", "SLUICE_CONTROLLER_QUORUM_VOTERS": f"101@127.0.0.1:{port}",
           "SLUICE_LISTENERS": f"CONTROLLER://0.0.0.0:{port}"}
    entrypoint(stand_in_servers, ["controller"], env, tmp_path)
    try:
        entrypoint(stand_in_servers, ["healthcheck"], {}, tmp_path)
    finally:
        sock.close()
    proc = entrypoint(stand_in_servers, ["healthcheck"], {}, tmp_path, expect_rc=None)
    assert proc.returncode != 0


def test_entrypoint_healthcheck_of_a_broker_asks_api_versions(stand_in_servers, tmp_path):
    env = {"SLUICE_NODE_ID": "1", "SLUICE_CONTROLLER_QUORUM_VOTERS": VOTERS,
           "SLUICE_LISTENERS": "INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:19092"}
    proc = entrypoint(stand_in_servers, ["healthcheck"], {}, tmp_path, expect_rc=1)
    assert "has not started" in proc.stderr
    entrypoint(stand_in_servers, ["broker"], env, tmp_path)
    proc = entrypoint(stand_in_servers, ["healthcheck"], {}, tmp_path)
    assert "ARGS sluice broker-api-versions --bootstrap-server 127.0.0.1:9092" in proc.stderr
    entrypoint(stand_in_servers, ["healthcheck"], {"STAND_IN_RC": "1"}, tmp_path, expect_rc=1)


def test_entrypoint_help_and_passthrough(stand_in_servers, tmp_path):
    assert "sluice-entrypoint controller|broker" in entrypoint(
        stand_in_servers, ["help"], {}, tmp_path).stdout
    assert entrypoint(stand_in_servers, ["echo", "hi"], {}, tmp_path).stdout == "hi\n"


# ---------------------------------------------------------------- Dockerfile

def dockerfile_stages():
    """[(FROM line, [instructions])] with continuation lines joined and comments dropped."""
    stages, current, pending = [], None, ""
    for raw in read(os.path.join(DOCKER_DIR, "Dockerfile")).splitlines():
        if raw.strip().startswith("#") and not pending:
            continue
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if not line:
            continue
        if line.upper().startswith("FROM "):
            current = (line, [])
            stages.append(current)
        else:
            assert current, f"instruction before FROM: {line}"
            current[1].append(line)
    return stages


def deps_build_packages():
    text = read(os.path.join(ROOT, "scripts", "deps.sh"))
    m = re.search(r'^BUILD_PKGS="([^"]*)"', text, re.M)
    assert m, "BUILD_PKGS not found in scripts/deps.sh"
    return m.group(1).split()


def test_dockerfile_build_stage_uses_deps_sh_and_make():
    stages = dockerfile_stages()
    assert len(stages) == 2
    assert re.fullmatch(r"FROM debian:bookworm AS build", stages[0][0], re.I)
    build = stages[0][1]
    # The packages come from scripts/deps.sh, the same list `make` checks: the stage
    # copies the script, runs it, and installs nothing else by name.
    assert "COPY scripts/deps.sh scripts/deps.sh" in build
    assert any(re.match(r"RUN scripts/deps\.sh(\s|$)", i) for i in build), build
    assert not any("apt-get install" in i for i in build), "packages retyped in the Dockerfile"
    assert "build-essential" in deps_build_packages()  # deps.sh still lists the build set
    # `make` with the default goal (the README's build), then `make install`.
    runs = " && ".join(i[4:] for i in build if i.startswith("RUN "))
    makes = [c.strip().split() for c in runs.split("&&") if c.strip().startswith("make ")]
    assert len(makes) == 2, makes
    goals = [w for w in makes[0][1:] if not w.startswith("-") and "=" not in w]
    assert goals in ([], ["all"]), f"the image builds {goals}, not make's default goal"
    assert "install" in makes[1] and "DESTDIR=/staging" in makes[1]
    assert "runtime-packages.sh" in runs


def test_dockerfile_runtime_stage_is_slim_and_unprivileged():
    from_line, runtime = dockerfile_stages()[1]
    assert re.fullmatch(r"FROM debian:bookworm-slim", from_line, re.I)
    text = "\n".join(runtime)
    assert "-dev" not in text
    install = [i for i in runtime if "apt-get install" in i]
    assert len(install) == 1 and "$(cat /tmp/runtime-packages)" in install[0]
    assert "--no-install-recommends" in install[0]
    users = [i.split()[1] for i in runtime if i.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any(i.startswith("COPY --from=build /staging/usr/local/bin/") for i in runtime)
    assert any(i.startswith("HEALTHCHECK ") and "healthcheck" in i for i in runtime)
    assert 'ENTRYPOINT ["sluice-entrypoint"]' in runtime
    assert "STOPSIGNAL SIGTERM" in runtime


def test_dockerfile_copies_only_files_in_the_context():
    ignored = [l.strip() for l in read(os.path.join(DOCKER_DIR, "Dockerfile.dockerignore"))
               .splitlines() if l.strip() and not l.startswith("#")]
    assert {"build", ".git"} <= set(ignored)
    for _, stage in dockerfile_stages():
        for inst in stage:
            words = inst.split()
            if words[0] != "COPY" or any(w.startswith("--from") for w in words):
                continue
            for src in words[1:-1]:
                if src == ".":
                    continue
                assert os.path.exists(os.path.join(ROOT, src)), src
                assert src.split("/")[0] not in ignored, src
    assert os.access(ENTRYPOINT, os.X_OK), "COPY keeps the mode: the script must be executable"
    assert os.access(os.path.join(DOCKER_DIR, "runtime-packages.sh"), os.X_OK)


def test_runtime_packages_lists_runtime_libraries_only():
    binaries = [os.path.join(BUILD_DIR, "bin", n) for n in BIN_NAMES]
    binaries = [b for b in binaries if os.access(b, os.X_OK)]
    if not binaries:
        pytest.skip(f"no sluice binary built in {BUILD_DIR}/bin")
    packages = run([os.path.join(DOCKER_DIR, "runtime-packages.sh"), *binaries]).stdout.split()
    assert "libc6" in packages
    assert not [p for p in packages if p.endswith("-dev")], packages
    status = run(["dpkg-query", "-W", "-f=${Package} ${Status}\n", *packages]).stdout
    assert status.count("install ok installed") == len(packages), status
    run([os.path.join(DOCKER_DIR, "runtime-packages.sh"), "/nonexistent"], expect_rc=1)


# ---------------------------------------------------------------- docker-compose

@pytest.fixture(scope="module")
def compose():
    """The compose file as docker-compose resolves it (anchors merged, defaults filled)."""
    if not shutil.which("docker-compose"):
        pytest.skip("docker-compose not installed (Debian package docker-compose)")
    yaml = pytest.importorskip("yaml")
    proc = run(["docker-compose", "-f", COMPOSE, "config"])
    return yaml.safe_load(proc.stdout)


def test_compose_has_three_controllers_and_three_brokers(compose):
    services = compose["services"]
    assert sorted(services) == ["broker-1", "broker-2", "broker-3", "controller-1",
                                "controller-2", "controller-3"]
    ids = [services[s]["environment"]["SLUICE_NODE_ID"] for s in sorted(services)]
    assert len(set(ids)) == 6
    voters = services["controller-1"]["environment"]["SLUICE_CONTROLLER_QUORUM_VOTERS"]
    voter_ids = {v.split("@")[0]: v.split("@")[1] for v in voters.split(",")}
    for name, svc in services.items():
        env = svc["environment"]
        assert env["SLUICE_CONTROLLER_QUORUM_VOTERS"] == voters, name
        assert svc["command"] == [name.split("-")[0]], name
        assert svc.get("restart") in ("unless-stopped", "always", "on-failure"), name
        assert svc["image"] == "sluice:dev" and svc["build"]["dockerfile"].endswith(
            "deploy/docker/Dockerfile"), name
        if name.startswith("controller"):
            assert voter_ids[env["SLUICE_NODE_ID"]] == f"{svc['hostname']}:9093"
        else:
            assert env["SLUICE_NODE_ID"] not in voter_ids


def test_compose_services_have_healthchecks(compose):
    for name, svc in compose["services"].items():
        test = svc["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL"), name
        if name.startswith("broker"):
            assert test[1:4] == ["sluice", "broker-api-versions", "--bootstrap-server"], test
        else:
            assert "/dev/tcp/127.0.0.1/9093" in " ".join(test), test
        assert duration_s(svc["healthcheck"]["interval"]) <= 30


def test_compose_brokers_wait_for_healthy_controllers(compose):
    shutdown_wait_ms = int(table_defaults(os.path.join(ROOT, "broker", "broker_config.c"))
                           ["controlled.shutdown.max.wait.ms"])
    for name, svc in compose["services"].items():
        if not name.startswith("broker"):
            continue
        assert svc["depends_on"] == {f"controller-{i}": {"condition": "service_healthy"}
                                     for i in (1, 2, 3)}, name
        assert duration_s(svc["stop_grace_period"]) * 1000 > shutdown_wait_ms, name


def test_compose_volumes_are_named_and_distinct(compose):
    mounts = []
    for name, svc in compose["services"].items():
        vols = [v for v in svc["volumes"] if v.split(":")[1] == "/var/lib/sluice"]
        assert len(vols) == 1, (name, svc["volumes"])
        source = vols[0].split(":")[0]
        assert source in compose["volumes"], f"{name}: {source} is not a named volume"
        mounts.append(source)
    assert len(set(mounts)) == 6


def test_compose_brokers_are_reachable_from_the_host(compose):
    published = []
    for name, svc in compose["services"].items():
        if not name.startswith("broker"):
            assert not svc.get("ports"), f"{name} publishes ports"
            continue
        env = svc["environment"]
        listeners = dict(l.split("://") for l in env["SLUICE_LISTENERS"].split(","))
        advertised = dict(l.split("://") for l in env["SLUICE_ADVERTISED_LISTENERS"].split(","))
        assert set(listeners) == set(advertised) == {"INTERNAL", "EXTERNAL"}
        assert env["SLUICE_CFG_INTER_BROKER_LISTENER_NAME"] == "INTERNAL"
        assert advertised["INTERNAL"] == f"{svc['hostname']}:9092"
        host, port = advertised["EXTERNAL"].split(":")
        assert host == "localhost"
        assert listeners["EXTERNAL"] == f"0.0.0.0:{port}"
        assert [(int(p["published"]), int(p["target"])) for p in svc["ports"]] == [
            (int(port), int(port))], name
        published.append(int(port))
    assert sorted(published) == [19092, 29092, 39092]


def test_compose_environment_renders_valid_configs(compose, stand_in_servers, tmp_path):
    """Each service's environment through the real entry point gives a config whose keys
    the servers know, with the listeners the compose file means."""
    for name, svc in compose["services"].items():
        role = name.split("-")[0]
        env = {k: str(v) for k, v in svc["environment"].items()}
        out = entrypoint(stand_in_servers, [role], env, tmp_path / name).stdout
        _, props = started_config(out)
        assert_known(props, role, f"{name} rendered config")
        assert props["node.id"] == env["SLUICE_NODE_ID"]
        if role == "broker":
            assert props["listener.security.protocol.map"] == (
                "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT")
            assert props["advertised.listeners"] == env["SLUICE_ADVERTISED_LISTENERS"]
            assert props["min.insync.replicas"] == "2"
        else:
            assert props["listeners"] == "CONTROLLER://0.0.0.0:9093"
