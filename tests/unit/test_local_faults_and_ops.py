"""Local fault injection settings (local/faults.py), the mailbox, and the DLQ tool's formatting (ops/dlq.py)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from local import faults
from local.faults import FaultSettings
from ops.dlq import age, unwrap_sns_envelope


def test_settings_from_the_environment() -> None:
    s = FaultSettings.from_env({"BAZAAR_FAULT_TX_CONFLICT_RATE": "0.25", "BAZAAR_FAULT_SNS_OUTAGE": "1",
                                "BAZAAR_FAULT_TX_THROTTLE_RATE": ""})
    assert s == FaultSettings(tx_conflict_rate=0.25, tx_throttle_rate=0.0, sns_outage=True)
    with pytest.raises(ValueError):
        FaultSettings.from_env({"BAZAAR_FAULT_TX_CONFLICT_RATE": "1.5"})
    with pytest.raises(ValueError):
        FaultSettings().merged({"disk_full": True})


def test_the_file_changes_settings_at_run_time_and_removing_it_restores_the_environment(tmp_path: Path) -> None:
    injector = faults.Faults(FaultSettings(tx_conflict_rate=0.1), tmp_path / faults.SETTINGS_FILE)
    assert injector.settings().tx_conflict_rate == 0.1
    faults.write_settings(tmp_path, sns_outage=True)
    time.sleep(faults._RECHECK_S * 2)
    assert injector.settings() == FaultSettings(tx_conflict_rate=0.1, sns_outage=True)
    faults.write_settings(tmp_path, tx_conflict_rate=0.5)  # merged into the file's settings
    os.utime(tmp_path / faults.SETTINGS_FILE, ns=(time.time_ns(), time.time_ns() + 10**9))
    time.sleep(faults._RECHECK_S * 2)
    assert injector.settings() == FaultSettings(tx_conflict_rate=0.5, sns_outage=True)
    faults.clear_settings(tmp_path)
    time.sleep(faults._RECHECK_S * 2)
    assert injector.settings() == FaultSettings(tx_conflict_rate=0.1)
    with pytest.raises(ValueError):  # refused before anything is written
        faults.write_settings(tmp_path, tx_throttle_rate=-1)
    assert not (tmp_path / faults.SETTINGS_FILE).exists()


def test_a_rate_injects_about_that_fraction_and_counts_it(tmp_path: Path) -> None:
    import random

    injector = faults.Faults(FaultSettings(), tmp_path / faults.SETTINGS_FILE, rng=random.Random(3))
    hits = sum(injector.roll(0.2) for _ in range(5000))
    assert 900 <= hits <= 1100
    assert not any(injector.roll(0.0) for _ in range(100))
    injector.count("tx_conflicts")
    assert faults.read_stats(tmp_path)["tx_conflicts"] == 1


def test_an_sns_envelope_is_unwrapped_and_a_raw_message_kept() -> None:
    envelope = {"Type": "Notification", "Message": '{"event_id":"e"}',
                "MessageAttributes": {"type": {"Type": "String", "Value": "OrderCreated"}}}
    body, attrs = unwrap_sns_envelope(json.dumps(envelope), {})
    assert body == '{"event_id":"e"}' and attrs == {"type": {"DataType": "String", "StringValue": "OrderCreated"}}
    raw_attrs = {"type": {"DataType": "String", "StringValue": "X"}}
    assert unwrap_sns_envelope('{"event_id":"e"}', raw_attrs) == ('{"event_id":"e"}', raw_attrs)
    assert unwrap_sns_envelope("not json", {}) == ("not json", {})


@pytest.mark.parametrize("seconds, text", [(None, "-"), (5, "5s"), (150, "2m30s"), (7300, "2h01m")])
def test_ages(seconds, text) -> None:
    assert age(seconds) == text
