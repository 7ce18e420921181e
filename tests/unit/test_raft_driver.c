/* Unit tests for the Raft driver (raft/raft_driver*.c): real drivers on one event_base
 * over 127.0.0.1, each with its own raft_net, log directory and a small application
 * (a list of committed payloads, snapshotted as a whole). Covered: election and
 * replication with exactly-once, in-order delivery; the leader's stop and restart from
 * disk (quorum state and entries recovered); observers; snapshots, their restore and
 * their transfer to a new observer; application RPC frames on the Raft listener; fast
 * failover on a lost connection and a blip that must not depose the leader; fail-stop
 * on a failed write; start-up refusals. Waits poll with deadlines (RUN_UNTIL). */
#include "raft/raft.h"
#include "raft/raft_driver_int.h"

#include "common/sl_alloc.h"
#include "common/sl_buf.h"
#include "common/sl_err.h"
#include "common/sl_rand.h"
#include "common/sl_time.h"

#include <check.h>
#include <dirent.h>
#include <event2/event.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

Suite *raft_driver_suite(void);

#define DN_MAX      6
#define APP_MAX     512 /* committed data entries one application keeps */
#define PAYLOAD_MAX 64
#define OBSERVER_ID 100

/* ------------------------------------------------------------------ application */

typedef struct app_entry {
    int64_t offset;
    int32_t epoch;
    char payload[PAYLOAD_MAX];
} app_entry;

typedef struct app {
    int32_t node_id;
    int64_t next_offset; /* on_commit must deliver exactly this offset next */
    app_entry data[APP_MAX];
    int32_t count;
    int32_t max_commit_epoch;
    int32_t leader_id, epoch;
    bool is_self;
    int32_t leader_calls;
    int32_t snapshot_loads;
    int32_t snapshots_taken;
    int fatal;
} app;

static void app_on_commit(void *arg, const raft_entry *e) {
    app *a = arg;
    ck_assert_int_eq(e->offset, a->next_offset); /* in order, exactly once */
    a->next_offset = e->offset + 1;
    if (e->epoch > a->max_commit_epoch) a->max_commit_epoch = e->epoch;
    if (e->kind != RAFT_ENTRY_DATA) return;
    ck_assert_int_lt(a->count, APP_MAX);
    ck_assert_uint_lt(e->size, PAYLOAD_MAX);
    app_entry *x = &a->data[a->count++];
    x->offset = e->offset;
    x->epoch = e->epoch;
    memcpy(x->payload, e->data, e->size);
    x->payload[e->size] = '\0';
}

static void app_on_leader(void *arg, int32_t leader_id, int32_t epoch, bool is_self) {
    app *a = arg;
    a->leader_id = leader_id;
    a->epoch = epoch;
    a->is_self = is_self;
    a->leader_calls++;
}

/* Snapshot: next_offset, count, then the entries as they are in memory. */
static int app_snapshot_take(void *arg, sl_buf *out) {
    app *a = arg;
    sl_buf_put_i64(out, a->next_offset);
    sl_buf_put_i32(out, a->count);
    sl_buf_put(out, a->data, (size_t)a->count * sizeof(app_entry));
    a->snapshots_taken++;
    return SL_OK;
}

static int app_on_snapshot_load(void *arg, raft_snapshot_id id, const uint8_t *data, size_t size) {
    app *a = arg;
    ck_assert_uint_ge(size, 12);
    int64_t next = (int64_t)sl_load_be64(data);
    int32_t count = (int32_t)sl_load_be32(data + 8);
    ck_assert_int_eq(next, id.end_offset);
    ck_assert_uint_eq(size, 12 + (size_t)count * sizeof(app_entry));
    memcpy(a->data, data + 12, (size_t)count * sizeof(app_entry));
    a->count = count;
    a->next_offset = next;
    a->snapshot_loads++;
    return SL_OK;
}

static void app_on_fatal(void *arg, int err) {
    app *a = arg;
    a->fatal = err;
}

/* ------------------------------------------------------------------ cluster harness */

typedef struct node_h {
    int32_t id;
    bool voter;
    char dir[300];
    raft_net *net;
    raft_driver *drv;
    app app;
} node_h;

typedef struct cluster {
    struct event_base *base;
    char root[256];
    int32_t voters;
    int32_t ports[DN_MAX];
    node_h nodes[DN_MAX];
    int32_t node_count;
    int32_t election_ms, fetch_ms;
    int64_t snapshot_interval;
} cluster;

static cluster g;

