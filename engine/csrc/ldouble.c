/*
 * Long-double arithmetic for INCRBYFLOAT/HINCRBYFLOAT.
 *
 * Redis computes these increments in C `long double` (80-bit extended
 * precision on x86-64) and prints the result with "%.17Lf" before trimming
 * trailing zeros. Rust has no extended-precision float, so the few lines
 * that must round exactly like Redis live here.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LD_BUF 5120

/* Parse like Redis's string2ld. Returns 1 on success. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[LD_BUF];
    char *end;
    long double v;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || end[0] != '\0' ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        errno == EINVAL || isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* Format like Redis's ld2string in "human" mode. Returns the length or -1. */
static int format_ld(long double v, char *out, size_t cap) {
    int l;
    if (isinf(v)) {
        const char *txt = v > 0 ? "inf" : "-inf";
        l = (int)strlen(txt);
        if ((size_t)l + 1 > cap) return -1;
        memcpy(out, txt, (size_t)l + 1);
        return l;
    }
    l = snprintf(out, cap, "%.17Lf", v);
    if (l < 0 || (size_t)l + 1 > cap) return -1;
    if (strchr(out, '.') != NULL) {
        char *p = out + l - 1;
        while (*p == '0') { p--; l--; }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; l = 1; }
    out[l] = '\0';
    return l;
}

/*
 * current + increment, both as text. Returns:
 *   >= 0  length of the formatted result written to `out`
 *   -1    `current` is not a valid float
 *   -2    `increment` is not a valid float
 *   -3    the result is NaN or infinite
 *   -4    output buffer too small
 */
int shoal_ld_add(const char *cur, size_t cur_len, const char *inc, size_t inc_len,
                 char *out, size_t cap) {
    long double a = 0, b = 0, r;
    if (cur != NULL && !parse_ld(cur, cur_len, &a)) return -1;
    if (!parse_ld(inc, inc_len, &b)) return -2;
    r = a + b;
    if (isnan(r) || isinf(r)) return -3;
    {
        int l = format_ld(r, out, cap);
        return l < 0 ? -4 : l;
    }
}

/* Validate a long double argument (string2ld). Returns 1 when valid. */
int shoal_ld_valid(const char *s, size_t len) {
    long double v;
    return parse_ld(s, len, &v);
}
