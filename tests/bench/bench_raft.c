/* bench_raft.c — Raft driver figures (docs/raft.md):
 *   latency   three voters, one process each, logs fsync'd in --dir: the leader proposes
 *             one 100-byte entry at a time and times propose -> on_commit on itself
 *             (p50 / p99 / max), then keeps 64 proposals in flight for entries/s.
 *   failover  three voters; the leader is killed with SIGKILL (one process per voter),
 *             or stopped with raft_driver_stop (--inproc: one process, one event loop);
 *             the time from the kill to a new leader committing (its LeaderChange entry
 *             reaches its on_commit), --runs times for each election/fetch timeout pair.
 *             --no-fast ignores lost connections (failover waits for the fetch timeout).
 *
 *   bench_raft latency  [--dir DIR (default /tmp)] [--count N (default 2000)]
 *   bench_raft failover [--dir DIR] [--runs N (default 20)] [--inproc] [--no-fast]
 *                       [--timings 1000/2000,500/1000,300/600]
 * Prints figures only; never a pass/fail test. */
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_rand.h"
#include "common/sl_time.h"
#include "raft/raft.h"

#include <errno.h>
#include <stdarg.h>
#include <event2/event.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define VOTERS        3
#define PAYLOAD_BYTES 100
#define PIPELINE      64
#define PIPELINED_N   20000
#define TIMINGS_MAX   8

typedef struct bench_opts {
    const char *dir;
    int64_t count;
    int32_t runs;
    bool inproc;
    bool no_fast;
    int32_t election_ms[TIMINGS_MAX], fetch_ms[TIMINGS_MAX];
    int32_t timing_count;
} bench_opts;

static bench_opts opt_g = { .dir = "/tmp", .count = 2000, .runs = 20 };

/* One voter: its driver, and what it reports. */
typedef struct bnode {
    int32_t id;
    char dir[600];
    struct event_base *base;
    raft_net *net;
    raft_driver *drv;
    int report_fd;           /* pipe to the parent (process mode), -1 in-process */
    bool latency;            /* run the latency workload once leader */
    int32_t leader_epoch;    /* epoch this node leads, 0 when not leader */
    int32_t committed_epoch; /* newest epoch whose entry reached on_commit */
    int64_t commit_us;       /* when the leader's epoch first committed (in-process) */
    /* latency workload */
    int64_t next_offset, sent_at_us, done, phase_start_us, in_flight;
    int64_t *lat_us;
    struct event *start_ev;
} bnode;

static int32_t ports_g[VOTERS];
static char root_g[512];

