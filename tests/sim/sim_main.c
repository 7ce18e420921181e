/* sim_main.c — raft-sim: run seeds of the deterministic Raft simulation.
 *
 *   raft-sim --seed N                 replay one seed (same output every time)
 *   raft-sim --seeds A-B              run seeds A..B, print each failing seed
 *   raft-sim --minutes M              random seeds until M minutes pass
 *   --failpoint skip_durable|double_vote|minority_hw|blip_election   plant a bug in the core
 *   --expect-fail                     succeed only if some seed fails an invariant
 *   --trace N                         events printed for a failing seed (default 80)
 *   --verbose                         one summary line per seed
 *   --dump                            with --seed: print the trace even if it passes
 *
 * A failing seed prints "FAIL seed=N invariant=NAME detail" and the last traced events;
 * `raft-sim --seed N` replays it exactly. A core assertion (SIGABRT) prints the seed and
 * the trace from a signal handler before the process dies. */
#include "tests/sim/sim.h"

#include "common/sl_log.h"
#include "common/sl_rand.h"
#include "common/sl_time.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The world being run, for the SIGABRT handler only (test code, one thread). */
static sim_world *g_current;
static int g_trace_events = 80;
static bool g_dump;

static void on_abort(int sig) {
    (void)sig;
    if (g_current) {
        printf("FAIL seed=%llu invariant=core_assertion (see the assertion above)\n",
               (unsigned long long)g_current->seed);
        sim_trace_dump(g_current, g_trace_events);
        printf("replay: tests/sim/run --seed %llu\n", (unsigned long long)g_current->seed);
    }
    fflush(stdout);
    signal(SIGABRT, SIG_DFL);
    raise(SIGABRT);
}

static void print_summary(const sim_world *w, const char *result) {
    printf("seed=%llu voters=%d observers=%d election_ms=%d fetch_timeout_ms=%d result=%s "
           "sim_ms=%lld events=%lld messages=%lld elections=%lld max_epoch=%lld crashes=%lld "
           "commits=%lld snapshots=%lld installs=%lld conn_events=%lld blips=%lld steady=%d\n",
           (unsigned long long)w->seed, w->p.voters, w->p.observers, w->p.election_ms,
           w->p.fetch_timeout_ms, result, (long long)w->now, (long long)w->events,
           (long long)w->messages, (long long)w->elections, (long long)w->max_epoch,
           (long long)w->crashes, (long long)w->commits, (long long)w->snapshots,
           (long long)w->installs, (long long)w->conn_events, (long long)w->blips, w->steady);
}

/* Returns NULL when the seed passes, else the failed invariant's name. */
static const char *run_seed(uint64_t seed, uint32_t failpoints, bool verbose, bool dump) {
    static sim_world w; /* large: keep it off the stack */
    sim_world_init(&w, seed, failpoints);
    g_current = &w;
    bool ok = sim_world_run(&w);
    const char *failed = ok ? NULL : w.failed;
    if (!ok) {
        printf("FAIL seed=%llu invariant=%s %s\n", (unsigned long long)seed, w.failed, w.detail);
        if (dump) {
            sim_trace_dump(&w, g_trace_events);
            print_summary(&w, "FAIL");
            printf("replay: tests/sim/run --seed %llu", (unsigned long long)seed);
            if (failpoints & RAFT_FP_SKIP_DURABLE) printf(" --failpoint skip_durable");
            if (failpoints & RAFT_FP_DOUBLE_VOTE) printf(" --failpoint double_vote");
            if (failpoints & RAFT_FP_MINORITY_HW) printf(" --failpoint minority_hw");
            if (failpoints & RAFT_FP_BLIP_ELECTION) printf(" --failpoint blip_election");
            printf("\n");
        }
    } else if (verbose) {
        if (g_dump) sim_trace_dump(&w, g_trace_events);
        print_summary(&w, "ok");
    }
    g_current = NULL;
    sim_world_free(&w);
    return failed;
}

static uint32_t parse_failpoint(const char *name) {
    if (strcmp(name, "skip_durable") == 0) return RAFT_FP_SKIP_DURABLE;
    if (strcmp(name, "double_vote") == 0) return RAFT_FP_DOUBLE_VOTE;
    if (strcmp(name, "minority_hw") == 0) return RAFT_FP_MINORITY_HW;
    if (strcmp(name, "blip_election") == 0) return RAFT_FP_BLIP_ELECTION;
    fprintf(stderr, "raft-sim: unknown failpoint %s\n", name);
    exit(2);
}

