/* Frame encoding and decoding shared by host and guest; a port reads frames from any fd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "chan.h"

static uint32_t chan_le32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return u[0] | u[1] << 8 | u[2] << 16 | (uint32_t)u[3] << 24;
}

static void chan_put_le32(char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static uint32_t chan_crc(const void *p, size_t n)
{
	return crc32(crc32(0, Z_NULL, 0), p, n);
}

void chan_header(char hdr[CHAN_HDR_LEN], const void *payload, size_t n)
{
	memcpy(hdr, CHAN_MAGIC, 4);
	chan_put_le32(hdr + 4, n);
	chan_put_le32(hdr + 8, chan_crc(payload, n));
}

int chan_buf_append(struct chan_buf *b, const void *p, size_t n)
{
	if (b->off && b->off == b->len) {
		b->off = 0;
		b->len = 0;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		if (b->off) {
			memmove(b->data, b->data + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		while (cap < b->len + n)
			cap *= 2;
		if (cap != b->cap) {
			d = realloc(b->data, cap);
			if (!d)
				return -ENOMEM;
			b->data = d;
			b->cap = cap;
		}
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void chan_buf_free(struct chan_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int chan_buf_ready(const struct chan_buf *b)
{
	const char *h = b->data + b->off;
	size_t avail = b->len - b->off;

	if (!b->data || avail < CHAN_HDR_LEN)
		return 0;
	/* a bad header (magic, absurd length) is "ready" too: chan_buf_next reports it */
	return memcmp(h, CHAN_MAGIC, 4) != 0 || chan_le32(h + 4) > CHAN_MAX_LEN ||
	       avail >= CHAN_HDR_LEN + (size_t)chan_le32(h + 4);
}

int chan_buf_next(struct chan_buf *b, const char **payload, size_t *len,
		  char *err, size_t errlen)
{
	const char *h = b->data + b->off;
	size_t avail = b->len - b->off;
	uint32_t n, crc;

	if (avail < CHAN_HDR_LEN)
		return 0;
	if (memcmp(h, CHAN_MAGIC, 4) != 0) {
		snprintf(err, errlen, "bad frame magic %02x%02x%02x%02x (want %s)",
			 (unsigned char)h[0], (unsigned char)h[1],
			 (unsigned char)h[2], (unsigned char)h[3], CHAN_MAGIC);
		return -EBADMSG;
	}
	n = chan_le32(h + 4);
	if (n > CHAN_MAX_LEN) {
		snprintf(err, errlen, "frame length %u exceeds %u", n,
			 CHAN_MAX_LEN);
		return -EBADMSG;
	}
	if (avail < CHAN_HDR_LEN + n)
		return 0;
	crc = chan_crc(h + CHAN_HDR_LEN, n);
	if (crc != chan_le32(h + 8)) {
		snprintf(err, errlen, "frame checksum %08x, computed %08x (%u bytes)",
			 chan_le32(h + 8), crc, n);
		return -EBADMSG;
	}
	*payload = h + CHAN_HDR_LEN;
	*len = n;
	b->off += CHAN_HDR_LEN + n;
	return 1;
}

static int chan_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };

				poll(&pfd, 1, 1000);
				continue;
			}
			return -errno;
		}
		p += w;
		n -= w;
	}
	return 0;
}

int chan_write_frame(int fd, const void *payload, size_t n)
{
	char hdr[CHAN_HDR_LEN];
	int rc;

	if (n > CHAN_MAX_LEN)
		return -EMSGSIZE;
	chan_header(hdr, payload, n);
	rc = chan_write_all(fd, hdr, sizeof(hdr));
	return rc ? rc : chan_write_all(fd, payload, n);
}

int chan_port_recv(struct chan_port *p, int timeout_ms, const char **payload,
		   size_t *len, char *err, size_t errlen)
{
	char buf[65536];

	for (;;) {
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		int rc = chan_buf_next(&p->in, payload, len, err, errlen);
		ssize_t n;

		if (rc)
			return rc;
		rc = poll(&pfd, 1, timeout_ms);
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return 0;
		n = read(p->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		rc = chan_buf_append(&p->in, buf, n);
		if (rc)
			return rc;
	}
}

void chan_port_close(struct chan_port *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	chan_buf_free(&p->in);
}
