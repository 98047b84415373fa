/*
 * types/repr.c: the sink that repr hooks write into, and Python's quoting
 * of str and bytes.
 */
#include <stdio.h>
#include <string.h>

#include "types/types.h"

void ty_sink_write(ty_sink *s, const char *p, size_t n)
{
    if (s->len + 1 < s->size) {
        size_t room = s->size - 1 - s->len;
        size_t k = n < room ? n : room;
        memcpy(s->buf + s->len, p, k);
        s->buf[s->len + k] = '\0';
    }
    s->len += n;
}

void ty_sink_puts(ty_sink *s, const char *p)
{
    ty_sink_write(s, p, strlen(p));
}

void ty_sink_printf(ty_sink *s, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        ty_sink_write(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void ty_sink_repr(ty_sink *s, om_object *o)
{
    size_t room = s->len + 1 < s->size ? s->size - s->len : 0;
    size_t n = om_repr(o, room ? s->buf + s->len : NULL, room);
    if (room == 0 && s->size)
        s->buf[s->size - 1] = '\0';
    s->len += n;
}

/* Python picks single quotes unless the text has a ' and no ". */
static char pick_quote(const char *p, size_t n)
{
    bool single = memchr(p, '\'', n) != NULL;
    bool dbl = memchr(p, '"', n) != NULL;
    return single && !dbl ? '"' : '\'';
}

static const char *escape_of(unsigned char c, char quote)
{
    switch (c) {
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    case '\'':
        return quote == '\'' ? "\\'" : NULL;
    default:
        return NULL;
    }
}

void ty_sink_quoted(ty_sink *s, const char *p, size_t n, bool is_bytes)
{
    char quote = pick_quote(p, n);
    if (is_bytes)
        ty_sink_write(s, "b", 1);
    ty_sink_write(s, &quote, 1);
    size_t run = 0; /* start of the pending run of plain bytes */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        const char *esc = escape_of(c, quote);
        bool hex = !esc && (c < 0x20 || c == 0x7f || (is_bytes && c > 0x7f));
        if (!esc && !hex)
            continue;
        ty_sink_write(s, p + run, i - run);
        run = i + 1;
        if (esc)
            ty_sink_puts(s, esc);
        else
            ty_sink_printf(s, "\\x%02x", c);
    }
    ty_sink_write(s, p + run, n - run);
    ty_sink_write(s, &quote, 1);
}
