/* Unit tests for the group coordinator's pure core (broker/broker_group*.c): JoinGroup and
 * rebalances (MEMBER_ID_REQUIRED, protocol selection, rebalance and session timeouts, the
 * initial rebalance delay, group.max.size), SyncGroup, LeaveGroup, static membership,
 * OffsetCommit validation and storage, the __consumer_offsets record formats, loading and
 * unloading partitions, DeleteGroups, OffsetDelete and retention.
 *
 * A fake glue records what the core hands out: answers to parked requests land in the
 * waiter structs below; appends are queued until a test completes them, as the replica
 * manager would once the high watermark passes them. The clock is the test's. */
#include "broker/broker_group.h"

#include "common/sl_alloc.h"
#include "common/sl_err.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Suite *broker_group_suite(void);

#define E(name)     PROTOCOL_ERR_##name
#define MAX_APPENDS 256
#define MAX_MEMBERS 16

/* ------------------------------------------------------------------ fake glue */

typedef struct join_w {
    bool done;
    int16_t error;
    char member_id[256];
    int32_t generation;
    char protocol[64];
    char leader[256];
    bool skip;
    int32_t member_count;
    char members[MAX_MEMBERS][256];
} join_w;

typedef struct sync_w {
    bool done;
    int16_t error;
    char assignment[256];
    int32_t assignment_len;
    char protocol[64];
} sync_w;

typedef struct commit_w {
    bool done;
    int16_t errors[16];
    int32_t count;
} commit_w;

typedef struct fake_append {
    int32_t partition;
    broker_group_records recs; /* copies */
    broker_group_op *op;
    bool done;
} fake_append;

static broker_group_core *core;
static fake_append appends[MAX_APPENDS];
static int append_count;
static int64_t clock_ms;

static broker_group_time T(void) {
    return (broker_group_time){ clock_ms, 1700000000000LL + clock_ms };
}

static void copy_str(char *out, size_t size, sl_str s) {
    int n = s.len < 0 ? 0 : (s.len >= (int32_t)size ? (int)size - 1 : s.len);
    memcpy(out, n ? s.ptr : "", (size_t)n);
    out[n] = '\0';
}

static void cb_join(void *ctx, void *waiter, const broker_group_join_result *res) {
    (void)ctx;
    join_w *w = waiter;
    ck_assert_msg(!w->done, "join answered twice");
    w->done = true;
    w->error = res->error;
    copy_str(w->member_id, sizeof(w->member_id), res->member_id);
    w->generation = res->generation;
    copy_str(w->protocol, sizeof(w->protocol), res->protocol_name);
    copy_str(w->leader, sizeof(w->leader), res->leader_id);
    w->skip = res->skip_assignment;
    w->member_count = res->member_count;
    for (int32_t i = 0; i < res->member_count && i < MAX_MEMBERS; i++) {
        copy_str(w->members[i], sizeof(w->members[i]), res->members[i].member_id);
    }
}

static void cb_sync(void *ctx, void *waiter, const broker_group_sync_result *res) {
    (void)ctx;
    sync_w *w = waiter;
    ck_assert_msg(!w->done, "sync answered twice");
    w->done = true;
    w->error = res->error;
    copy_str(w->assignment, sizeof(w->assignment),
             (sl_str){ (const char *)res->assignment.ptr, res->assignment.len });
    w->assignment_len = res->assignment.len;
    copy_str(w->protocol, sizeof(w->protocol), res->protocol_name);
}

static void cb_commit(void *ctx, void *waiter, const int16_t *errors, int32_t count) {
    (void)ctx;
    commit_w *w = waiter;
    ck_assert_msg(!w->done, "commit answered twice");
    w->done = true;
    w->count = count;
    for (int32_t i = 0; i < count && i < 16; i++)
        w->errors[i] = errors[i];
}

static void cb_append(void *ctx,
                      int32_t partition,
                      const broker_group_record *records,
                      int32_t count,
                      broker_group_op *op) {
    (void)ctx;
    ck_assert_int_lt(append_count, MAX_APPENDS);
    fake_append *a = &appends[append_count++];
    a->partition = partition;
    a->op = op;
    a->done = false;
    broker_group_records_init(&a->recs);
    for (int32_t i = 0; i < count; i++) {
        struct broker_group_record_pos pos;
        pos.key_off = a->recs.data.len;
        pos.key_len = (size_t)records[i].key.len;
        sl_buf_put(&a->recs.data, records[i].key.ptr, (size_t)records[i].key.len);
        pos.value_off = a->recs.data.len;
        pos.value_len = records[i].value.len;
        if (records[i].value.len > 0) {
            sl_buf_put(&a->recs.data, records[i].value.ptr, (size_t)records[i].value.len);
        }
        a->recs.items = sl_realloc(a->recs.items, (size_t)(a->recs.count + 1) * sizeof(pos));
        a->recs.items[a->recs.count++] = pos;
    }
}

static broker_group_config config(void) {
    broker_group_config cfg = { 0 };
    cfg.partitions = 4;
    cfg.min_session_timeout_ms = 100;
    cfg.max_session_timeout_ms = 600000;
    cfg.max_size = 100;
    cfg.initial_rebalance_delay_ms = 0;
    cfg.offsets_retention_ms = 60000;
    return cfg;
}

static void load_all(void) {
    for (int32_t p = 0; p < broker_group_core_partitions(core); p++) {
        broker_group_core_load_begin(core, p);
        broker_group_core_load_end(core, p, T());
    }
}

static void start_core(const broker_group_config *cfg) {
    broker_group_callbacks cb = { NULL, cb_join, cb_sync, cb_commit, cb_append };
    core = broker_group_core_new(cfg, &cb, 42);
    load_all();
}

static void setup(void) {
    clock_ms = 1000;
    append_count = 0;
    broker_group_config cfg = config();
    start_core(&cfg);
}

/* Complete every outstanding append with error; returns how many. */
static int appends_complete(int16_t error) {
    int n = 0;
    for (int i = 0; i < append_count; i++) {
        if (appends[i].done) continue;
        appends[i].done = true;
        if (appends[i].op) {
            broker_group_core_append_done(core, appends[i].op, error, 100 + i, T());
            n++;
        }
    }
    return n;
}

static void teardown(void) {
    appends_complete(E(NOT_LEADER_OR_FOLLOWER));
    ck_assert_int_eq(broker_group_core_ops_pending(core), 0);
    broker_group_core_free(core);
    core = NULL;
    for (int i = 0; i < append_count; i++)
        broker_group_records_deinit(&appends[i].recs);
    append_count = 0;
}

static void tick_to(int64_t ms) {
    clock_ms = ms;
    broker_group_core_tick(core, T());
}

/* Complete an initial rebalance: with group.initial.rebalance.delay.ms = 0 the delayed join
 * fires at once, and is extended once more when members arrived during it (Kafka's
 * InitialDelayedJoin). */
static void settle(int64_t ms) {
    tick_to(ms);
    tick_to(ms);
}

/* ------------------------------------------------------------------ request helpers */

