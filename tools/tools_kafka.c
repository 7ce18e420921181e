/* tools_kafka.c — a small blocking Kafka protocol client for the admin tools.
 *
 * librdkafka 2.0 has no admin API for several requests the tools need (ListOffsets,
 * IncrementalAlterConfigs, ElectLeaders, AlterPartitionReassignments,
 * ListPartitionReassignments, DescribeQuorum, DescribeCluster, ApiVersions as data), so
 * every admin request goes through this client instead: requests and responses are the
 * generated codecs of protocol/protocol.h, sent over one plain TCP connection per node.
 *
 * Design:
 *   - One connection per node id, opened on first use. The bootstrap connection (node
 *     TOOLS_KC_ANY) is the first bootstrap address that accepts a connection.
 *   - Each new connection starts with ApiVersions (v3, falling back to v0 when the peer
 *     answers UNSUPPORTED_VERSION, as KIP-511 prescribes); every call then uses the highest
 *     version both sides support within the caller's range.
 *   - One request in flight per connection; every wait is bounded by the call deadline
 *     (request.timeout.ms, default 30 s) through poll(2).
 *   - Node addresses come from the latest Metadata (or FindCoordinator) answer.
 *   - Responses are read into the caller's arena, so decoded views stay valid as long as
 *     the arena does. A response larger than TOOLS_KC_RESPONSE_MAX is refused.
 * Only PLAINTEXT is spoken: a command config that asks for SSL or SASL is refused with a
 * message. Single-threaded: one tools_kc per thread. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_assert.h"
#include "common/sl_buf.h"
#include "common/sl_config.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_reader.h"
#include "common/sl_time.h"
#include "protocol/protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KC_API_KEYS_MAX   128 /* api keys 0..127; Kafka 3.9 defines 0..87 */
#define KC_NODES_MAX      1024
#define KC_BOOTSTRAPS_MAX 64
#define KC_HOST_MAX       256
#define KC_BOOTSTRAP_ID   INT32_MIN /* connection id of the bootstrap connection */

typedef struct kc_conn {
    int32_t node_id;
    char host[KC_HOST_MAX];
    int port;
    int fd;                 /* -1 when closed */
    int32_t correlation_id; /* last one sent */
    int16_t api_min[KC_API_KEYS_MAX];
    int16_t api_max[KC_API_KEYS_MAX]; /* -1: not supported by the peer */
} kc_conn;

typedef struct kc_node {
    int32_t id;
    char host[KC_HOST_MAX];
    int port;
} kc_node;

struct tools_kc {
    char *bootstrap[KC_BOOTSTRAPS_MAX]; /* "host:port", owned */
    size_t bootstrap_count;
    char client_id[128];
    int timeout_ms;
    kc_node *nodes; /* from the latest Metadata / FindCoordinator */
    size_t node_count;
    kc_conn *conns; /* owned array */
    size_t conn_count;
    size_t conn_cap;
};

/* ---- addresses ---- */

/* Split "host:port" (IPv6 as "[addr]:port"); a missing port is 9092, Kafka's default. */
static int kc_parse_address(const char *addr, char *host, size_t host_size, int *port_out) {
    const char *colon = NULL;
    const char *h = addr;
    size_t hlen;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close) return SL_E_INVALID;
        h = addr + 1;
        hlen = (size_t)(close - h);
        colon = close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strrchr(addr, ':');
        hlen = colon ? (size_t)(colon - addr) : strlen(addr);
    }
    if (hlen == 0 || hlen >= host_size) return SL_E_INVALID;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    long port = 9092;
    if (colon) {
        char *end = NULL;
        port = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end != '\0' || port <= 0 || port > 65535) return SL_E_INVALID;
    }
    *port_out = (int)port;
    return SL_OK;
}

static int kc_set_bootstrap(tools_kc *kc, const char *list, char *err, size_t err_size) {
    char *copy = sl_strdup(list);
    char *save = NULL;
    int rc = SL_OK;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        char host[KC_HOST_MAX];
        int port = 0;
        if (*tok == '\0') continue;
        if (kc_parse_address(tok, host, sizeof(host), &port) != SL_OK ||
            kc->bootstrap_count == KC_BOOTSTRAPS_MAX) {
            snprintf(err, err_size, "Invalid url in bootstrap.servers: %s", tok);
            rc = SL_E_INVALID;
            break;
        }
        kc->bootstrap[kc->bootstrap_count++] = sl_strdup(tok);
    }
    sl_free(copy);
    if (rc == SL_OK && kc->bootstrap_count == 0) {
        snprintf(err, err_size, "No resolvable bootstrap urls given in bootstrap.servers");
        rc = SL_E_INVALID;
    }
    return rc;
}

