/* The video scripts against the private Redis (flushed before each test): video.lua's state
 * maths (set, play, pause, seek, rate at exact instants) and the sync beacons pushd sends while
 * a room plays (sync_beacon.lua). */
#include <json-c/json.h>
#include <stdio.h>

#include "config.h"
#include "scripts_helpers.h"
#include "unit.h"

/* ---- video ----------------------------------------------------------------------------------- */

/* Runs a video op at time now and returns the video object of the reply (json_object_put the
 * returned root through *root). Checks the event matches the reply and seq moved by one. */
static json_object *video_op(struct call *c, const struct member *m, long long now, const char *op,
                             const char *value, json_object **root)
{
    long long seq = room_seq(ROOM);
    char type[32];
    json_object *ev;

    *root = NULL;
    if (call(c, SCRIPT_VIDEO, ROOM, m->digest, now, ARGS(op, value)) != E_OK) {
        UNIT_CHECK(0, "video %s %s: %s", op, value, err_code(c->e));
        return NULL;
    }
    CU_ASSERT_EQUAL(c->status, 200);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq + 1);
    snprintf(type, sizeof(type), "video.%s", op);
    ev = event(c, 0, type, seq + 1);
    *root = jparse(c->body);
    /* The event carries the same video as the reply. */
    UNIT_CHECK(ev != NULL && *root != NULL &&
                   json_object_equal(jget(ev, "data.video"), jget(*root, "video")),
               "video.%s event and reply differ", op);
    json_object_put(ev);
    return jget(*root, "video");
}

static void test_video_state_maths(void)
{
    long long t = 1700000000000LL;
    struct member a, b;
    struct call c = {0};
    char want[128];
    json_object *root, *v;

    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(join(&b, ROOM, "Bob", t), E_OK);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t, ARGS("play", "1")), E_NO_VIDEO);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_VIDEO, ROOM, b.digest, t,
                         ARGS("set", "https://youtu.be/" YT, "youtube", YT)),
                    E_NOT_HOST);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_VIDEO, ROOM, "", t, ARGS("pause", "1")), E_UNAUTHORIZED);
    long long seq = room_seq(ROOM);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t,
                               ARGS("set", "https://youtu.be/" YT, "youtube", YT)),
                          E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_EQUAL(c.nfu, 0); /* paused: no sync beacon */
    root = jparse(c.body);
    CHECK_STR(root, "video.url", "https://youtu.be/" YT);
    CHECK_STR(root, "video.kind", "youtube");
    CHECK_STR(root, "video.videoId", YT);
    CHECK_BOOL(root, "video.playing", 0);
    CHECK_NUM(root, "video.position", 0);
    CHECK_NUM(root, "video.rate", 1);
    CHECK_INT(root, "video.updatedAt", t);
    json_object_put(root);
    json_object_put(event(&c, 0, "video.set", seq + 1));

    v = video_op(&c, &a, t + 1000, "play", "10.000000", &root);
    CHECK_BOOL(v, "playing", 1);
    CHECK_NUM(v, "position", 10);
    CHECK_INT(v, "updatedAt", t + 1000);
    snprintf(want, sizeof(want), "timer sync %lld %s", t + 1000 + config.sync_interval_ms, ROOM);
    check_followup(&c, 0, want);
    json_object_put(root);

    /* Rate re-anchors: 4 s at 1x since the play at 10 s, so 14 s, then 2x. */
    v = video_op(&c, &a, t + 5000, "rate", "2.000000", &root);
    CHECK_NUM(v, "position", 14);
    CHECK_NUM(v, "rate", 2);
    CHECK_BOOL(v, "playing", 1);
    CHECK_INT(v, "updatedAt", t + 5000);
    json_object_put(root);
    /* 1.5 s at 2x: 17 s. */
    v = video_op(&c, &a, t + 6500, "rate", "0.500000", &root);
    CHECK_NUM(v, "position", 17);
    CHECK_NUM(v, "rate", 0.5);
    json_object_put(root);
    /* Seek keeps playing and the rate. */
    v = video_op(&c, &a, t + 7000, "seek", "20.250000", &root);
    CHECK_NUM(v, "position", 20.25);
    CHECK_BOOL(v, "playing", 1);
    CHECK_NUM(v, "rate", 0.5);
    /* The beacon the rate change at 6.5 s scheduled is pending: no follow-up. */
    CU_ASSERT_EQUAL(c.nfu, 0);
    CU_ASSERT_TRUE(redis_num(ARGS("HGET", "room:{" ROOM "}", "syncAt")) > t + 7000);
    json_object_put(root);
    v = video_op(&c, &a, t + 8000, "pause", "30.500000", &root);
    CHECK_BOOL(v, "playing", 0);
    CHECK_NUM(v, "position", 30.5);
    CU_ASSERT_EQUAL(c.nfu, 0);
    json_object_put(root);
    /* Paused: a rate change does not move the position. */
    v = video_op(&c, &a, t + 60000, "rate", "4.000000", &root);
    CHECK_NUM(v, "position", 30.5);
    CHECK_NUM(v, "rate", 4);
    CHECK_BOOL(v, "playing", 0);
    json_object_put(root);
    v = video_op(&c, &a, t + 61000, "seek", "5.000000", &root);
    CHECK_BOOL(v, "playing", 0);
    CHECK_NUM(v, "position", 5);
    json_object_put(root);

    seq = room_seq(ROOM);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t, ARGS("stop", "1")), E_INVALID_FIELD);
    CU_ASSERT_EQUAL(call(&c, SCRIPT_VIDEO, ROOM, b.digest, t, ARGS("seek", "1")), E_NOT_HOST);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);

    /* A new video resets the state: paused at 0, rate 1, no YouTube id. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t + 70000,
                               ARGS("set", "https://cdn.e.com/x.m3u8?t=1", "hls", "")),
                          E_OK);
    root = jparse(c.body);
    CHECK_STR(root, "video.kind", "hls");
    CU_ASSERT_TRUE(jnull(root, "video.videoId"));
    CHECK_BOOL(root, "video.playing", 0);
    CHECK_NUM(root, "video.position", 0);
    CHECK_NUM(root, "video.rate", 1);
    json_object_put(root);
    root = state(&b, ROOM, NULL);
    CHECK_STR(root, "room.video.url", "https://cdn.e.com/x.m3u8?t=1");
    json_object_put(root);
    call_free(&c);
}

/* ---- sync beacons ------------------------------------------------------------------------ */

