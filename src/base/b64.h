/* Base64 (RFC 4648, padded): binary payloads inside JSON frames. */
#ifndef KTSTR_B64_H
#define KTSTR_B64_H

#include <stddef.h>

/* Bytes b64_encode writes for n input bytes (no terminator). */
size_t b64_encoded_len(size_t n);
/* Encodes n bytes of in into out (b64_encoded_len(n) bytes). */
void b64_encode(const unsigned char *in, size_t n, char *out);
/*
 * Decodes n characters of in into out (room for n / 4 * 3 bytes); returns
 * the bytes written, or -EINVAL at a character outside the alphabet, a
 * length that is not a multiple of 4 or padding anywhere but the end.
 */
long b64_decode(const char *in, size_t n, unsigned char *out);

#endif