/* Properties from --command-config: bootstrap.servers (when no --bootstrap-server),
 * client.id, request.timeout.ms / default.api.timeout.ms; anything but PLAINTEXT refused. */
static int kc_apply_config(tools_kc *kc,
                           const char *path,
                           const char **bootstrap,
                           sl_props *props,
                           char *err,
                           size_t err_size) {
    SL_TRY(sl_props_load(props, path, err, err_size));
    const char *proto = sl_props_get(props, "security.protocol");
    if (proto && strcasecmp(proto, "PLAINTEXT") != 0) {
        snprintf(
            err, err_size,
            "security.protocol=%s is not supported by the sluice admin client (PLAINTEXT only)",
            proto);
        return SL_E_UNSUPPORTED;
    }
    if (!*bootstrap) *bootstrap = sl_props_get(props, "bootstrap.servers");
    const char *cid = sl_props_get(props, "client.id");
    if (cid) snprintf(kc->client_id, sizeof(kc->client_id), "%s", cid);
    const char *t = sl_props_get(props, "default.api.timeout.ms");
    if (!t) t = sl_props_get(props, "request.timeout.ms");
    if (t && atoi(t) > 0) kc->timeout_ms = atoi(t);
    return SL_OK;
}

int tools_kc_open(const char *bootstrap,
                  const char *command_config,
                  const char *client_id,
                  tools_kc **kc_out,
                  char *err,
                  size_t err_size) {
    tools_kc *kc = SL_NEW(tools_kc);
    snprintf(kc->client_id, sizeof(kc->client_id), "%s", client_id ? client_id : "sluice-admin");
    kc->timeout_ms = TOOLS_KC_TIMEOUT_MS;
    sl_props props;
    sl_props_init(&props);
    int rc = SL_OK;
    if (command_config) rc = kc_apply_config(kc, command_config, &bootstrap, &props, err, err_size);
    if (rc == SL_OK && (!bootstrap || !bootstrap[0])) {
        snprintf(err, err_size, "Missing required argument \"[bootstrap-server]\"");
        rc = SL_E_INVALID;
    }
    if (rc == SL_OK) rc = kc_set_bootstrap(kc, bootstrap, err, err_size);
    sl_props_deinit(&props);
    if (rc != SL_OK) {
        tools_kc_close(kc);
        return rc;
    }
    *kc_out = kc;
    return SL_OK;
}

static void kc_conn_close(kc_conn *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

void tools_kc_close(tools_kc *kc) {
    if (!kc) return;
    for (size_t i = 0; i < kc->conn_count; i++) {
        kc_conn_close(&kc->conns[i]);
    }
    for (size_t i = 0; i < kc->bootstrap_count; i++) {
        sl_free(kc->bootstrap[i]);
    }
    sl_free(kc->conns);
    sl_free(kc->nodes);
    sl_free(kc);
}

int tools_kc_timeout_ms(const tools_kc *kc) {
    return kc->timeout_ms;
}

void tools_kc_set_timeout_ms(tools_kc *kc, int timeout_ms) {
    if (timeout_ms > 0) kc->timeout_ms = timeout_ms;
}

/* ---- sockets ---- */

static int kc_remaining_ms(int64_t deadline_ms) {
    int64_t left = deadline_ms - sl_now_ms();
    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

static int kc_wait(int fd, short events, int64_t deadline_ms) {
    struct pollfd p = { .fd = fd, .events = events };
    for (int guard = 0; guard < 1000000; guard++) {
        int left = kc_remaining_ms(deadline_ms);
        if (left == 0) return SL_E_TIMEOUT;
        int n = poll(&p, 1, left);
        if (n > 0) return SL_OK;
        if (n < 0 && errno != EINTR) return -errno;
    }
    return SL_E_TIMEOUT;
}

/* Non-blocking connect to one resolved address, bounded by the deadline. */
static int kc_connect_addr(const struct addrinfo *ai, int64_t deadline_ms) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
        rc = -errno;
        close(fd);
        return rc;
    }
    if (rc != 0) {
        rc = kc_wait(fd, POLLOUT, deadline_ms);
        int so_err = 0;
        socklen_t len = sizeof(so_err);
        if (rc == SL_OK && getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_err, &len) == 0 && so_err) {
            rc = -so_err;
        }
        if (rc != SL_OK) {
            close(fd);
            return rc;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int kc_connect(const char *host, int port, int64_t deadline_ms) {
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, service, &hints, &res) != 0) return SL_E_NOT_FOUND;
    int fd = SL_E_CLOSED;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = kc_connect_addr(ai, deadline_ms);
    }
    freeaddrinfo(res);
    return fd;
}

