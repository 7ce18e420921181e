/* sl_metrics.c — see sl_metrics.h. Series are kept in registration order; rendering
 * groups series of the same name under one HELP/TYPE header. */
#include "common/sl_metrics.h"
#include "common/sl_alloc.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define SL_METRICS_BOUNDS_MAX 32

typedef enum { M_COUNTER, M_GAUGE, M_HISTOGRAM } metric_kind;

struct sl_metric {
    metric_kind kind;
    char *name;
    char *help;
    char *labels;             /* NULL for none */
    _Atomic int64_t count;    /* counter value; histogram observation count */
    _Atomic uint64_t bits;    /* gauge value (double bits); histogram sum (double bits) */
    int bound_count;
    double bounds[SL_METRICS_BOUNDS_MAX];
    _Atomic int64_t buckets[SL_METRICS_BOUNDS_MAX]; /* per-bound counts (not cumulative) */
    sl_metric *next;
};

typedef struct collector {
    sl_metrics_collect_fn fn;
    void *arg;
    struct collector *next;
} collector;

struct sl_metrics {
    pthread_mutex_t lock; /* guards the lists (not values) */
    sl_metric *head, *tail;
    collector *collectors;
};

sl_metrics *sl_metrics_new(void) {
    sl_metrics *reg = SL_NEW(sl_metrics);
    pthread_mutex_init(&reg->lock, NULL);
    return reg;
}

void sl_metrics_free(sl_metrics *reg) {
    if (!reg) return;
    sl_metric *m = reg->head;
    while (m) {
        sl_metric *next = m->next;
        sl_free(m->name);
        sl_free(m->help);
        sl_free(m->labels);
        sl_free(m);
        m = next;
    }
    collector *c = reg->collectors;
    while (c) {
        collector *next = c->next;
        sl_free(c);
        c = next;
    }
    pthread_mutex_destroy(&reg->lock);
    sl_free(reg);
}

static sl_metrics *default_g;
static pthread_once_t default_once_g = PTHREAD_ONCE_INIT;

static void default_init(void) {
    default_g = sl_metrics_new();
}

sl_metrics *sl_metrics_default(void) {
    pthread_once(&default_once_g, default_init);
    return default_g;
}

