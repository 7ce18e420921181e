/* sl_listener.c — see sl_listener.h. */
#include "common/sl_listener.h"
#include "common/sl_alloc.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <errno.h>
#include <limits.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

struct sl_listener {
    struct evconnlistener *lev;
    struct event *resume;
    evconnlistener_cb cb;
    void *arg;
    char name[32];
    int64_t last_log_ms;
    int64_t errors; /* since the last warning */
    int64_t errors_total;
};

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg) {
    sl_listener *l = arg;
    l->cb(lev, fd, sa, socklen, l->arg);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    sl_listener *l = arg;
    evconnlistener_enable(l->lev);
}

static void error_cb(struct evconnlistener *lev, void *arg) {
    (void)lev;
    sl_listener *l = arg;
    int err = EVUTIL_SOCKET_ERROR();
    l->errors++;
    l->errors_total++;
    int64_t now = sl_now_ms();
    if (now - l->last_log_ms >= 1000) {
        SL_LOG(SL_WARN, "net", "accept_failed", "listener=%s err=\"%s\" errors=%lld pause_ms=%d",
               l->name, strerror(err), (long long)l->errors, SL_LISTENER_PAUSE_MS);
        l->last_log_ms = now;
        l->errors = 0;
    }
    evconnlistener_disable(l->lev);
    struct timeval tv = { 0, SL_LISTENER_PAUSE_MS * 1000 };
    evtimer_add(l->resume, &tv);
}

sl_listener *sl_listener_bind(struct event_base *base, evconnlistener_cb cb, void *arg,
                              unsigned flags, int backlog, const struct sockaddr *sa,
                              int socklen, const char *name) {
    sl_listener *l = SL_NEW(sl_listener);
    l->cb = cb;
    l->arg = arg;
    l->last_log_ms = INT64_MIN / 2;
    snprintf(l->name, sizeof(l->name), "%s", name);
    l->lev = evconnlistener_new_bind(base, accept_cb, l, flags, backlog, sa, socklen);
    if (!l->lev) {
        int saved = errno;
        sl_free(l);
        errno = saved;
        return NULL;
    }
    l->resume = evtimer_new(base, resume_cb, l);
    evconnlistener_set_error_cb(l->lev, error_cb);
    return l;
}

struct evconnlistener *sl_listener_lev(const sl_listener *l) {
    return l->lev;
}

long long sl_listener_errors(const sl_listener *l) {
    return (long long)l->errors_total;
}

void sl_listener_free(sl_listener *l) {
    if (!l) return;
    event_free(l->resume);
    evconnlistener_free(l->lev);
    sl_free(l);
}

long long sl_raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -errno;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return -errno;
    }
    return rl.rlim_cur == RLIM_INFINITY ? LLONG_MAX : (long long)rl.rlim_cur;
}