static void usage(void) {
    fprintf(stderr, "usage: raft-sim (--seed N | --seeds A-B | --minutes M) [--failpoint NAME]\n"
                    "                [--expect-fail] [--trace N] [--verbose] [--dump]\n");
    exit(2);
}

typedef struct sim_args {
    bool one, range, timed, expect_fail, verbose;
    uint64_t first, last;
    double minutes;
    uint32_t failpoints;
    const char *failpoint_name;
} sim_args;

static void parse_args(int argc, char **argv, sim_args *a) {
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--seed") == 0 && val) {
            a->one = true;
            a->first = a->last = strtoull(val, NULL, 10);
            i++;
        } else if (strcmp(arg, "--seeds") == 0 && val) {
            a->range = true;
            char *dash = NULL;
            a->first = strtoull(val, &dash, 10);
            a->last = (dash && *dash == '-') ? strtoull(dash + 1, NULL, 10) : a->first;
            i++;
        } else if (strcmp(arg, "--minutes") == 0 && val) {
            a->timed = true;
            a->minutes = atof(val);
            i++;
        } else if (strcmp(arg, "--failpoint") == 0 && val) {
            a->failpoints |= parse_failpoint(val);
            a->failpoint_name = val;
            i++;
        } else if (strcmp(arg, "--trace") == 0 && val) {
            g_trace_events = atoi(val);
            i++;
        } else if (strcmp(arg, "--expect-fail") == 0) {
            a->expect_fail = true;
        } else if (strcmp(arg, "--dump") == 0) {
            g_dump = true;
        } else if (strcmp(arg, "--verbose") == 0) {
            a->verbose = true;
        } else {
            usage();
        }
    }
    if (a->one + a->range + a->timed != 1 || a->last < a->first) usage();
}

static int run_range(const sim_args *a) {
    int64_t t0 = sl_now_ms();
    uint64_t runs = 0, failures = 0;
    for (uint64_t seed = a->first; seed <= a->last; seed++) {
        const char *failed = run_seed(seed, a->failpoints, a->verbose, !a->expect_fail);
        runs++;
        if (!failed) continue;
        failures++;
        if (a->expect_fail) {
            printf("caught failpoint=%s seed=%llu invariant=%s after %llu seeds\n",
                   a->failpoint_name ? a->failpoint_name : "none", (unsigned long long)seed, failed,
                   (unsigned long long)runs);
            return 0;
        }
    }
    double secs = (double)(sl_now_ms() - t0) / 1000.0;
    printf("raft-sim: seeds=%llu failed=%llu time=%.1fs seeds_per_sec=%.1f\n",
           (unsigned long long)runs, (unsigned long long)failures, secs,
           secs > 0 ? (double)runs / secs : 0.0);
    if (a->expect_fail) {
        printf("NOT CAUGHT: failpoint=%s survived %llu seeds\n",
               a->failpoint_name ? a->failpoint_name : "none", (unsigned long long)runs);
        return 1;
    }
    return failures == 0 ? 0 : 1;
}

static int run_timed(const sim_args *a) {
    int64_t t0 = sl_now_ms();
    int64_t until = t0 + (int64_t)(a->minutes * 60000.0);
    sl_rand rng;
    sl_rand_seed(&rng, sl_rand_os_seed());
    uint64_t runs = 0, failures = 0;
    while (sl_now_ms() < until) {
        uint64_t seed = sl_rand_u64(&rng) >> 16;
        if (run_seed(seed, a->failpoints, a->verbose, true)) failures++;
        runs++;
    }
    double secs = (double)(sl_now_ms() - t0) / 1000.0;
    printf("raft-sim: seeds=%llu failed=%llu time=%.1fs seeds_per_sec=%.1f\n",
           (unsigned long long)runs, (unsigned long long)failures, secs,
           secs > 0 ? (double)runs / secs : 0.0);
    return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    sim_args a;
    parse_args(argc, argv, &a);
    sl_log_configure(getenv("SIM_LOG") ? getenv("SIM_LOG") : "error", NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGABRT, on_abort);
    if (a.one) {
        g_trace_events = g_trace_events < 80 ? 80 : g_trace_events;
        return run_seed(a.first, a.failpoints, true, true) ? 1 : 0;
    }
    if (a.range) return run_range(&a);
    return run_timed(&a);
}