/* A consumer-protocol subscription (v0) to the comma-separated topics. */
static sl_buf subscription(const char *topics) {
    sl_str items[8];
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", topics);
    int32_t n = 0;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && n < 8;
         t = strtok_r(NULL, ",", &save)) {
        items[n++] = sl_str_c(strdup(t));
    }
    protocol_ConsumerProtocolSubscription s;
    protocol_ConsumerProtocolSubscription_init(&s);
    s.Topics.items = items;
    s.Topics.count = n;
    s.UserData = SL_BYTES_NULL;
    sl_buf out;
    sl_buf_init(&out);
    sl_buf_put_i16(&out, 0);
    protocol_ConsumerProtocolSubscription_encode(&out, 0, &s);
    for (int32_t i = 0; i < n; i++)
        free((void *)items[i].ptr);
    return out;
}

typedef struct join_args {
    const char *group;
    const char *member;    /* "" for new */
    const char *instance;  /* NULL for dynamic */
    const char *protocols; /* comma-separated names */
    const char *topics;
    const char *type;
    int32_t session_ms, rebalance_ms;
    bool v4; /* require known member id */
    bool v9;
} join_args;

static join_w *join_req(join_args a) {
    join_w *w = calloc(1, sizeof(*w));
    sl_str names[4];
    sl_bytes meta[4];
    sl_buf sub = subscription(a.topics ? a.topics : "t");
    char copy[128];
    snprintf(copy, sizeof(copy), "%s", a.protocols ? a.protocols : "range");
    int32_t n = 0;
    for (char *save = NULL, *p = strtok_r(copy, ",", &save); p && n < 4;
         p = strtok_r(NULL, ",", &save)) {
        names[n] = sl_str_c(p);
        meta[n++] = (sl_bytes){ sub.data, (int32_t)sub.len };
    }
    broker_group_join_request req = { 0 };
    req.group_id = sl_str_c(a.group ? a.group : "g");
    req.member_id = sl_str_c(a.member ? a.member : "");
    req.group_instance_id = sl_str_c(a.instance);
    req.client_id = sl_str_c("client");
    req.client_host = sl_str_c("/127.0.0.1");
    req.protocol_type = sl_str_c(a.type ? a.type : "consumer");
    req.session_timeout_ms = a.session_ms ? a.session_ms : 10000;
    req.rebalance_timeout_ms = a.rebalance_ms ? a.rebalance_ms : 30000;
    req.protocol_names = names;
    req.protocol_metadata = meta;
    req.protocol_count = n;
    req.require_known_member_id = a.v4 && !a.instance;
    req.support_skip_assignment = a.v9;
    broker_group_core_join(core, &req, T(), w);
    sl_buf_deinit(&sub);
    return w;
}

static sync_w *sync_req(const char *group,
                        const char *member,
                        int32_t generation,
                        const char **members,
                        const char **assignments,
                        int32_t count) {
    sync_w *w = calloc(1, sizeof(*w));
    sl_str ids[MAX_MEMBERS];
    sl_bytes as[MAX_MEMBERS];
    for (int32_t i = 0; i < count; i++) {
        ids[i] = sl_str_c(members[i]);
        as[i] = (sl_bytes){ (const uint8_t *)assignments[i], (int32_t)strlen(assignments[i]) };
    }
    broker_group_sync_request req = { 0 };
    req.group_id = sl_str_c(group);
    req.generation = generation;
    req.member_id = sl_str_c(member);
    req.group_instance_id = SL_STR_NULL;
    req.protocol_type = SL_STR_NULL;
    req.protocol_name = SL_STR_NULL;
    req.assignment_members = ids;
    req.assignments = as;
    req.assignment_count = count;
    broker_group_core_sync(core, &req, T(), w);
    return w;
}

static int16_t heartbeat(const char *group, const char *member, int32_t generation) {
    return broker_group_core_heartbeat(core, sl_str_c(group), sl_str_c(member), SL_STR_NULL,
                                       generation, T());
}

/* Forget a waiter: cancelled in the core first, as the glue does when a connection goes. */
/* A stable group "g" of two members: a (the leader, assigning "x" to a and "y" to b) and
 * b joined with ja and jb, synced in generation 1, the group record appended. */
typedef struct pair_w {
    join_w *a, *b;
    sync_w *sa, *sb;
} pair_w;

static pair_w stable_pair(join_args ja, join_args jb) {
    pair_w g;
    g.a = join_req(ja);
    g.b = join_req(jb);
    settle(1000);
    const char *ids[] = { g.a->member_id, g.b->member_id };
    const char *as[] = { "x", "y" };
    g.sa = sync_req("g", g.a->member_id, 1, ids, as, 2);
    g.sb = sync_req("g", g.b->member_id, 1, NULL, NULL, 0);
    appends_complete(E(NONE));
    return g;
}

static void release(void *waiter) {
    if (core) broker_group_core_cancel(core, waiter);
    free(waiter);
}

static broker_group *group(const char *id) {
    return broker_group_core_find(core, sl_str_c(id));
}

/* A v4 member joins g: MEMBER_ID_REQUIRED, then a rejoin with the id (parked). */
static join_w *join_v4(const char *g, const char *protocols) {
    join_w *first = join_req((join_args){ .group = g, .protocols = protocols, .v4 = true });
    ck_assert(first->done);
    ck_assert_int_eq(first->error, E(MEMBER_ID_REQUIRED));
    join_w *second = join_req(
        (join_args){ .group = g, .member = first->member_id, .protocols = protocols, .v4 = true });
    release(first);
    return second;
}

/* One member through a whole rebalance to Stable with assignment "a1". */
static join_w *stable_single(const char *g) {
    join_w *j = join_v4(g, "range");
    settle(clock_ms); /* the initial delay (0 here) is a timer */
    ck_assert(j->done);
    ck_assert_int_eq(j->error, E(NONE));
    const char *ids[] = { j->member_id };
    const char *as[] = { "a1" };
    sync_w *s = sync_req(g, j->member_id, j->generation, ids, as, 1);
    ck_assert(!s->done);
    ck_assert_int_eq(appends_complete(E(NONE)), 1);
    ck_assert(s->done);
    ck_assert_int_eq(s->error, E(NONE));
    free(s);
    return j;
}

/* ------------------------------------------------------------------ join */

START_TEST(test_first_join_v4_requires_member_id) {
    join_w *w = join_req((join_args){ .v4 = true });
    ck_assert(w->done);
    ck_assert_int_eq(w->error, E(MEMBER_ID_REQUIRED));
    ck_assert_str_eq(w->generation == -1 ? "ok" : "bad", "ok");
    ck_assert_int_eq(strncmp(w->member_id, "client-", 7), 0);
    ck_assert_int_eq(strlen(w->member_id), 7 + 36);
    join_w *again = join_req((join_args){ .member = w->member_id, .v4 = true });
    ck_assert(!again->done); /* parked until the (zero) initial delay fires */
    tick_to(1000);
    ck_assert(again->done);
    ck_assert_int_eq(again->error, E(NONE));
    ck_assert_int_eq(again->generation, 1);
    ck_assert_str_eq(again->leader, w->member_id);
    ck_assert_int_eq(again->member_count, 1);
    ck_assert_str_eq(again->protocol, "range");
    ck_assert_int_eq(group("g")->state, BROKER_GROUP_COMPLETING_REBALANCE);
    release(w);
    release(again);
}
END_TEST

