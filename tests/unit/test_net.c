/* Unit tests for raft_net (raft.h, transport): frames both ways, reconnect, limits,
 * the owner-data release hook, closing a listener. */
#include "common/sl_err.h"
#include "common/sl_listener.h"
#include "common/sl_time.h"
#include "raft/raft.h"

#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>
#include <string.h>

Suite *net_suite(void);

typedef struct peer_state {
    int frames;
    uint32_t last_corr;
    uint16_t last_type;
    char last_payload[64];
    int ups, downs;
    raft_net_conn *last_conn;
    bool echo;
} peer_state;

static void on_frame(raft_net_conn *conn,
                     uint32_t corr,
                     uint16_t type,
                     const uint8_t *payload,
                     size_t len,
                     void *arg) {
    peer_state *st = arg;
    st->frames++;
    st->last_corr = corr;
    st->last_type = type;
    size_t n = len < sizeof(st->last_payload) - 1 ? len : sizeof(st->last_payload) - 1;
    memcpy(st->last_payload, payload, n);
    st->last_payload[n] = '\0';
    if (st->echo) raft_net_send(conn, corr, (uint16_t)(type | 0x8000), payload, len);
}

static void on_state(raft_net_conn *conn, bool up, void *arg) {
    peer_state *st = arg;
    if (up) {
        st->ups++;
    } else {
        st->downs++;
    }
    st->last_conn = conn;
}

/* Run the loop until cond holds or the deadline passes. */
#define RUN_UNTIL(base, cond, ms)                                                                  \
    do {                                                                                           \
        int64_t deadline_ = sl_now_ms() + (ms);                                                    \
        while (!(cond) && sl_now_ms() < deadline_)                                                 \
            event_base_loop((base), EVLOOP_ONCE | EVLOOP_NONBLOCK);                                \
    } while (0)

START_TEST(test_frames_round_trip_and_reconnect) {
    struct event_base *base = event_base_new();
    raft_net *server = raft_net_new(base, 1 << 20, 1 << 20);
    raft_net *client = raft_net_new(base, 1 << 20, 1 << 20);
    peer_state srv = { .echo = true }, cli = { 0 };
    raft_net_handlers h = { on_frame, on_state };
    int port = 0;
    ck_assert_int_eq(raft_net_listen(server, "127.0.0.1", 0, &h, &srv, &port), SL_OK);
    ck_assert_int_gt(port, 0);
    raft_net_conn *conn = raft_net_connect(client, "127.0.0.1", port, &h, &cli);
    RUN_UNTIL(base, raft_net_conn_up(conn), 2000);
    ck_assert(raft_net_conn_up(conn));
    ck_assert_int_eq(raft_net_send(conn, 7, 0x41, (const uint8_t *)"hello", 5), SL_OK);
    RUN_UNTIL(base, cli.frames == 1, 2000);
    ck_assert_int_eq(srv.frames, 1);
    ck_assert_str_eq(srv.last_payload, "hello");
    ck_assert_uint_eq(cli.last_corr, 7);
    ck_assert_uint_eq(cli.last_type, 0x8041);
    /* the server drops the connection: the client reconnects by itself */
    ck_assert_int_eq(srv.ups, 1);
    raft_net_conn_close(srv.last_conn);
    RUN_UNTIL(base, cli.downs == 1 && cli.ups == 2, 3000);
    ck_assert_int_eq(cli.downs, 1);
    ck_assert_int_eq(cli.ups, 2);
    RUN_UNTIL(base, raft_net_conn_up(conn), 2000);
    ck_assert_int_eq(raft_net_send(conn, 8, 0x42, (const uint8_t *)"again", 5), SL_OK);
    RUN_UNTIL(base, cli.frames == 2, 2000);
    ck_assert_str_eq(cli.last_payload, "again");
    raft_net_conn_close(conn);
    raft_net_free(client);
    raft_net_free(server);
    event_base_free(base);
}
END_TEST

