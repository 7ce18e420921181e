/* broker_main.c — start-up, the periodic tick, signals and shutdown of sluice-broker.
 *
 * Start-up order: configuration → log directory lock → metadata observer (replays the
 * local copy of the metadata log, then follows the quorum) → controller session
 * (registration; the controller unfences us once we have caught up) → Kafka listeners
 * once the image has caught up, so clients never see a stale cluster view.
 * SIGTERM: controlled shutdown — ask the controller to move our leaderships away, wait
 * (bounded by controlled.shutdown.max.wait.ms), then close logs cleanly and exit. */
#include "broker/broker_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_listener.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define TICK_MS 50 /* housekeeping period: ISR checks, heartbeats, timeouts */

static void broker_stop_loop(broker *b) {
    event_base_loopexit(b->base, NULL);
}

void broker_request_shutdown(broker *b, const char *why) {
    if (b->shutting_down) return;
    b->shutting_down = true;
    b->shutdown_deadline_ms = sl_now_ms() + b->cfg.controlled_shutdown_max_wait_ms;
    SL_LOG(SL_INFO, "broker", "shutdown_started", "why=%s controlled=%d", why,
           b->cfg.controlled_shutdown);
    if (!b->cfg.controlled_shutdown || b->broker_epoch < 0) broker_stop_loop(b);
}

/* Called by the controller session when the controller says we may go. */
void broker_shutdown_allowed(broker *b) {
    if (b->shutting_down) broker_stop_loop(b);
}

static void tick_cb(int fd, short what, void *arg) {
    (void)fd;
    (void)what;
    broker *b = arg;
    int64_t now = sl_now_ms();
    broker_meta_tick(b, now);
    broker_ctl_tick(b, now);
    broker_replica_tick(b, now);
    broker_server_close_idle(b, now);
    if (b->shutting_down && now >= b->shutdown_deadline_ms) {
        SL_LOG(SL_WARN, "broker", "shutdown_wait_expired", "waited_ms=%lld",
               (long long)b->cfg.controlled_shutdown_max_wait_ms);
        broker_stop_loop(b);
    }
}

static void signal_cb(int sig, short what, void *arg) {
    (void)what;
    broker_request_shutdown(arg, sig == SIGTERM ? "sigterm" : "sigint");
}

static int lock_dir(const char *dir, int *fd_out, char *err, size_t err_size) {
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, err_size, "cannot open %.300s: %s", path, strerror(errno));
        return -errno;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, err_size, "%s is in use by another process", dir);
        close(fd);
        return SL_E_STATE;
    }
    *fd_out = fd;
    return SL_OK;
}

int broker_mkdirs(const char *dir) {
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST) return -errno;
        *p = '/';
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST) return -errno;
    return SL_OK;
}

static int broker_start(broker *b, char *err, size_t err_size) {
    b->base = event_base_new();
    if (!b->base) {
        snprintf(err, err_size, "cannot create the event loop");
        return SL_E_INTERNAL;
    }
    sl_rand_seed(&b->rng, sl_rand_os_seed());
    b->broker_epoch = -1;
    b->fenced = true;
    metadata_image_init(&b->image);
    sl_map_init(&b->topics);
    sl_map_init(&b->topics_by_id);
    broker_metrics_init(b);
    int rc = broker_mkdirs(b->cfg.data_dir);
    if (rc < 0) {
        snprintf(err, err_size, "cannot create log directory %s: %s", b->cfg.data_dir,
                 sl_strerror(rc));
        return rc;
    }
    broker_replica_start(b);
    SL_TRY(broker_meta_start(b, err, err_size));
    SL_TRY(broker_ctl_start(b, err, err_size));
    SL_TRY(broker_http_start(b, err, err_size));
    b->tick_ev = event_new(b->base, -1, EV_PERSIST, tick_cb, b);
    struct timeval tv = { 0, TICK_MS * 1000 };
    event_add(b->tick_ev, &tv);
    b->sig_term = evsignal_new(b->base, SIGTERM, signal_cb, b);
    b->sig_int = evsignal_new(b->base, SIGINT, signal_cb, b);
    event_add(b->sig_term, NULL);
    event_add(b->sig_int, NULL);
    return SL_OK;
}