START_TEST(test_join_v3_gets_member_id_at_once) {
    join_w *w = join_req((join_args){ 0 });
    ck_assert(!w->done);
    tick_to(1000);
    ck_assert(w->done);
    ck_assert_int_eq(w->error, E(NONE));
    ck_assert_int_eq(strncmp(w->member_id, "client-", 7), 0);
    release(w);
}
END_TEST

START_TEST(test_join_rejects_bad_session_timeouts) {
    join_w *w = join_req((join_args){ .session_ms = 50 });
    ck_assert_int_eq(w->error, E(INVALID_SESSION_TIMEOUT));
    release(w);
    w = join_req((join_args){ .session_ms = 600001 });
    ck_assert_int_eq(w->error, E(INVALID_SESSION_TIMEOUT));
    release(w);
    ck_assert_ptr_null(group("g")); /* nothing was created */
}
END_TEST

START_TEST(test_join_unknown_member_of_unknown_group) {
    join_w *w = join_req((join_args){ .member = "someone" });
    ck_assert_int_eq(w->error, E(UNKNOWN_MEMBER_ID));
    ck_assert_str_eq(w->member_id, "someone");
    release(w);
}
END_TEST

START_TEST(test_join_invalid_group_id_and_not_coordinator) {
    join_w *w = join_req((join_args){ .group = "" });
    ck_assert_int_eq(w->error, E(INVALID_GROUP_ID));
    release(w);
    int32_t p = broker_group_core_partition_for(core, sl_str_c("g"));
    broker_group_core_unload(core, p);
    w = join_req((join_args){ 0 });
    ck_assert_int_eq(w->error, E(NOT_COORDINATOR));
    release(w);
    broker_group_core_load_begin(core, p);
    w = join_req((join_args){ 0 });
    ck_assert_int_eq(w->error, E(COORDINATOR_LOAD_IN_PROGRESS));
    release(w);
    broker_group_core_load_end(core, p, T());
}
END_TEST

START_TEST(test_inconsistent_protocols_refused) {
    join_w *a = stable_single("g");
    join_w *b = join_req((join_args){ .protocols = "roundrobin" });
    ck_assert(b->done);
    ck_assert_int_eq(b->error, E(INCONSISTENT_GROUP_PROTOCOL));
    join_w *c = join_req((join_args){ .type = "connect" });
    ck_assert_int_eq(c->error, E(INCONSISTENT_GROUP_PROTOCOL));
    ck_assert_int_eq(group("g")->state, BROKER_GROUP_STABLE);
    release(a);
    release(b);
    release(c);
}
END_TEST

START_TEST(test_protocol_selection_by_votes) {
    join_w *a = join_req((join_args){ .protocols = "range,roundrobin" });
    join_w *b = join_req((join_args){ .protocols = "range,roundrobin" });
    join_w *c = join_req((join_args){ .protocols = "roundrobin,range" });
    settle(1000);
    ck_assert(a->done && b->done && c->done);
    ck_assert_str_eq(a->protocol, "range"); /* two votes to one */
    ck_assert_int_eq(a->generation, 1);
    ck_assert_int_eq(c->generation, 1);
    release(a);
    release(b);
    release(c);
    teardown();
    setup();
    a = join_req((join_args){ .protocols = "range,roundrobin" });
    b = join_req((join_args){ .protocols = "roundrobin" }); /* only one is common */
    settle(1000);
    ck_assert_str_eq(a->protocol, "roundrobin");
    release(a);
    release(b);
}
END_TEST

START_TEST(test_leader_gets_members_followers_do_not) {
    join_w *a = join_req((join_args){ 0 });
    join_w *b = join_req((join_args){ 0 });
    settle(1000);
    ck_assert(a->done && b->done);
    ck_assert_str_eq(a->leader, a->member_id);
    ck_assert_str_eq(b->leader, a->member_id);
    ck_assert_int_eq(a->member_count, 2);
    ck_assert_int_eq(b->member_count, 0);
    release(a);
    release(b);
}
END_TEST

START_TEST(test_group_max_size) {
    teardown();
    broker_group_config cfg = config();
    cfg.max_size = 1;
    clock_ms = 1000;
    start_core(&cfg);
    join_w *a = stable_single("g");
    join_w *b = join_req((join_args){ 0 });
    ck_assert(b->done);
    ck_assert_int_eq(b->error, E(GROUP_MAX_SIZE_REACHED));
    ck_assert_str_eq(b->member_id, "");
    release(a);
    release(b);
}
END_TEST

/* ------------------------------------------------------------------ rebalance */

START_TEST(test_sync_assignment_written_before_answers) {
    join_w *a = join_req((join_args){ 0 });
    join_w *b = join_req((join_args){ 0 });
    settle(1000);
    sync_w *sb = sync_req("g", b->member_id, 1, NULL, NULL, 0);
    ck_assert(!sb->done);
    const char *ids[] = { a->member_id, b->member_id };
    const char *as[] = { "for-a", "for-b" };
    sync_w *sa = sync_req("g", a->member_id, 1, ids, as, 2);
    ck_assert(!sa->done && !sb->done);
    ck_assert_int_eq(append_count, 1);
    /* the record: key v2 group, value v3 with both members and their assignments */
    broker_group_record rec[1];
    broker_group_records_view(&appends[0].recs, rec);
    broker_group_decoded d;
    ck_assert_int_eq(broker_group_record_decode(rec[0].key, rec[0].value, &d), SL_OK);
    ck_assert_int_eq(d.kind, BROKER_GROUP_RECORD_GROUP);
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_GroupMetadataValue v;
    int16_t version;
    ck_assert_int_eq(broker_group_value_decode(rec[0].value, &arena, &v, &version), SL_OK);
    ck_assert_int_eq(version, 3);
    ck_assert_int_eq(v.generation, 1);
    ck_assert_int_eq(v.members.count, 2);
    ck_assert(sl_str_eq_c(v.protocol, "range"));
    ck_assert(sl_str_eq_c(v.leader, a->member_id));
    ck_assert_int_eq(v.members.items[1].assignment.len, 5);
    sl_arena_deinit(&arena);
    appends_complete(E(NONE));
    ck_assert(sa->done && sb->done);
    ck_assert_str_eq(sa->assignment, "for-a");
    ck_assert_str_eq(sb->assignment, "for-b");
    ck_assert_str_eq(sb->protocol, "range");
    ck_assert_int_eq(group("g")->state, BROKER_GROUP_STABLE);
    /* a late SyncGroup in Stable gets the stored assignment at once */
    sync_w *again = sync_req("g", b->member_id, 1, NULL, NULL, 0);
    ck_assert(again->done);
    ck_assert_str_eq(again->assignment, "for-b");
    release(a), release(b), release(sa), release(sb), release(again);
}
END_TEST

START_TEST(test_sync_store_failure_is_mapped) {
    join_w *a = join_req((join_args){ 0 });
    settle(1000);
    const char *ids[] = { a->member_id };
    const char *as[] = { "x" };
    sync_w *s = sync_req("g", a->member_id, 1, ids, as, 1);
    appends_complete(E(NOT_LEADER_OR_FOLLOWER));
    ck_assert(s->done);
    ck_assert_int_eq(s->error, E(NOT_COORDINATOR));
    /* and the group starts over */
    ck_assert_int_eq(group("g")->state, BROKER_GROUP_PREPARING_REBALANCE);
    release(a), release(s);
}
END_TEST

