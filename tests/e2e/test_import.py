"""promoter import: sources, env mapping, the store, refusals, and import-then-compile identity."""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from promoter.check.compiler import Compiler
from promoter.cli.commands.import_ import run_import
from promoter.errors import RefusedError
from promoter.importing.plan import same
from promoter.model.shapes import KNOWN_SMTP_PROPERTIES
from promoter.project.load import load_project
from tests.conftest import cli, write
from tests.support.idm_standin import IdmStandin

CANARY = "canary-7Qx2"
STORE_MODE = 0o600


# --- what compile must give back ------------------------------------------------------------


def expected(config: dict[str, Any]) -> dict[str, Any]:
    """The import contract: less _id/_rev; smtpProperties sorted by key, key and value stripped."""
    out = {k: v for k, v in config.items() if k not in ("_id", "_rev")}
    props = out.get("smtpProperties")
    if isinstance(props, list):
        pairs = [item.partition("=") for item in props]
        out["smtpProperties"] = [
            f"{k.strip()}={v.strip()}" for k, _, v in sorted(pairs, key=lambda p: p[0].strip())
        ]
    return out


def compiled_output(root: Path, env: str) -> Any:
    return Compiler(load_project(root)).compile(env).output


def files_under(root: Path) -> Iterator[Path]:
    for base, _dirs, names in os.walk(root):
        for name in names:
            yield Path(base) / name


def assert_secrets_only_in_store(root: Path, secrets: list[str]) -> None:
    """Every file holding a secret is a 0600 file in secrets/<env>/; no other file holds one."""
    for path in files_under(root):
        text = path.read_text(encoding="utf-8")
        holds = [s for s in secrets if s in text] or (CANARY in text)
        if path.relative_to(root).parts[0] == "secrets":
            assert stat.S_IMODE(path.stat().st_mode) == STORE_MODE, path
        else:
            assert not holds, f"a secret leaked into {path}"


# --- generated configurations -----------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12
)
secret = (
    st.tuples(_text, st.sampled_from(["", "\n", "\r", " ", "\r\n"]))
    .map(lambda t: CANARY + t[0] + t[1])
    .filter(lambda s: "&{" not in s)
)
crypto = st.fixed_dictionaries(
    {
        "$crypto": st.fixed_dictionaries(
            {
                "type": st.just("x-simple-encryption"),
                "value": st.fixed_dictionaries(
                    {"cipher": st.just("AES/CBC/PKCS5Padding"), "data": _text, "iv": _text}
                ),
            }
        )
    }
)
placeholder = st.sampled_from(["&{esv.email.password}", "&{esv.email.secret}"])
plain_address = st.from_regex(r"[a-z]{1,6}@[a-z]{1,6}\.(com|org)", fullmatch=True)
# Real shapes (DESIGN.md "Real-world configurations"): display-name from, string and
# placeholder ports, AIC's typed placeholders, placeholders with defaults.
address = st.one_of(
    plain_address,
    plain_address.map(lambda a: f'"Example Corp" <{a}>'),
    plain_address.map(lambda a: f"Example <{a}>"),
    st.just("&{esv.email.from|noreply@example.com}"),
)
port = st.one_of(
    st.integers(1, 65535),
    st.integers(1, 65535).map(str),
    st.just("&{esv.email.port}"),
    st.just({"$int": "&{esv.email.port|587}"}),
)
flag = st.one_of(st.booleans(), st.just({"$bool": "&{esv.email.tls|true}"}))
millis = st.one_of(st.integers(0, 600_000), st.just({"$int": "&{esv.email.timeout|30000}"}))
url = st.from_regex(r"https://[a-z]{1,8}\.example\.com/[a-z0-9/]{0,10}", fullmatch=True)
toggle = st.fixed_dictionaries({"enable": flag})
prop_value = st.text(alphabet="abcdefTLSv1.2 =-", max_size=10)
prop_key = st.sampled_from(sorted(KNOWN_SMTP_PROPERTIES) + ["mail.smtp.x-custom"])
spaces = st.sampled_from(["", " ", "  "])


@st.composite
def smtp_properties(draw: st.DrawFn) -> list[str]:
    props = draw(st.dictionaries(prop_key, prop_value, max_size=4))
    return [f"{draw(spaces)}{k}{draw(spaces)}={v}" for k, v in props.items()]


