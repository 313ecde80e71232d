"""The BigQuery stand-in's injected faults, seen through the real google-cloud-bigquery client."""

from __future__ import annotations

import pytest

from shipper.testing.fake_bigquery import FakeBigQueryAPI

SCHEMA = [{"name": "x", "type": "INTEGER", "mode": "REQUIRED"}]


@pytest.fixture
def fake():
    with FakeBigQueryAPI() as f:
        f.add_dataset("logs")
        f.handle("POST", "/bigquery/v2/projects/test-project/datasets/logs/tables",
                 b'{"tableReference": {"tableId": "t"}, "schema": {"fields": %s}}'
                 % str(SCHEMA).replace("'", '"').encode(), {})
        yield f


def test_a_lost_response_stores_the_rows_and_the_retry_stores_nothing_twice(fake):
    import requests

    client = fake.client()
    fake.lose_responses = 1
    rows, ids = [{"x": 1}, {"x": 2}], ["a", "b"]
    with pytest.raises(requests.exceptions.ConnectionError):
        client.insert_rows_json("test-project.logs.t", rows, row_ids=ids, retry=None)
    assert fake.lost_responses == 1 and len(fake.rows("logs", "t")) == 2  # stored, answer lost
    assert client.insert_rows_json("test-project.logs.t", rows, row_ids=ids) == []
    assert fake.rows("logs", "t") == [{"x": 1}, {"x": 2}]  # the retry added nothing


def test_only_insert_all_answers_are_lost(fake):
    fake.lose_responses = 1
    client = fake.client()
    assert client.get_table("test-project.logs.t").table_id == "t"
    assert fake.lose_responses == 1 and fake.lost_responses == 0


def test_stop_and_start_on_the_same_port_is_an_outage_then_recovery(fake):
    import requests

    port = int(fake.endpoint.rsplit(":", 1)[1])
    client = fake.client()
    fake.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        client.insert_rows_json("test-project.logs.t", [{"x": 1}], retry=None)
    fake.start(port=port)
    assert client.insert_rows_json("test-project.logs.t", [{"x": 3}]) == []
    assert fake.rows("logs", "t") == [{"x": 3}]