static int kc_send_all(int fd, const uint8_t *p, size_t len, int64_t deadline_ms) {
    size_t done = 0;
    for (int guard = 0; done < len && guard < 1000000; guard++) {
        ssize_t n = send(fd, p + done, len - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) return -errno;
        SL_TRY(kc_wait(fd, POLLOUT, deadline_ms));
    }
    return done == len ? SL_OK : SL_E_TIMEOUT;
}

static int kc_recv_all(int fd, uint8_t *p, size_t len, int64_t deadline_ms) {
    size_t done = 0;
    for (int guard = 0; done < len && guard < 10000000; guard++) {
        ssize_t n = recv(fd, p + done, len - done, 0);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n == 0) return SL_E_CLOSED;
        if (errno != EAGAIN && errno != EINTR) return -errno;
        SL_TRY(kc_wait(fd, POLLIN, deadline_ms));
    }
    return done == len ? SL_OK : SL_E_TIMEOUT;
}

/* ---- one request on one connection ---- */

/* Encode and send a request; returns its correlation id through *corr_out. */
static int kc_send(tools_kc *kc,
                   kc_conn *c,
                   const protocol_api *api,
                   int16_t version,
                   const void *req,
                   int64_t deadline_ms) {
    sl_buf out;
    sl_buf_init(&out);
    size_t slot = sl_buf_put_slot_i32(&out);
    protocol_request_header h = { .api_key = api->key,
                                  .api_version = version,
                                  .correlation_id = ++c->correlation_id,
                                  .client_id = sl_str_c(kc->client_id) };
    protocol_request_header_encode(&out, &h);
    api->request_encode(&out, version, req);
    sl_buf_patch_i32(&out, slot, (int32_t)(out.len - 4));
    int rc = kc_send_all(c->fd, out.data, out.len, deadline_ms);
    sl_buf_deinit(&out);
    return rc;
}

/* Read one response frame into arena memory; *body_out is past the response header. */
static int kc_recv(kc_conn *c,
                   const protocol_api *api,
                   int16_t version,
                   sl_arena *arena,
                   sl_reader *body_out,
                   int64_t deadline_ms) {
    uint8_t len_bytes[4];
    SL_TRY(kc_recv_all(c->fd, len_bytes, 4, deadline_ms));
    int32_t len = (int32_t)sl_load_be32(len_bytes);
    SL_RETURN_IF(len < 4 || len > TOOLS_KC_RESPONSE_MAX, SL_E_CORRUPT, "len=%d", (int)len);
    uint8_t *frame = sl_arena_alloc(arena, (size_t)len);
    SL_TRY(kc_recv_all(c->fd, frame, (size_t)len, deadline_ms));
    sl_reader_init(body_out, frame, (size_t)len);
    int32_t corr = sl_reader_i32(body_out);
    SL_RETURN_IF(corr != c->correlation_id, SL_E_CORRUPT, "corr=%d", (int)corr);
    if (protocol_response_header_version(api->key, version) >= 1) protocol_skip_tags(body_out);
    return sl_reader_err(body_out) ? SL_E_CORRUPT : SL_OK;
}

static int kc_roundtrip(tools_kc *kc,
                        kc_conn *c,
                        const protocol_api *api,
                        int16_t version,
                        const void *req,
                        void *resp,
                        sl_arena *arena,
                        int64_t deadline_ms) {
    int rc = kc_send(kc, c, api, version, req, deadline_ms);
    sl_reader body;
    if (rc == SL_OK) rc = kc_recv(c, api, version, arena, &body, deadline_ms);
    if (rc == SL_OK) rc = api->response_decode(&body, version, arena, resp);
    if (rc != SL_OK) kc_conn_close(c); /* the stream position is unknown now */
    return rc;
}