START_TEST(test_oversized_frame_closes_connection) {
    struct event_base *base = event_base_new();
    raft_net *server = raft_net_new(base, 64, 1 << 20);
    raft_net *client = raft_net_new(base, 1 << 20, 1 << 20);
    peer_state srv = { 0 }, cli = { 0 };
    raft_net_handlers h = { on_frame, on_state };
    int port = 0;
    ck_assert_int_eq(raft_net_listen(server, "127.0.0.1", 0, &h, &srv, &port), SL_OK);
    raft_net_conn *conn = raft_net_connect(client, "127.0.0.1", port, &h, &cli);
    RUN_UNTIL(base, raft_net_conn_up(conn) && srv.ups == 1, 2000);
    uint8_t big[200] = { 0 };
    ck_assert_int_eq(raft_net_send(conn, 1, 0x41, big, sizeof(big)), SL_OK);
    RUN_UNTIL(base, srv.downs == 1, 2000);
    ck_assert_int_eq(srv.downs, 1);
    ck_assert_int_eq(srv.frames, 0);
    /* a send larger than the sender's own limit is refused locally */
    raft_net *tiny = raft_net_new(base, 32, 64);
    peer_state t = { 0 };
    raft_net_conn *c2 = raft_net_connect(tiny, "127.0.0.1", port, &h, &t);
    RUN_UNTIL(base, raft_net_conn_up(c2), 2000);
    ck_assert_int_eq(raft_net_send(c2, 1, 1, big, 40), SL_E_TOO_LARGE);
    raft_net_free(tiny);
    raft_net_free(client);
    raft_net_free(server);
    event_base_free(base);
}
END_TEST

START_TEST(test_connect_to_closed_port_retries_quietly) {
    struct event_base *base = event_base_new();
    raft_net *client = raft_net_new(base, 1 << 20, 1 << 20);
    peer_state cli = { 0 };
    raft_net_handlers h = { on_frame, on_state };
    raft_net_conn *conn = raft_net_connect(client, "127.0.0.1", 1, &h, &cli);
    int64_t until = sl_now_ms() + 300;
    while (sl_now_ms() < until)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    ck_assert(!raft_net_conn_up(conn));
    ck_assert_int_eq(cli.ups, 0);
    ck_assert_int_eq(raft_net_send(conn, 1, 1, (const uint8_t *)"x", 1), SL_E_CLOSED);
    raft_net_free(client);
    event_base_free(base);
}
END_TEST

static int g_released;

static void count_release(void *data) {
    (void)data;
    g_released++;
}

/* The release hook runs when the connection is freed, whoever ends it. */
START_TEST(test_owner_data_released_with_connection) {
    struct event_base *base = event_base_new();
    raft_net *server = raft_net_new(base, 1 << 20, 1 << 20);
    raft_net *client = raft_net_new(base, 1 << 20, 1 << 20);
    peer_state srv = { 0 }, cli = { 0 };
    raft_net_handlers h = { on_frame, on_state };
    int port = 0;
    ck_assert_int_eq(raft_net_listen(server, "127.0.0.1", 0, &h, &srv, &port), SL_OK);
    g_released = 0;
    raft_net_conn *conn = raft_net_connect(client, "127.0.0.1", port, &h, &cli);
    raft_net_conn_set_owner_data(conn, &cli, count_release);
    ck_assert_ptr_eq(raft_net_conn_owner_data(conn), &cli);
    RUN_UNTIL(base, raft_net_conn_up(conn) && srv.ups == 1, 2000);
    ck_assert_int_eq(srv.ups, 1);
    /* the server side's record goes when the client closes */
    raft_net_conn_set_owner_data(srv.last_conn, &srv, count_release);
    raft_net_conn_close(conn);
    ck_assert_int_eq(g_released, 1);
    RUN_UNTIL(base, srv.downs == 1 && g_released == 2, 2000);
    ck_assert_int_eq(srv.downs, 1);
    ck_assert_int_eq(g_released, 2);
    raft_net_free(client);
    raft_net_free(server);
    event_base_free(base);
}
END_TEST

