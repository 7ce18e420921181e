/* sl_listener.h — a libevent TCP listener that survives accept() errors.
 *
 * When accept() fails (EMFILE/ENFILE: out of descriptors; ENOBUFS/ENOMEM), libevent's
 * listener stays readable and would call accept() again at once, spinning the loop and
 * logging without end. This listener instead logs one warning (at most one a second),
 * stops accepting for SL_LISTENER_PAUSE_MS, and then tries again: clients wait in the
 * backlog or get refused, the process keeps serving the connections it has. */
#ifndef SL_LISTENER_H
#define SL_LISTENER_H

#include <event2/listener.h>

#define SL_LISTENER_PAUSE_MS 100

typedef struct sl_listener sl_listener;

/* evconnlistener_new_bind with the same arguments plus a name for logs ("PLAINTEXT",
 * "raft"). NULL with errno set when the socket cannot be bound. */
sl_listener *sl_listener_bind(struct event_base *base, evconnlistener_cb cb, void *arg,
                              unsigned flags, int backlog, const struct sockaddr *sa,
                              int socklen, const char *name);
struct evconnlistener *sl_listener_lev(const sl_listener *l);
/* accept() failures so far. */
long long sl_listener_errors(const sl_listener *l);
/* Closes the socket when bound with LEV_OPT_CLOSE_ON_FREE. NULL is a no-op. */
void sl_listener_free(sl_listener *l);

/* Raise this process's soft limit on open descriptors to its hard limit (every partition
 * replica holds a few descriptors open; Kafka asks for 100,000 or more). Returns the soft
 * limit now in force, or -errno. */
long long sl_raise_fd_limit(void);

#endif