/* ApiVersions on a fresh connection: v3, then v0 if the peer refuses v3 (KIP-511). */
static int kc_handshake(tools_kc *kc, kc_conn *c, int64_t deadline_ms) {
    const protocol_api *api = protocol_api_find(18);
    SL_ASSERT(api != NULL);
    protocol_ApiVersionsRequest req;
    protocol_ApiVersionsRequest_init(&req);
    req.ClientSoftwareName = sl_str_c("sluice");
    req.ClientSoftwareVersion = sl_str_c("1.0");
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_ApiVersionsResponse resp;
    int rc = kc_send(kc, c, api, 3, &req, deadline_ms);
    sl_reader body;
    if (rc == SL_OK) rc = kc_recv(c, api, 3, &arena, &body, deadline_ms);
    if (rc == SL_OK) {
        /* KIP-511: a broker that does not know v3 answers UNSUPPORTED_VERSION (in the v0
         * layout for Kafka, in the requested one for some others): either way, ask again
         * at v0, which every broker answers. */
        sl_reader peek = body;
        if (sl_reader_i16(&peek) == PROTOCOL_ERR_UNSUPPORTED_VERSION) {
            rc = kc_roundtrip(kc, c, api, 0, &req, &resp, &arena, deadline_ms);
        } else {
            rc = api->response_decode(&body, 3, &arena, &resp);
        }
    }
    if (rc != SL_OK) kc_conn_close(c);
    if (rc == SL_OK && resp.ErrorCode != 0) rc = SL_E_UNSUPPORTED;
    for (int k = 0; k < KC_API_KEYS_MAX; k++) {
        c->api_max[k] = -1;
    }
    for (int32_t i = 0; rc == SL_OK && i < resp.ApiKeys.count; i++) {
        const protocol_ApiVersionsResponse_ApiVersion *v = &resp.ApiKeys.items[i];
        if (v->ApiKey < 0 || v->ApiKey >= KC_API_KEYS_MAX) continue;
        c->api_min[v->ApiKey] = v->MinVersion;
        c->api_max[v->ApiKey] = v->MaxVersion;
    }
    sl_arena_deinit(&arena);
    return rc;
}

/* ---- connections and nodes ---- */

static const kc_node *kc_node_find(const tools_kc *kc, int32_t id) {
    for (size_t i = 0; i < kc->node_count; i++) {
        if (kc->nodes[i].id == id) return &kc->nodes[i];
    }
    return NULL;
}

void tools_kc_node_add(tools_kc *kc, int32_t id, const char *host, size_t host_len, int port) {
    kc_node *n = (kc_node *)kc_node_find(kc, id);
    if (!n) {
        if (kc->node_count == KC_NODES_MAX) return;
        kc->nodes = sl_realloc(kc->nodes, (kc->node_count + 1) * sizeof(*kc->nodes));
        n = &kc->nodes[kc->node_count++];
        n->id = id;
    }
    if (host_len >= sizeof(n->host)) host_len = sizeof(n->host) - 1;
    memcpy(n->host, host, host_len);
    n->host[host_len] = '\0';
    n->port = port;
}

static kc_conn *kc_conn_slot(tools_kc *kc, int32_t id, const char *host, int port) {
    for (size_t i = 0; i < kc->conn_count; i++) {
        kc_conn *c = &kc->conns[i];
        if (c->node_id != id) continue;
        if (strcmp(c->host, host) != 0 || c->port != port) {
            kc_conn_close(c); /* the node moved */
            snprintf(c->host, sizeof(c->host), "%s", host);
            c->port = port;
        }
        return c;
    }
    if (kc->conn_count == kc->conn_cap) {
        kc->conn_cap = kc->conn_cap ? kc->conn_cap * 2 : 8;
        kc->conns = sl_realloc(kc->conns, kc->conn_cap * sizeof(*kc->conns));
    }
    kc_conn *c = &kc->conns[kc->conn_count++];
    memset(c, 0, sizeof(*c));
    c->node_id = id;
    c->fd = -1;
    snprintf(c->host, sizeof(c->host), "%s", host);
    c->port = port;
    return c;
}

static int kc_conn_open(tools_kc *kc, kc_conn *c, int64_t deadline_ms) {
    if (c->fd >= 0) return SL_OK;
    int fd = kc_connect(c->host, c->port, deadline_ms);
    if (fd < 0) return fd;
    c->fd = fd;
    int rc = kc_handshake(kc, c, deadline_ms);
    if (rc != SL_OK) kc_conn_close(c);
    return rc;
}