START_TEST(test_sync_errors) {
    join_w *a = stable_single("g");
    sync_w *s = sync_req("g", a->member_id, 7, NULL, NULL, 0);
    ck_assert_int_eq(s->error, E(ILLEGAL_GENERATION));
    release(s);
    s = sync_req("g", "nobody", 1, NULL, NULL, 0);
    ck_assert_int_eq(s->error, E(UNKNOWN_MEMBER_ID));
    release(s);
    s = sync_req("unknown-group", "x", 1, NULL, NULL, 0);
    ck_assert_int_eq(s->error, E(UNKNOWN_MEMBER_ID));
    release(s);
    join_w *b = join_req((join_args){ 0 }); /* a rebalance starts */
    s = sync_req("g", a->member_id, 1, NULL, NULL, 0);
    ck_assert_int_eq(s->error, E(REBALANCE_IN_PROGRESS));
    release(s);
    broker_group_sync_request req = { 0 };
    req.group_id = sl_str_c("g");
    req.generation = 1;
    req.member_id = sl_str_c(a->member_id);
    req.group_instance_id = SL_STR_NULL;
    req.protocol_type = sl_str_c("consumer");
    req.protocol_name = sl_str_c("roundrobin");
    sync_w w = { 0 };
    broker_group_core_sync(core, &req, T(), &w);
    ck_assert_int_eq(w.error, E(INCONSISTENT_GROUP_PROTOCOL));
    release(a), release(b);
}
END_TEST

START_TEST(test_new_member_triggers_rebalance_and_heartbeat_says_so) {
    join_w *a = stable_single("g");
    join_w *b = join_req((join_args){ 0 });
    ck_assert(!b->done);
    ck_assert_int_eq(group("g")->state, BROKER_GROUP_PREPARING_REBALANCE);
    ck_assert_int_eq(heartbeat("g", a->member_id, 1), E(REBALANCE_IN_PROGRESS));
    join_w *a2 = join_req((join_args){ .member = a->member_id });
    ck_assert(a2->done && b->done); /* everyone is back: no need to wait */
    ck_assert_int_eq(a2->generation, 2);
    ck_assert_int_eq(a2->member_count, 2);
    ck_assert_int_eq(heartbeat("g", a->member_id, 2), E(NONE)); /* CompletingRebalance */
    ck_assert_int_eq(heartbeat("g", a->member_id, 1), E(ILLEGAL_GENERATION));
    release(a), release(b), release(a2);
}
END_TEST

START_TEST(test_rebalance_timeout_removes_members_that_did_not_rejoin) {
    pair_w pr =
        stable_pair((join_args){ .rebalance_ms = 5000 }, (join_args){ .rebalance_ms = 5000 });
    join_w *a = pr.a, *b = pr.b;
    sync_w *sa = pr.sa, *sb = pr.sb;
    join_w *c = join_req((join_args){ .rebalance_ms = 5000 });
    join_w *a2 = join_req((join_args){ .member = a->member_id, .rebalance_ms = 5000 });
    tick_to(5999);
    ck_assert(!c->done && !a2->done);
    tick_to(6000);
    ck_assert(c->done && a2->done);
    ck_assert_int_eq(a2->generation, 2);
    ck_assert_int_eq(a2->member_count, 2);
    ck_assert_ptr_null(broker_group_member_find(group("g"), sl_str_c(b->member_id)));
    ck_assert_int_eq(heartbeat("g", b->member_id, 2), E(UNKNOWN_MEMBER_ID));
    release(a), release(b), release(c), release(a2), release(sa), release(sb);
}
END_TEST

START_TEST(test_session_timeout_removes_member) {
    pair_w pr = stable_pair((join_args){ .session_ms = 3000 }, (join_args){ .session_ms = 3000 });
    join_w *a = pr.a, *b = pr.b;
    sync_w *sa = pr.sa, *sb = pr.sb;
    for (int64_t t = 2000; t <= 3000; t += 1000) {
        tick_to(t);
        ck_assert_int_eq(heartbeat("g", a->member_id, 1), E(NONE));
    }
    tick_to(3999);
    ck_assert_int_eq(group("g")->member_count, 2);
    tick_to(4000); /* b's session, from its sync at 1000, ran out */
    ck_assert_int_eq(group("g")->member_count, 1);
    ck_assert_int_eq(group("g")->state, BROKER_GROUP_PREPARING_REBALANCE);
    ck_assert_int_eq(heartbeat("g", a->member_id, 1), E(REBALANCE_IN_PROGRESS));
    release(a), release(b), release(sa), release(sb);
}
END_TEST

START_TEST(test_initial_rebalance_delay_extends_for_new_members) {
    teardown();
    broker_group_config cfg = config();
    cfg.initial_rebalance_delay_ms = 3000;
    clock_ms = 0;
    start_core(&cfg);
    join_w *a = join_req((join_args){ .rebalance_ms = 10000 });
    tick_to(1000);
    join_w *b = join_req((join_args){ .rebalance_ms = 10000 });
    tick_to(2999);
    ck_assert(!a->done);
    tick_to(3000); /* b arrived during the delay: wait min(3000, 7000) more */
    ck_assert(!a->done);
    tick_to(5999);
    ck_assert(!a->done);
    tick_to(6000);
    ck_assert(a->done && b->done);
    ck_assert_int_eq(a->member_count + b->member_count, 2);
    release(a), release(b);
}
END_TEST

START_TEST(test_leave_rebalances_and_last_leave_empties) {
    pair_w pr = stable_pair((join_args){ 0 }, (join_args){ 0 });
    join_w *a = pr.a, *b = pr.b;
    sync_w *sa = pr.sa, *sb = pr.sb;
    broker_group_leave_member lm = { sl_str_c(b->member_id), SL_STR_NULL, -1 };
    ck_assert_int_eq(broker_group_core_leave(core, sl_str_c("g"), &lm, 1, T()), E(NONE));
    ck_assert_int_eq(lm.error, E(NONE));
    ck_assert_int_eq(group("g")->state, BROKER_GROUP_PREPARING_REBALANCE);
    join_w *a2 = join_req((join_args){ .member = a->member_id });
    ck_assert(a2->done);
    ck_assert_int_eq(a2->generation, 2);
    ck_assert_int_eq(a2->member_count, 1);
    broker_group_leave_member la = { sl_str_c(a->member_id), SL_STR_NULL, -1 };
    int before = append_count;
    broker_group_core_leave(core, sl_str_c("g"), &la, 1, T());
    ck_assert_int_eq(group("g")->state, BROKER_GROUP_EMPTY);
    ck_assert_int_eq(group("g")->generation, 3);
    ck_assert_int_eq(append_count, before + 1); /* the empty group's metadata */
    broker_group_leave_member lx = { sl_str_c("ghost"), SL_STR_NULL, -1 };
    broker_group_core_leave(core, sl_str_c("g"), &lx, 1, T());
    ck_assert_int_eq(lx.error, E(UNKNOWN_MEMBER_ID));
    release(a), release(b), release(a2), release(sa), release(sb);
}
END_TEST