common = {
    "from": address,
    "threadPoolSize": st.integers(1, 50),
    "connectiontimeout": millis,
    "smtpProperties": smtp_properties(),
    "_id": st.just("external.email"),
    "_rev": st.text(alphabet="0123456789abcdef-", min_size=1, max_size=8),
}
host = st.sampled_from(
    ["smtp.example.com", "mail.example.org", "relay", "&{esv.email.host|smtp.example.com}"]
)
smtp = st.fixed_dictionaries(
    {"host": host, "port": port},
    optional={
        **common,
        "auth": st.fixed_dictionaries(  # absent: the server reads it as no authentication
            {"enable": st.booleans()},
            optional={
                "username": st.sampled_from(["mailer", "apikey", "user@example.com"]),
                "password": st.one_of(secret, crypto, placeholder),
            },
        ),
        "type": st.just("smtp"),
        "debug": flag,
        "fromName": _text,
        "starttls": toggle,
        "ssl": toggle,
        "timeout": millis,
        "writetimeout": millis,
    },
)
msgraph = st.fixed_dictionaries(
    {
        "type": st.just("msgraph"),
        "mailEndpoint": url,
        "auth": st.fixed_dictionaries(
            {
                "enable": st.booleans(),
                "type": st.just("oauth2"),
                "clientId": st.one_of(secret, placeholder),
                "clientSecret": st.one_of(secret, crypto, placeholder),
                "tokenEndpoint": url,
                "scope": st.lists(url, min_size=1, max_size=2),
            },
            optional={"scopeDelimiter": st.just(" "), "grantType": st.just("client_credentials")},
        ),
    },
    optional=common,
)


@st.composite
def environments(draw: st.DrawFn) -> list[tuple[str, dict[str, Any]]]:
    """1-4 environments; each is one of two templates with some keys changed or dropped."""
    count = draw(st.integers(1, 4))
    names = draw(st.permutations(["dev", "staging", "prod", "qa"]))[:count]
    templates = {"smtp": draw(smtp), "msgraph": draw(msgraph)}
    out = []
    for name in names:
        kind = draw(st.sampled_from(["smtp", "msgraph"]))
        config = dict(templates[kind])
        changed = draw(smtp if kind == "smtp" else msgraph)
        for key in draw(st.lists(st.sampled_from(sorted(changed)), unique=True)):
            config[key] = changed[key]
        for key in draw(st.lists(st.sampled_from(sorted(config)), unique=True, max_size=2)):
            if key not in ("type", "mailEndpoint", "host") and (kind, key) != ("msgraph", "auth"):
                del config[key]
        out.append((name, config))
    return out