/* The open bootstrap connection, trying each address in turn. */
static int kc_bootstrap_conn(tools_kc *kc, int64_t deadline_ms, kc_conn **out) {
    for (size_t i = 0; i < kc->conn_count; i++) {
        if (kc->conns[i].node_id == KC_BOOTSTRAP_ID && kc->conns[i].fd >= 0) {
            *out = &kc->conns[i];
            return SL_OK;
        }
    }
    int rc = SL_E_CLOSED;
    for (size_t i = 0; i < kc->bootstrap_count; i++) {
        char host[KC_HOST_MAX];
        int port = 0;
        if (kc_parse_address(kc->bootstrap[i], host, sizeof(host), &port) != SL_OK) continue;
        kc_conn *c = kc_conn_slot(kc, KC_BOOTSTRAP_ID, host, port);
        rc = kc_conn_open(kc, c, deadline_ms);
        if (rc == SL_OK) {
            *out = c;
            return SL_OK;
        }
        SL_LOG(SL_DEBUG, "tools", "bootstrap_failed", "addr=%s err=%s", kc->bootstrap[i],
               sl_strerror(rc));
    }
    return rc;
}

static int kc_node_conn(tools_kc *kc, int32_t node_id, int64_t deadline_ms, kc_conn **out) {
    if (node_id == TOOLS_KC_ANY) return kc_bootstrap_conn(kc, deadline_ms, out);
    const kc_node *n = kc_node_find(kc, node_id);
    if (!n) return SL_E_NOT_FOUND;
    kc_conn *c = kc_conn_slot(kc, node_id, n->host, n->port);
    SL_TRY(kc_conn_open(kc, c, deadline_ms));
    *out = c;
    return SL_OK;
}

/* ---- calls ---- */

static int kc_pick_version(const kc_conn *c,
                           const protocol_api *api,
                           int16_t max_version,
                           int16_t *version_out) {
    int16_t ours = api->max_version;
    if (api->unstable_max && ours > api->min_version) ours--;
    if (max_version >= 0 && max_version < ours) ours = max_version;
    int16_t theirs = api->key < KC_API_KEYS_MAX ? c->api_max[api->key] : -1;
    if (theirs < 0) return SL_E_UNSUPPORTED;
    int16_t v = ours < theirs ? ours : theirs;
    if (v < c->api_min[api->key] || v < api->min_version) return SL_E_UNSUPPORTED;
    *version_out = v;
    return SL_OK;
}

static void kc_describe_failure(const tools_kc *kc,
                                int32_t node_id,
                                const protocol_api *api,
                                int rc,
                                char *err,
                                size_t err_size) {
    if (rc == SL_E_UNSUPPORTED) {
        snprintf(err, err_size, "The node does not support %s", api->name);
    } else if (rc == SL_E_NOT_FOUND && node_id != TOOLS_KC_ANY) {
        snprintf(err, err_size, "Unknown node %d", (int)node_id);
    } else if (node_id == TOOLS_KC_ANY && (rc == SL_E_TIMEOUT || rc == SL_E_CLOSED || rc < 0)) {
        snprintf(err, err_size, "Timed out waiting for a node assignment. Call: %s (%s)", api->name,
                 kc->bootstrap_count ? kc->bootstrap[0] : "");
    } else {
        snprintf(err, err_size, "%s request to node %d failed: %s", api->name, (int)node_id,
                 sl_strerror(rc));
    }
}

int tools_kc_call(tools_kc *kc,
                  int32_t node_id,
                  int16_t api_key,
                  int16_t max_version,
                  const void *req,
                  void *resp,
                  sl_arena *arena,
                  int16_t *version_out,
                  char *err,
                  size_t err_size) {
    const protocol_api *api = protocol_api_find(api_key);
    SL_ASSERT(api != NULL);
    int64_t deadline_ms = sl_now_ms() + kc->timeout_ms;
    int rc = SL_E_CLOSED;
    /* A broken connection is reopened once: brokers close idle connections. */
    for (int attempt = 0; attempt < 2; attempt++) {
        kc_conn *c = NULL;
        rc = kc_node_conn(kc, node_id, deadline_ms, &c);
        int16_t version = 0;
        if (rc == SL_OK) rc = kc_pick_version(c, api, max_version, &version);
        if (rc == SL_OK) rc = kc_roundtrip(kc, c, api, version, req, resp, arena, deadline_ms);
        if (rc == SL_OK) {
            if (version_out) *version_out = version;
            return SL_OK;
        }
        if (rc == SL_E_UNSUPPORTED || rc == SL_E_NOT_FOUND || rc == SL_E_TIMEOUT) break;
    }
    kc_describe_failure(kc, node_id, api, rc, err, err_size);
    return rc;
}