static void report(bnode *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(bnode *n, const char *fmt, ...) {
    if (n->report_fd < 0) return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (len > 0 && write(n->report_fd, line, (size_t)len) < 0) _exit(3);
}

/* ------------------------------------------------------------------ the application */

static void propose_one(bnode *n) {
    uint8_t payload[PAYLOAD_BYTES];
    memset(payload, 'p', sizeof(payload));
    int64_t offset;
    int32_t epoch;
    if (raft_driver_propose(n->drv, payload, sizeof(payload), &offset, &epoch) != SL_OK) return;
    n->in_flight++;
    n->next_offset = offset;
    n->sent_at_us = sl_now_us();
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void latency_finish(bnode *n) {
    int64_t seq = opt_g.count;
    qsort(n->lat_us, (size_t)seq, sizeof(int64_t), cmp_i64);
    double secs = (double)(sl_now_us() - n->phase_start_us) / 1e6;
    report(n,
           "R sequential=%lld p50_us=%lld p99_us=%lld max_us=%lld pipelined=%d "
           "entries_per_s=%.0f\n",
           (long long)seq, (long long)n->lat_us[(seq - 1) / 2],
           (long long)n->lat_us[(seq * 99 + 99) / 100 - 1], (long long)n->lat_us[seq - 1],
           PIPELINED_N, PIPELINED_N / secs);
    _exit(0);
}

static void latency_on_commit(bnode *n, const raft_entry *e) {
    if (e->kind != RAFT_ENTRY_DATA || n->in_flight == 0) return;
    n->in_flight--;
    n->done++;
    if (n->done <= opt_g.count) {
        if (e->offset == n->next_offset) n->lat_us[n->done - 1] = sl_now_us() - n->sent_at_us;
        if (n->done == opt_g.count) n->phase_start_us = sl_now_us();
        if (n->done < opt_g.count) {
            propose_one(n);
            return;
        }
    }
    if (n->done == opt_g.count + PIPELINED_N) {
        latency_finish(n);
        return;
    }
    while (n->in_flight < PIPELINE && n->done + n->in_flight < opt_g.count + PIPELINED_N) {
        propose_one(n);
    }
}

static void on_commit(void *arg, const raft_entry *e) {
    bnode *n = arg;
    if (e->epoch > n->committed_epoch) {
        n->committed_epoch = e->epoch;
        if (n->leader_epoch == e->epoch) {
            n->commit_us = sl_now_us();
            report(n, "C %d %d %lld\n", n->id, e->epoch, (long long)n->commit_us);
        } else {
            report(n, "A %d %d\n", n->id, e->epoch);
        }
    }
    if (n->latency && n->leader_epoch > 0) latency_on_commit(n, e);
}

static void latency_start_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    propose_one(arg);
}

static void on_leader(void *arg, int32_t leader_id, int32_t epoch, bool is_self) {
    bnode *n = arg;
    (void)leader_id;
    n->leader_epoch = is_self ? epoch : 0;
    if (is_self && n->latency && !n->start_ev) {
        /* let the followers settle into fetching first */
        n->start_ev = evtimer_new(n->base, latency_start_cb, n);
        struct timeval tv = { 0, 500000 };
        evtimer_add(n->start_ev, &tv);
    }
}

static int on_snapshot_load(void *arg, raft_snapshot_id id, const uint8_t *data, size_t size) {
    (void)arg;
    (void)id;
    (void)data;
    (void)size;
    return SL_OK;
}

static int snapshot_take(void *arg, sl_buf *out) {
    (void)arg;
    sl_buf_put_i64(out, 0);
    return SL_OK;
}

/* ------------------------------------------------------------------ nodes */

static void pick_ports(void) {
    int fds[VOTERS];
    for (int i = 0; i < VOTERS; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
        socklen_t len = sizeof(sa);
        if (bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&sa, &len) != 0) {
            perror("bench_raft: port");
            exit(2);
        }
        ports_g[i] = ntohs(sa.sin_port);
    }
    for (int i = 0; i < VOTERS; i++)
        close(fds[i]);
}

static void node_start(bnode *n, struct event_base *base, int32_t election_ms, int32_t fetch_ms) {
    n->base = base;
    n->net = raft_net_new(base, 64 << 20, 256 << 20);
    n->leader_epoch = 0;
    n->committed_epoch = 0;
    raft_driver_config dc;
    memset(&dc, 0, sizeof(dc));
    raft_config_init(&dc.core, n->id);
    dc.core.voter_count = dc.voter_count = VOTERS;
    for (int v = 0; v < VOTERS; v++) {
        dc.core.voters[v] = dc.voters[v].id = v + 1;
        snprintf(dc.voters[v].host, sizeof(dc.voters[v].host), "127.0.0.1");
        dc.voters[v].port = ports_g[v];
    }
    dc.core.election_timeout_ms = election_ms;
    dc.core.fetch_timeout_ms = fetch_ms;
    dc.core.fetch_max_wait_ms = fetch_ms / 4;
    dc.core.request_timeout_ms = fetch_ms;
    dc.core.rand_seed = sl_rand_os_seed();
    dc.listen_host = "127.0.0.1";
    dc.listen_port = ports_g[n->id - 1];
    dc.log_dir = n->dir;
    dc.ignore_disconnects = opt_g.no_fast;
    dc.base = base;
    dc.net = n->net;
    raft_driver_callbacks cb = { on_commit, on_leader, on_snapshot_load, snapshot_take };
    int rc = raft_driver_start(&dc, &cb, n, &n->drv);
    if (rc != SL_OK) {
        fprintf(stderr, "bench_raft: node %d: %s\n", n->id, sl_strerror(rc));
        exit(2);
    }
}

static void node_stop(bnode *n) {
    raft_driver_stop(n->drv);
    raft_net_free(n->net);
    n->drv = NULL;
    n->net = NULL;
}