START_TEST(test_pending_sync_expiry_removes_silent_member) {
    join_w *a = join_req((join_args){ .rebalance_ms = 5000 });
    join_w *b = join_req((join_args){ .rebalance_ms = 5000 });
    settle(1000);
    const char *ids[] = { a->member_id, b->member_id };
    const char *as[] = { "x", "y" };
    sync_w *sa = sync_req("g", a->member_id, 1, ids, as, 2);
    appends_complete(E(NONE));
    ck_assert(sa->done);
    tick_to(5999);
    ck_assert_int_eq(group("g")->member_count, 2);
    tick_to(6000); /* b never sent SyncGroup */
    ck_assert_int_eq(group("g")->member_count, 1);
    ck_assert_int_eq(group("g")->state, BROKER_GROUP_PREPARING_REBALANCE);
    release(a), release(b), release(sa);
}
END_TEST

START_TEST(test_parked_join_of_new_member_times_out) {
    /* a's own session outlasts a new member's join timeout */
    join_w *a = join_req((join_args){ .session_ms = 500000 });
    settle(1000);
    const char *ids[] = { a->member_id };
    const char *as[] = { "x" };
    sync_w *s = sync_req("g", a->member_id, 1, ids, as, 1);
    appends_complete(E(NONE));
    release(s);
    join_w *b = join_req((join_args){ .rebalance_ms = 400000 });
    ck_assert(!b->done);
    tick_to(1000 + BROKER_GROUP_NEW_MEMBER_TIMEOUT_MS);
    ck_assert(b->done);
    ck_assert_int_eq(b->error, E(UNKNOWN_MEMBER_ID));
    release(a), release(b);
}
END_TEST

/* ------------------------------------------------------------------ static membership */

START_TEST(test_static_member_rejoin_keeps_assignment) {
    join_w *a = join_req((join_args){ .instance = "i-a" });
    join_w *b = join_req((join_args){ .instance = "i-b" });
    settle(1000);
    ck_assert_int_eq(strncmp(a->member_id, "i-a-", 4), 0);
    const char *ids[] = { a->member_id, b->member_id };
    const char *as[] = { "x", "y" };
    sync_w *sa = sync_req("g", a->member_id, 1, ids, as, 2);
    sync_w *sb = sync_req("g", b->member_id, 1, NULL, NULL, 0);
    appends_complete(E(NONE));
    /* b restarts: joins with its instance id and no member id */
    join_w *b2 = join_req((join_args){ .instance = "i-b" });
    ck_assert(!b2->done); /* answered once the new member id is stored */
    ck_assert_int_eq(appends_complete(E(NONE)), 1);
    ck_assert(b2->done);
    ck_assert_int_eq(b2->error, E(NONE));
    ck_assert_int_eq(b2->generation, 1); /* no rebalance */
    ck_assert_str_ne(b2->member_id, b->member_id);
    ck_assert_str_eq(b2->leader, a->member_id);
    ck_assert_int_eq(group("g")->state, BROKER_GROUP_STABLE);
    sync_w *s2 = sync_req("g", b2->member_id, 1, NULL, NULL, 0);
    ck_assert_str_eq(s2->assignment, "y");
    /* the old id is fenced */
    ck_assert_int_eq(broker_group_core_heartbeat(core, sl_str_c("g"), sl_str_c(b->member_id),
                                                 sl_str_c("i-b"), 1, T()),
                     E(FENCED_INSTANCE_ID));
    release(a), release(b), release(b2), release(sa), release(sb), release(s2);
}
END_TEST

START_TEST(test_static_leader_rejoin_v9_skips_assignment) {
    join_w *a = join_req((join_args){ .instance = "i-a", .v9 = true });
    settle(1000);
    const char *ids[] = { a->member_id };
    const char *as[] = { "x" };
    sync_w *sa = sync_req("g", a->member_id, 1, ids, as, 1);
    appends_complete(E(NONE));
    join_w *a2 = join_req((join_args){ .instance = "i-a", .v9 = true });
    appends_complete(E(NONE));
    ck_assert(a2->done);
    ck_assert(a2->skip);
    ck_assert_str_eq(a2->leader, a2->member_id);
    ck_assert_int_eq(a2->member_count, 1);
    release(a), release(a2), release(sa);
}
END_TEST

START_TEST(test_static_member_survives_rebalance_timeout_not_session) {
    pair_w pr =
        stable_pair((join_args){ .instance = "i-a", .rebalance_ms = 5000, .session_ms = 20000 },
                    (join_args){ .instance = "i-b", .rebalance_ms = 5000, .session_ms = 20000 });
    join_w *a = pr.a, *b = pr.b;
    sync_w *sa = pr.sa, *sb = pr.sb;
    const char *ids[] = { a->member_id, b->member_id };
    const char *as[] = { "x", "y" };
    join_w *a2 = join_req((join_args){
        .member = a->member_id, .instance = "i-a", .rebalance_ms = 5000, .session_ms = 20000 });
    tick_to(6000);
    ck_assert(a2->done); /* the rebalance timeout keeps b: it is static */
    ck_assert_int_eq(a2->member_count, 2);
    ck_assert_int_eq(a2->generation, 2);
    sync_w *sa2 = sync_req("g", a->member_id, 2, ids, as, 2);
    sync_w *sb2 = sync_req("g", b->member_id, 2, NULL, NULL, 0);
    appends_complete(E(NONE));
    ck_assert(sb2->done);
    for (int64_t t = 10000; t <= 22000; t += 4000) {
        tick_to(t);
        heartbeat("g", a->member_id, 2);
    }
    tick_to(25999);
    ck_assert_int_eq(group("g")->member_count, 2);
    tick_to(26000); /* b's session, from its sync at 6000, ran out */
    ck_assert_int_eq(group("g")->member_count, 1);
    release(sa2), release(sb2);
    release(a), release(b), release(a2), release(sa), release(sb);
}
END_TEST

/* ------------------------------------------------------------------ offsets */

static commit_w *commit(
    const char *g, int32_t generation, const char *member, int64_t offset, int64_t retention_ms) {
    commit_w *w = calloc(1, sizeof(*w));
    broker_group_commit_part parts[2] = { 0 };
    parts[0] = (broker_group_commit_part){ sl_str_c("t"), 0, offset, 5, sl_str_c("meta"), -1, 0 };
    parts[1] = (broker_group_commit_part){ sl_str_c("t"), 1, offset + 1, -1, SL_STR_NULL, -1, 0 };
    broker_group_commit_request req = {
        sl_str_c(g), generation, sl_str_c(member), SL_STR_NULL, retention_ms, parts, 2
    };
    broker_group_core_commit(core, &req, T(), w);
    return w;
}

