/* broker.h — sluice-broker: serves Kafka clients and hosts replicated partition logs.
 *
 * One broker is one event loop (libevent) on one thread: client connections, follower
 * fetchers, the metadata-log observer, controller RPCs, purgatory timers and the group
 * coordinator all run there, so partition state needs no locks. On a 2-core machine
 * shared by several processes, more threads would only add contention; the hot paths
 * avoid per-record work instead (batches are checked by CRC and stored as received).
 *
 * Request path: broker_net (frames, one request in flight per connection, responses in
 * order) → broker_api (version checks, dispatch) → a handler (broker_produce,
 * broker_fetch, …) → the replica manager (broker_replica: leader/follower state, high
 * watermark, ISR) → storage. Delayed responses (acks=all, long-poll fetch) park in a
 * purgatory and complete from the replica manager's events. */
#ifndef BROKER_H
#define BROKER_H

/* Run a broker from its command line (--config FILE, --override k=v, --print-config).
 * Returns the process exit code. */
int broker_main(int argc, char **argv);

#endif
