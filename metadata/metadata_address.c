/* metadata_address.c — parsing listener and voter addresses from configuration. */
#include "metadata/metadata_int.h"
#include "common/sl_assert.h"
#include "common/sl_err.h"
#include "raft/raft.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse "host:port" or "[v6]:port" from s[0..len). */
static int parse_host_port(const char *s, size_t len, char *host, size_t host_size,
                           int32_t *port, char *err, size_t err_size) {
    const char *end = s + len, *colon;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close || close + 1 >= end || close[1] != ':') goto bad;
        if ((size_t)(close - s - 1) >= host_size) goto bad;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        colon = close + 1;
    } else {
        colon = NULL;
        for (const char *p = s; p < end; p++) {
            if (*p == ':') colon = p;
        }
        if (!colon || (size_t)(colon - s) >= host_size) goto bad;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    }
    char digits[8];
    size_t n = (size_t)(end - colon - 1);
    if (n == 0 || n >= sizeof(digits)) goto bad;
    memcpy(digits, colon + 1, n);
    digits[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)digits[i])) goto bad;
    }
    long v = strtol(digits, NULL, 10);
    if (v < 0 || v > 65535) goto bad;
    *port = (int32_t)v;
    return SL_OK;
bad:
    snprintf(err, err_size, "Invalid address '%.*s': expected host:port", (int)len, s);
    return SL_E_CONFIG;
}

/* Split a comma list, trimming spaces; calls fn for each non-empty item. */
static int for_each_item(const char *text, int (*fn)(const char *item, size_t len, void *ctx),
                         void *ctx) {
    const char *p = text ? text : "";
    while (*p) {
        while (*p == ' ') p++;
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n > 0 && p[n - 1] == ' ') n--;
        if (n > 0) {
            int rc = fn(p, n, ctx);
            if (rc < 0) return rc;
        }
        if (!comma) break;
        p = comma + 1;
    }
    return SL_OK;
}

typedef struct listener_ctx {
    metadata_listener *out;
    int max, count;
    char *err;
    size_t err_size;
} listener_ctx;

static int listener_item(const char *item, size_t len, void *arg) {
    listener_ctx *c = arg;
    const char *sep = NULL;
    for (size_t i = 0; i + 2 < len; i++) {
        if (item[i] == ':' && item[i + 1] == '/' && item[i + 2] == '/') {
            sep = item + i;
            break;
        }
    }
    if (!sep || sep == item || (size_t)(sep - item) >= sizeof(c->out[0].name)) {
        snprintf(c->err, c->err_size, "Invalid listener '%.*s': expected NAME://host:port",
                 (int)len, item);
        return SL_E_CONFIG;
    }
    if (c->count == c->max) {
        snprintf(c->err, c->err_size, "Too many listeners (at most %d)", c->max);
        return SL_E_CONFIG;
    }
    metadata_listener *l = &c->out[c->count];
    size_t name_len = (size_t)(sep - item);
    for (size_t i = 0; i < name_len; i++) l->name[i] = (char)toupper((unsigned char)item[i]);
    l->name[name_len] = '\0';
    for (int i = 0; i < c->count; i++) {
        if (strcmp(c->out[i].name, l->name) == 0) {
            snprintf(c->err, c->err_size, "Listener name %s is used twice", l->name);
            return SL_E_CONFIG;
        }
    }
    const char *addr = sep + 3;
    SL_TRY(parse_host_port(addr, len - (size_t)(addr - item), l->host, sizeof(l->host), &l->port,
                           c->err, c->err_size));
    c->count++;
    return SL_OK;
}

int metadata_parse_listeners(const char *text, metadata_listener *out, int max, char *err,
                             size_t err_size) {
    listener_ctx c = { out, max, 0, err, err_size };
    SL_TRY(for_each_item(text, listener_item, &c));
    return c.count;
}

typedef struct voter_ctx {
    metadata_voter *out;
    int max, count;
    char *err;
    size_t err_size;
} voter_ctx;

static int voter_item(const char *item, size_t len, void *arg) {
    voter_ctx *c = arg;
    const char *at = memchr(item, '@', len);
    if (!at || at == item) {
        snprintf(c->err, c->err_size, "Invalid voter '%.*s': expected id@host:port", (int)len,
                 item);
        return SL_E_CONFIG;
    }
    char id_text[16];
    size_t id_len = (size_t)(at - item);
    if (id_len >= sizeof(id_text)) goto bad_id;
    memcpy(id_text, item, id_len);
    id_text[id_len] = '\0';
    char *end;
    errno = 0;
    long id = strtol(id_text, &end, 10);
    if (errno || *end || id < 0 || id > INT32_MAX) goto bad_id;
    if (c->count == c->max) {
        snprintf(c->err, c->err_size, "Too many voters (at most %d)", c->max);
        return SL_E_CONFIG;
    }
    for (int i = 0; i < c->count; i++) {
        if (c->out[i].id == id) {
            snprintf(c->err, c->err_size, "Voter id %ld appears twice", id);
            return SL_E_CONFIG;
        }
    }
    metadata_voter *v = &c->out[c->count];
    v->id = (int32_t)id;
    const char *addr = at + 1;
    SL_TRY(parse_host_port(addr, len - (size_t)(addr - item), v->host, sizeof(v->host), &v->port,
                           c->err, c->err_size));
    c->count++;
    return SL_OK;
bad_id:
    snprintf(c->err, c->err_size, "Invalid voter id in '%.*s'", (int)len, item);
    return SL_E_CONFIG;
}

int metadata_parse_voters(const char *text, metadata_voter *out, int max, char *err,
                          size_t err_size) {
    voter_ctx c = { out, max, 0, err, err_size };
    SL_TRY(for_each_item(text, voter_item, &c));
    if (c.count == 0) {
        snprintf(err, err_size, "No voters in '%s'", text ? text : "");
        return SL_E_CONFIG;
    }
    return c.count;
}

void metadata_quorum_driver_config(raft_driver_config *dc, int32_t node_id,
                                   const metadata_voter *voters, int count) {
    SL_ASSERT(count >= 0 && count <= RAFT_VOTERS_MAX);
    memset(dc, 0, sizeof(*dc));
    raft_config_init(&dc->core, node_id);
    dc->core.voter_count = count;
    dc->voter_count = count;
    for (int i = 0; i < count; i++) {
        dc->core.voters[i] = voters[i].id;
        dc->voters[i].id = voters[i].id;
        snprintf(dc->voters[i].host, sizeof(dc->voters[i].host), "%s", voters[i].host);
        dc->voters[i].port = voters[i].port;
    }
}
