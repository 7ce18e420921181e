/* broker_io.c — a non-blocking socket with in-place frame parsing (see broker_int.h).
 *
 * The input buffer is parsed where it was read, so a produce request's record batches
 * reach the log without an intermediate copy. Consumed bytes are reclaimed by resetting
 * the buffer when it is empty, or by moving the unparsed tail to the front when room is
 * needed — only when no request holds views into it. */
#include "broker/broker_int.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <errno.h>
#include <event2/event.h>
#include <string.h>
#include <unistd.h>

#define IO_READ_CHUNK (256 * 1024) /* free space kept for each read: fewer syscalls */

void broker_io_init(broker_io *io, struct event_base *base, int fd,
                    void (*cb)(int fd, short what, void *arg), void *arg) {
    memset(io, 0, sizeof(*io));
    io->fd = fd;
    sl_buf_init(&io->in);
    sl_buf_init(&io->out);
    io->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, cb, arg);
    io->ev_write = event_new(base, fd, EV_WRITE | EV_PERSIST, cb, arg);
    io->last_active_ms = sl_now_ms();
}

void broker_io_deinit(broker_io *io) {
    if (io->ev_read) event_free(io->ev_read);
    if (io->ev_write) event_free(io->ev_write);
    if (io->fd >= 0) close(io->fd);
    sl_buf_deinit(&io->in);
    sl_buf_deinit(&io->out);
    io->ev_read = io->ev_write = NULL;
    io->fd = -1;
}

void broker_io_want_read(broker_io *io, bool on) {
    if (on == io->reading || io->eof) return;
    if (on) {
        event_add(io->ev_read, NULL);
    } else {
        event_del(io->ev_read);
    }
    io->reading = on;
}

static void io_compact(broker_io *io) {
    if (io->in_off == 0) return;
    size_t rest = io->in.len - io->in_off;
    if (rest) memmove(io->in.data, io->in.data + io->in_off, rest);
    io->in.len = rest;
    io->in_off = 0;
}

ssize_t broker_io_read(broker_io *io, size_t read_max, size_t frame_hint, bool compact) {
    if (io->eof) return -1;
    if (io->in_off == io->in.len) {
        io->in.len = io->in_off = 0;
    }
    size_t want = frame_hint > IO_READ_CHUNK ? frame_hint : IO_READ_CHUNK;
    if (compact && io->in.cap - io->in.len < want) io_compact(io);
    size_t room = io->in.cap - io->in.len;
    if (room < want) {
        if (!compact && io->in.len > 0) {
            /* growing would move the buffer under live views: read into what is left */
            if (room == 0) return 0;
            want = room;
        } else {
            sl_buf_ensure(&io->in, want);
            room = io->in.cap - io->in.len;
        }
    }
    if (room > read_max) room = read_max;
    ssize_t n;
    do {
        n = read(io->fd, io->in.data + io->in.len, room);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        io->in.len += (size_t)n;
        io->last_active_ms = sl_now_ms();
        return n;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    io->eof = true;
    return -1;
}

int broker_io_frame(broker_io *io, size_t max, const uint8_t **frame_out, size_t *size_out) {
    size_t avail = io->in.len - io->in_off;
    *size_out = 0;
    if (avail < 4) return SL_AGAIN;
    int32_t size = (int32_t)sl_load_be32(io->in.data + io->in_off);
    if (size < 0) return SL_E_CORRUPT;
    if ((size_t)size > max) return SL_E_TOO_LARGE;
    *size_out = (size_t)size;
    if (avail - 4 < (size_t)size) return SL_AGAIN;
    *frame_out = io->in.data + io->in_off + 4;
    return SL_OK;
}

void broker_io_consume(broker_io *io, size_t n) {
    io->in_off += n;
    if (io->in_off >= io->in.len) io->in.len = io->in_off = 0;
}

ssize_t broker_io_flush(broker_io *io) {
    while (io->out_off < io->out.len) {
        ssize_t n = write(io->fd, io->out.data + io->out_off, io->out.len - io->out_off);
        if (n > 0) {
            io->out_off += (size_t)n;
            io->last_active_ms = sl_now_ms();
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            event_add(io->ev_write, NULL);
            return (ssize_t)(io->out.len - io->out_off);
        }
        io->eof = true;
        return -1;
    }
    event_del(io->ev_write);
    /* keep large buffers from pinning memory after a big response */
    if (io->out.cap > 4 * IO_READ_CHUNK) {
        sl_buf_deinit(&io->out);
    } else {
        sl_buf_reset(&io->out);
    }
    io->out_off = 0;
    return 0;
}
