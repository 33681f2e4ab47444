"""GET /api/meta: the vocabulary the pages read, the same as gridgov.vocab."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gridgov import vocab


def test_meta_serves_the_vocabulary(client: TestClient) -> None:
    body = client.get("/api/meta").json()
    served = body["vocabularies"]
    assert set(served) == {v.name for v in vocab.ALL}
    for v in vocab.ALL:
        assert [t["term"] for t in served[v.name]["terms"]] == list(v.terms)
        assert [t["label"] for t in served[v.name]["terms"]] == [v.label_of(t) for t in v.terms]
        assert served[v.name]["synonyms"] == dict(v.synonyms)
    levels = {t["term"]: t["label"] for t in served["levels"]["terms"]}
    assert levels == {"street": "街道", "community": "社区", "compound": "楼院", "building": "楼栋"}
    assert body["child_level"] == {"street": "community", "community": "compound", "compound": "building"}
    assert body["shift_hours"] == {"上半夜": "20:00–23:30", "下半夜": "23:30–次日 06:00"}


def test_an_unknown_level_is_refused_with_the_accepted_ones(client: TestClient) -> None:
    r = client.get("/api/grids", params={"level": "district"})
    assert r.status_code == 422
    assert "未知网格层级：district（可选 street、community、compound、building）" in r.json()["detail"]
