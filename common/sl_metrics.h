/* sl_metrics.h — a metrics registry that renders Prometheus text format (0.0.4).
 *
 * Counters and gauges are lock-free to update (atomics); registration and rendering
 * take the registry's mutex. Families whose series change at runtime (per-partition
 * offsets, consumer lag) are written by collector callbacks at render time.
 * The process has one registry (sl_metrics_default), created at start-up; tests and
 * simulations may create their own. */
#ifndef SL_METRICS_H
#define SL_METRICS_H

#include "common/sl_buf.h"

#include <stdint.h>

typedef struct sl_metrics sl_metrics;
typedef struct sl_metric sl_metric;

typedef void (*sl_metrics_collect_fn)(sl_buf *out, void *arg);

sl_metrics *sl_metrics_new(void);
void sl_metrics_free(sl_metrics *reg);
/* The process-wide registry (created on first use; never freed). */
sl_metrics *sl_metrics_default(void);

/* Register (or find, when name and labels match) a series. labels: Prometheus label text
 * without braces, e.g. "topic=\"t\",partition=\"0\"", or NULL. Returned pointers live as
 * long as the registry. Thread-safe. */
sl_metric *sl_metrics_counter(sl_metrics *reg, const char *name, const char *help,
                              const char *labels);
sl_metric *sl_metrics_gauge(sl_metrics *reg, const char *name, const char *help,
                            const char *labels);
/* A histogram with the given upper bounds (ascending; +Inf is implicit). */
sl_metric *sl_metrics_histogram(sl_metrics *reg, const char *name, const char *help,
                                const char *labels, const double *bounds, int bound_count);

void sl_metric_add(sl_metric *m, int64_t delta); /* counter or gauge */
void sl_metric_set(sl_metric *m, double value);  /* gauge */
void sl_metric_observe(sl_metric *m, double value); /* histogram */
double sl_metric_value(const sl_metric *m);

/* Call fn(out, arg) during every render, after the registered series. Thread-safe. */
void sl_metrics_add_collector(sl_metrics *reg, sl_metrics_collect_fn fn, void *arg);
void sl_metrics_remove_collector(sl_metrics *reg, sl_metrics_collect_fn fn, void *arg);
/* Helpers for collectors. */
void sl_metrics_write_header(sl_buf *out, const char *name, const char *help, const char *type);
void sl_metrics_write_sample(sl_buf *out, const char *name, const char *labels, double value);

/* Append the whole exposition text to out. */
void sl_metrics_render(sl_metrics *reg, sl_buf *out);

#endif
