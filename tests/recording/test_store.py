"""RecordingStore: the recording row's state machine and the capture side the signalling hub uses."""

from __future__ import annotations

import pytest

from shopcall.db.engine import Database
from shopcall.db.models import ConsentDecision, Recording
from shopcall.recording.store import IllegalTransition, RecordingStore, UnknownRecording
from shopcall.rooms.apps import create_app
from shopcall.rooms.store import RoomStore


def _room(db: Database) -> tuple[str, str, str]:
    app, _ = create_app(db, "Shop")
    store = RoomStore(db)
    room = store.create_room(app.id)
    call = store.create_call(app.id, room.id, "cus_1", "Carla", {}, customer_id="c-42")
    store.claim_call(call.id, "anna")
    return app.id, room.id, call.id


def test_capture_attributes_the_call_and_moves_to_processing(db: Database) -> None:
    app_id, room_id, call_id = _room(db)
    recs = RecordingStore(db)
    recs.begin("rec_a", app_id=app_id, room_id=room_id, folder="/raw/rec_a", started_by="anna")
    with db.session() as s:
        row = s.get(Recording, "rec_a")
        assert row is not None
        assert (row.status, row.call_id, row.agent_identity, row.customer_id) == ("recording", call_id, "anna", "c-42")
        assert row.steps == {"record": {"status": "running"}}
    assert recs.finish_capture("rec_a", duration_s=3.5, feeds=["p2", "p1"], reason="stopped") == "processing"
    with db.session() as s:
        row = s.get(Recording, "rec_a")
        assert row is not None and row.duration_s == 3.5 and row.stopped_at is not None and row.error is None
        assert row.steps == {"record": {"status": "done", "feeds": ["p1", "p2"], "reason": "stopped"}}
    with pytest.raises(IllegalTransition):
        recs.finish_capture("rec_a", duration_s=4, feeds=["p1"], reason="again")  # a second stop


def test_capture_with_no_feed_fails_and_final_states_stay_final(db: Database) -> None:
    app_id, room_id, _ = _room(db)
    recs = RecordingStore(db)
    recs.begin("rec_b", app_id=app_id, room_id=room_id, folder="/raw/rec_b", started_by="anna")
    assert recs.finish_capture("rec_b", duration_s=1, feeds=[], reason="room_ended") == "failed"
    assert recs.get(app_id, "rec_b") is not None
    with pytest.raises(IllegalTransition, match="'failed' to 'ready'"):
        recs.mark_ready("rec_b", storage_key="k", size_bytes=1, backend="local")
    assert recs.start_attempt("rec_b") is None  # the worker leaves it alone
    with pytest.raises(UnknownRecording):
        recs.finish_capture("rec_nope", duration_s=1, feeds=[], reason="x")


def test_worker_transitions_and_busy_rows_are_not_deleted_by_staff(db: Database) -> None:
    app_id, room_id, _ = _room(db)
    recs = RecordingStore(db)
    recs.begin("rec_c", app_id=app_id, room_id=room_id, folder="/raw/rec_c", started_by="anna")
    with pytest.raises(IllegalTransition):
        recs.delete("rec_c", actor="agent:anna", details={}, only_done=True)
    recs.finish_capture("rec_c", duration_s=2, feeds=["p1"], reason="stopped")
    job = recs.start_attempt("rec_c")
    assert job is not None and job.attempts == 1 and job.app_id == app_id
    recs.progress("rec_c", "scan", {"status": "done", "tracks": 2})
    recs.mark_ready("rec_c", storage_key="local/x/rec_c/composite.mp4", size_bytes=10, backend="local")
    found = recs.get(app_id, "rec_c")
    assert found is not None
    row, _ = found
    assert row.status == "ready" and set(row.steps) == {"record", "scan", "store"}
    assert recs.get("app_other", "rec_c") is None  # never across apps
    assert recs.delete("rec_c", actor="agent:anna", details={"recording": "rec_c"}, only_done=True)
    assert not recs.delete("rec_c", actor="agent:anna", details={})


def test_policy_and_consent(db: Database) -> None:
    app_id, room_id, _ = _room(db)
    recs = RecordingStore(db)
    assert recs.app_policy(app_id) == ("off", True)
    assert recs.app_policy("app_unknown") == ("off", True)
    recs.add_consent(app_id, room_id, "rec_d", "cus_1", False)
    with db.session() as s:
        (d,) = s.query(ConsentDecision).all()
        assert (d.identity, d.decision, d.recording_id) == ("cus_1", "refused", "rec_d")


def test_captures_cut_off_by_a_restart_are_recovered_and_deletable(db: Database, tmp_path) -> None:
    app_id, room_id, _ = _room(db)
    recs = RecordingStore(db)
    with_media, empty = tmp_path / "rec_m", tmp_path / "rec_e"
    with_media.mkdir()
    empty.mkdir()
    (with_media / "p1-audio.mjr").write_bytes(b"x" * 500)
    (with_media / "p1-video.mjr").write_bytes(b"x" * 500)
    (with_media / "p2-video.mjr").write_bytes(b"MJR00002")  # a header only: p2 never sent media
    (empty / "p3-audio.mjr").write_bytes(b"MJR00002")
    recs.begin("rec_m", app_id=app_id, room_id=room_id, folder=str(with_media), started_by="anna")
    recs.begin("rec_e", app_id=app_id, room_id=room_id, folder=str(empty), started_by="anna")
    assert sorted(recs.recover_interrupted()) == [("rec_e", "failed"), ("rec_m", "processing")]
    assert recs.recover_interrupted() == []  # nothing is left `recording`
    with db.session() as s:
        m, e = s.get(Recording, "rec_m"), s.get(Recording, "rec_e")
        assert m is not None and m.steps["record"]["feeds"] == ["p1"] and m.duration_s is not None
        assert e is not None and e.error and "stopped" in e.error
    assert recs.delete("rec_e", actor="anna", details={})