START_TEST(test_simple_commit_creates_group_and_waits_for_append) {
    commit_w *w = commit("s", -1, "", 42, -1);
    ck_assert(!w->done);
    broker_group *g = group("s");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(g->state, BROKER_GROUP_EMPTY);
    broker_group_offset *o = broker_group_offset_find(g, sl_str_c("t"), 0);
    ck_assert(o && !o->committed && o->pending == 1); /* OffsetFetch would say unstable */
    appends_complete(E(NONE));
    ck_assert(w->done);
    ck_assert_int_eq(w->errors[0], E(NONE));
    ck_assert_int_eq(w->errors[1], E(NONE));
    o = broker_group_offset_find(g, sl_str_c("t"), 0);
    ck_assert(o->committed && o->pending == 0);
    ck_assert_int_eq(o->offset, 42);
    ck_assert_int_eq(o->leader_epoch, 5);
    ck_assert_str_eq(o->metadata, "meta");
    ck_assert_str_eq(broker_group_offset_find(g, sl_str_c("t"), 1)->metadata, "");
    /* records: key v1 + value v3 */
    broker_group_record rec[2];
    broker_group_records_view(&appends[0].recs, rec);
    ck_assert_int_eq(rec[0].key.ptr[1], 1);
    ck_assert_int_eq(rec[0].value.ptr[1], 3);
    broker_group_decoded d;
    ck_assert_int_eq(broker_group_record_decode(rec[0].key, rec[0].value, &d), SL_OK);
    ck_assert(sl_str_eq_c(d.group, "s") && sl_str_eq_c(d.topic, "t"));
    ck_assert_int_eq(d.offset, 42);
    ck_assert_int_eq(d.commit_timestamp_ms, T().wall_ms);
    release(w);
}
END_TEST

START_TEST(test_commit_with_retention_writes_value_v1) {
    commit_w *w = commit("s", -1, "", 1, 5000);
    broker_group_record rec[2];
    broker_group_records_view(&appends[0].recs, rec);
    broker_group_decoded d;
    ck_assert_int_eq(broker_group_record_decode(rec[0].key, rec[0].value, &d), SL_OK);
    ck_assert_int_eq(d.value_version, 1);
    ck_assert_int_eq(d.expire_timestamp_ms, T().wall_ms + 5000);
    appends_complete(E(NONE));
    release(w);
}
END_TEST

START_TEST(test_commit_validation_errors) {
    commit_w *w = commit("nogroup", 3, "m", 1, -1);
    ck_assert(w->done);
    ck_assert_int_eq(w->errors[0], E(ILLEGAL_GENERATION));
    release(w);
    join_w *a = stable_single("g");
    w = commit("g", -1, "", 1, -1); /* simple commit into a live group */
    ck_assert_int_eq(w->errors[0], E(UNKNOWN_MEMBER_ID));
    release(w);
    w = commit("g", 1, "stranger", 1, -1);
    ck_assert_int_eq(w->errors[0], E(UNKNOWN_MEMBER_ID));
    release(w);
    w = commit("g", 9, a->member_id, 1, -1);
    ck_assert_int_eq(w->errors[1], E(ILLEGAL_GENERATION));
    release(w);
    w = commit("g", 1, a->member_id, 1, -1);
    ck_assert(!w->done);
    appends_complete(E(NONE));
    ck_assert_int_eq(w->errors[0], E(NONE));
    release(w);
    join_w *b = join_req((join_args){ 0 });
    join_w *a2 = join_req((join_args){ .member = a->member_id });
    ck_assert_int_eq(group("g")->state, BROKER_GROUP_COMPLETING_REBALANCE);
    w = commit("g", 2, a->member_id, 1, -1);
    ck_assert_int_eq(w->errors[0], E(REBALANCE_IN_PROGRESS));
    release(w), release(a), release(b), release(a2);
}
END_TEST

START_TEST(test_commit_part_errors) {
    broker_group_commit_part parts[3] = { 0 };
    char big[BROKER_GROUP_METADATA_MAX_BYTES + 2];
    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    parts[0] = (broker_group_commit_part){ sl_str_c("t"), 0, 1, -1, sl_str_c(big), -1, 0 };
    parts[1] = (broker_group_commit_part){ sl_str_c("t"), 1, 1, -1, SL_STR_NULL, -1, 0 };
    parts[2] = (broker_group_commit_part){
        sl_str_c("nope"), 0, 1, -1, SL_STR_NULL, -1, E(UNKNOWN_TOPIC_OR_PARTITION)
    };
    broker_group_commit_request req = {
        sl_str_c("s"), -1, sl_str_c(""), SL_STR_NULL, -1, parts, 3
    };
    commit_w w = { 0 };
    broker_group_core_commit(core, &req, T(), &w);
    appends_complete(E(REQUEST_TIMED_OUT));
    ck_assert(w.done);
    ck_assert_int_eq(w.errors[0], E(OFFSET_METADATA_TOO_LARGE));
    ck_assert_int_eq(w.errors[1], E(REQUEST_TIMED_OUT));
    ck_assert_int_eq(w.errors[2], E(UNKNOWN_TOPIC_OR_PARTITION));
    /* the failed write left nothing behind */
    ck_assert_ptr_null(broker_group_offset_find(group("s"), sl_str_c("t"), 1));
    commit_w *f = commit("s", -1, "", 1, -1);
    appends_complete(E(NOT_LEADER_OR_FOLLOWER));
    ck_assert_int_eq(f->errors[0], E(NOT_COORDINATOR));
    release(f);
}
END_TEST

START_TEST(test_cancelled_commit_is_not_answered) {
    commit_w *w = commit("s", -1, "", 1, -1);
    broker_group_core_cancel(core, w);
    appends_complete(E(NONE));
    ck_assert(!w->done);
    ck_assert(broker_group_offset_find(group("s"), sl_str_c("t"), 0)->committed);
    release(w);
}
END_TEST

/* ------------------------------------------------------------------ load / unload */

/* Feed every record appended so far into a fresh core, as a new leader would read them. */
static void reload_into_new_core(void) {
    broker_group_record recs[64];
    broker_group_core *old = core;
    appends_complete(E(NONE));
    broker_group_config cfg = config();
    broker_group_callbacks cb = { NULL, cb_join, cb_sync, cb_commit, cb_append };
    core = broker_group_core_new(&cfg, &cb, 7);
    for (int32_t p = 0; p < cfg.partitions; p++)
        broker_group_core_load_begin(core, p);
    int64_t offset = 0;
    for (int i = 0; i < append_count; i++) {
        ck_assert_int_le(appends[i].recs.count, 64);
        broker_group_records_view(&appends[i].recs, recs);
        for (int32_t k = 0; k < appends[i].recs.count; k++) {
            ck_assert_int_eq(broker_group_core_load_record(core, appends[i].partition, offset++,
                                                           recs[k].key, recs[k].value),
                             SL_OK);
        }
    }
    for (int32_t p = 0; p < cfg.partitions; p++)
        broker_group_core_load_end(core, p, T());
    broker_group_core_free(old);
}

