"""docs/manifest.schema.json, for editors (yaml-language-server): every example validates against it,
bad manifests do not, and its keys are the parser's own, asked of the binary."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import REPO

SCHEMA = json.loads((REPO / "docs" / "manifest.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
HEADER = {
    "version": 1,
    "auth": {"roles_anywhere": {"certificate": "/c", "private_key": "/k", "role_arn": "arn:aws:iam::111122223333:role/r",
                                "trust_anchor_arn": "arn:aws:rolesanywhere:us-west-2:111122223333:trust-anchor/t",
                                "profile_arn": "arn:aws:rolesanywhere:us-west-2:111122223333:profile/p"}},
}


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates_and_names_the_schema(example):
    text = example.read_text()
    assert text.startswith("# yaml-language-server: $schema=../docs/manifest.schema.json\n"), "the first line points editors at the schema"
    errors = [f"{list(e.path)}: {e.message}" for e in VALIDATOR.iter_errors(yaml.safe_load(text))]
    assert errors == []


BAD = {
    "unknown top-level key": {"secrets": [{"id": "a", "files": [{"path": "/x"}]}], "secret": []},
    "no secrets or parameters": {},
    "a relative path": {"secrets": [{"id": "a", "files": [{"path": "etc/x"}]}]},
    "a bare number as duration": {"interval": "300", "secrets": [{"id": "a", "files": [{"path": "/x"}]}]},
    "an unknown format": {"secrets": [{"id": "a", "files": [{"path": "/x", "format": "yaml"}]}]},
    "template and key": {"secrets": [{"id": "a", "files": [{"path": "/x", "template": "{{a}}", "key": "a"}]}]},
    "version_stage and version_id": {"secrets": [{"id": "a", "version_stage": "S", "version_id": "0" * 36, "env": [{"name": "A"}]}]},
    "a secret going nowhere": {"secrets": [{"id": "a"}]},
    "a negated selection": {"secrets": [{"select": {"name_prefix": "!p/"}, "directory": "/d"}]},
    "name: for a path": {"parameters": [{"path": "/p", "env": [{"name": "A"}]}]},
    "version and label": {"parameters": [{"id": "/p", "version": 2, "label": "x", "env": [{"name": "A"}]}]},
    "a numeric label": {"parameters": [{"id": "/p", "label": "12", "env": [{"name": "A"}]}]},
    "an endpoint on the network": {"credentials_endpoint": {"listen": "0.0.0.0:9911"}, "secrets": [{"id": "a", "env": [{"name": "A"}]}]},
    "a region that is not one": {"region": "evil.example", "secrets": [{"id": "a", "env": [{"name": "A"}]}]},
    "two auth sources": {"auth": {"environment": True, "profile": "p"}, "secrets": [{"id": "a", "env": [{"name": "A"}]}]},
    "a mode with a setuid bit": {"secrets": [{"id": "a", "files": [{"path": "/x", "mode": "4755"}]}]},
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_manifests_fail_the_schema_and_the_parser(name, binary, tmp_path):
    document = {**copy.deepcopy(HEADER), **copy.deepcopy(BAD[name])}
    assert list(VALIDATOR.iter_errors(document)), f"the schema accepts: {name}"
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump(document))
    result = subprocess.run([str(binary), "validate", "-c", str(manifest)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, f"the parser accepts: {name}\n{result.stdout}{result.stderr}"


# Where an unknown key is put, and where the schema lists that mapping's keys.
PLACES = {
    "top level": ([], ["properties"]),
    "defaults": (["defaults"], ["properties", "defaults", "properties"]),
    "roles_anywhere": (["auth", "roles_anywhere"], ["$defs", "rolesAnywhere", "properties"]),
    "roles_anywhere fallback": (["auth", "roles_anywhere", "fallback", 0], ["$defs", "rolesAnywhere", "properties", "fallback", "items", "properties"]),
    "a secret": (["secrets", 0], ["$defs", "secret", "anyOf", 0, "properties"]),
    "a file": (["secrets", 0, "files", 0], ["$defs", "file", "properties"]),
    "an env entry": (["secrets", 0, "env", 0], ["$defs", "env", "properties"]),
    "a selection": (["secrets", 1], ["$defs", "secret", "anyOf", 1, "properties"]),
    "select": (["secrets", 1, "select"], ["$defs", "secret", "anyOf", 1, "properties", "select", "properties"]),
    "a parameter": (["parameters", 0], ["$defs", "parameter", "anyOf", 0, "properties"]),
    "a parameter path": (["parameters", 1], ["$defs", "parameter", "anyOf", 1, "properties"]),
    "credentials_endpoint": (["credentials_endpoint"], ["$defs", "credentialsEndpoint", "properties"]),
}


@pytest.mark.parametrize("place", sorted(PLACES))
def test_the_schema_knows_exactly_the_keys_the_parser_knows(place, binary, tmp_path):
    document = {
        **copy.deepcopy(HEADER), "defaults": {"mode": "0600"}, "credentials_endpoint": {"listen": "127.0.0.1:9911"},
        "secrets": [{"id": "a", "files": [{"path": "/x"}], "env": [{"name": "A"}]}, {"select": {"name_prefix": "p/"}, "directory": "/d"}],
        "parameters": [{"id": "/p", "env": [{"name": "P"}]}, {"path": "/q", "directory": "/e"}],
    }
    document["auth"]["roles_anywhere"] = dict(document["auth"]["roles_anywhere"], fallback=[
        {"trust_anchor_arn": "arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/t2",
         "profile_arn": "arn:aws:rolesanywhere:us-east-1:111122223333:profile/p2"}])
    path, schema_path = PLACES[place]
    target = document
    for step in path:
        target = target[step]
    target["zz_unknown"] = "x"
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump(document))
    result = subprocess.run([str(binary), "validate", "-c", str(manifest)], capture_output=True, text=True, timeout=30)
    fixes = re.findall(r"zz_unknown: unknown key\n\s+fix: (?:did you mean '[^']+'\? )?known keys here: (.*)", result.stderr)
    assert len(fixes) == 1, result.stderr
    parser_keys = {key.strip() for key in fixes[0].split(",")}
    schema = SCHEMA
    for step in schema_path:
        schema = schema[step]
    assert set(schema) == parser_keys, f"{place}: schema {sorted(schema)} vs parser {sorted(parser_keys)}"