static void test_sync_beacon(void)
{
    long long t = 1700000000000LL;
    struct member a;
    struct call c = {0};
    char want[128];
    json_object *o, *s;

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SYNC_BEACON, ROOM, "", t, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    CU_ASSERT_EQUAL_FATAL(create(&a, ROOM, "Alice", t), E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SYNC_BEACON, ROOM, "", t, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0); /* no video */
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_VIDEO, ROOM, a.digest, t, ARGS("set", "https://e.com/a.mp4", "file", "")),
        E_OK);
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SYNC_BEACON, ROOM, "", t, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0); /* paused */

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t + 10, ARGS("play", "3")), E_OK);
    snprintf(want, sizeof(want), "timer sync %lld %s", t + 10 + config.sync_interval_ms, ROOM);
    check_followup(&c, 0, want);
    long long seq = room_seq(ROOM);
    /* A beacon is pending: an action schedules none, the beacon moves after it instead. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, t + 1000, ARGS("seek", "5")),
                          E_OK);
    CU_ASSERT_EQUAL(c.nfu, 0);
    seq = room_seq(ROOM);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_SYNC_BEACON, ROOM, "", t + 10 + config.sync_interval_ms, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev, 0); /* the seek told everyone less than an interval ago */
    snprintf(want, sizeof(want), "timer sync %lld %s", t + 1000 + config.sync_interval_ms, ROOM);
    check_followup(&c, 0, want);

    long long due = t + 1000 + config.sync_interval_ms;
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SYNC_BEACON, ROOM, "", due, NULL), E_OK);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_EQUAL(c.nev, 1);
    o = event(&c, 0, "video.sync", seq); /* sync does not advance seq */
    s = state(&a, ROOM, NULL);
    CU_ASSERT_TRUE(o != NULL && s != NULL &&
                   json_object_equal(jget(o, "data.video"), jget(s, "room.video")));
    CHECK_BOOL(o, "data.video.playing", 1);
    CHECK_INT(o, "at", due);
    json_object_put(o);
    json_object_put(s);
    snprintf(want, sizeof(want), "timer sync %lld %s", due + config.sync_interval_ms, ROOM);
    check_followup(&c, 0, want);
    CU_ASSERT_EQUAL(room_seq(ROOM), seq);
    CU_ASSERT_EQUAL(redis_num(ARGS("ZSCORE", "timers:sync", ROOM)), due + config.sync_interval_ms);
    /* A stale entry (a newer one is pending) sends nothing. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_SYNC_BEACON, ROOM, "", due + 1, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);

    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, due + 100, ARGS("pause", "4")),
                          E_OK);
    CU_ASSERT_EQUAL(c.nfu, 0);
    CU_ASSERT_EQUAL_FATAL(
        call(&c, SCRIPT_SYNC_BEACON, ROOM, "", due + config.sync_interval_ms, NULL), E_OK);
    CU_ASSERT_EQUAL(c.nev + c.nfu, 0);
    /* Paused, the room dropped out: the next play schedules a beacon again at once. */
    CU_ASSERT_EQUAL_FATAL(call(&c, SCRIPT_VIDEO, ROOM, a.digest, due + config.sync_interval_ms + 1,
                               ARGS("play", "4")),
                          E_OK);
    CU_ASSERT_EQUAL(c.nfu, 1);
    call_free(&c);
}

static const struct unit_test scripts_video_tests[] = {
    {"video set/play/pause/seek/rate maths", test_video_state_maths},
    {"sync_beacon: one pending per playing room, after the last change", test_sync_beacon},
    {NULL, NULL},
};

int test_scripts_video_register(void)
{
    return unit_add_redis_suite("scripts: video", scripts_video_tests);
}