static void run_for(int ms) {
    struct timeval tv = { 0, ms * 1000 };
    event_base_loopexit(g.base, &tv);
    event_base_dispatch(g.base);
}

#define RUN_UNTIL(cond, ms)                                                                        \
    do {                                                                                           \
        int64_t deadline_ = sl_now_ms() + (ms);                                                    \
        while (!(cond) && sl_now_ms() < deadline_)                                                 \
            run_for(5);                                                                            \
    } while (0)

/* Free ports on 127.0.0.1, all bound at once so they differ. */
static void pick_ports(int32_t count, int32_t *ports) {
    int fds[DN_MAX];
    for (int32_t i = 0; i < count; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
        ck_assert_int_eq(bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
        socklen_t len = sizeof(sa);
        ck_assert_int_eq(getsockname(fds[i], (struct sockaddr *)&sa, &len), 0);
        ports[i] = ntohs(sa.sin_port);
    }
    for (int32_t i = 0; i < count; i++)
        close(fds[i]);
}

static void cluster_setup(void) {
    memset(&g, 0, sizeof(g));
    g.base = event_base_new();
    snprintf(g.root, sizeof(g.root), "/tmp/sluice-raft-driver-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g.root));
    g.election_ms = 300;
    g.fetch_ms = 1000;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void node_stop(int32_t i) {
    node_h *n = &g.nodes[i];
    raft_driver_stop(n->drv);
    raft_net_free(n->net);
    n->drv = NULL;
    n->net = NULL;
}

static void cluster_teardown(void) {
    for (int32_t i = 0; i < g.node_count; i++)
        node_stop(i);
    event_base_free(g.base);
    nftw(g.root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Declare voters 1..count (ids) and observers (ids OBSERVER_ID + k). */
static void cluster_shape(int32_t voters, int32_t observers) {
    g.voters = voters;
    g.node_count = voters + observers;
    pick_ports(voters, g.ports);
    for (int32_t i = 0; i < g.node_count; i++) {
        node_h *n = &g.nodes[i];
        n->voter = i < voters;
        n->id = n->voter ? i + 1 : OBSERVER_ID + (i - voters);
        snprintf(n->dir, sizeof(n->dir), "%s/node-%d/__cluster_metadata-0", g.root, n->id);
    }
}

static void node_config(int32_t i, raft_driver_config *dc) {
    node_h *n = &g.nodes[i];
    memset(dc, 0, sizeof(*dc));
    raft_config_init(&dc->core, n->id);
    dc->core.voter_count = g.voters;
    dc->voter_count = g.voters;
    for (int32_t v = 0; v < g.voters; v++) {
        dc->core.voters[v] = v + 1;
        dc->voters[v].id = v + 1;
        snprintf(dc->voters[v].host, sizeof(dc->voters[v].host), "127.0.0.1");
        dc->voters[v].port = g.ports[v];
    }
    dc->core.election_timeout_ms = g.election_ms;
    dc->core.fetch_timeout_ms = g.fetch_ms;
    dc->core.fetch_max_wait_ms = g.fetch_ms / 4;
    dc->core.request_timeout_ms = g.fetch_ms;
    dc->core.rand_seed = sl_rand_os_seed();
    dc->listen_host = "127.0.0.1";
    dc->listen_port = n->voter ? g.ports[i] : -1;
    dc->log_dir = n->dir;
    dc->snapshot_interval_bytes = g.snapshot_interval ? g.snapshot_interval : -1;
    dc->base = g.base;
}

static int node_start_rc(int32_t i) {
    node_h *n = &g.nodes[i];
    memset(&n->app, 0, sizeof(n->app));
    n->app.node_id = n->id;
    n->app.leader_id = RAFT_NODE_NONE;
    n->net = raft_net_new(g.base, 64 << 20, 256 << 20);
    raft_driver_config dc;
    node_config(i, &dc);
    dc.net = n->net;
    raft_driver_callbacks cb = { app_on_commit, app_on_leader, app_on_snapshot_load,
                                 app_snapshot_take };
    int rc = raft_driver_start(&dc, &cb, &n->app, &n->drv);
    if (rc != SL_OK) {
        raft_net_free(n->net);
        n->net = NULL;
        n->drv = NULL;
        return rc;
    }
    raft_driver_set_fatal_handler(n->drv, app_on_fatal);
    return SL_OK;
}

static void node_start(int32_t i) {
    ck_assert_int_eq(node_start_rc(i), SL_OK);
}

static void cluster_start(void) {
    for (int32_t i = 0; i < g.node_count; i++)
        node_start(i);
}

/* The running node that is leader (its application was told so), or -1. */
static int32_t leader_index(void) {
    for (int32_t i = 0; i < g.voters; i++) {
        node_h *n = &g.nodes[i];
        if (n->drv && n->app.is_self &&
            raft_node_role(raft_driver_node(n->drv)) == RAFT_ROLE_LEADER) {
            return i;
        }
    }
    return -1;
}

static int32_t wait_leader(int ms) {
    RUN_UNTIL(leader_index() >= 0, ms);
    int32_t l = leader_index();
    ck_assert_int_ge(l, 0);
    return l;
}

static void propose(int32_t i, const char *text) {
    int64_t offset;
    int32_t epoch;
    ck_assert_int_eq(
        raft_driver_propose(g.nodes[i].drv, text, (uint32_t)strlen(text), &offset, &epoch), SL_OK);
}

static void propose_n(int32_t leader, int32_t from, int32_t count) {
    char text[PAYLOAD_MAX];
    for (int32_t k = from; k < from + count; k++) {
        snprintf(text, sizeof(text), "entry-%d", k);
        propose(leader, text);
    }
}

static bool all_have(int32_t count) {
    for (int32_t i = 0; i < g.node_count; i++) {
        if (g.nodes[i].drv && g.nodes[i].app.count < count) return false;
    }
    return true;
}

/* Every running node applied the same entries: entry-0 .. entry-(count-1). */
static void assert_same_entries(int32_t count) {
    const app *ref = NULL;
    for (int32_t i = 0; i < g.node_count; i++) {
        const node_h *n = &g.nodes[i];
        if (!n->drv) continue;
        ck_assert_int_eq(n->app.count, count);
        for (int32_t k = 0; k < count; k++) {
            char want[PAYLOAD_MAX];
            snprintf(want, sizeof(want), "entry-%d", k);
            ck_assert_str_eq(n->app.data[k].payload, want);
            if (ref) {
                ck_assert_int_eq(n->app.data[k].offset, ref->data[k].offset);
                ck_assert_int_eq(n->app.data[k].epoch, ref->data[k].epoch);
            }
        }
        if (!ref) ref = &n->app;
    }
}

/* ------------------------------------------------------------------ tests */

START_TEST(test_elect_commit_replicate) {
    cluster_shape(3, 0);
    cluster_start();
    int32_t l = wait_leader(10000);
    int32_t epoch = g.nodes[l].app.epoch;
    ck_assert_int_ge(epoch, 1);
    propose_n(l, 0, 60);
    RUN_UNTIL(all_have(60), 10000);
    assert_same_entries(60);
    for (int32_t i = 0; i < 3; i++) {
        ck_assert_int_eq(g.nodes[i].app.leader_id, g.nodes[l].id);
        ck_assert_int_eq(g.nodes[i].app.epoch, epoch);
        ck_assert_int_eq(g.nodes[i].app.is_self, i == l);
    }
    /* proposals only on the leader */
    int64_t offset;
    int32_t e;
    ck_assert_int_eq(raft_driver_propose(g.nodes[(l + 1) % 3].drv, "x", 1, &offset, &e),
                     SL_E_STATE);
    /* DescribeQuorum figures: every voter caught up with the leader */
    raft_driver_status st;
    RUN_UNTIL((raft_driver_get_status(g.nodes[l].drv, &st),
               st.voters[0].log_end_offset == st.log_end_offset &&
                   st.voters[1].log_end_offset == st.log_end_offset &&
                   st.voters[2].log_end_offset == st.log_end_offset),
              5000);
    ck_assert_int_eq(raft_driver_get_status(g.nodes[l].drv, &st), SL_OK);
    ck_assert_int_eq(st.role, RAFT_ROLE_LEADER);
    ck_assert_int_eq(st.leader_id, g.nodes[l].id);
    ck_assert_int_eq(st.epoch, epoch);
    ck_assert_int_eq(st.voter_count, 3);
    ck_assert_int_eq(st.high_watermark, st.log_end_offset);
    for (int32_t v = 0; v < 3; v++) {
        ck_assert_int_eq(st.voters[v].id, v + 1);
        ck_assert_int_eq(st.voters[v].log_end_offset, st.log_end_offset);
        ck_assert_int_gt(st.voters[v].last_fetch_wall_ms, 1600000000000LL);
        ck_assert_int_gt(st.voters[v].last_caught_up_wall_ms, 1600000000000LL);
    }
    ck_assert_int_eq(st.observer_count, 0);
    /* a follower reports the leader, without replica figures */
    ck_assert_int_eq(raft_driver_get_status(g.nodes[(l + 1) % 3].drv, &st), SL_OK);
    ck_assert_int_eq(st.role, RAFT_ROLE_FOLLOWER);
    ck_assert_int_eq(st.leader_id, g.nodes[l].id);
    ck_assert_int_eq(st.voters[0].log_end_offset, -1);
}
END_TEST

START_TEST(test_leader_stop_and_restart_from_disk) {
    cluster_shape(3, 0);
    cluster_start();
    int32_t l = wait_leader(10000);
    int32_t old_epoch = g.nodes[l].app.epoch;
    propose_n(l, 0, 10);
    RUN_UNTIL(all_have(10), 10000);
    int64_t old_end = raft_node_log_end_offset(raft_driver_node(g.nodes[l].drv));
    node_stop(l);
    int32_t l2 = wait_leader(10000);
    ck_assert_int_ne(l2, l);
    ck_assert_int_gt(g.nodes[l2].app.epoch, old_epoch);
    propose_n(l2, 10, 10);
    RUN_UNTIL(all_have(20), 10000);
    /* what the old leader left on disk */
    raft_quorum_state st;
    int32_t voters[] = { 1, 2, 3 };
    ck_assert_int_eq(raft_store_quorum_read(g.nodes[l].dir, voters, 3, &st), SL_OK);
    ck_assert_int_eq(st.epoch, old_epoch);
    ck_assert_int_eq(st.leader_id, g.nodes[l].id);
    ck_assert_int_eq(st.voted_id, g.nodes[l].id);
    node_start(l);
    const raft_node *node = raft_driver_node(g.nodes[l].drv);
    ck_assert_int_eq(raft_node_epoch(node), old_epoch);
    ck_assert_int_eq(raft_node_role(node), RAFT_ROLE_RESIGNED); /* never resumes its epoch */
    ck_assert_int_eq(raft_node_log_end_offset(node), old_end);
    ck_assert_int_eq(raft_node_durable_end_offset(node), old_end);
    raft_entry e;
    ck_assert_int_eq(raft_node_entry(node, old_end - 1, &e), SL_OK);
    ck_assert_int_eq(e.epoch, old_epoch);
    RUN_UNTIL(all_have(20), 10000);
    assert_same_entries(20); /* the restarted node applied each entry once, in order */
    ck_assert_int_eq(g.nodes[l].app.leader_id, g.nodes[l2].id);
}
END_TEST

START_TEST(test_observer_follows_the_log) {
    cluster_shape(3, 1);
    cluster_start();
    int32_t l = wait_leader(10000);
    propose_n(l, 0, 30);
    RUN_UNTIL(all_have(30), 10000);
    assert_same_entries(30);
    node_h *obs = &g.nodes[3];
    ck_assert_int_eq(obs->app.leader_id, g.nodes[l].id);
    ck_assert(!obs->app.is_self);
    raft_driver_status st;
    RUN_UNTIL((raft_driver_get_status(g.nodes[l].drv, &st),
               st.observer_count == 1 && st.observers[0].log_end_offset == st.log_end_offset),
              5000);
    ck_assert_int_eq(st.observer_count, 1);
    ck_assert_int_eq(st.observers[0].id, OBSERVER_ID);
    ck_assert_int_eq(st.observers[0].log_end_offset, st.log_end_offset);
    /* an observer restarts from its own log and keeps following */
    node_stop(3);
    propose_n(l, 30, 5);
    node_start(3);
    RUN_UNTIL(all_have(35), 10000);
    assert_same_entries(35);
    ck_assert_int_eq(raft_driver_propose(obs->drv, "x", 1, &(int64_t){ 0 }, &(int32_t){ 0 }),
                     SL_E_STATE);
}
END_TEST

static int count_checkpoints(const char *dir) {
    int count = 0;
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    struct dirent *ent;
    while ((ent = readdir(dp)) != NULL) {
        raft_snapshot_id id;
        if (raft_store_snapshot_parse_name(ent->d_name, &id)) count++;
    }
    closedir(dp);
    return count;
}

START_TEST(test_snapshots_restore_and_transfer) {
    g.snapshot_interval = 300; /* bytes of payload between snapshots */
    cluster_shape(3, 1);
    cluster_start();
    node_stop(3); /* the observer joins later, after the log start moved */
    int32_t l = wait_leader(10000);
    for (int32_t round = 0; round < 4; round++) {
        propose_n(l, round * 20, 20);
        RUN_UNTIL(all_have((round + 1) * 20), 10000);
    }
    assert_same_entries(80);
    for (int32_t i = 0; i < 3; i++) {
        ck_assert_int_gt(g.nodes[i].app.snapshots_taken, 0);
        ck_assert_int_eq(count_checkpoints(g.nodes[i].dir), 1); /* older ones deleted */
        ck_assert_int_gt(raft_node_log_start_offset(raft_driver_node(g.nodes[i].drv)), 0);
    }
    /* a follower restarts: snapshot first, then the log after it */
    int32_t f = (l + 1) % 3;
    node_stop(f);
    node_start(f);
    ck_assert_int_eq(g.nodes[f].app.snapshot_loads, 1);
    ck_assert_int_gt(g.nodes[f].app.count, 0);
    /* a new observer gets the leader's snapshot over FetchSnapshot */
    node_start(3);
    ck_assert_int_eq(g.nodes[3].app.snapshot_loads, 0);
    propose_n(l, 80, 5);
    RUN_UNTIL(all_have(85), 10000);
    assert_same_entries(85);
    ck_assert_int_eq(g.nodes[3].app.snapshot_loads, 1);
    ck_assert_int_eq(count_checkpoints(g.nodes[3].dir), 1);
}
END_TEST

/* ---- application frames on the Raft listener */

typedef struct rpc_app {
    int ups, downs, frames;
    uint16_t last_type;
    raft_net_conn *conn;
} rpc_app;

static void rpc_frame(raft_net_conn *conn,
                      uint32_t corr,
                      uint16_t type,
                      const uint8_t *payload,
                      size_t len,
                      void *arg) {
    rpc_app *r = arg;
    r->frames++;
    r->last_type = type;
    ck_assert_ptr_eq(conn, r->conn);
    raft_net_send(conn, corr, (uint16_t)(type | 0x8000), payload, len);
}

static void rpc_state(raft_net_conn *conn, bool up, void *arg) {
    rpc_app *r = arg;
    if (up) {
        r->ups++;
        r->conn = conn;
        raft_net_conn_set_data(conn, r); /* the application's slot stays the application's */
    } else {
        ck_assert_ptr_eq(raft_net_conn_data(conn), r);
        r->downs++;
    }
}

typedef struct client {
    int frames;
    uint16_t last_type;
    char last[32];
} client;

static void client_frame(raft_net_conn *conn,
                         uint32_t corr,
                         uint16_t type,
                         const uint8_t *payload,
                         size_t len,
                         void *arg) {
    (void)conn;
    (void)corr;
    client *c = arg;
    c->frames++;
    c->last_type = type;
    size_t n = len < sizeof(c->last) - 1 ? len : sizeof(c->last) - 1;
    memcpy(c->last, payload, n);
    c->last[n] = '\0';
}

START_TEST(test_app_frames_share_the_listener) {
    cluster_shape(1, 0);
    cluster_start();
    int32_t l = wait_leader(10000); /* a single voter elects itself */
    propose_n(l, 0, 3);
    RUN_UNTIL(all_have(3), 5000);
    assert_same_entries(3);
    rpc_app r = { 0 };
    raft_net_handlers ah = { rpc_frame, rpc_state };
    raft_driver_set_app_handler(g.nodes[0].drv, &ah, &r);
    raft_net *cnet = raft_net_new(g.base, 1 << 20, 1 << 20);
    client c = { 0 };
    raft_net_handlers ch = { client_frame, NULL };
    raft_net_conn *conn = raft_net_connect(cnet, "127.0.0.1", g.ports[0], &ch, &c);
    RUN_UNTIL(raft_net_conn_up(conn), 5000);
    /* a Raft frame without a Hello is dropped, and never reaches the application */
    ck_assert_int_eq(raft_net_send(conn, 1, RAFT_MSG_FETCH_REQUEST, (const uint8_t *)"zz", 2),
                     SL_OK);
    ck_assert_int_eq(raft_net_send(conn, 9, 0x41, (const uint8_t *)"ping", 4), SL_OK);
    RUN_UNTIL(c.frames == 1, 5000);
    ck_assert_int_eq(r.ups, 1);
    ck_assert_int_eq(r.frames, 1);
    ck_assert_int_eq(r.last_type, 0x41);
    ck_assert_int_eq(c.last_type, 0x8041);
    ck_assert_str_eq(c.last, "ping");
    raft_net_conn_close(conn);
    RUN_UNTIL(r.downs == 1, 5000);
    ck_assert_int_eq(r.downs, 1);
    /* connections still open when the driver stops get on_state(down) too */
    conn = raft_net_connect(cnet, "127.0.0.1", g.ports[0], &ch, &c);
    RUN_UNTIL(raft_net_conn_up(conn), 5000);
    ck_assert_int_eq(raft_net_send(conn, 10, 0x42, (const uint8_t *)"x", 1), SL_OK);
    RUN_UNTIL(r.ups == 2 && c.frames == 2, 5000);
    node_stop(0);
    ck_assert_int_eq(r.downs, 2);
    raft_net_free(cnet);
}
END_TEST

/* ---- failover */

static bool new_leader_committed(int32_t old, int32_t old_epoch) {
    int32_t l = leader_index();
    return l >= 0 && l != old && g.nodes[l].app.max_commit_epoch > old_epoch;
}

static bool observer_follows(int32_t leader) {
    const node_h *obs = &g.nodes[3];
    return obs->app.leader_id == g.nodes[leader].id && obs->app.epoch == g.nodes[leader].app.epoch;
}

START_TEST(test_lost_connection_fails_over_fast) {
    g.election_ms = 500;
    g.fetch_ms = 20000; /* waiting for the fetch timeout would take 20 s */
    cluster_shape(3, 1);
    cluster_start();
    int32_t l = wait_leader(20000);
    propose_n(l, 0, 5);
    RUN_UNTIL(all_have(5), 10000);
    int32_t old_epoch = g.nodes[l].app.epoch;
    int64_t t0 = sl_now_ms();
    node_stop(l);
    RUN_UNTIL(new_leader_committed(l, old_epoch), 10000);
    int64_t took = sl_now_ms() - t0;
    ck_assert(new_leader_committed(l, old_epoch));
    ck_assert_int_lt(took, 5000);
    int32_t l2 = leader_index();
    /* the observer drops the dead leader at once and finds the new one by asking the
     * voters it can still reach */
    RUN_UNTIL(observer_follows(l2), 10000);
    ck_assert(observer_follows(l2));
    ck_assert_int_lt(sl_now_ms() - t0, 5000);
    propose_n(l2, 5, 5);
    RUN_UNTIL(all_have(10), 10000);
    assert_same_entries(10);
}
END_TEST

START_TEST(test_connection_blips_keep_the_leader) {
    g.election_ms = 300;
    g.fetch_ms = 1500;
    cluster_shape(3, 0);
    cluster_start();
    int32_t l = wait_leader(10000);
    propose_n(l, 0, 3);
    RUN_UNTIL(all_have(3), 10000);
    int32_t epoch = g.nodes[l].app.epoch;
    int32_t sent = 3;
    for (int32_t blip = 0; blip < 6; blip++) {
        int32_t f = (l + 1 + blip % 2) % 3;
        raft_driver *d = g.nodes[f].drv;
        ck_assert_ptr_nonnull(d->voters[l].conn);
        raft_net_conn_reset(d->voters[l].conn); /* the follower's connection to the leader */
        for (int32_t k = 0; k < 10; k++) {
            run_for(100);
            propose_n(l, sent++, 1);
        }
        for (int32_t i = 0; i < 3; i++) {
            ck_assert_int_eq(raft_node_epoch(raft_driver_node(g.nodes[i].drv)), epoch);
        }
    }
    RUN_UNTIL(all_have(sent), 10000);
    assert_same_entries(sent);
    ck_assert_int_eq(leader_index(), l);
}
END_TEST

/* ---- failure and refusals */

START_TEST(test_failed_state_write_fails_stop) {
    cluster_shape(3, 0);
    cluster_start();
    int32_t l = wait_leader(10000);
    propose_n(l, 0, 3);
    RUN_UNTIL(all_have(3), 10000);
    int32_t f = (l + 1) % 3, other = (l + 2) % 3;
    char moved[400];
    snprintf(moved, sizeof(moved), "%s.moved", g.nodes[f].dir);
    ck_assert_int_eq(rename(g.nodes[f].dir, moved), 0); /* its next quorum-state write fails */
    node_stop(l);                                       /* forces a new epoch */
    RUN_UNTIL(g.nodes[f].app.fatal != 0, 10000);
    ck_assert_int_lt(g.nodes[f].app.fatal, 0);
    ck_assert_int_eq(raft_driver_failed(g.nodes[f].drv), g.nodes[f].app.fatal);
    int64_t offset;
    int32_t epoch;
    ck_assert_int_eq(raft_driver_propose(g.nodes[f].drv, "x", 1, &offset, &epoch), SL_E_FATAL);
    ck_assert_int_eq(raft_driver_resign(g.nodes[f].drv), SL_E_FATAL);
    raft_driver_status st;
    ck_assert_int_eq(raft_driver_get_status(g.nodes[f].drv, &st), SL_E_FATAL);
    ck_assert_int_eq(g.nodes[other].app.fatal, 0);
    node_stop(f);
    ck_assert_int_eq(rename(moved, g.nodes[f].dir), 0);
}
END_TEST

START_TEST(test_bad_start_refused) {
    cluster_shape(3, 0);
    /* a torn quorum-state file */
    char parent[320];
    snprintf(parent, sizeof(parent), "%s/node-1", g.root);
    ck_assert_int_eq(mkdir(parent, 0700), 0);
    ck_assert_int_eq(mkdir(g.nodes[0].dir, 0700), 0);
    ck_assert_int_eq(raft_store_write_atomic(g.nodes[0].dir, RAFT_QUORUM_STATE_FILE,
                                             "{\"leaderId\":1,\"lea", 18),
                     SL_OK);
    ck_assert_int_eq(node_start_rc(0), SL_E_CORRUPT);
    /* a state naming other voters */
    raft_quorum_state st = { 3, RAFT_NODE_NONE, RAFT_NODE_NONE };
    int32_t others[] = { 1, 2, 4 };
    ck_assert_int_eq(raft_store_quorum_write(g.nodes[0].dir, &st, others, 3), SL_OK);
    ck_assert_int_eq(node_start_rc(0), SL_E_CONFIG);
    /* fixed: it starts */
    int32_t ours[] = { 1, 2, 3 };
    ck_assert_int_eq(raft_store_quorum_write(g.nodes[0].dir, &st, ours, 3), SL_OK);
    node_start(0);
    ck_assert_int_eq(raft_node_epoch(raft_driver_node(g.nodes[0].drv)), 3);
    node_stop(0);
    /* configurations that cannot work */
    raft_net *net = raft_net_new(g.base, 1 << 20, 1 << 20);
    raft_driver_config dc;
    raft_driver_callbacks cb = { app_on_commit, app_on_leader, app_on_snapshot_load,
                                 app_snapshot_take };
    raft_driver *d = NULL;
    node_config(1, &dc);
    dc.net = net;
    dc.voters[2].port = 0; /* a voter without an address */
    ck_assert_int_eq(raft_driver_start(&dc, &cb, &g.nodes[1].app, &d), SL_E_CONFIG);
    node_config(1, &dc);
    dc.net = NULL;
    ck_assert_int_eq(raft_driver_start(&dc, &cb, &g.nodes[1].app, &d), SL_E_CONFIG);
    node_config(1, &dc);
    dc.net = net;
    dc.voter_count = 2;
    ck_assert_int_eq(raft_driver_start(&dc, &cb, &g.nodes[1].app, &d), SL_E_CONFIG);
    node_config(1, &dc);
    dc.net = net;
    dc.listen_port = -1; /* a voter must listen */
    ck_assert_int_eq(raft_driver_start(&dc, &cb, &g.nodes[1].app, &d), SL_E_CONFIG);
    ck_assert_ptr_null(d);
    raft_net_free(net);
}
END_TEST

/* Write entries 0..count-1 of epoch `epoch` into node i's log directory, then move the log
 * start to start (0: leave it). */
static void seed_log(int32_t i, int32_t count, int32_t epoch, int64_t start) {
    storage_log_config cfg;
    memset(&cfg, 0, sizeof(cfg)); /* fields the defaults leave alone stay 0 */
    storage_log_config_defaults(&cfg);
    cfg.segment_bytes = 1024;
    cfg.file_delete_delay_ms = 0;
    storage_log *log = NULL;
    ck_assert_int_eq(storage_log_open(g.nodes[i].dir, &cfg, sl_wall_ms(), &log), SL_OK);
    sl_buf buf;
    sl_buf_init(&buf);
    char text[PAYLOAD_MAX];
    for (int32_t k = 0; k < count; k++) {
        snprintf(text, sizeof(text), "entry-%d", k);
        raft_entry e = { .offset = k,
                         .epoch = epoch,
                         .size = (uint32_t)strlen(text),
                         .data = (const uint8_t *)text };
        sl_buf_reset(&buf);
        ck_assert_int_eq(raft_store_entry_encode(&e, sl_wall_ms(), &buf), SL_OK);
        ck_assert_int_eq(storage_log_append_replica(log, buf.data, buf.len, sl_wall_ms(), NULL),
                         SL_OK);
    }
    if (start > 0) {
        ck_assert_int_eq(storage_log_advance_start_offset(log, start), SL_OK);
        ck_assert_int_eq(storage_log_retain(log, sl_wall_ms(), start, NULL), SL_OK);
    }
    sl_buf_deinit(&buf);
    storage_log_close(log);
}

/* An application snapshot (app_snapshot_take's format) with no data entries. */
static void seed_snapshot(int32_t i, raft_snapshot_id id) {
    uint8_t data[12];
    sl_store_be64(data, (uint64_t)id.end_offset);
    sl_store_be32(data + 8, 0);
    ck_assert_int_eq(raft_store_snapshot_write(g.nodes[i].dir, id, data, sizeof(data)), SL_OK);
}

static void seed_state(int32_t i, int32_t epoch) {
    raft_quorum_state st = { epoch, RAFT_NODE_NONE, RAFT_NODE_NONE };
    int32_t voters[] = { 1, 2, 3 };
    ck_assert_int_eq(raft_store_quorum_write(g.nodes[i].dir, &st, voters, 3), SL_OK);
}

START_TEST(test_restore_reconciles_log_and_snapshot) {
    cluster_shape(3, 0);
    /* the log holds the snapshot's last entry: entries after it are kept */
    seed_log(0, 30, 1, 0);
    seed_snapshot(0, (raft_snapshot_id){ 20, 1 });
    seed_state(0, 1);
    node_start(0);
    const raft_node *node = raft_driver_node(g.nodes[0].drv);
    ck_assert_int_eq(g.nodes[0].app.snapshot_loads, 1);
    ck_assert_int_eq(raft_node_log_start_offset(node), 20);
    ck_assert_int_eq(raft_node_log_end_offset(node), 30);
    raft_entry e;
    ck_assert_int_eq(raft_node_entry(node, 25, &e), SL_OK);
    ck_assert_uint_eq(e.size, strlen("entry-25"));
    ck_assert_mem_eq(e.data, "entry-25", e.size);
    node_stop(0);
    /* a log that disagrees with the snapshot's epoch restarts empty after it (raft.h) */
    nftw(g.nodes[0].dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    seed_log(0, 30, 1, 0);
    seed_snapshot(0, (raft_snapshot_id){ 20, 2 });
    seed_state(0, 2);
    node_start(0);
    node = raft_driver_node(g.nodes[0].drv);
    ck_assert_int_eq(raft_node_log_start_offset(node), 20);
    ck_assert_int_eq(raft_node_log_end_offset(node), 20);
    ck_assert_int_eq(raft_node_snapshot_id(node).epoch, 2);
    node_stop(0);
    /* a log starting beyond the newest readable snapshot lost entries: refused */
    nftw(g.nodes[0].dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    seed_log(0, 30, 1, 25);
    seed_snapshot(0, (raft_snapshot_id){ 10, 1 });
    seed_state(0, 1);
    ck_assert_int_eq(node_start_rc(0), SL_E_CORRUPT);
    /* and a log that starts above 0 with no snapshot at all */
    nftw(g.nodes[0].dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    seed_log(0, 30, 1, 25);
    seed_state(0, 1);
    ck_assert_int_eq(node_start_rc(0), SL_E_CORRUPT);
}
END_TEST

Suite *raft_driver_suite(void) {
    Suite *s = suite_create("raft_driver");
    TCase *tc = tcase_create("cluster");
    tcase_set_timeout(tc, 90);
    tcase_add_checked_fixture(tc, cluster_setup, cluster_teardown);
    tcase_add_test(tc, test_elect_commit_replicate);
    tcase_add_test(tc, test_leader_stop_and_restart_from_disk);
    tcase_add_test(tc, test_observer_follows_the_log);
    tcase_add_test(tc, test_snapshots_restore_and_transfer);
    tcase_add_test(tc, test_app_frames_share_the_listener);
    tcase_add_test(tc, test_lost_connection_fails_over_fast);
    tcase_add_test(tc, test_connection_blips_keep_the_leader);
    tcase_add_test(tc, test_failed_state_write_fails_stop);
    tcase_add_test(tc, test_bad_start_refused);
    tcase_add_test(tc, test_restore_reconciles_log_and_snapshot);
    suite_add_tcase(s, tc);
    return s;
}
