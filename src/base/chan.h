/* The host <-> guest channel: length-prefixed, checksummed frames. */
#ifndef KTSTR_CHAN_H
#define KTSTR_CHAN_H

#include <stddef.h>
#include <stdint.h>

/*
 * A frame is a 12-byte header followed by the payload:
 *   "KTF1" | u32 payload length (LE) | u32 crc32 of the payload (LE)
 * The payload is JSON text, but the framing does not care.
 */
#define CHAN_MAGIC	"KTF1"
#define CHAN_HDR_LEN	12
#define CHAN_MAX_LEN	(64u << 20)

/* Accumulates bytes from a stream and cuts frames out of it. */
struct chan_buf {
	char *data;
	size_t len, cap, off;
};

int chan_buf_append(struct chan_buf *b, const void *p, size_t n);
void chan_buf_free(struct chan_buf *b);
/*
 * Returns 1 and points *payload and *len at the next frame (valid until the next
 * call), 0 when more bytes are needed, -EBADMSG with a reason in err.
 */
int chan_buf_next(struct chan_buf *b, const char **payload, size_t *len,
		  char *err, size_t errlen);

/* Whether b already holds one whole frame (chan_buf_next would not wait). */
int chan_buf_ready(const struct chan_buf *b);

/* Writes the header for a payload of n bytes into hdr. */
void chan_header(char hdr[CHAN_HDR_LEN], const void *payload, size_t n);
/* Writes one whole frame to a blocking fd; 0 or -errno. */
int chan_write_frame(int fd, const void *payload, size_t n);

/* A frame reader on an fd (the guest's virtio port, a unix socket), with a timeout. */
struct chan_port {
	int fd;
	struct chan_buf in;
	char name[64];
};

/* 1 with a frame, 0 on timeout (ms < 0 waits forever), -errno, -EBADMSG. */
int chan_port_recv(struct chan_port *p, int timeout_ms, const char **payload,
		   size_t *len, char *err, size_t errlen);
void chan_port_close(struct chan_port *p);

#endif
