/* controller.h — sluice-controller: one voter of the metadata quorum; when it is the
 * Raft leader it is the active controller, the only writer of the metadata log.
 *
 * The active controller keeps two images: `committed` (entries the quorum has committed)
 * and `work` (committed plus its own proposals not yet committed), and decides every
 * request against `work`, so consecutive requests see each other's effects. A proposal's
 * reply is sent only once its entry commits. On losing leadership everything pending is
 * answered NOT_CONTROLLER and `work` is dropped. Single-threaded (one libevent loop). */
#ifndef CONTROLLER_H
#define CONTROLLER_H

/* Run a controller from its command line (--config FILE, --override k=v,
 * --print-config). Returns the process exit code. */
int controller_main(int argc, char **argv);

#endif