START_TEST(test_load_restores_groups_members_and_offsets) {
    pair_w pr = stable_pair((join_args){ .instance = "i-a" }, (join_args){ 0 });
    join_w *a = pr.a, *b = pr.b;
    sync_w *sa = pr.sa, *sb = pr.sb;
    commit_w *c1 = commit("g", 1, a->member_id, 10, -1);
    commit_w *c2 = commit("g", 1, b->member_id, 20, -1); /* later record wins */
    commit_w *c3 = commit("s", -1, "", 5, -1);
    reload_into_new_core();
    broker_group *g = group("g");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(g->state, BROKER_GROUP_STABLE);
    ck_assert_int_eq(g->generation, 1);
    ck_assert_int_eq(g->member_count, 2);
    ck_assert_str_eq(g->leader_id, a->member_id);
    ck_assert_str_eq(g->protocol_name, "range");
    broker_group_member *mb = broker_group_member_find(g, sl_str_c(b->member_id));
    ck_assert_int_eq(mb->assignment_len, 1);
    ck_assert_int_eq(mb->assignment[0], 'y');
    ck_assert_str_eq(broker_group_member_find(g, sl_str_c(a->member_id))->instance_id, "i-a");
    ck_assert_int_eq(broker_group_offset_find(g, sl_str_c("t"), 0)->offset, 20);
    ck_assert_int_eq(group("s")->state, BROKER_GROUP_EMPTY);
    ck_assert_ptr_null(group("s")->protocol_type);
    /* the loaded members go on as before */
    ck_assert_int_eq(heartbeat("g", b->member_id, 1), E(NONE));
    sync_w *again = sync_req("g", b->member_id, 1, NULL, NULL, 0);
    ck_assert_str_eq(again->assignment, "y");
    release(a), release(b), release(sa), release(sb), release(c1), release(c2), release(c3),
        release(again);
}
END_TEST

START_TEST(test_load_applies_tombstones_and_skips_other_keys) {
    int32_t p = broker_group_core_partition_for(core, sl_str_c("gone"));
    broker_group_core_load_begin(core, p);
    broker_group_records rs;
    broker_group_records_init(&rs);
    broker_group_offset o = { 0 };
    o.topic = "t";
    o.partition = 0;
    o.offset = 7;
    o.metadata = "";
    o.leader_epoch = -1;
    o.expire_timestamp_ms = -1;
    broker_group_records_add_offset(&rs, sl_str_c("gone"), &o);
    o.partition = 1;
    broker_group_records_add_offset(&rs, sl_str_c("gone"), &o);
    broker_group_records_add_offset_tombstone(&rs, sl_str_c("gone"), sl_str_c("t"), 0);
    broker_group_records_add_group_tombstone(&rs, sl_str_c("gone"));
    broker_group_record recs[8];
    broker_group_records_view(&rs, recs);
    for (int32_t i = 0; i < rs.count; i++) {
        ck_assert_int_eq(broker_group_core_load_record(core, p, i, recs[i].key, recs[i].value),
                         SL_OK);
    }
    uint8_t other_key[] = { 0, 4, 0, 0 }; /* a KIP-848 record */
    ck_assert_int_eq(
        broker_group_core_load_record(core, p, 9, (sl_bytes){ other_key, 4 }, SL_BYTES_NULL),
        SL_OK);
    uint8_t bad_key[] = { 0, 1, 0x7f };
    ck_assert_int_eq(
        broker_group_core_load_record(core, p, 10, (sl_bytes){ bad_key, 3 }, SL_BYTES_NULL),
        SL_E_CORRUPT);
    broker_group_core_load_end(core, p, T());
    broker_group *g = group("gone");
    ck_assert_ptr_nonnull(g); /* offsets remain after the group tombstone: Empty */
    ck_assert_ptr_null(broker_group_offset_find(g, sl_str_c("t"), 0));
    ck_assert_int_eq(broker_group_offset_find(g, sl_str_c("t"), 1)->offset, 7);
    broker_group_records_deinit(&rs);
}
END_TEST

/* Every record the coordinator writes, cut at every length, is refused cleanly. */
START_TEST(test_record_decoders_reject_truncation) {
    join_w *a = join_req((join_args){ .instance = "i-a" });
    settle(1000);
    const char *ids[] = { a->member_id };
    const char *as[] = { "assignment" };
    sync_w *s = sync_req("g", a->member_id, 1, ids, as, 1);
    commit_w *c = NULL;
    appends_complete(E(NONE));
    c = commit("g", 1, a->member_id, 5, 1000);
    ck_assert_int_eq(append_count, 2);
    broker_group_record recs[3];
    broker_group_records_view(&appends[0].recs, recs);     /* group metadata */
    broker_group_records_view(&appends[1].recs, recs + 1); /* two offsets */
    sl_arena arena;
    sl_arena_init(&arena);
    for (int r = 0; r < 2; r++) {
        sl_bytes key = recs[r].key, value = recs[r].value;
        broker_group_decoded d;
        ck_assert_int_eq(broker_group_record_decode(key, value, &d), SL_OK);
        for (int32_t n = 0; n < key.len; n++) {
            ck_assert_int_eq(broker_group_record_decode((sl_bytes){ key.ptr, n }, value, &d),
                             SL_E_CORRUPT);
        }
        for (int32_t n = 0; n < value.len; n++) {
            sl_bytes cut = { value.ptr, n };
            protocol_GroupMetadataValue v;
            int16_t version;
            int rc = r == 0 ? broker_group_value_decode(cut, &arena, &v, &version)
                            : broker_group_record_decode(key, cut, &d);
            ck_assert_int_eq(rc, SL_E_CORRUPT);
        }
    }
    /* an unknown value version is refused too */
    uint8_t bad[64];
    memcpy(bad, recs[1].value.ptr, (size_t)recs[1].value.len);
    bad[1] = 9;
    broker_group_decoded d;
    ck_assert_int_eq(
        broker_group_record_decode(recs[1].key, (sl_bytes){ bad, recs[1].value.len }, &d),
        SL_E_CORRUPT);
    sl_arena_deinit(&arena);
    appends_complete(E(NONE));
    release(a), release(s), release(c);
}
END_TEST

START_TEST(test_unload_answers_parked_requests_not_coordinator) {
    join_w *a = stable_single("g");
    join_w *b = join_req((join_args){ 0 });
    ck_assert(!b->done);
    broker_group_core_unload(core, broker_group_core_partition_for(core, sl_str_c("g")));
    ck_assert(b->done);
    ck_assert_int_eq(b->error, E(NOT_COORDINATOR));
    ck_assert_ptr_null(group("g"));
    ck_assert_int_eq(heartbeat("g", a->member_id, 1), E(NOT_COORDINATOR));
    release(a), release(b);
}
END_TEST

START_TEST(test_cancelled_join_is_forgotten) {
    join_w *a = join_req((join_args){ 0 });
    broker_group_core_cancel(core, a);
    settle(1000); /* completes the rebalance without calling the cancelled waiter */
    ck_assert(!a->done);
    ck_assert_int_eq(group("g")->generation, 1);
    release(a);
}
END_TEST

/* ------------------------------------------------------------------ delete, expire */

START_TEST(test_delete_groups) {
    ck_assert_int_eq(broker_group_core_delete(core, sl_str_c("none"), T()), E(GROUP_ID_NOT_FOUND));
    join_w *a = stable_single("g");
    ck_assert_int_eq(broker_group_core_delete(core, sl_str_c("g"), T()), E(NON_EMPTY_GROUP));
    broker_group_leave_member lm = { sl_str_c(a->member_id), SL_STR_NULL, -1 };
    broker_group_core_leave(core, sl_str_c("g"), &lm, 1, T());
    commit_w *c = commit("g", -1, "", 3, -1);
    appends_complete(E(NONE));
    int before = append_count;
    ck_assert_int_eq(broker_group_core_delete(core, sl_str_c("g"), T()), E(NONE));
    ck_assert_ptr_null(group("g"));
    ck_assert_int_eq(append_count, before + 1);
    ck_assert_int_eq(appends[before].recs.count, 3); /* two offsets + the group */
    ck_assert_ptr_null(appends[before].op);          /* fire and forget, as Kafka */
    broker_group_record rec[3];
    broker_group_records_view(&appends[before].recs, rec);
    ck_assert_int_eq(rec[2].value.len, -1);
    ck_assert_int_eq(rec[2].key.ptr[1], 2);
    release(a), release(c);
}
END_TEST

