"""`ztd admin token --operator` and `ztd emulator ...` against a running emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ztd.cli.main import app
from ztd.identity import synthesize_hash
from ztd.server.auth.tokens import OPERATOR_TENANT, Role
from ztd.testing import ControlClient, ControlError, Emulator, emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with emulator() as running:
        yield running


def run(emu: Emulator, *args: str, token: str | None = None) -> tuple[int, str]:
    env = {
        "ZTD_URL": emu.base_url,
        "ZTD_DATA_DIR": str(emu.settings.data_dir),
        "ZTD_ISSUER": emu.settings.issuer,
    }
    if token is not None:
        env["ZTD_OPERATOR_TOKEN"] = token
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_operator_token_from_the_cli_drives_the_control_plane(
    emu: Emulator, tmp_path: Path
) -> None:
    code, token = run(emu, "admin", "token", "--operator")
    assert code == 0, token
    token = token.strip()
    t = emu.tenant()
    code, out = run(
        emu,
        "emulator",
        "rule",
        "add",
        "--serial",
        "LAB-*",
        "--error",
        "808",
        "--customer",
        t.customer_id,
        token=token,
    )
    assert code == 0, out
    rule_id = json.loads(out)["id"]
    code, out = run(emu, "emulator", "rules", "--customer", t.customer_id, token=token)
    listed = json.loads(out)
    assert [(r["id"], r["match"], r["outcome"]) for r in listed] == [
        (rule_id, {"serialNumber": "LAB-*"}, {"errorCode": "808"})
    ]
    code, out = run(
        emu,
        "emulator",
        "fault",
        "add",
        "--status",
        "429",
        "--retry-after",
        "1",
        "--count",
        "2",
        "--path",
        "*/batchJobStatus/*",
        token=token,
    )
    assert code == 0, out
    assert json.loads(run(emu, "emulator", "faults", token=token)[1])[0]["retryAfter"] == 1
    add = "emulator fault add --operation DeviceBatches_Create --status 503 --customer"
    code, out = run(emu, *add.split(), t.customer_id, token=token)
    assert code == 0, out
    batches = f"{emu.base_url}/v1/customers/{t.customer_id}/deviceBatches"
    assert httpx.post(batches, json={}, headers=t.headers).status_code == 503
    assert httpx.get(batches, headers=t.headers).status_code == 200
    add = "emulator rule add --error 806 --hardware-hash"
    code, out = run(emu, *add.split(), synthesize_hash(4), token=token)
    assert code == 0, out
    hash_rules = json.loads(run(emu, "emulator", "rules", token=token)[1])
    assert hash_rules[-1]["match"] == {"hardwareHash": synthesize_hash(4)}
    code, snapshot = run(emu, "emulator", "snapshot", token=token)
    (tmp_path / "world.json").write_text(snapshot)
    assert run(emu, "emulator", "reset", token=token)[0] == 0
    code, out = run(emu, "emulator", "restore", str(tmp_path / "world.json"), token=token)
    assert code == 0 and json.loads(out)["customers"] >= 1
    assert run(emu, "emulator", "rule", "clear", token=token)[0] == 0


def test_cli_errors_are_precise(emu: Emulator) -> None:
    t = emu.tenant()
    code, out = run(emu, "emulator", "rules", token=t.token)  # a partner token
    assert code == 1 and "operator token" in out
    operator = emu.token(OPERATOR_TENANT, role=Role.OPERATOR)
    code, out = run(
        emu, "emulator", "rule", "add", "--serial", "X", "--error", "999", token=operator
    )
    assert code == 1 and "999" in out
    assert '{"code"' not in out and "POST /rules: 400 " in out  # the description, not JSON
    stay_below_one = "emulator rule add --serial X --error 808 --stay-polls -3"
    code, out = run(emu, *stay_below_one.split(), token=operator)
    assert code == 1 and "stayProcessing.polls" in out and '"data"' not in out, out
    unknown = "emulator fault add --operation Nope_Get --status 500"
    code, out = run(emu, *unknown.split(), token=operator)
    assert code == 1 and "operationId" in out and "BatchUploadStatus_Get" in out
    bad_hash = "emulator rule add --hardware-hash T0E= --error 808"
    code, out = run(emu, *bad_hash.split(), token=operator)
    assert code == 1 and "match.hardwareHash" in out
    code, out = run(emu, "admin", "token")
    assert code == 1 and "--partner" in out
    with pytest.raises(ControlError, match="operator token"):
        ControlClient(emu.base_url, t.token).rules()


def test_upload_wait_follows_a_batch_held_in_processing(emu: Emulator, tmp_path: Path) -> None:
    t = emu.tenant()
    # The oldest matching rule decides a device: the first device gets 808, the second is
    # held in processing.
    emu.add_rule({"serialNumber": "*"}, {"errorCode": "808"}, customerId=t.customer_id, times=1)
    emu.add_rule({"serialNumber": "*"}, {"stayProcessing": {"polls": 2}}, customerId=t.customer_id)
    csv = tmp_path / "d.csv"
    code, out = run(emu, "demo-data", "--count", "2", "--output", str(csv))
    assert code == 0, out
    env = {"ZTD_URL": emu.base_url, "ZTD_TOKEN": t.token}
    result = CliRunner().invoke(
        app, ["upload", str(csv), "--customer", t.customer_id, "--wait", "--json"], env=env
    )
    assert result.exit_code == 2, result.output  # some device failed: the forced 808
    polls = [
        r["status"]
        for r in emu.requests(customerId=t.customer_id, method="GET")
        if "/batchJobStatus/" in r["path"]
    ]
    assert len(polls) >= 3 and set(polls) == {200}


def test_each_answer_is_in_the_journal_before_the_client_has_it(emu: Emulator) -> None:
    """A test reads the journal right after its call; the entry must be there already."""
    t = emu.tenant()
    path = f"/v1/customers/{t.customer_id}/deviceBatches"
    with httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {t.token}"}) as c:
        for n in range(1, 41):
            answer = c.get(path, params={"n": n})  # keep-alive: the quickest a client can ask again
            seen = emu.requests(customerId=t.customer_id)
            assert len(seen) == n, f"call {n}: the journal has {len(seen)} entries"
            assert seen[-1]["requestId"] == answer.headers["MS-RequestId"]
            assert seen[-1]["status"] == answer.status_code == 200
