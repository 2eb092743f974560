"""The REST contract, exercised with plain ``requests`` against a real service process."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlparse

import orjson
import pytest
import requests

from _service import RunningService, start_service, wait_for_batch

SHAPES = "shapes-v0.1.0"


def batch_body(n: int = 2, preview: bool = False, name: str = "test", **params: object) -> dict[str, object]:
    return {"name": name, "job_runs": [
        {"name": SHAPES, "is_preview": preview, "param_values": {"num_images": 1, "image_width": 64,
                                                                 "image_height": 64, **params}}
        for _ in range(n)
    ]}


@pytest.fixture(scope="module")
def finished_batch(service: RunningService) -> dict[str, object]:
    created = service.post("batch/", batch_body(3, name="finished"))
    assert created.status_code == 201, created.text
    batch = created.json()
    wait_for_batch(service, batch["id"])
    return service.get(f"batch/{batch['id']}/").json()


class TestAuth:
    @pytest.mark.parametrize("path", ["jobs/", f"jobs/{SHAPES}/", "batch/", "job_runs/", "job_previews/",
                                      "job_runs/counts/", "account/"])
    def test_no_token_is_401(self, service: RunningService, path: str) -> None:
        r = requests.get(f"{service.api}/{path}", timeout=10)
        assert r.status_code == 401
        assert r.json()["detail"] == "Authentication credentials were not provided."

    def test_wrong_token_is_401(self, service: RunningService) -> None:
        r = service.get("jobs/", token="0" * 40)
        assert r.status_code == 401
        assert r.json() == {"detail": "Invalid token."}

    def test_wrong_scheme_is_401(self, service: RunningService) -> None:
        r = requests.get(f"{service.api}/jobs/", headers={"Authorization": f"Bearer {service.token}"}, timeout=10)
        assert r.status_code == 401

    def test_post_without_token_creates_nothing(self, service: RunningService) -> None:
        before = service.get("batch/").json()
        r = requests.post(f"{service.api}/batch/", json=batch_body(1), timeout=10)
        assert r.status_code == 401
        assert service.get("batch/").json() == before

    def test_other_accounts_batch_and_jobs_are_404(self, service: RunningService,
                                                   finished_batch: dict[str, object]) -> None:
        other = service.add_account("stranger", 1000)
        job_id = finished_batch["job_runs"][0]["id"]  # type: ignore[index]
        for path in (f"batch/{finished_batch['id']}/", f"batch/{finished_batch['id']}/summary/",
                     f"job_runs/{job_id}/"):
            r = service.get(path, token=other)
            assert r.status_code == 404, path
            assert r.json() == {"detail": "Not found."}
        assert service.get("batch/", token=other).json() == []
        assert service.get("job_runs/", token=other).json() == []
        assert service.post(f"batch/{finished_batch['id']}/cancel/", {}, token=other).status_code == 404


class TestGenerators:
    def test_list(self, service: RunningService) -> None:
        names = [g["name"] for g in service.get("jobs/").json()]
        assert SHAPES in names and "stickfit-v0.1.0" in names

    def test_metadata_shape(self, service: RunningService) -> None:
        meta = service.get(f"jobs/{SHAPES}/").json()
        assert meta["name"] == SHAPES and meta["options"] == {"preview": True}
        for p in meta["params"]:
            assert {"name", "type", "default_value", "options", "description"} <= p.keys()
            assert p["type"] in {"int", "float", "str", "bool", "uuid"}
        assert any(p["name"] == "state" and p["type"] == "uuid" and p["default_value"] is None
                   for p in meta["params"])

    def test_unknown_generator_is_404(self, service: RunningService) -> None:
        r = service.get("jobs/no-such-generator-v9/")
        assert r.status_code == 404 and r.json() == {"detail": "Not found."}

    def test_missing_trailing_slash_redirects_to_it(self, service: RunningService) -> None:
        r = requests.get(f"{service.api}/jobs", headers=service.headers(), timeout=10, allow_redirects=False)
        assert r.status_code in (307, 308)
        assert r.headers["location"].endswith("/api/jobs/")


class TestBatches:
    def test_post_returns_201_with_jobs_in_order(self, service: RunningService) -> None:
        body = batch_body(3)
        for i, run in enumerate(body["job_runs"]):  # type: ignore[arg-type]
            run["param_values"]["num_objects"] = i + 1
        r = service.post("batch/", body)
        assert r.status_code == 201
        data = r.json()
        assert len(data["job_runs"]) == 3
        assert [j["param_values"]["num_objects"] for j in data["job_runs"]] == [1, 2, 3]
        # defaults were filled in by the server, including state
        assert data["job_runs"][0]["param_values"]["state"] is None
        assert data["job_runs"][0]["param_values"]["background"]
        assert datetime.fromisoformat(data["created"]).tzinfo is not None
        assert data["created"][-6] in "+-" and data["created"][-3] == ":"
        # The reply is built from the rows as written: what the batch detail reads back, but for
        # how far the jobs have got since (and the result URLs of any that finished).
        detail = service.get(f"batch/{data['id']}/").json()
        moving = ("state", "in_progress", "result_url", "samples", "finished", "error")
        assert {k: v for k, v in detail.items() if k != "job_runs"} == {
            k: v for k, v in data.items() if k != "job_runs"}
        assert [{k: v for k, v in run.items() if k not in moving} for run in detail["job_runs"]] == [
            {k: v for k, v in run.items() if k not in moving} for run in data["job_runs"]]
        assert {run["state"] for run in data["job_runs"]} == {"queued"}

    def test_empty_param_values_accepted(self, service: RunningService) -> None:
        r = service.post("batch/estimate/", {"name": "", "job_runs": [{"name": SHAPES, "is_preview": True,
                                                                       "param_values": {}}] * 2})
        assert r.status_code == 200 and r.json() == [1, 1]

    def test_estimate_is_per_job_and_creates_nothing(self, service: RunningService) -> None:
        before = len(service.get("batch/").json())
        body = batch_body(2)
        body["job_runs"][1]["param_values"]["num_images"] = 5  # type: ignore[index]
        r = service.post("batch/estimate/", body)
        assert r.status_code == 200 and r.json() == [1, 5]
        assert len(service.get("batch/").json()) == before

    def test_detail_and_summary(self, service: RunningService, finished_batch: dict[str, object]) -> None:
        assert finished_batch["name"] == "finished"
        runs = finished_batch["job_runs"]
        assert all(j["is_preview"] is False and j["name"] == SHAPES for j in runs)  # type: ignore[union-attr]
        summary = service.get(f"batch/{finished_batch['id']}/summary/").json()
        assert [j["id"] for j in summary["job_runs"]] == [j["id"] for j in runs]  # type: ignore[union-attr]
        for job in summary["job_runs"]:
            assert job["in_progress"] is False and job["state"] == "succeeded"
            assert job["result_url"].startswith(service.url + "/results/")

    def test_result_zip_holds_the_job_folder(self, service: RunningService,
                                             finished_batch: dict[str, object]) -> None:
        job = finished_batch["job_runs"][0]  # type: ignore[index]
        r = requests.get(job["result_url"], timeout=30)  # no Authorization header, like the cloud
        assert r.status_code == 200
        names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
        assert {n.split("/")[0] for n in names} == {job["id"]}
        assert f"{job['id']}/job.json" in names and f"{job['id']}/labels.json" in names

    def test_unknown_batch_is_404(self, service: RunningService) -> None:
        assert service.get("batch/5291a594-f9b4-4b67-a7e7-e32e4c92b7aa/").status_code == 404
        assert service.get("batch/not-a-uuid/summary/").status_code == 404

    def test_list_by_time_window(self, service: RunningService, finished_batch: dict[str, object]) -> None:
        now = datetime.now().astimezone()
        listed = service.get("batch/", params={"start_time": (now - timedelta(hours=1)).isoformat(),
                                               "end_time": (now + timedelta(minutes=1)).isoformat()}).json()
        assert finished_batch["id"] in [b["id"] for b in listed]
        assert {"id", "name", "created"} <= listed[0].keys()
        created = [b["created"] for b in listed]
        assert created == sorted(created), "oldest first"
        future = service.get("batch/", params={"start_time": (now + timedelta(days=1)).isoformat()}).json()
        assert future == []

    def test_end_before_start_is_400(self, service: RunningService) -> None:
        now = datetime.now().astimezone()
        r = service.get("batch/", params={"start_time": now.isoformat(),
                                          "end_time": (now - timedelta(days=1)).isoformat()})
        assert r.status_code == 400 and "before" in r.json()["detail"]

    def test_cancel_releases_the_reservation(self, service: RunningService) -> None:
        token = service.add_account("canceller", 100_000)
        r = service.post("batch/", batch_body(60, num_images=50), token=token)
        assert r.status_code == 201
        cancelled = service.post(f"batch/{r.json()['id']}/cancel/", {}, token=token).json()
        assert cancelled["cancelled"] > 0
        wait_for_batch(service, r.json()["id"], token=token)
        states = [j["state"] for j in service.get(f"batch/{r.json()['id']}/summary/", token=token).json()["job_runs"]]
        assert states.count("cancelled") == cancelled["cancelled"]
        account = service.get("account/", token=token).json()
        assert account["reserved"] == 0
        assert account["balance"] == 100_000 - account["charged"]
        assert account["charged"] == 50 * states.count("succeeded")


class TestValidation:
    def test_per_job_errors(self, service: RunningService) -> None:
        body = batch_body(3)
        runs = body["job_runs"]
        runs[0]["param_values"]["num_objects"] = 1.5  # type: ignore[index]
        runs[2]["param_values"]["colour"] = "red"  # type: ignore[index]
        runs[2]["param_values"]["lighting_power"] = -1  # type: ignore[index]
        r = service.post("batch/", body)
        assert r.status_code == 400
        data = r.json()
        assert "2 of 3 job(s) are invalid" in data["detail"]
        found = {(e["job"], e["param"]) for e in data["errors"]}
        assert found == {(0, "num_objects"), (2, "colour"), (2, "lighting_power")}
        assert all(e["message"] for e in data["errors"])

    @pytest.mark.parametrize(("param", "value"), [
        ("allow_overlap", "false"), ("num_objects", True), ("num_objects", None), ("image_width", "64.5"),
        ("background", "PLAID"), ("lighting_power", 1e9),
    ])
    def test_no_silent_coercion(self, service: RunningService, param: str, value: object) -> None:
        r = service.post("batch/estimate/", batch_body(1, **{param: value}))
        assert r.status_code == 400, (param, value)
        assert r.json()["errors"][0]["param"] == param

    def test_advisory_constraint_is_served_not_enforced(self, service: RunningService) -> None:
        meta = service.get(f"jobs/{SHAPES}/").json()
        assert meta["constraints"][0]["advisory"] is True
        r = service.post("batch/estimate/", batch_body(1, min_size=0.5, max_size=0.2))
        assert r.status_code == 200, r.text

    def test_mixed_generators_refused(self, service: RunningService) -> None:
        body = batch_body(2)
        body["job_runs"][1]["name"] = "stickfit-v0.1.0"  # type: ignore[index]
        r = service.post("batch/", body)
        assert r.status_code == 400 and r.json()["errors"][0]["job"] == 1

    def test_unknown_generator_in_batch(self, service: RunningService) -> None:
        r = service.post("batch/", {"name": "", "job_runs": [{"name": "nope-v1", "param_values": {}}]})
        assert r.status_code == 400 and "nope-v1" in r.json()["detail"]

    @pytest.mark.parametrize("body", [[], {"name": "x"}, {"job_runs": []}, {"job_runs": "x"},
                                      {"job_runs": [1]}, {"name": 3, "job_runs": [{}]}])
    def test_malformed_bodies(self, service: RunningService, body: object) -> None:
        r = service.post("batch/", body)
        assert r.status_code == 400 and r.json()["detail"]

    def test_not_json(self, service: RunningService) -> None:
        r = requests.post(f"{service.api}/batch/", data=b"{nope", timeout=10,
                          headers={**service.headers(), "Content-Type": "application/json"})
        assert r.status_code == 400

    def test_state_must_be_a_job_of_this_account(self, service: RunningService,
                                                 finished_batch: dict[str, object]) -> None:
        job_id = finished_batch["job_runs"][0]["id"]  # type: ignore[index]
        assert service.post("batch/estimate/", batch_body(1, state=job_id)).status_code == 200
        other = service.add_account("state-thief", 1000)
        r = service.post("batch/estimate/", batch_body(1, state=job_id), token=other)
        assert r.status_code == 400 and r.json()["errors"][0]["param"] == "state"


class TestBalanceAndIdempotency:
    def test_over_balance_refused_with_the_shortfall(self, service: RunningService) -> None:
        token = service.add_account("poor", 10)
        r = service.post("batch/", batch_body(3, num_images=5), token=token)
        assert r.status_code == 402
        data = r.json()
        assert data["required"] == 15 and data["balance"] == 10 and data["shortfall"] == 5
        assert "short by 5" in data["detail"]
        assert service.get("batch/", token=token).json() == []
        assert service.get("account/", token=token).json()["balance"] == 10

    def test_same_key_same_batch_no_second_charge(self, service: RunningService) -> None:
        token = service.add_account("idem", 1000)
        body = batch_body(2, num_images=3)
        key = {"Idempotency-Key": "sweep-42"}
        first = service.post("batch/", body, token=token, headers=key)
        second = service.post("batch/", body, token=token, headers=key)
        assert first.status_code == second.status_code == 201
        assert first.json()["id"] == second.json()["id"]
        assert second.headers.get("Idempotent-Replayed") == "true"
        assert len(service.get("batch/", token=token).json()) == 1
        account = service.get("account/", token=token).json()
        assert account["balance"] + account["reserved"] + account["charged"] == 1000
        assert account["reserved"] + account["charged"] == 6  # one batch's worth, not two

    def test_an_empty_key_is_a_key(self, service: RunningService) -> None:
        token = service.add_account("idem-empty", 1000)
        key = {"Idempotency-Key": ""}
        first = service.post("batch/", batch_body(1), token=token, headers=key)
        second = service.post("batch/", batch_body(1), token=token, headers=key)
        assert first.status_code == second.status_code == 201, second.text
        assert first.json()["id"] == second.json()["id"] and second.headers.get("Idempotent-Replayed") == "true"

    def test_same_key_as_written_differently_is_the_same_request(self, service: RunningService) -> None:
        token = service.add_account("idem-spelling", 1000)
        key = {"Idempotency-Key": "spelled"}
        body = {"name": "b", "job_runs": [{"name": "shapes-v0.1.0", "is_preview": False,
                                           "param_values": {"num_images": 2, "lighting_power": 400}}]}
        respelled = {"job_runs": [{"param_values": {"lighting_power": 400.0, "num_images": 2.0},
                                   "is_preview": False, "name": "shapes-v0.1.0"}], "name": "b"}
        first = service.post("batch/", body, token=token, headers=key)
        second = service.post("batch/", respelled, token=token, headers=key)
        assert first.status_code == second.status_code == 201, second.text
        assert first.json()["id"] == second.json()["id"]

    def test_a_key_stored_by_an_older_service_still_replays(self, service: RunningService) -> None:
        # A batch stored before this version keyed its request by the canonical JSON body
        # (local/routes/batches._legacy_request_hash): its replay must still be the same request.
        from infinityframe.local.routes.batches import _legacy_request_hash
        from infinityframe.local.store import NewJob, Store

        token = service.add_account("idem-old", 1000)
        body = batch_body(1, num_images=2)
        raw = orjson.dumps(body)
        store = Store(service.data_dir / "service.db")
        account = store.authenticate(token)
        assert account is not None
        created = store.create_batch(account.id, body["name"], "shapes-v0.1.0", False,
                                     [NewJob({"num_images": 2}, 1, 2)], idempotency_key="old",
                                     request_hash=_legacy_request_hash(raw))
        key = {"Idempotency-Key": "old"}
        replay = service.post("batch/", body, token=token, headers=key)
        assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true", replay.text
        assert replay.json()["id"] == created.batch["id"]
        other = service.post("batch/", batch_body(1, num_images=3), token=token, headers=key)
        assert other.status_code == 409

    def test_same_key_other_body_conflicts(self, service: RunningService) -> None:
        token = service.add_account("idem2", 1000)
        key = {"Idempotency-Key": "k"}
        assert service.post("batch/", batch_body(1), token=token, headers=key).status_code == 201
        r = service.post("batch/", batch_body(2), token=token, headers=key)
        assert r.status_code == 409 and "different request" in r.json()["detail"]

    def test_keys_are_per_account(self, service: RunningService) -> None:
        a, b = service.add_account("idem-a", 1000), service.add_account("idem-b", 1000)
        key = {"Idempotency-Key": "shared"}
        ra = service.post("batch/", batch_body(1), token=a, headers=key)
        rb = service.post("batch/", batch_body(1), token=b, headers=key)
        assert ra.json()["id"] != rb.json()["id"]


class TestJobsAndUsage:
    def test_job_runs_and_previews_are_separate(self, service: RunningService,
                                                finished_batch: dict[str, object]) -> None:
        job_id = finished_batch["job_runs"][0]["id"]  # type: ignore[index]
        detail = service.get(f"job_runs/{job_id}/")
        assert detail.status_code == 200 and detail.json()["param_values"]["num_images"] == 1
        assert service.get(f"job_previews/{job_id}/").status_code == 404
        preview = service.post("batch/", batch_body(1, preview=True)).json()["job_runs"][0]["id"]
        assert service.get(f"job_previews/{preview}/").status_code == 200
        assert service.get(f"job_runs/{preview}/").status_code == 404
        assert preview in [j["id"] for j in service.get("job_previews/").json()]
        assert job_id in [j["id"] for j in service.get("job_runs/").json()]

    def test_usage_counts(self, service: RunningService) -> None:
        token = service.add_account("usage", 1000)
        batch = service.post("batch/", batch_body(2, num_images=3), token=token).json()
        preview = service.post("batch/", batch_body(1, preview=True), token=token).json()
        wait_for_batch(service, batch["id"], token=token)
        wait_for_batch(service, preview["id"], token=token)
        # the client sends offsets URL-encoded; echoed back in the same offset
        start = "2022-07-15T00:00:00-05:00"
        end = (datetime.now().astimezone() + timedelta(minutes=5)).isoformat()
        r = requests.get(f"{service.api}/job_runs/counts/?{urlencode({'start_time': start, 'end_time': end})}",
                         headers=service.headers(token), timeout=10)
        data = r.json()
        assert data["start_time"] == start
        assert data["counts_by_generator"] == [{"generator": SHAPES, "preview_samples_rendered": 1,
                                                "non_preview_samples_rendered": 6}]
        empty = service.get("job_runs/counts/", token=token,
                            params={"start_time": "2022-07-15", "end_time": "2022-08-20"}).json()
        assert empty["counts_by_generator"] == []
        assert empty["start_time"].startswith("2022-07-15T00:00:00")

    def test_openapi(self, service: RunningService) -> None:
        spec = requests.get(f"{service.url}/openapi.json", timeout=10).json()
        for path in ("/api/batch/", "/api/batch/estimate/", "/api/batch/{batch_id}/summary/",
                     "/api/job_runs/counts/", "/api/account/", "/api/batch/{batch_id}/cancel/"):
            assert path in spec["paths"]


class TestSignedUrls:
    def test_tampering_is_403(self, service: RunningService, finished_batch: dict[str, object]) -> None:
        a, b = (j["result_url"] for j in finished_batch["job_runs"][:2])  # type: ignore[index]
        url = urlparse(a)
        query = parse_qs(url.query)
        later = int(query["expires"][0]) + 100
        altered_expiry = f"{url.scheme}://{url.netloc}{url.path}?expires={later}&signature={query['signature'][0]}"
        assert requests.get(altered_expiry, timeout=10).status_code == 403
        other_job = urlparse(b).path
        swapped = f"{url.scheme}://{url.netloc}{other_job}?{url.query}"
        assert requests.get(swapped, timeout=10).status_code == 403
        assert requests.get(a.replace("signature=", "signature=0"), timeout=10).status_code == 403
        assert requests.get(a, timeout=10).status_code == 200

    def test_expiry(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        # 3 s: long enough for the first download on a loaded machine, short for the test.
        svc = start_service(tmp_path, "--workers", "1", "--url-ttl", "3", "--rate-limit", "0")
        try:
            batch = svc.post("batch/", batch_body(1, preview=True)).json()
            runs = wait_for_batch(svc, batch["id"])
            url = str(runs[0]["result_url"])
            assert requests.get(url, timeout=10).status_code == 200
            time.sleep(3.1)
            r = requests.get(url, timeout=10)
            assert r.status_code == 403 and "expired" in r.json()["detail"]
            fresh = wait_for_batch(svc, batch["id"])[0]["result_url"]
            assert requests.get(str(fresh), timeout=10).status_code == 200
        finally:
            svc.stop()


class TestLimits:
    def test_rate_limit_429_with_retry_after(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        svc = start_service(tmp_path, "--workers", "1", "--rate-limit", "2", "--burst", "3")
        try:
            codes = [svc.get("jobs/") for _ in range(8)]
            limited = [r for r in codes if r.status_code == 429]
            assert limited, [r.status_code for r in codes]
            assert int(limited[0].headers["Retry-After"]) >= 1
            assert "throttled" in limited[0].json()["detail"]
            time.sleep(float(limited[0].headers["Retry-After"]))
            assert svc.get("jobs/").status_code == 200
            # guessing tokens is throttled too: wrong tokens share the client's bucket
            guesses = [svc.get("jobs/", token=f"{i:040x}").status_code for i in range(8)]
            assert 429 in guesses and set(guesses) <= {401, 429}
        finally:
            svc.stop()

    def test_body_too_large_is_413(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        svc = start_service(tmp_path, "--workers", "1", "--rate-limit", "0", "--max-body-mb", "1")
        try:
            body = batch_body(1)
            body["name"] = "x" * (2 * 1024 * 1024)
            r = svc.post("batch/", body)
            assert r.status_code == 413
            assert svc.get("batch/").json() == []
        finally:
            svc.stop()
