/*
 * Shortest round-trip formatting. v = m * 2^e2 is scaled by 10^k so that v * 10^k has
 * about 17 digits; the half-ulp interval around v is then an interval of integers
 * [xlo, xhi] (in units of 10^-k), and the answer is the multiple of the largest power of
 * ten in that interval nearest to v. All products fit in unsigned __int128 for the range
 * handled here; everything else falls back to json_format_double.
 */
#include "numfmt.h"

#include "jsonw.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef unsigned __int128 u128;

static u128 pow10u(int k)
{
    u128 p = 1;
    while (k-- > 0)
        p *= 10;
    return p;
}

int numfmt_double(char *out, double v)
{
    if (!(v >= 1e-4 && v < 1e15))
        return json_format_double(out, v);
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    int be = (int)((bits >> 52) & 0x7ff);
    uint64_t m = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
    int e2 = be - 1075;
    /* A power of two has a narrower interval below it; integers >= 2^52 are rare here. */
    if (m == (1ULL << 52) || e2 >= 0)
        return json_format_double(out, v);
    int k = 16 - (int)floor(log10(v));
    u128 pk = pow10u(k);
    u128 v2 = (u128)(2 * m) * pk, lo2 = (u128)(2 * m - 1) * pk, hi2 = (u128)(2 * m + 1) * pk;
    int sh = 1 - e2;
    u128 mask = ((u128)1 << sh) - 1;
    /* Round-half-even: an even mantissa owns the boundaries of its interval. */
    bool incl = (m & 1) == 0;
    u128 xlo = lo2 >> sh, xhi = hi2 >> sh;
    if ((lo2 & mask) != 0 || !incl)
        xlo++;
    if ((hi2 & mask) == 0 && !incl)
        xhi--;
    u128 d = 0;
    int found = -1;
    /* No power of ten wider than the interval can have a multiple inside it (but for
     * luck), so start at the interval's own width: two or three steps instead of 19. */
    int jmax = 0;
    for (u128 w = xhi - xlo + 1; w >= 10; w /= 10)
        jmax++;
    for (int j = jmax + 1; j >= 0; j--) {
        u128 p = pow10u(j);
        u128 P = p << sh;
        u128 q = v2 / P, rem = v2 % P;
        u128 c = q * p;
        if (rem * 2 > P || (rem * 2 == P && (q & 1)))
            c += p;
        if (c >= xlo && c <= xhi && c > 0) {
            d = c;
            found = j;
            break;
        }
    }
    if (found < 0)
        return json_format_double(out, v);
    char digits[48];
    int nd = 0;
    for (u128 x = d; x; x /= 10)
        digits[nd++] = (char)('0' + (int)(x % 10));
    /* digits[] is reversed; the value is D * 10^-k. */
    int intd = nd - k; /* digits before the point */
    int o = 0;
    if (intd <= 0) {
        out[o++] = '0';
    } else {
        for (int i = 0; i < intd; i++)
            out[o++] = digits[nd - 1 - i];
    }
    out[o++] = '.';
    int fstart = o;
    for (int i = intd; i < 0; i++)
        out[o++] = '0';
    for (int i = intd > 0 ? intd : 0; i < nd; i++)
        out[o++] = digits[nd - 1 - i];
    while (o > fstart + 1 && out[o - 1] == '0')
        o--;
    if (o == fstart)
        out[o++] = '0';
    out[o] = '\0';
    return o;
}