static bool same_labels(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

static sl_metric *metric_register(sl_metrics *reg, metric_kind kind, const char *name,
                                  const char *help, const char *labels) {
    pthread_mutex_lock(&reg->lock);
    for (sl_metric *m = reg->head; m; m = m->next) {
        if (m->kind == kind && strcmp(m->name, name) == 0 && same_labels(m->labels, labels)) {
            pthread_mutex_unlock(&reg->lock);
            return m;
        }
    }
    sl_metric *m = SL_NEW(sl_metric);
    m->kind = kind;
    m->name = sl_strdup(name);
    m->help = sl_strdup(help ? help : "");
    m->labels = labels ? sl_strdup(labels) : NULL;
    if (reg->tail) {
        reg->tail->next = m;
    } else {
        reg->head = m;
    }
    reg->tail = m;
    pthread_mutex_unlock(&reg->lock);
    return m;
}

sl_metric *sl_metrics_counter(sl_metrics *reg, const char *name, const char *help,
                              const char *labels) {
    return metric_register(reg, M_COUNTER, name, help, labels);
}

sl_metric *sl_metrics_gauge(sl_metrics *reg, const char *name, const char *help,
                            const char *labels) {
    return metric_register(reg, M_GAUGE, name, help, labels);
}

sl_metric *sl_metrics_histogram(sl_metrics *reg, const char *name, const char *help,
                                const char *labels, const double *bounds, int bound_count) {
    sl_metric *m = metric_register(reg, M_HISTOGRAM, name, help, labels);
    if (bound_count > SL_METRICS_BOUNDS_MAX) bound_count = SL_METRICS_BOUNDS_MAX;
    if (m->bound_count == 0) {
        for (int i = 0; i < bound_count; i++) m->bounds[i] = bounds[i];
        m->bound_count = bound_count;
    }
    return m;
}

static double bits_to_double(uint64_t bits) {
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

static uint64_t double_to_bits(double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits;
}

static void atomic_add_double(_Atomic uint64_t *slot, double delta) {
    uint64_t old = atomic_load_explicit(slot, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(slot, &old,
                                                  double_to_bits(bits_to_double(old) + delta),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

void sl_metric_add(sl_metric *m, int64_t delta) {
    if (m->kind == M_GAUGE) {
        atomic_add_double(&m->bits, (double)delta);
    } else {
        atomic_fetch_add_explicit(&m->count, delta, memory_order_relaxed);
    }
}

void sl_metric_set(sl_metric *m, double value) {
    atomic_store_explicit(&m->bits, double_to_bits(value), memory_order_relaxed);
}

void sl_metric_observe(sl_metric *m, double value) {
    int i = 0;
    while (i < m->bound_count && value > m->bounds[i]) i++;
    if (i < m->bound_count) atomic_fetch_add_explicit(&m->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
    atomic_add_double(&m->bits, value);
}

double sl_metric_value(const sl_metric *m) {
    if (m->kind == M_GAUGE) {
        return bits_to_double(atomic_load_explicit(&m->bits, memory_order_relaxed));
    }
    return (double)atomic_load_explicit(&m->count, memory_order_relaxed);
}

void sl_metrics_add_collector(sl_metrics *reg, sl_metrics_collect_fn fn, void *arg) {
    collector *c = SL_NEW(collector);
    c->fn = fn;
    c->arg = arg;
    pthread_mutex_lock(&reg->lock);
    collector **pp = &reg->collectors;
    while (*pp) pp = &(*pp)->next;
    *pp = c;
    pthread_mutex_unlock(&reg->lock);
}

void sl_metrics_remove_collector(sl_metrics *reg, sl_metrics_collect_fn fn, void *arg) {
    pthread_mutex_lock(&reg->lock);
    for (collector **pp = &reg->collectors; *pp; pp = &(*pp)->next) {
        if ((*pp)->fn == fn && (*pp)->arg == arg) {
            collector *c = *pp;
            *pp = c->next;
            sl_free(c);
            break;
        }
    }
    pthread_mutex_unlock(&reg->lock);
}

void sl_metrics_write_header(sl_buf *out, const char *name, const char *help, const char *type) {
    sl_buf_printf(out, "# HELP %s ", name);
    for (const char *p = help; *p; p++) { /* escape per the text format */
        if (*p == '\\') {
            sl_buf_put_cstr(out, "\\\\");
        } else if (*p == '\n') {
            sl_buf_put_cstr(out, "\\n");
        } else {
            sl_buf_put_u8(out, (uint8_t)*p);
        }
    }
    sl_buf_printf(out, "\n# TYPE %s %s\n", name, type);
}

static void write_number(sl_buf *out, double v) {
    if (isinf(v)) {
        sl_buf_put_cstr(out, v > 0 ? "+Inf" : "-Inf");
    } else if (isnan(v)) {
        sl_buf_put_cstr(out, "NaN");
    } else if (v == (double)(int64_t)v && fabs(v) < 1e15) {
        sl_buf_printf(out, "%lld", (long long)v);
    } else {
        sl_buf_printf(out, "%.17g", v);
    }
}

void sl_metrics_write_sample(sl_buf *out, const char *name, const char *labels, double value) {
    if (labels && labels[0]) {
        sl_buf_printf(out, "%s{%s} ", name, labels);
    } else {
        sl_buf_printf(out, "%s ", name);
    }
    write_number(out, value);
    sl_buf_put_u8(out, '\n');
}

static void render_histogram(sl_buf *out, const sl_metric *m) {
    char name[256], labels[512];
    int64_t cumulative = 0;
    snprintf(name, sizeof(name), "%s_bucket", m->name);
    for (int i = 0; i <= m->bound_count; i++) {
        char le[64];
        if (i < m->bound_count) {
            cumulative += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
            snprintf(le, sizeof(le), "%g", m->bounds[i]);
        } else {
            cumulative = atomic_load_explicit(&m->count, memory_order_relaxed);
            snprintf(le, sizeof(le), "+Inf");
        }
        snprintf(labels, sizeof(labels), "%s%sle=\"%s\"", m->labels ? m->labels : "",
                 m->labels ? "," : "", le);
        sl_metrics_write_sample(out, name, labels, (double)cumulative);
    }
    snprintf(name, sizeof(name), "%s_sum", m->name);
    sl_metrics_write_sample(out, name, m->labels,
                            bits_to_double(atomic_load_explicit(&m->bits, memory_order_relaxed)));
    snprintf(name, sizeof(name), "%s_count", m->name);
    sl_metrics_write_sample(out, name, m->labels,
                            (double)atomic_load_explicit(&m->count, memory_order_relaxed));
}

void sl_metrics_render(sl_metrics *reg, sl_buf *out) {
    static const char *const kind_names[] = { "counter", "gauge", "histogram" };
    pthread_mutex_lock(&reg->lock);
    /* Quadratic in the number of distinct names, which is small (tens); per-partition
     * series go through collectors. */
    for (sl_metric *m = reg->head; m; m = m->next) {
        bool seen = false;
        for (sl_metric *p = reg->head; p != m; p = p->next) {
            if (strcmp(p->name, m->name) == 0) {
                seen = true;
                break;
            }
        }
        if (seen) continue;
        sl_metrics_write_header(out, m->name, m->help, kind_names[m->kind]);
        for (sl_metric *s = m; s; s = s->next) {
            if (strcmp(s->name, m->name) != 0) continue;
            if (s->kind == M_HISTOGRAM) {
                render_histogram(out, s);
            } else {
                sl_metrics_write_sample(out, s->name, s->labels, sl_metric_value(s));
            }
        }
    }
    for (collector *c = reg->collectors; c; c = c->next) c->fn(out, c->arg);
    pthread_mutex_unlock(&reg->lock);
}