START_TEST(test_offset_delete_respects_subscriptions) {
    join_w *a = stable_single("g"); /* subscribed to topic "t" */
    commit_w *c = commit("g", 1, a->member_id, 3, -1);
    appends_complete(E(NONE));
    broker_group_topic_partition tps[2] = { { sl_str_c("t"), 0, 0 }, { sl_str_c("u"), 0, 0 } };
    ck_assert_int_eq(broker_group_core_delete_offsets(core, sl_str_c("g"), tps, 2, T()), E(NONE));
    ck_assert_int_eq(tps[0].error, E(GROUP_SUBSCRIBED_TO_TOPIC));
    ck_assert_int_eq(tps[1].error, E(NONE));
    ck_assert_int_eq(broker_group_core_delete_offsets(core, sl_str_c("x"), tps, 1, T()),
                     E(GROUP_ID_NOT_FOUND));
    join_w *o = join_req((join_args){ .group = "other", .type = "connect" });
    settle(clock_ms);
    ck_assert_int_eq(broker_group_core_delete_offsets(core, sl_str_c("other"), tps, 1, T()),
                     E(NON_EMPTY_GROUP));
    release(a), release(c), release(o);
}
END_TEST

START_TEST(test_retention_expires_offsets_and_empty_groups) {
    commit_w *c = commit("s", -1, "", 3, -1); /* simple group: from its commit time */
    appends_complete(E(NONE));
    join_w *a = stable_single("g");
    commit_w *c2 = commit("g", 1, a->member_id, 3, -1);
    appends_complete(E(NONE));
    broker_group_leave_member lm = { sl_str_c(a->member_id), SL_STR_NULL, -1 };
    tick_to(2000);
    broker_group_core_leave(core, sl_str_c("g"), &lm, 1, T()); /* Empty since 2000 */
    tick_to(1000 + 60000 - 1);
    ck_assert_int_eq(broker_group_core_expire_offsets(core, T()), 0);
    tick_to(1000 + 60000);
    ck_assert_int_eq(broker_group_core_expire_offsets(core, T()), 2);
    ck_assert_ptr_null(group("s"));
    ck_assert_ptr_nonnull(group("g"));
    tick_to(2000 + 60000);
    int before = append_count;
    ck_assert_int_eq(broker_group_core_expire_offsets(core, T()), 2);
    ck_assert_ptr_null(group("g"));
    ck_assert_int_eq(appends[before].recs.count, 3); /* two offsets + group (generation 2) */
    release(c), release(a), release(c2);
}
END_TEST

START_TEST(test_retention_in_stable_group_only_unsubscribed_topics) {
    join_w *a = stable_single("g"); /* subscribed to "t" */
    commit_w *c = commit("g", 1, a->member_id, 3, -1);
    appends_complete(E(NONE));
    broker_group_commit_part part = { sl_str_c("u"), 0, 9, -1, SL_STR_NULL, -1, 0 };
    broker_group_commit_request req = { sl_str_c("g"), 1, sl_str_c(a->member_id), SL_STR_NULL, -1,
                                        &part,         1 };
    commit_w w = { 0 };
    broker_group_core_commit(core, &req, T(), &w);
    appends_complete(E(NONE));
    for (int64_t t = 6000; t <= 71000; t += 5000) { /* keep the member alive */
        tick_to(t);
        heartbeat("g", a->member_id, 1);
    }
    ck_assert_int_eq(broker_group_core_expire_offsets(core, T()), 1);
    ck_assert_ptr_null(broker_group_offset_find(group("g"), sl_str_c("u"), 0));
    ck_assert_ptr_nonnull(broker_group_offset_find(group("g"), sl_str_c("t"), 0));
    release(a), release(c);
}
END_TEST

START_TEST(test_describe_and_list) {
    join_w *a = stable_single("g");
    broker_group *g = NULL;
    ck_assert_int_eq(broker_group_core_describe(core, sl_str_c("g"), &g), E(NONE));
    ck_assert_ptr_eq(g, group("g"));
    ck_assert_str_eq(broker_group_state_name(g->state), "Stable");
    ck_assert_int_eq(broker_group_core_describe(core, sl_str_c("nope"), &g), E(NONE));
    ck_assert_ptr_null(g); /* Kafka describes it as Dead */
    ck_assert_int_eq(broker_group_core_list_error(core), E(NONE));
    broker_group_core_load_begin(core, 0);
    ck_assert_int_eq(broker_group_core_list_error(core), E(COORDINATOR_LOAD_IN_PROGRESS));
    broker_group_core_load_end(core, 0, T());
    release(a);
}
END_TEST

Suite *broker_group_suite(void) {
    Suite *s = suite_create("broker_group");
    struct {
        const char *name;
        const TTest *tests[16];
    } cases[] = {
        { "join",
          { test_first_join_v4_requires_member_id, test_join_v3_gets_member_id_at_once,
            test_join_rejects_bad_session_timeouts, test_join_unknown_member_of_unknown_group,
            test_join_invalid_group_id_and_not_coordinator, test_inconsistent_protocols_refused,
            test_protocol_selection_by_votes, test_leader_gets_members_followers_do_not,
            test_group_max_size } },
        { "rebalance",
          { test_sync_assignment_written_before_answers, test_sync_store_failure_is_mapped,
            test_sync_errors, test_new_member_triggers_rebalance_and_heartbeat_says_so,
            test_rebalance_timeout_removes_members_that_did_not_rejoin,
            test_session_timeout_removes_member,
            test_initial_rebalance_delay_extends_for_new_members,
            test_leave_rebalances_and_last_leave_empties,
            test_pending_sync_expiry_removes_silent_member,
            test_parked_join_of_new_member_times_out } },
        { "static",
          { test_static_member_rejoin_keeps_assignment,
            test_static_leader_rejoin_v9_skips_assignment,
            test_static_member_survives_rebalance_timeout_not_session } },
        { "offsets",
          { test_simple_commit_creates_group_and_waits_for_append,
            test_commit_with_retention_writes_value_v1, test_commit_validation_errors,
            test_commit_part_errors, test_cancelled_commit_is_not_answered } },
        { "load",
          { test_load_restores_groups_members_and_offsets,
            test_load_applies_tombstones_and_skips_other_keys,
            test_record_decoders_reject_truncation,
            test_unload_answers_parked_requests_not_coordinator,
            test_cancelled_join_is_forgotten } },
        { "delete",
          { test_delete_groups, test_offset_delete_respects_subscriptions,
            test_retention_expires_offsets_and_empty_groups,
            test_retention_in_stable_group_only_unsubscribed_topics, test_describe_and_list } },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        TCase *tc = tcase_create(cases[c].name);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 10);
        for (int i = 0; i < 16 && cases[c].tests[i]; i++)
            tcase_add_test(tc, cases[c].tests[i]);
        suite_add_tcase(s, tc);
    }
    return s;
}
