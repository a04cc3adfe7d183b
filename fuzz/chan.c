/* libFuzzer target: the frame decoder (src/base/chan.c) on any byte stream, cut anywhere. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "src/base/chan.h"

/* The decoder must never do this; abort() is what libFuzzer reports as a crash. */
#define fuzz_assert(c) do { if (!(c)) abort(); } while (0)

static uint32_t fuzz_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * Random bytes almost never carry a right checksum, which would leave the
 * decoder's accepting path unexplored: when the first byte's low bit is set,
 * every whole frame the input holds gets its checksum fixed first.
 */
static void fuzz_fix_crcs(uint8_t *d, size_t n)
{
	size_t at = 0;

	while (at + CHAN_HDR_LEN <= n && !memcmp(d + at, CHAN_MAGIC, 4)) {
		uint32_t len = fuzz_le32(d + at + 4);
		char hdr[CHAN_HDR_LEN];

		if (len > n - at - CHAN_HDR_LEN)
			return;
		chan_header(hdr, d + at + CHAN_HDR_LEN, len);
		memcpy(d + at, hdr, CHAN_HDR_LEN);
		at += CHAN_HDR_LEN + len;
	}
}

/*
 * Input: one control byte (bit 0: fix checksums; bits 1-7: the chunk size
 * the stream arrives in, as a reader's short reads would cut it), then the
 * stream. Every frame the decoder returns must lie inside what was appended
 * and carry its checksum; a refusal must say why, and stick.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chan_buf b = { 0 };
	size_t chunk, fed = 0, taken = 0;
	uint8_t *d;
	char err[256];

	if (size < 1)
		return 0;
	chunk = (data[0] >> 1) + 1;
	d = malloc(size - 1 ? size - 1 : 1);
	fuzz_assert(d);
	memcpy(d, data + 1, size - 1);
	size--;
	if (data[0] & 1)
		fuzz_fix_crcs(d, size);

	while (fed < size) {
		size_t n = size - fed < chunk ? size - fed : chunk;
		const char *payload;
		size_t len;
		int rc;

		fuzz_assert(chan_buf_append(&b, d + fed, n) == 0);
		fed += n;
		for (;;) {
			int ready = chan_buf_ready(&b);

			err[0] = '\0';
			rc = chan_buf_next(&b, &payload, &len, err, sizeof(err));
			/* not ready means next would wait; ready means it would not */
			fuzz_assert(ready ? rc != 0 : rc == 0);
			if (rc != 1)
				break;
			fuzz_assert(len <= CHAN_MAX_LEN);
			fuzz_assert(taken + CHAN_HDR_LEN + len <= fed);
			fuzz_assert(!memcmp(payload, d + taken + CHAN_HDR_LEN, len));
			fuzz_assert(crc32(crc32(0, Z_NULL, 0), (const Bytef *)payload, len) ==
				    fuzz_le32(d + taken + 8));
			taken += CHAN_HDR_LEN + len;
		}
		if (rc < 0) {
			fuzz_assert(rc == -EBADMSG);
			fuzz_assert(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
			/* the stream cannot recover: the same refusal, whatever follows */
			fuzz_assert(chan_buf_next(&b, &(const char *){ 0 }, &(size_t){ 0 },
						  err, sizeof(err)) == -EBADMSG);
			break;
		}
	}
	chan_buf_free(&b);
	free(d);
	return 0;
}