int tools_kc_api_versions(
    tools_kc *kc, int32_t node_id, int16_t *min_out, int16_t *max_out, char *err, size_t err_size) {
    kc_conn *c = NULL;
    int rc = kc_node_conn(kc, node_id, sl_now_ms() + kc->timeout_ms, &c);
    if (rc != SL_OK) {
        snprintf(err, err_size, "Failed to connect to node %d: %s", (int)node_id, sl_strerror(rc));
        return rc;
    }
    for (int k = 0; k < TOOLS_KC_API_KEYS; k++) {
        min_out[k] = c->api_min[k];
        max_out[k] = c->api_max[k];
    }
    return SL_OK;
}

/* ---- metadata, coordinators ---- */

int tools_kc_metadata(tools_kc *kc,
                      const char *const *topics,
                      size_t topic_count,
                      sl_arena *arena,
                      protocol_MetadataResponse *md_out,
                      int16_t *version_out,
                      char *err,
                      size_t err_size) {
    protocol_MetadataRequest req;
    protocol_MetadataRequest_init(&req);
    req.AllowAutoTopicCreation = false;
    if (topics) {
        req.Topics.count = (int32_t)topic_count;
        req.Topics.items =
            sl_arena_array(arena, topic_count ? topic_count : 1, sizeof(*req.Topics.items));
        for (size_t i = 0; i < topic_count; i++) {
            protocol_MetadataRequest_MetadataRequestTopic_init(&req.Topics.items[i]);
            req.Topics.items[i].Name = sl_str_c(topics[i]);
        }
    } else {
        req.Topics.count = -1; /* all topics (v1+) */
    }
    int16_t version = 0;
    SL_TRY(tools_kc_call(kc, TOOLS_KC_ANY, 3, 12, &req, md_out, arena, &version, err, err_size));
    for (int32_t i = 0; i < md_out->Brokers.count; i++) {
        const protocol_MetadataResponse_MetadataResponseBroker *b = &md_out->Brokers.items[i];
        tools_kc_node_add(kc, b->NodeId, b->Host.ptr, (size_t)(b->Host.len > 0 ? b->Host.len : 0),
                          b->Port);
    }
    if (version_out) *version_out = version;
    return SL_OK;
}

int tools_kc_find_coordinator(
    tools_kc *kc, const char *group, int32_t *node_out, char *err, size_t err_size) {
    int64_t deadline_ms = sl_now_ms() + kc->timeout_ms;
    int16_t last_error = 0;
    /* Retry while the coordinator is loading or not yet elected, as clients do. */
    for (int attempt = 0; attempt < 1000 && sl_now_ms() < deadline_ms; attempt++) {
        protocol_FindCoordinatorRequest req;
        protocol_FindCoordinatorRequest_init(&req);
        req.Key = sl_str_c(group);
        req.KeyType = 0;
        sl_arena arena;
        sl_arena_init(&arena);
        protocol_FindCoordinatorResponse resp;
        int rc = tools_kc_call(kc, TOOLS_KC_ANY, 10, 3, &req, &resp, &arena, NULL, err, err_size);
        if (rc == SL_OK && resp.ErrorCode == 0) {
            tools_kc_node_add(kc, resp.NodeId, resp.Host.ptr,
                              (size_t)(resp.Host.len > 0 ? resp.Host.len : 0), resp.Port);
            *node_out = resp.NodeId;
        }
        last_error = rc == SL_OK ? resp.ErrorCode : 0;
        sl_arena_deinit(&arena);
        if (rc != SL_OK) return rc;
        if (last_error == 0) return SL_OK;
        if (!protocol_error_retriable(last_error)) break;
        usleep(100 * 1000);
    }
    snprintf(err, err_size, "%s",
             tools_error_message(last_error ? last_error : PROTOCOL_ERR_REQUEST_TIMED_OUT));
    return SL_E_STATE;
}

bool tools_kc_node_address(
    const tools_kc *kc, int32_t node_id, char *out, size_t out_size, int *port_out) {
    const kc_node *n = kc_node_find(kc, node_id);
    if (!n) return false;
    snprintf(out, out_size, "%s", n->host);
    *port_out = n->port;
    return true;
}
