/* sl_failpoint.h — planted bugs for testing the testers.
 *
 * A failpoint is a named, deliberately wrong behaviour (acknowledging a write before it
 * is replicated, ignoring a truncation request, …) that a chaos run switches on to prove
 * its checker notices. Failpoints exist only in builds compiled with -DSL_FAILPOINTS
 * (`make B=build/fp CHAOS_FAILPOINTS=1 …`); a normal build contains neither this
 * module's code nor any hook. Every hook is written as
 *
 *     #ifdef SL_FAILPOINTS
 *     if (sl_failpoint_on("ack_before_replication")) { …the wrong thing… }
 *     #endif
 *
 * and the failpoints a process runs with come from its environment, read once:
 *
 *     SLUICE_FAILPOINTS=ack_before_replication,skip_truncation sluice-broker …
 *
 * The first query logs `mod=failpoint event=enabled names=…` (warn), so a run can check
 * that the binary it started really carries the failpoint it asked for.
 *
 * Global state: the parsed name list, written once under pthread_once, then read-only.
 *
 * Names in use (where the hook is):
 *   ack_before_replication  broker/broker_produce.c: acks=all answered once the leader has
 *                           appended, without waiting for the high watermark or checking
 *                           min.insync.replicas
 *   skip_truncation         broker/broker_fetcher.c: a follower ignores DivergingEpoch and
 *                           keeps its divergent tail, fetching on from its own log end */
#ifndef SL_FAILPOINT_H
#define SL_FAILPOINT_H

#ifdef SL_FAILPOINTS

#include <stdbool.h>

#define SL_FAILPOINT_ENV       "SLUICE_FAILPOINTS" /* comma-separated failpoint names */
#define SL_FAILPOINT_NAME_MAX  64                  /* longer names are ignored */
#define SL_FAILPOINT_COUNT_MAX 16                  /* names past this many are ignored */

/* True when the failpoint `name` is switched on for this process. Thread-safe; cheap
 * after the first call (a scan of at most SL_FAILPOINT_COUNT_MAX short strings). */
bool sl_failpoint_on(const char *name);

#endif /* SL_FAILPOINTS */

#endif