/* A closed listener accepts nothing more; connections it accepted stay up. */
START_TEST(test_listen_close_keeps_accepted_connections) {
    struct event_base *base = event_base_new();
    raft_net *server = raft_net_new(base, 1 << 20, 1 << 20);
    raft_net *client = raft_net_new(base, 1 << 20, 1 << 20);
    peer_state srv = { .echo = true }, cli = { 0 }, late = { 0 };
    raft_net_handlers h = { on_frame, on_state };
    int port = 0;
    ck_assert_int_eq(raft_net_listen(server, "127.0.0.1", 0, &h, &srv, &port), SL_OK);
    raft_net_conn *conn = raft_net_connect(client, "127.0.0.1", port, &h, &cli);
    RUN_UNTIL(base, raft_net_conn_up(conn) && srv.ups == 1, 2000);
    raft_net_listen_close(server, port);
    raft_net_listen_close(server, port); /* unknown now: ignored */
    ck_assert_int_eq(raft_net_send(conn, 3, 0x41, (const uint8_t *)"still", 5), SL_OK);
    RUN_UNTIL(base, cli.frames == 1, 2000);
    ck_assert_str_eq(cli.last_payload, "still");
    raft_net_conn *c2 = raft_net_connect(client, "127.0.0.1", port, &h, &late);
    int64_t until = sl_now_ms() + 300;
    while (sl_now_ms() < until)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    ck_assert(!raft_net_conn_up(c2));
    ck_assert_int_eq(srv.ups, 1);
    raft_net_free(client);
    raft_net_free(server);
    event_base_free(base);
}
END_TEST

typedef struct accept_count {
    int accepted;
} accept_count;

static void count_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                         int socklen, void *arg) {
    (void)lev;
    (void)sa;
    (void)socklen;
    ((accept_count *)arg)->accepted++;
    close(fd);
}

/* Out of descriptors, a pending connection makes accept() fail: the listener pauses
 * (a handful of failures, not a spinning loop) and accepts again once descriptors free. */
START_TEST(test_listener_pauses_when_out_of_descriptors) {
    struct event_base *base = event_base_new();
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    accept_count counts = { 0 };
    sl_listener *l = sl_listener_bind(base, count_accept, &counts, LEV_OPT_CLOSE_ON_FREE, 16,
                                      (struct sockaddr *)&sin, sizeof(sin), "test");
    ck_assert_ptr_nonnull(l);
    struct sockaddr_in bound;
    socklen_t len = sizeof(bound);
    ck_assert_int_eq(getsockname(evconnlistener_get_fd(sl_listener_lev(l)),
                                 (struct sockaddr *)&bound, &len), 0);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(client, 0);
    /* use up every descriptor below a small limit */
    struct rlimit saved, low;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
    int fillers[256];
    int filler_count = 0;
    low = saved;
    low.rlim_cur = (rlim_t)client + 64;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    for (int fd; filler_count < 256 && (fd = open("/dev/null", O_RDONLY)) >= 0;) {
        fillers[filler_count++] = fd;
    }
    ck_assert_int_eq(errno, EMFILE);
    ck_assert_int_eq(connect(client, (struct sockaddr *)&bound, len), 0);
    int64_t until = sl_now_ms() + 350;
    while (sl_now_ms() < until) event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    long long errors = sl_listener_errors(l);
    ck_assert_int_ge(errors, 1);
    ck_assert_int_le(errors, 350 / SL_LISTENER_PAUSE_MS + 2);
    ck_assert_int_eq(counts.accepted, 0);
    for (int i = 0; i < filler_count; i++) close(fillers[i]);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
    RUN_UNTIL(base, counts.accepted == 1, 2000);
    ck_assert_int_eq(counts.accepted, 1);
    close(client);
    sl_listener_free(l);
    event_base_free(base);
}
END_TEST

Suite *net_suite(void) {
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("frames");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_frames_round_trip_and_reconnect);
    tcase_add_test(tc, test_oversized_frame_closes_connection);
    tcase_add_test(tc, test_connect_to_closed_port_retries_quietly);
    tcase_add_test(tc, test_owner_data_released_with_connection);
    tcase_add_test(tc, test_listen_close_keeps_accepted_connections);
    tcase_add_test(tc, test_listener_pauses_when_out_of_descriptors);
    suite_add_tcase(s, tc);
    return s;
}