/* A voter in its own process: runs until killed (or the latency workload ends). */
static pid_t node_fork(bnode *n, int report_fd, int32_t election_ms, int32_t fetch_ms) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    n->report_fd = report_fd;
    struct event_base *base = event_base_new();
    node_start(n, base, election_ms, fetch_ms);
    event_base_dispatch(base);
    _exit(0);
}

static void nodes_init(bnode *nodes, const char *tag) {
    snprintf(root_g, sizeof(root_g), "%s/bench-raft-%s-XXXXXX", opt_g.dir, tag);
    if (!mkdtemp(root_g)) {
        perror("bench_raft: mkdtemp");
        exit(2);
    }
    memset(nodes, 0, VOTERS * sizeof(*nodes));
    for (int i = 0; i < VOTERS; i++) {
        nodes[i].id = i + 1;
        nodes[i].report_fd = -1;
        snprintf(nodes[i].dir, sizeof(nodes[i].dir), "%s/node-%d", root_g, i + 1);
    }
    pick_ports();
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void nodes_cleanup(void) {
    nftw(root_g, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------------ reports (processes) */

/* What the parent knows from the children's lines. */
typedef struct fo_state {
    int32_t applied[VOTERS + 1]; /* newest epoch each voter applied an entry of */
    int32_t c_id, c_epoch;       /* the latest leader to commit its epoch */
    int64_t c_us;
    char result[256]; /* an 'R' line */
} fo_state;

/* Read what is there (waiting up to timeout_ms) and fold it into st. False on timeout. */
static bool pump(int fd, fo_state *st, int timeout_ms) {
    static char buf[8192];
    static size_t len;
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    if (poll(&pfd, 1, timeout_ms) <= 0) return false;
    ssize_t got = read(fd, buf + len, sizeof(buf) - len - 1);
    if (got <= 0) return false;
    len += (size_t)got;
    char *line = buf, *nl;
    while ((nl = memchr(line, '\n', len - (size_t)(line - buf))) != NULL) {
        *nl = '\0';
        int id = 0, epoch = 0;
        long long t_us = 0;
        sscanf(line + 1, "%d %d %lld", &id, &epoch, &t_us);
        if (line[0] == 'R') snprintf(st->result, sizeof(st->result), "%s", line + 2);
        if ((line[0] == 'A' || line[0] == 'C') && id >= 1 && id <= VOTERS &&
            epoch > st->applied[id]) {
            st->applied[id] = epoch;
        }
        if (line[0] == 'C' && epoch > st->c_epoch) {
            st->c_id = id;
            st->c_epoch = epoch;
            st->c_us = t_us;
        }
        line = nl + 1;
    }
    len -= (size_t)(line - buf);
    memmove(buf, line, len);
    return true;
}

#define PUMP_UNTIL(fd, st, cond, ms)                                                               \
    do {                                                                                           \
        int64_t deadline_ = sl_now_ms() + (ms);                                                    \
        while (!(cond) && sl_now_ms() < deadline_)                                                 \
            pump((fd), (st), 50);                                                                  \
    } while (0)

static void print_spread(const char *what, int64_t *ms, int32_t count) {
    if (count == 0) {
        printf("%s: no completed runs\n", what);
        return;
    }
    qsort(ms, (size_t)count, sizeof(int64_t), cmp_i64);
    int32_t p99 = (count * 99 + 99) / 100 - 1; /* nearest rank */
    printf("%s: runs=%d min_ms=%lld p50_ms=%lld p99_ms=%lld max_ms=%lld\n", what, count,
           (long long)ms[0], (long long)ms[(count - 1) / 2], (long long)ms[p99],
           (long long)ms[count - 1]);
}

/* ------------------------------------------------------------------ latency */

static void run_latency(void) {
    bnode nodes[VOTERS];
    nodes_init(nodes, "latency");
    int fds[2];
    if (pipe(fds) != 0) exit(2);
    pid_t pids[VOTERS];
    for (int i = 0; i < VOTERS; i++) {
        nodes[i].latency = true;
        nodes[i].lat_us = sl_calloc((size_t)opt_g.count, sizeof(int64_t));
        pids[i] = node_fork(&nodes[i], fds[1], 1000, 2000);
    }
    fo_state st;
    memset(&st, 0, sizeof(st));
    PUMP_UNTIL(fds[0], &st, st.result[0] != '\0', 600000);
    for (int i = 0; i < VOTERS; i++) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
        sl_free(nodes[i].lat_us);
    }
    printf("commit latency (3 voters, 3 processes, fsync in %s, %d-byte entries): %s\n", opt_g.dir,
           PAYLOAD_BYTES, st.result[0] ? st.result : "no result");
    close(fds[0]);
    close(fds[1]);
    nodes_cleanup();
}

/* ------------------------------------------------------------------ failover */

static bool followers_in(const fo_state *st, int32_t leader, int32_t epoch) {
    for (int32_t i = 1; i <= VOTERS; i++) {
        if (i != leader && st->applied[i] < epoch) return false;
    }
    return true;
}

/* SIGKILL the leader process, --runs times; ms_out gets each failover time. */
static int32_t failover_processes(int32_t e_ms, int32_t f_ms, int64_t *ms_out) {
    bnode nodes[VOTERS];
    nodes_init(nodes, "failover");
    int fds[2];
    if (pipe(fds) != 0) exit(2);
    pid_t pids[VOTERS];
    for (int i = 0; i < VOTERS; i++)
        pids[i] = node_fork(&nodes[i], fds[1], e_ms, f_ms);
    fo_state st;
    memset(&st, 0, sizeof(st));
    int32_t done = 0;
    PUMP_UNTIL(fds[0], &st, st.c_epoch > 0, 30000);
    for (int32_t run = 0; run < opt_g.runs && st.c_epoch > 0; run++) {
        int32_t leader = st.c_id, epoch = st.c_epoch;
        PUMP_UNTIL(fds[0], &st, followers_in(&st, leader, epoch), 30000);
        PUMP_UNTIL(fds[0], &st, false, 300); /* followers settle into fetching */
        int64_t t0 = sl_now_us();
        kill(pids[leader - 1], SIGKILL);
        waitpid(pids[leader - 1], NULL, 0);
        st.applied[leader] = 0;
        PUMP_UNTIL(fds[0], &st, st.c_epoch > epoch, 60000);
        if (st.c_epoch <= epoch) break;
        ms_out[done++] = (st.c_us - t0 + 999) / 1000;
        pids[leader - 1] = node_fork(&nodes[leader - 1], fds[1], e_ms, f_ms);
        PUMP_UNTIL(fds[0], &st, st.applied[leader] >= st.c_epoch, 30000);
    }
    for (int i = 0; i < VOTERS; i++) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
    }
    close(fds[0]);
    close(fds[1]);
    nodes_cleanup();
    return done;
}

static void run_for(struct event_base *base, int ms) {
    struct timeval tv = { 0, ms * 1000 };
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

#define RUN_UNTIL(base, cond, ms)                                                                  \
    do {                                                                                           \
        int64_t deadline_ = sl_now_ms() + (ms);                                                    \
        while (!(cond) && sl_now_ms() < deadline_)                                                 \
            run_for((base), 5);                                                                    \
    } while (0)

static int32_t inproc_leader(const bnode *nodes) {
    int32_t best = -1;
    for (int32_t i = 0; i < VOTERS; i++) {
        if (nodes[i].drv && nodes[i].leader_epoch > 0 &&
            nodes[i].committed_epoch == nodes[i].leader_epoch &&
            (best < 0 || nodes[i].leader_epoch > nodes[best].leader_epoch)) {
            best = i;
        }
    }
    return best;
}

static bool inproc_all_in(const bnode *nodes, int32_t epoch) {
    for (int32_t i = 0; i < VOTERS; i++) {
        if (!nodes[i].drv || nodes[i].committed_epoch < epoch) return false;
    }
    return true;
}

/* raft_driver_stop the leader, in one process and one event loop. */
static int32_t failover_inproc(int32_t e_ms, int32_t f_ms, int64_t *ms_out) {
    bnode nodes[VOTERS];
    nodes_init(nodes, "inproc");
    struct event_base *base = event_base_new();
    for (int i = 0; i < VOTERS; i++)
        node_start(&nodes[i], base, e_ms, f_ms);
    int32_t done = 0;
    for (int32_t run = 0; run < opt_g.runs; run++) {
        RUN_UNTIL(base, inproc_leader(nodes) >= 0, 30000);
        int32_t l = inproc_leader(nodes);
        if (l < 0) break;
        int32_t epoch = nodes[l].leader_epoch;
        RUN_UNTIL(base, inproc_all_in(nodes, epoch), 30000);
        run_for(base, 300);
        int64_t t0 = sl_now_us();
        node_stop(&nodes[l]);
        RUN_UNTIL(base,
                  inproc_leader(nodes) >= 0 && nodes[inproc_leader(nodes)].leader_epoch > epoch,
                  60000);
        int32_t l2 = inproc_leader(nodes);
        if (l2 < 0 || nodes[l2].leader_epoch <= epoch) break;
        ms_out[done++] = (nodes[l2].commit_us - t0 + 999) / 1000;
        node_start(&nodes[l], base, e_ms, f_ms);
    }
    for (int i = 0; i < VOTERS; i++) {
        if (nodes[i].drv) node_stop(&nodes[i]);
    }
    event_base_free(base);
    nodes_cleanup();
    return done;
}

static void run_failover(void) {
    for (int32_t t = 0; t < opt_g.timing_count; t++) {
        int32_t e_ms = opt_g.election_ms[t], f_ms = opt_g.fetch_ms[t];
        int64_t *ms = sl_calloc((size_t)opt_g.runs + 1, sizeof(int64_t));
        int32_t count =
            opt_g.inproc ? failover_inproc(e_ms, f_ms, ms) : failover_processes(e_ms, f_ms, ms);
        char what[160];
        snprintf(what, sizeof(what), "failover %s election_ms=%d fetch_ms=%d%s",
                 opt_g.inproc ? "raft_driver_stop (in-process)" : "SIGKILL (3 processes)", e_ms,
                 f_ms, opt_g.no_fast ? " no-fast" : "");
        print_spread(what, ms, count);
        fflush(stdout);
        sl_free(ms);
    }
}

/* ------------------------------------------------------------------ main */

static void parse_timings(const char *s) {
    opt_g.timing_count = 0;
    while (*s && opt_g.timing_count < TIMINGS_MAX) {
        int e, f, used = 0;
        if (sscanf(s, "%d/%d%n", &e, &f, &used) != 2 || e < 1 || f <= e) {
            fprintf(stderr, "bench_raft: bad --timings at '%s'\n", s);
            exit(2);
        }
        opt_g.election_ms[opt_g.timing_count] = e;
        opt_g.fetch_ms[opt_g.timing_count] = f;
        opt_g.timing_count++;
        s += used;
        if (*s == ',') s++;
    }
}

static void usage(void) {
    fprintf(stderr, "usage: bench_raft latency [--dir DIR] [--count N]\n"
                    "       bench_raft failover [--dir DIR] [--runs N] [--inproc] [--no-fast]\n"
                    "                           [--timings E/F,E/F,...]\n");
    exit(2);
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    sl_log_configure(getenv("SL_BENCH_LOG") ? getenv("SL_BENCH_LOG") : "error", NULL);
    if (argc < 2) usage();
    parse_timings("1000/2000,500/1000,300/600");
    for (int i = 2; i < argc; i++) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--inproc") == 0) {
            opt_g.inproc = true;
        } else if (strcmp(argv[i], "--no-fast") == 0) {
            opt_g.no_fast = true;
        } else if (strcmp(argv[i], "--dir") == 0 && val) {
            opt_g.dir = argv[++i];
        } else if (strcmp(argv[i], "--count") == 0 && val) {
            opt_g.count = atoll(argv[++i]);
        } else if (strcmp(argv[i], "--runs") == 0 && val) {
            opt_g.runs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--timings") == 0 && val) {
            parse_timings(argv[++i]);
        } else {
            usage();
        }
    }
    if (opt_g.count < 1 || opt_g.runs < 1) usage();
    if (strcmp(argv[1], "latency") == 0) {
        run_latency();
    } else if (strcmp(argv[1], "failover") == 0) {
        run_failover();
    } else {
        usage();
    }
    return 0;
}
