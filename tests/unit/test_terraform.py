"""infra/terraform: formatting (when terraform is installed) and the non-negotiables, read from the .tf text.

`terraform init` cannot download providers on the build machines, so nothing here validates or plans; these
checks read the configuration as text (comments stripped) and assert what must never regress: buckets private
and encrypted, TLS-only policies, bronze never expired, secrets never in plain container environment, no
DynamoDB lock table (delta-rs 1.x uses conditional PUTs on S3).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

TF_DIR = Path(__file__).resolve().parents[2] / "infra" / "terraform"

# The application's secrets (resources/settings.py) and Dagster's Postgres password.
SECRET_ENV_NAMES = {"FRED_API_KEY", "EIA_API_KEY", "CFTC_APP_TOKEN", "DAGSTER_PG_PASSWORD"}
CREDENTIAL_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL")


# --- a small HCL reader: enough to find top-level blocks and their bodies ------------------------------------------


def _strip_comments(text: str) -> str:
    """Remove `#`, `//` and `/* */` comments, leaving strings (with `${...}` interpolations) and heredocs intact."""
    out: list[str] = []
    i, n = 0, len(text)
    stack: list[str] = []  # "str" inside a quoted string, "interp" inside ${...} (which may hold strings)
    heredoc: str | None = None
    while i < n:
        if heredoc is not None:
            end = text.find("\n", i)
            line = text[i:] if end == -1 else text[i : end + 1]
            out.append(line)
            i += len(line)
            if line.strip() == heredoc:
                heredoc = None
            continue
        ch = text[i]
        top = stack[-1] if stack else None
        if top == "str":
            if ch == "\\":
                out.append(text[i : i + 2])
                i += 2
                continue
            if text.startswith("${", i):
                stack.append("interp")
                out.append("${")
                i += 2
                continue
            if ch == '"':
                stack.pop()
            out.append(ch)
            i += 1
            continue
        if ch == '"':
            stack.append("str")
        elif ch == "{" and top == "interp":
            stack.append("brace")
        elif ch == "}" and top in ("interp", "brace"):
            stack.pop()
        elif ch == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end == -1 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i)
            i = n if end == -1 else end + 2
            continue
        elif text.startswith("<<", i) and top is None:
            match = re.match(r"<<-?([A-Za-z_]+)\n", text[i:])
            if match:
                heredoc = match.group(1)
                out.append(match.group(0))
                i += len(match.group(0))
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _matching_brace(text: str, open_at: int) -> int:
    """Index of the `}` closing the `{` at `open_at`, skipping braces inside strings."""
    depth, i, in_string = 0, open_at, False
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise AssertionError(f"unbalanced braces after offset {open_at}")


@cache
def _sources() -> dict[str, str]:
    """Every .tf file under infra/terraform, comments stripped, by path relative to it."""
    return {str(p.relative_to(TF_DIR)): _strip_comments(p.read_text(encoding="utf-8")) for p in TF_DIR.rglob("*.tf")}


@cache
def _blocks() -> dict[tuple[str, ...], str]:
    """Top-level blocks by (kind, *labels), e.g. ("resource", "aws_s3_bucket", "lake") -> body text."""
    found: dict[tuple[str, ...], str] = {}
    header = re.compile(
        r'^(resource|data|ephemeral|variable|output|locals|terraform|provider)((?:\s+"[^"]*")*)\s*\{', re.M
    )
    for text in _sources().values():
        for match in header.finditer(text):
            close = _matching_brace(text, match.end() - 1)
            key = (match.group(1), *re.findall(r'"([^"]*)"', match.group(2)))
            found[key] = found.get(key, "") + text[match.end() : close]
    return found


def _resources(type_: str) -> dict[str, str]:
    return {key[2]: body for key, body in _blocks().items() if key[:2] == ("resource", type_)}


def _for_bucket(type_: str, bucket: str) -> str:
    """Body of the `type_` resource attached to aws_s3_bucket.<bucket>."""
    for body in _resources(type_).values():
        if re.search(rf"\bbucket\s*=\s*aws_s3_bucket\.{bucket}\.(id|bucket)\b", body):
            return body
    raise AssertionError(f"aws_s3_bucket.{bucket} has no {type_}")


def _all_code() -> str:
    return "\n".join(_sources().values())


# --- formatting ------------------------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH: `terraform fmt` not checked")
def test_terraform_fmt_is_clean():
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-diff", str(TF_DIR)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, (
        f"terraform fmt -check failed; run `terraform fmt -recursive infra/terraform`:\n{result.stdout}"
    )


# --- layout and pins -------------------------------------------------------------------------------------------------


def test_expected_files_exist():
    for name in ("versions.tf", "variables.tf", "outputs.tf", "terraform.tfvars.example", "README.md"):
        assert (TF_DIR / name).is_file(), f"infra/terraform/{name} is missing"


def test_terraform_and_provider_versions_are_pinned():
    terraform = _blocks()[("terraform",)]
    assert re.search(r'required_version\s*=\s*"[^"]*\d', terraform)
    aws = re.search(r"aws\s*=\s*\{(.*?)\}", terraform, re.S)
    assert aws, "the aws provider is not in required_providers"
    assert 'source = "hashicorp/aws"' in re.sub(r"\s+", " ", aws.group(1))
    version = re.search(r'version\s*=\s*"([^"]+)"', aws.group(1))
    assert version and version.group(1).startswith(("~>", "=")), "pin the aws provider with ~> or ="


def test_every_variable_is_typed_and_described():
    variables = {key[1]: body for key, body in _blocks().items() if key[0] == "variable"}
    assert variables
    for name, body in variables.items():
        assert re.search(r"^\s*type\s*=", body, re.M), f"variable {name} has no type"
        assert re.search(r"^\s*description\s*=", body, re.M), f"variable {name} has no description"
    assert "tags" in variables


# --- buckets ---------------------------------------------------------------------------------------------------------


def test_there_are_lake_feeds_and_log_buckets():
    assert {"lake", "feeds", "logs"} <= set(_resources("aws_s3_bucket"))


@pytest.mark.parametrize("bucket", sorted(_resources("aws_s3_bucket")))
def test_bucket_blocks_all_public_access(bucket):
    body = _for_bucket("aws_s3_bucket_public_access_block", bucket)
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert re.search(rf"\b{flag}\s*=\s*true\b", body), f"{bucket}: {flag} is not true"
    ownership = _for_bucket("aws_s3_bucket_ownership_controls", bucket)
    assert '"BucketOwnerEnforced"' in ownership, f"{bucket}: ACLs are not disabled"


@pytest.mark.parametrize("bucket", sorted(_resources("aws_s3_bucket")))
def test_bucket_is_encrypted_versioned_and_tls_only(bucket):
    sse = _for_bucket("aws_s3_bucket_server_side_encryption_configuration", bucket)
    assert re.search(r'sse_algorithm\s*=\s*"(aws:kms|aws:kms:dsse|AES256)"', sse), f"{bucket}: no default encryption"
    assert re.search(r'status\s*=\s*"Enabled"', _for_bucket("aws_s3_bucket_versioning", bucket))

    policy = _for_bucket("aws_s3_bucket_policy", bucket)
    document = re.search(r"policy\s*=\s*data\.aws_iam_policy_document\.(\w+)\.json", policy)
    assert document, f"{bucket}: bucket policy is not an aws_iam_policy_document"
    body = _blocks()[("data", "aws_iam_policy_document", document.group(1))]
    assert re.search(r'"aws:SecureTransport"\s*values\s*=\s*\["false"\]', body), f"{bucket}: policy is not TLS-only"


@pytest.mark.parametrize("bucket", ["lake", "feeds"])
def test_data_buckets_use_sse_kms_with_a_dedicated_key(bucket):
    sse = _for_bucket("aws_s3_bucket_server_side_encryption_configuration", bucket)
    assert re.search(r'sse_algorithm\s*=\s*"aws:kms"', sse)
    assert re.search(rf"kms_master_key_id\s*=\s*aws_kms_key\.{bucket}\.arn", sse), f"{bucket}: not its own KMS key"
    assert re.search(r"enable_key_rotation\s*=\s*true", _resources("aws_kms_key")[bucket])


def test_lake_and_feeds_log_to_the_log_bucket():
    for bucket in ("lake", "feeds"):
        assert re.search(r"target_bucket\s*=\s*aws_s3_bucket\.logs\.id", _for_bucket("aws_s3_bucket_logging", bucket))


def test_bronze_is_transitioned_but_never_expired():
    lifecycle = _for_bucket("aws_s3_bucket_lifecycle_configuration", "lake")
    bronze_rules = [
        rule for rule in re.split(r"\n\s*(?:dynamic\s+\"rule\"|rule)\s*\{", lifecycle) if "/bronze/" in rule
    ]
    assert bronze_rules, "no lifecycle rule for bronze"
    for rule in bronze_rules:
        assert "transition" in rule
        assert "expiration" not in rule, "a lifecycle rule expires bronze objects or versions"
    expiring = re.search(r"lake_expiring_zones\s*=\s*\[([^\]]*)\]", _all_code())
    assert expiring and "bronze" not in expiring.group(1)
    # and nobody may permanently delete a bronze object version
    policy = _blocks()[("data", "aws_iam_policy_document", "lake_bucket")]
    assert re.search(r'"Deny".*?"s3:DeleteObjectVersion".*?/bronze/\*', policy, re.S)


# --- secrets ---------------------------------------------------------------------------------------------------------


def test_container_environment_holds_no_secret():
    code = _all_code()
    # every literal { name = "X", value = ... } entry (container environment) names no credential
    for name in re.findall(r'name\s*=\s*"([A-Za-z0-9_]+)"\s*,\s*value\s*=', code):
        assert name not in SECRET_ENV_NAMES and not CREDENTIAL_NAME.search(name), f"{name} is a plain environment value"
    # the environment map the task definitions use names no credential either
    environment = re.search(r"dagster_environment\s*=\s*merge\((.*?)\n  \)", code, re.S)
    assert environment, "local.dagster_environment not found"
    keys = set(re.findall(r"^\s*([A-Z][A-Z0-9_]*)\s*=", environment.group(1), re.M))
    assert "NEXUS_LAKE_URI" in keys and "AWS_REGION" in keys
    assert not keys & SECRET_ENV_NAMES
    assert not [key for key in keys if CREDENTIAL_NAME.search(key)]
    # and extra environment from tfvars cannot smuggle one in
    assert "PASSWORD" in _blocks()[("variable", "extra_environment")].split("validation", 1)[-1]


def test_secrets_are_injected_from_secrets_manager():
    code = _all_code()
    assert re.search(r'name\s*=\s*"DAGSTER_PG_PASSWORD"\s*,\s*valueFrom\s*=\s*aws_secretsmanager_secret\.', code)
    env_names = re.search(r"api_key_env_names\s*=\s*toset\(\[([^\]]*)\]\)", code)
    assert env_names and set(re.findall(r'"([A-Z_]+)"', env_names.group(1))) == {
        "FRED_API_KEY",
        "EIA_API_KEY",
        "CFTC_APP_TOKEN",
    }
    assert re.search(r"valueFrom\s*=\s*aws_secretsmanager_secret\.api_keys\[", code)
    for task in _resources("aws_ecs_task_definition").values():
        assert "container_definitions" in task


def test_no_secret_value_is_written_by_terraform():
    code = _all_code()
    assert not re.search(r"\bsecret_string\s*=", code), "use secret_string_wo: values must not reach the state"
    assert not re.search(r"\bsecret_binary\s*=", code)
    database = _resources("aws_db_instance")
    assert database
    for body in database.values():
        assert not re.search(r"^\s*password\s*=", body, re.M), "use password_wo: the password must not reach the state"


# --- locking ---------------------------------------------------------------------------------------------------------


def test_no_dynamodb_lock_table():
    code = _all_code()
    assert not _resources("aws_dynamodb_table"), "delta-rs 1.x needs no lock table (conditional PUTs)"
    assert "dynamodb" not in code.lower(), "no DynamoDB: not for Delta locking, not for Terraform state"
    backend_example = TF_DIR / "backend.hcl.example"
    if backend_example.is_file():
        assert "dynamodb" not in _strip_comments(backend_example.read_text(encoding="utf-8")).lower()


# --- least privilege -------------------------------------------------------------------------------------------------


def test_application_roles_use_no_wildcard_actions_or_resources():
    iam = _sources()["iam.tf"]
    assert not re.search(r'"[a-z0-9-]+:\*"', iam), "a service-wide action wildcard in iam.tf"
    assert not re.search(r'resources\s*=\s*\["\*"\]', iam), 'resources = ["*"] in iam.tf'