/* The listeners open once the metadata image has caught up (broker_meta calls this). */
int broker_open_listeners(broker *b) {
    if (b->listener_count > 0) return SL_OK;
    char err[256] = "";
    int rc = broker_server_start(b, err, sizeof(err));
    if (rc < 0) {
        SL_LOG(SL_ERROR, "broker", "listen_failed", "error=\"%s\"", err);
        b->exit_code = 1;
        broker_stop_loop(b);
    }
    return rc;
}

static void broker_finish(broker *b) {
    broker_server_stop(b);
    broker_http_stop(b);
    broker_fetchers_stop(b);
    broker_ctl_stop(b);
    broker_replica_close_all(b);
    broker_meta_stop(b);
    if (b->tick_ev) event_free(b->tick_ev);
    if (b->sig_term) event_free(b->sig_term);
    if (b->sig_int) event_free(b->sig_int);
    metadata_image_deinit(&b->image);
    sl_map_deinit(&b->topics);
    sl_map_deinit(&b->topics_by_id);
    sl_free(b->pid_waiting); /* its requests were cancelled with their connections */
    if (b->base) event_base_free(b->base);
}

int broker_main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    sl_cli cli;
    char err[512] = "";
    if (sl_cli_parse(&cli, argc, argv, err, sizeof(err)) < 0 || cli.help) {
        fprintf(stderr, "%s%susage: sluice-broker --config FILE [--override key=value]... "
                        "[--print-config]\n", err, err[0] ? "\n" : "");
        sl_cli_deinit(&cli);
        return cli.help ? 0 : 2;
    }
    broker *b = SL_NEW(broker);
    int rc = broker_config_load(&b->cfg, &cli, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "sluice-broker: %s\n", err);
        SL_LOG(SL_ERROR, "broker", "bad_config", "error=\"%s\"", err);
        broker_config_free(&b->cfg);
        sl_free(b);
        sl_cli_deinit(&cli);
        return 1;
    }
    if (cli.print_config) {
        sl_config_print(broker_config_table(), &b->cfg, stdout);
        broker_config_free(&b->cfg);
        sl_free(b);
        sl_cli_deinit(&cli);
        return 0;
    }
    sl_cli_deinit(&cli);
    sl_log_configure(b->cfg.log_level, b->cfg.log_debug);
    if (b->cfg.log_file) sl_log_open_file(b->cfg.log_file);
    char node[32];
    snprintf(node, sizeof(node), "broker-%d", b->cfg.node_id);
    sl_log_set_node(node);
    long long fd_limit = sl_raise_fd_limit();
    int lock_fd = -1;
    if (broker_mkdirs(b->cfg.data_dir) < 0 ||
        lock_dir(b->cfg.data_dir, &lock_fd, err, sizeof(err)) < 0) {
        if (!err[0]) snprintf(err, sizeof(err), "cannot use log directory %s", b->cfg.data_dir);
        fprintf(stderr, "sluice-broker: %s\n", err);
        SL_LOG(SL_ERROR, "broker", "start_failed", "error=\"%s\"", err);
        broker_config_free(&b->cfg);
        sl_free(b);
        return 1;
    }
    rc = broker_start(b, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "sluice-broker: %s\n", err);
        SL_LOG(SL_ERROR, "broker", "start_failed", "error=\"%s\"", err);
        b->exit_code = 1;
    } else {
        SL_LOG(SL_INFO, "broker", "started", "node_id=%d log_dir=%s open_files_limit=%lld",
               b->cfg.node_id, b->cfg.data_dir, fd_limit);
        event_base_dispatch(b->base);
    }
    broker_finish(b);
    int code = b->exit_code;
    SL_LOG(SL_INFO, "broker", "stopped", "exit_code=%d", code);
    broker_config_free(&b->cfg);
    sl_free(b);
    if (lock_fd >= 0) close(lock_fd);
    return code;
}
