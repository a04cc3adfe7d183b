/* Base64 (RFC 4648, padded): binary payloads inside JSON frames. */
#include <errno.h>

#include "b64.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t b64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = in[i] << 16 | in[i + 1] << 8 | in[i + 2];

		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[v >> 12 & 63];
		*out++ = b64_alphabet[v >> 6 & 63];
		*out++ = b64_alphabet[v & 63];
	}
	if (i < n) {
		unsigned v = in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0);

		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[v >> 12 & 63];
		*out++ = i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=';
		*out++ = '=';
	}
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long b64_decode(const char *in, size_t n, unsigned char *out)
{
	size_t i, pad = 0;
	long len = 0;

	if (n % 4)
		return -EINVAL;
	if (n && in[n - 1] == '=')
		pad = n >= 2 && in[n - 2] == '=' ? 2 : 1;
	for (i = 0; i < n; i += 4) {
		int last = i + 4 == n, k;
		unsigned v = 0;

		for (k = 0; k < 4; k++) {
			int d = last && k >= 4 - (int)pad ? 0 : b64_value(in[i + k]);

			if (d < 0)
				return -EINVAL;
			v = v << 6 | d;
		}
		out[len++] = v >> 16;
		if (!last || pad < 2)
			out[len++] = v >> 8 & 255;
		if (!last || pad < 1)
			out[len++] = v & 255;
	}
	return len;
}