def secrets_in(config: dict[str, Any]) -> list[str]:
    auth = config.get("auth", {})
    return [v for v in auth.values() if isinstance(v, str) and v.startswith(CANARY)]


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(environments())
def test_import_then_compile_is_the_identity(envs: list[tuple[str, dict[str, Any]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root, sources = Path(tmp) / "repo", Path(tmp) / "sources"
        root.mkdir()
        args = []
        for name, config in envs:
            source = write(sources / f"{name}.json", json.dumps(config))
            args.append(f"{name}={source}")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert run_import(root, args, [], force=False) == 0
        for name, config in envs:
            assert same(compiled_output(root, name), expected(config)), name
        all_secrets = [s for _, config in envs for s in secrets_in(config)]
        assert CANARY not in out.getvalue()
        assert_secrets_only_in_store(root, all_secrets)
        if len(envs) > 1:
            assert (root / "environments" / "base.yaml").is_file()


# --- the command line -------------------------------------------------------------------------

SMTP_SOURCE = {
    "_id": "external.email",
    "_rev": "7",
    "host": "smtp.example.com",
    "port": 587,
    "auth": {"enable": True, "username": "mailer", "password": f"{CANARY}-smtp-password"},
    "starttls": {"enable": True},
    "from": "noreply@example.com",
    "smtpProperties": ["mail.smtp.starttls.required=true", "mail.smtp.ssl.protocols=TLSv1.2"],
}
GRAPH_SOURCE = {
    "_id": "external.email",
    "type": "msgraph",
    "mailEndpoint": "https://graph.microsoft.com/v1.0/users/noreply@example.com/sendMail",
    "from": "noreply@example.com",
    "auth": {
        "enable": True,
        "type": "oauth2",
        "clientId": f"{CANARY}-client-id",
        "clientSecret": f"{CANARY}-client-secret",
        "tokenEndpoint": "https://login.microsoftonline.com/example/oauth2/v2.0/token",
        "scope": ["https://graph.microsoft.com/.default"],
    },
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    return path


def compile_file(repo: Path, env: str) -> Any:
    out = repo.parent / "out" / f"{env}.json"  # holds secret values: outside the repo
    run = cli("compile", env, "-o", str(out), cwd=repo)
    assert run.code == 0, run.err
    return json.loads(out.read_text())


def test_file_source_single_env_defaults_to_dev(repo: Path) -> None:
    source = write(repo.parent / "external.email.json", json.dumps(SMTP_SOURCE))
    run = cli("import", str(source), cwd=repo)
    assert run.code == 0, run.err
    assert run.out.splitlines()[:3] == [
        f"imported dev from {source.as_posix()} (smtp, 1 secret moved to the store)",
        "wrote environments/dev.yaml",
        "wrote secrets/dev/idm.email.smtp.password (mode 0600): "
        "auth.password -> $purpose idm.email.smtp.password",
    ]
    overlay = (repo / "environments" / "dev.yaml").read_text()
    assert overlay.startswith("# yaml-language-server: $schema=../schemas/overlay.schema.json\n")
    assert "password: {$purpose: {name: idm.email.smtp.password}}" in overlay
    assert not (repo / "environments" / "base.yaml").exists()
    assert not (repo / "promoter.yaml").exists()
    assert compile_file(repo, "dev") == expected(SMTP_SOURCE)
    assert CANARY not in run.out + run.err
    assert_secrets_only_in_store(repo, [SMTP_SOURCE["auth"]["password"]])  # type: ignore[index]


def test_second_import_refuses_and_writes_nothing(repo: Path) -> None:
    source = write(repo.parent / "a.json", json.dumps(SMTP_SOURCE))
    assert cli("import", "--env", "staging", str(source), cwd=repo).code == 0
    before = {p: p.read_bytes() for p in files_under(repo)}
    changed = dict(SMTP_SOURCE, host="other.example.com")
    write(source, json.dumps(changed))
    again = cli("import", "--env", "staging", str(source), cwd=repo)
    assert again.code == 1
    assert again.err == (
        "error: environments/staging.yaml, secrets/staging/idm.email.smtp.password already "
        "exist; nothing written (hint: --force replaces them)\n"
    )
    assert again.out == ""
    assert {p: p.read_bytes() for p in files_under(repo)} == before
    forced = cli("import", "--force", "--env", "staging", str(source), cwd=repo)
    assert forced.code == 0, forced.err
    assert compile_file(repo, "staging")["host"] == "other.example.com"
    assert_secrets_only_in_store(repo, [SMTP_SOURCE["auth"]["password"]])  # type: ignore[index]


def test_several_envs_share_a_base_and_overlays_hold_differences(repo: Path) -> None:
    dev = dict(SMTP_SOURCE, debug=True)
    staging = dict(SMTP_SOURCE, port=2587)
    prod = GRAPH_SOURCE
    paths = {}
    for name, config in (("dev", dev), ("staging", staging), ("prod", prod)):
        paths[name] = write(repo.parent / f"{name}.json", json.dumps(config))
    run = cli("import", *(f"--env={n}" for n in paths), *(str(p) for p in paths.values()), cwd=repo)
    assert run.code == 0, run.err
    base = (repo / "environments" / "base.yaml").read_text()
    # What most environments hold is shared; prod deletes what it lacks with null.
    assert "\nhost: smtp.example.com\n" in base and "\nfrom: noreply@example.com\n" in base
    assert "port:" not in base  # 587, 2587 and none: no value is held by most
    prod_overlay = (repo / "environments" / "prod.yaml").read_text()
    assert "\nhost: null\nstarttls: null\nsmtpProperties: null\n" in prod_overlay
    assert "  username: null\n  password: null\n" in prod_overlay
    assert "from:" not in prod_overlay
    assert (
        (repo / "environments" / "dev.yaml")
        .read_text()
        .endswith("by promoter import; only what differs from base.yaml.\nport: 587\ndebug: true\n")
    )
    assert "\nport: 2587\n" in (repo / "environments" / "staging.yaml").read_text()
    for name, config in (("dev", dev), ("staging", staging), ("prod", prod)):
        assert compile_file(repo, name) == expected(config)
    graph = json.loads((repo / "secrets" / "prod" / "idm.email.msgraph.credentials").read_text())
    assert graph == {"clientId": f"{CANARY}-client-id", "clientSecret": f"{CANARY}-client-secret"}
    assert CANARY not in run.out + run.err
    assert not (repo / "promoter.yaml").exists()  # dev, staging, prod: the conventions hold


def test_order_and_tiers_go_to_promoter_yaml_when_conventions_differ(repo: Path) -> None:
    a = write(repo.parent / "a.json", json.dumps(SMTP_SOURCE))
    b = write(repo.parent / "b.json", json.dumps(dict(SMTP_SOURCE, port=2525)))
    run = cli("import", f"test={a}", f"live={b}", cwd=repo)
    assert run.code == 0, run.err
    settings_text = (repo / "promoter.yaml").read_text()
    assert "order: [test, live]\n" in settings_text
    assert "  live:\n    tier: production" in settings_text
    assert load_project(repo).order == ("test", "live")


def test_fr_config_manager_export_directory(repo: Path) -> None:
    export = repo.parent / "fr-config" / "tenant-a"
    write(export / "email-provider" / "external.email.json", json.dumps(GRAPH_SOURCE))
    write(export / "themes" / "x.json", "{}")
    run = cli("import", "--env", "prod", str(repo.parent / "fr-config"), cwd=repo)
    assert run.code == 0, run.err
    assert compile_file(repo, "prod") == expected(GRAPH_SOURCE)


def test_frodo_exports(repo: Path) -> None:
    idm_export = {"meta": {"exportTool": "frodo"}, "idm": {"external.email": SMTP_SOURCE}}
    config_export = {"meta": {}, "global": {"idm": {"access": {}, "external.email": GRAPH_SOURCE}}}
    separate = repo.parent / "frodo-A" / "cloud" / "global" / "idm" / "external.email.idm.json"
    write(separate, json.dumps({"idm": {"external.email": dict(SMTP_SOURCE, port=465)}}))
    a = write(repo.parent / "external.email.idm.json", json.dumps(idm_export))
    b = write(repo.parent / "all.config.json", json.dumps(config_export))
    run = cli("import", f"dev={a}", f"staging={repo.parent / 'frodo-A'}", f"prod={b}", cwd=repo)
    assert run.code == 0, run.err
    assert compile_file(repo, "dev") == expected(SMTP_SOURCE)
    assert compile_file(repo, "staging") == expected(dict(SMTP_SOURCE, port=465))
    assert compile_file(repo, "prod") == expected(GRAPH_SOURCE)


def test_frodo_export_without_the_email_provider(repo: Path) -> None:
    source = write(repo.parent / "all.idm.json", json.dumps({"idm": {"access": {}}}))
    run = cli("import", str(source), cwd=repo)
    assert run.code == 2
    assert run.err == (
        f"error: {source.as_posix()}: this frodo export holds no external.email object "
        "(hint: export it with: frodo idm export -N external.email)\n"
    )


def test_idm_source_reads_the_environments_target(repo: Path) -> None:
    with IdmStandin(tokens=frozenset({"t0ken"})) as idm:
        idm.config = json.loads(json.dumps(GRAPH_SOURCE))
        write(
            repo / "promoter.yaml",
            f"environments:\n  prod:\n    target: {{idm: '{idm.base}', bearerEnv: TOK}}\n",
        )
        run = cli("import", "idm:prod", cwd=repo, env={"TOK": "t0ken"})
    assert run.code == 0, run.err
    assert run.out.startswith("imported prod from idm:prod (msgraph, 1 secret moved")
    out = compile_file(repo, "prod")
    # The stand-in, like IDM, serves the client secret encrypted: it stays a $crypto value.
    assert "$crypto" in out["auth"]["clientSecret"]
    assert out["auth"]["clientId"] == f"{CANARY}-client-id"
    assert CANARY not in run.out + run.err + (repo / "environments" / "prod.yaml").read_text()


def test_aic_source_is_a_clear_usage_error(repo: Path) -> None:
    write(repo / "environments" / "prod.yaml", "host: smtp.example.com\nauth: {enable: false}\n")
    run = cli("import", "aic:prod", cwd=repo)
    assert run.code == 2
    assert run.err.startswith("error: aic:prod: prod's target is not an AIC tenant")
    assert not (repo / "secrets").exists()


def test_env_count_must_match_the_sources(repo: Path) -> None:
    a = write(repo.parent / "a.json", json.dumps(SMTP_SOURCE))
    run = cli("import", str(a), str(a), cwd=repo)
    assert run.code == 2
    assert run.err == (
        "error: 2 source(s) without an environment and 0 --env given "
        "(hint: name each source: --env ENV once per source, in order, or ENV=SOURCE)\n"
    )
    assert list(repo.iterdir()) == []


def test_invalid_source_is_refused_and_nothing_written(repo: Path) -> None:
    bad = write(repo.parent / "bad.json", json.dumps({"type": "msgrpah", "auth": {}}))
    run = cli("import", str(bad), cwd=repo)
    assert run.code == 1
    assert run.err.startswith(f"error: {bad.as_posix()}: /type: ")
    assert "nothing written" in run.err
    assert list(repo.iterdir()) == []


def test_malformed_json_points_at_line_and_column(repo: Path) -> None:
    bad = write(repo.parent / "bad.json", '{\n  "host": "x",\n  port: 1\n}\n')
    run = cli("import", str(bad), cwd=repo)
    assert run.code == 2
    assert run.err == (
        f"error: {bad.as_posix()}:3:3: invalid JSON: "
        "Expecting property name enclosed in double quotes\n"
    )


def test_canary_in_every_secret_never_leaves_the_store(repo: Path) -> None:
    smtp = dict(SMTP_SOURCE, auth={"enable": True, "username": "u", "password": f"{CANARY}\r"})
    graph = json.loads(json.dumps(GRAPH_SOURCE))
    graph["proxy"] = {"proxyUri": "http://proxy:3128", "password": f"{CANARY}-proxy"}
    a = write(repo.parent / "a.json", json.dumps(smtp))
    b = write(repo.parent / "b.json", json.dumps(graph))
    run = cli("import", f"dev={a}", f"prod={b}", cwd=repo)
    assert run.code == 0, run.err
    assert CANARY not in run.out + run.err
    assert_secrets_only_in_store(repo, [f"{CANARY}\r", f"{CANARY}-proxy"])
    # A value the plain store cannot give back exactly (a trailing \r) is kept in a JSON object.
    assert compile_file(repo, "dev")["auth"]["password"] == f"{CANARY}\r"
    assert compile_file(repo, "prod")["proxy"]["password"] == f"{CANARY}-proxy"
    again = cli("import", f"dev={a}", f"prod={b}", cwd=repo)
    assert again.code == 1 and CANARY not in again.out + again.err


# --- the YAML that import writes --------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=16),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=8),
            inner,
            max_size=3,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@example({"A\n": None})  # a plain-looking key ending in a newline must be quoted
@given(
    st.dictionaries(
        st.text(max_size=8).filter(lambda k: "\ud800" not in k), json_values, max_size=5
    )
)
def test_written_yaml_reads_back_as_the_same_data(data: dict[str, Any]) -> None:
    from promoter.files.yamlfile import parse_yaml
    from promoter.importing.yamlwrite import to_yaml

    text = to_yaml(data)
    assert same(parse_yaml(text, "x.yaml").data or {}, data), text


def test_one_env_into_an_existing_repo_leaves_the_others_alone(example: Path) -> None:
    before = {env: compiled_output(example, env) for env in ("dev", "prod")}
    base = (example / "environments" / "base.yaml").read_bytes()
    source = write(example.parent / "staging.json", json.dumps(SMTP_SOURCE))
    run = cli("import", "--force", f"staging={source}", cwd=example)
    assert run.code == 0, run.err
    assert (example / "environments" / "base.yaml").read_bytes() == base
    overlay = (example / "environments" / "staging.yaml").read_text()
    assert "threadPoolSize: null" in overlay  # base.yaml sets it; this config does not
    assert compile_file(example, "staging") == expected(SMTP_SOURCE)
    assert {env: compiled_output(example, env) for env in ("dev", "prod")} == before


def test_idm_source_needs_an_idm_target(repo: Path) -> None:
    write(repo / "environments" / "prod.yaml", "host: smtp.example.com\nauth: {enable: false}\n")
    run = cli("import", "idm:prod", cwd=repo)
    assert run.code == 2
    assert run.err == (
        "error: idm:prod: prod's target is not IDM's REST API "
        "(hint: set target: {idm: URL, bearerEnv: VAR} for prod in promoter.yaml)\n"
    )


def test_a_directory_with_two_configurations_is_ambiguous(repo: Path) -> None:
    export = repo.parent / "exports"
    write(export / "a" / "email-provider" / "external.email.json", json.dumps(SMTP_SOURCE))
    write(export / "b" / "email-provider" / "external.email.json", json.dumps(SMTP_SOURCE))
    run = cli("import", str(export), cwd=repo)
    assert run.code == 2
    assert run.err.startswith(f"error: {export.as_posix()}: 2 email provider configurations")
    assert "(hint: import each one with its own environment: ENV=PATH)" in run.err


def test_duplicate_json_keys_are_refused(repo: Path) -> None:
    bad = write(repo.parent / "dup.json", '{"host": "a", "host": "b"}')
    run = cli("import", str(bad), cwd=repo)
    assert run.code == 2
    assert run.err == f"error: {bad.as_posix()}: invalid JSON: key 'host' appears twice\n"


def test_aic_source_reads_the_tenant(repo: Path) -> None:
    from tests.support.aic_standin import AicStandin

    held = {
        "_id": "external.email",
        "host": "&{esv.email.host|smtp.example.com}",
        "port": 587,
        "auth": {"enable": True, "username": "mailer", "password": f"{CANARY}-aic"},
        "starttls": {"enable": True},
        "from": "noreply@example.com",
    }
    with AicStandin("dev") as tenant:
        tenant.set_config("external.email", held)
        token = tenant.issue_token()
        write(
            repo / "promoter.yaml",
            f"environments:\n  dev:\n    target: {{aic: '{tenant.url}', bearerEnv: TOK}}\n",
        )
        run = cli("import", "aic:dev", cwd=repo, env={"TOK": token})
    assert run.code == 0, run.err
    assert run.out.startswith("imported dev from aic:dev (smtp, 1 secret moved to the store)")
    assert compiled_output(repo, "dev") == expected(held)
    assert CANARY not in run.out + run.err + token
    assert_secrets_only_in_store(repo, [f"{CANARY}-aic"])


def test_force_replaces_the_pins_of_imported_envs(example: Path) -> None:
    from promoter.project.pins import HEADER

    old_base = (example / "environments" / "base.yaml").read_text()
    pin = example / "environments" / "staging.pin.yaml"
    pin.write_text(HEADER.format(env="staging", path="environments/base.yaml") + old_base)
    prod_pin = example / "environments" / "prod.pin.yaml"  # prod, pinned, keeps its base
    prod_pin.write_text(HEADER.format(env="prod", path="environments/base.yaml") + old_base)
    prod_before = compile_bytes(example, "prod")
    a = write(example.parent / "a.json", json.dumps(SMTP_SOURCE))
    b = write(example.parent / "b.json", json.dumps(dict(SMTP_SOURCE, port=2587)))
    refused = cli("import", f"dev={a}", f"staging={b}", cwd=example)
    assert refused.code == 1 and "environments/staging.pin.yaml" in refused.err
    run = cli("import", "--force", f"dev={a}", f"staging={b}", cwd=example)
    assert run.code == 0, run.err
    assert "wrote environments/staging.pin.yaml" in run.out.splitlines()
    assert pin.read_text().startswith("# promoter pin: the base that staging compiles from.")
    assert compile_file(example, "staging") == expected(dict(SMTP_SOURCE, port=2587))
    assert compile_file(example, "dev") == expected(SMTP_SOURCE)
    assert compile_bytes(example, "prod") == prod_before


def compile_bytes(repo: Path, env: str) -> bytes:
    out = repo.parent / "out" / f"{env}.bytes.json"  # holds secret values: outside the repo
    run = cli("compile", env, "-o", str(out), cwd=repo)
    assert run.code == 0, run.err
    return out.read_bytes()


def test_force_of_some_envs_refuses_to_change_the_ones_not_imported(example: Path) -> None:
    """Issue 19 item 8: a new base.yaml would change dev, which is not imported."""
    from tests.e2e.test_promote import tree_digest

    dev_before = compile_bytes(example, "dev")
    before = tree_digest(example)
    a = write(example.parent / "a.json", json.dumps(SMTP_SOURCE))
    b = write(example.parent / "b.json", json.dumps(dict(SMTP_SOURCE, port=2587)))
    run = cli("import", "--force", f"staging={a}", f"prod={b}", cwd=example)
    assert run.code == 1
    assert run.out == ""
    assert run.err == (
        "error: importing staging, prod rewrites environments/base.yaml, which dev compiles "
        "from but is not imported: its output would change; nothing written (hint: import dev "
        "too (dev=SOURCE), or import one environment at a time (a single environment is "
        "written as its overlay only, base.yaml untouched))\n"
    )
    assert CANARY not in run.out + run.err
    assert tree_digest(example) == before
    assert compile_bytes(example, "dev") == dev_before
    # the refusal comes before the 'already exists' one: without --force it is the same
    assert cli("import", f"staging={a}", f"prod={b}", cwd=example).err == run.err
    # importing them one at a time is the way it names, and leaves dev byte-identical
    assert cli("import", "--force", f"staging={a}", cwd=example).code == 0
    assert cli("import", "--force", f"prod={b}", cwd=example).code == 0
    assert compile_bytes(example, "dev") == dev_before
    assert compile_file(example, "prod") == expected(dict(SMTP_SOURCE, port=2587))


REALWORLD = Path(__file__).resolve().parents[1] / "realworld"


@pytest.mark.parametrize("name", sorted(p.name for p in REALWORLD.glob("*.json")))
def test_every_real_world_shape_imports_exactly_or_is_refused(tmp_path: Path, name: str) -> None:
    """Each file of the real-world corpus, imported alone and as one of four environments."""
    source = json.loads((REALWORLD / name).read_text())
    others = [
        p for p in sorted(REALWORLD.glob("*.json")) if p.name != name and "pre-2015" not in p.name
    ][:3]
    root = tmp_path / "repo"
    root.mkdir()
    out = io.StringIO()
    args = [f"dev={REALWORLD / name}"] + [f"e{i}={p}" for i, p in enumerate(others)]
    try:
        with contextlib.redirect_stdout(out):
            run_import(root, args, [], force=False)
    except RefusedError as exc:
        assert "pre-2015" in name, exc  # the corpus's one shape the model refuses
        assert "nothing written" in str(exc)
        assert list(root.iterdir()) == []
        return
    assert "pre-2015" not in name
    assert same(compiled_output(root, "dev"), expected(source))
    for i, path in enumerate(others):
        assert same(compiled_output(root, f"e{i}"), expected(json.loads(path.read_text())))


def test_a_store_outside_the_repo_and_shared_by_two_envs(repo: Path) -> None:
    store = repo.parent / "mounted-store"
    shared = f"{{secrets: '{store}', allowOutsideRepo: true}}"
    write(repo / "promoter.yaml", f"environments:\n  dev: {shared}\n  staging: {shared}\n")
    a = write(repo.parent / "a.json", json.dumps(SMTP_SOURCE))
    b = write(repo.parent / "b.json", json.dumps(dict(SMTP_SOURCE, port=2587)))
    run = cli("import", f"dev={a}", f"staging={b}", cwd=repo)
    assert run.code == 0, run.err
    assert [p.name for p in store.iterdir()] == ["idm.email.smtp.password"]
    assert stat.S_IMODE((store / "idm.email.smtp.password").stat().st_mode) == STORE_MODE
    assert compile_file(repo, "staging") == expected(dict(SMTP_SOURCE, port=2587))
    other = dict(SMTP_SOURCE, auth={"enable": True, "username": "u", "password": "another"})
    write(b, json.dumps(other))
    (repo / "environments" / "dev.yaml").unlink()
    (repo / "environments" / "staging.yaml").unlink()
    (repo / "environments" / "base.yaml").unlink()
    (store / "idm.email.smtp.password").unlink()
    clash = cli("import", f"dev={a}", f"staging={b}", cwd=repo)
    assert clash.code == 1
    assert clash.err.startswith(
        f"error: dev and staging share {store.as_posix()}/idm.email.smtp.password but hold "
        "different values; nothing written"
    )
    assert list(store.iterdir()) == []
    assert list((repo / "environments").iterdir()) == []


def test_placeholders_are_declared_so_the_imported_repo_compiles(repo: Path) -> None:
    source = json.loads((REALWORLD / "fr-config-manager-esv-smtp.json").read_text())
    export = repo.parent / "config" / "dev"
    write(export / "email-provider" / "external.email.json", json.dumps(source))
    run = cli("import", f"dev={export}", cwd=repo)
    assert run.code == 0, run.err
    settings_text = (repo / "promoter.yaml").read_text()
    assert (
        "    esvs: [esv.email.host, esv.email.port, esv.email.username, esv.email.password]\n"
        in (settings_text)
    )
    assert compile_file(repo, "dev") == expected(source)  # EMAIL009 does not refuse it


def test_an_existing_promoter_yaml_is_left_alone_and_the_note_says_what_to_declare(
    repo: Path,
) -> None:
    write(repo / "promoter.yaml", "environments:\n  dev: {tier: development}\n")
    source = write(repo.parent / "esv.json", json.dumps(dict(SMTP_SOURCE, host="&{esv.mail.host}")))
    run = cli("import", str(source), cwd=repo)
    assert run.code == 0, run.err
    assert (repo / "promoter.yaml").read_text() == "environments:\n  dev: {tier: development}\n"
    assert (
        "note: dev uses &{esv.mail.host}: declare them in promoter.yaml (esvs:, properties:)"
        in run.out.splitlines()
    )


# --- review fixes ---------------------------------------------------------------------------


def test_the_store_note_says_scan_checks_only_upper_stores(repo: Path) -> None:
    source = write(repo.parent / "a.json", json.dumps(SMTP_SOURCE))
    dev = cli("import", str(source), cwd=repo)
    assert dev.code == 0, dev.err
    assert dev.out.splitlines()[-1] == (
        "note: git-ignore secrets/dev/: scan does not check development stores"
    )
    assert "promoter scan checks this" not in dev.out
    staging = cli("import", "--env", "staging", str(source), cwd=repo)
    assert staging.code == 0, staging.err
    assert staging.out.splitlines()[-1] == (
        "note: keep secrets/staging/ out of git (promoter scan checks this)"
    )


def test_a_fifo_source_is_refused_without_waiting(repo: Path) -> None:
    fifo = repo.parent / "fifo.json"
    os.mkfifo(fifo)
    run = cli("import", str(fifo), cwd=repo)
    assert run.code == 2
    assert run.err == f"error: {fifo.as_posix()}: not a regular file\n"
    assert list(repo.iterdir()) == []


@pytest.mark.parametrize("depth", [100, 100_000])
def test_a_deeply_nested_source_is_a_one_line_input_error(repo: Path, depth: int) -> None:
    nested = '{"type": "smtp", "host": "h.example.com", "x": ' + "[" * depth + "]" * depth + "}"
    source = write(repo.parent / "deep.json", nested)
    run = cli("import", str(source), cwd=repo)
    assert run.code == 2
    assert run.err == f"error: {source.as_posix()}: JSON nested deeper than 64 levels\n"
    assert list(repo.iterdir()) == []


def test_a_plan_the_scratch_copy_refuses_is_reported_at_the_source(repo: Path) -> None:
    big = dict(SMTP_SOURCE, subject="x" * (1100 * 1024))  # the overlay would pass 1 MiB
    source = write(repo.parent / "big.json", json.dumps(big))
    run = cli("import", str(source), cwd=repo)
    assert run.code == 2
    assert run.err == (
        f"error: {source.as_posix()}: the planned environments/dev.yaml: "
        "file is larger than 1 MiB; nothing written\n"
    )
    assert "promoter-import-" not in run.err
    assert list(repo.iterdir()) == []


def test_a_version_named_with_a_superscript_digit_is_not_a_version(repo: Path) -> None:
    write(
        repo / "promoter.yaml",
        "environments:\n  dev: {secrets: {directory: secrets/dev, versionSuffix: .v}}\n",
    )
    write(repo / "secrets/dev/idm.email.smtp.password.v\u00b2", "old\n")
    source = write(repo.parent / "a.json", json.dumps(SMTP_SOURCE))
    run = cli("import", str(source), cwd=repo)
    assert run.code == 0, run.err
    assert "wrote secrets/dev/idm.email.smtp.password.v1 (mode 0600): " in run.out
    assert CANARY not in run.out + run.err


def test_a_property_with_a_default_needs_no_declaration(repo: Path) -> None:
    write(repo / "promoter.yaml", "environments:\n  dev: {tier: development}\n")
    config = dict(SMTP_SOURCE, host="&{smtp.host|smtp.example.com}", **{"from": "&{esv.from}"})
    source = write(repo.parent / "p.json", json.dumps(config))
    run = cli("import", str(source), cwd=repo)
    assert run.code == 0, run.err
    assert (
        "note: dev uses &{esv.from}: declare them in promoter.yaml (esvs:, properties:)"
        in run.out.splitlines()
    )
    assert "smtp.host" not in run.out


def test_a_blank_password_stays_in_the_overlay(repo: Path) -> None:
    config = dict(SMTP_SOURCE, auth={"enable": True, "username": "mailer", "password": "  "})
    source = write(repo.parent / "blank.json", json.dumps(config))
    run = cli("import", str(source), cwd=repo)
    assert run.code == 0, run.err
    assert run.out.splitlines()[0] == f"imported dev from {source.as_posix()} (smtp)"
    assert 'password: "  "' in (repo / "environments/dev.yaml").read_text()
    assert not (repo / "secrets").exists()


def test_a_repo_found_above_is_named_in_the_report(repo: Path) -> None:
    (repo / "environments").mkdir()
    below = repo / "new"
    below.mkdir()
    source = write(repo.parent / "a.json", json.dumps(SMTP_SOURCE))
    run = cli("import", str(source), cwd=below)
    assert run.code == 0, run.err
    assert run.out.splitlines()[:2] == [
        f"imported dev from {source.as_posix()} into {repo.resolve().as_posix()} "
        "(smtp, 1 secret moved to the store)",
        "wrote environments/dev.yaml",
    ]
    assert (repo / "environments/dev.yaml").is_file()
    assert list(below.iterdir()) == []


def test_a_literal_of_the_wrong_type_is_hinted_with_the_purpose_import_uses(repo: Path) -> None:
    write(
        repo / "environments/dev.yaml",
        "type: smtp\nhost: h.example.com\nport: 587\nfrom: a@example.com\n"
        "auth: {enable: true, username: u, password: 5}\n",
    )
    run = cli("check", "dev", cwd=repo)
    assert run.code == 1
    assert "    hint: keep secrets in the store: {$purpose: {name: idm.email.smtp.password}}" in (
        run.out.splitlines()
    )


def test_a_source_path_that_is_not_utf8_is_shown_escaped(repo: Path) -> None:
    directory = os.path.join(os.fsencode(repo.parent), b"\xff")
    os.mkdir(directory)
    with open(os.path.join(directory, b"a.json"), "w", encoding="utf-8") as handle:
        json.dump(SMTP_SOURCE, handle)
    source = os.fsdecode(os.path.join(directory, b"a.json"))
    run = cli("import", source, cwd=repo)
    assert run.code == 0, run.err
    shown = f"{repo.parent.as_posix()}/\\udcff/a.json"
    assert (
        run.out.splitlines()[0] == f"imported dev from {shown} (smtp, 1 secret moved to the store)"
    )
    assert f"# dev: imported from {shown} by promoter import." in (
        (repo / "environments/dev.yaml").read_text()
    )


def _schema_pointers(root: Path) -> dict[Path, Path]:
    """Each written YAML file's editor schema pointer, resolved against the file."""
    pointers = {}
    for path in files_under(root):
        if path.suffix == ".yaml":
            first = path.read_text(encoding="utf-8").splitlines()[0]
            if first.startswith("# yaml-language-server: $schema="):
                pointers[path] = (path.parent / first.split("$schema=", 1)[1]).resolve()
    return pointers


def test_import_writes_the_schemas_its_files_point_at(repo: Path) -> None:
    sources = []
    for env, config in (("dev", SMTP_SOURCE), ("staging", dict(SMTP_SOURCE, port=2587))):
        sources.append(str(write(repo.parent / f"{env}.json", json.dumps(config))))
    run = cli("import", "--env", "dev", "--env", "staging", *sources, cwd=repo)
    assert run.code == 0, run.err
    assert "wrote schemas/overlay.schema.json (for editors: the files above point at it)" in (
        run.out.splitlines()
    )
    pointers = _schema_pointers(repo)
    assert {p.relative_to(repo).as_posix() for p in pointers} >= {
        "environments/base.yaml",
        "environments/dev.yaml",
        "environments/staging.yaml",
    }
    for path, schema in pointers.items():
        assert schema.is_file(), f"{path} points at {schema}, which is missing"
        json.loads(schema.read_text())
    assert cli("schema", "--check", cwd=repo).code == 0
    again = cli("import", "--force", "--env", "dev", "--env", "staging", *sources, cwd=repo)
    assert again.code == 0, again.err
    assert "schemas/" not in again.out  # up to date: left alone, not a conflict
    assert CANARY not in run.out + run.err + again.out + again.err


def test_a_password_that_only_contains_a_placeholder_opener_is_moved(repo: Path) -> None:
    literal = "Zq7&{not-a-placeholder" + CANARY
    config = {**SMTP_SOURCE, "auth": {**SMTP_SOURCE["auth"], "password": literal}}
    source = write(repo.parent / "external.email.json", json.dumps(config))
    run = cli("import", str(source), cwd=repo)
    assert run.code == 0, run.err
    assert "(smtp, 1 secret moved to the store)" in run.out
    assert literal not in (repo / "environments" / "dev.yaml").read_text()
    assert (repo / "secrets/dev/idm.email.smtp.password").read_text().startswith(literal)
    assert literal not in run.out + run.err
