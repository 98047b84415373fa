/*
 * types/utf8.c: UTF-8 validation, as the Unicode standard defines it
 * (chapter 3, table 3-7, "well-formed UTF-8 byte sequences"): no overlong
 * forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
 *
 * One pass; an ASCII run is skipped eight bytes at a time.
 */
#include <string.h>

#include "types/types.h"

/* Length of the well-formed sequence at s[0..n), or 0 if it is not. */
static size_t sequence_length(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong below U+0800 */
        if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong below U+10000 */
        if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

int64_t ty_utf8_check(const char *str, size_t len, size_t *nchars)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, count = 0;
    while (i < len) {
        if (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ull)) {
                i += 8;
                count += 8;
                continue;
            }
        }
        if (s[i] < 0x80) {
            i++;
        } else {
            size_t k = sequence_length(s + i, len - i);
            if (k == 0)
                return (int64_t)i;
            i += k;
        }
        count++;
    }
    *nchars = count;
    return -1;
}
