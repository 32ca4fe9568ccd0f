/* Fuzzes the JSON field scanner the dataset loaders and the trace reader stand on:
 * whatever the bytes, it must stay inside them, and whatever it accepts must hold
 * together (spans inside the input, strings that decode, prefixes no longer than the
 * input). */
#include "buf.h"
#include "err.h"
#include "fuzz.h"
#include "jscan.h"

#include <stdbool.h>
#include <stdint.h>

static void check_value(const unsigned char *data, size_t size, const struct jval *v, int depth,
                        struct buf *b)
{
    const char *lo = (const char *)data, *hi = lo + size;
    FUZZ_ASSERT(v->p >= lo && v->p + v->n <= hi);
    if (v->type == JT_STRING) {
        buf_reset(b);
        int rc = jval_str(v, b);
        FUZZ_ASSERT(rc == 0 || rc == ERR_INVALID);
        FUZZ_ASSERT(rc != 0 || b->len <= v->n);
    } else if (v->type == JT_NUMBER) {
        double x;
        int64_t i;
        (void)jval_int(v, &i);
        FUZZ_ASSERT(jval_double(v, &x) == 0 || v->n > 0);
    } else if ((v->type == JT_OBJECT || v->type == JT_ARRAY) && depth < 8) {
        struct jiter it, vit;
        struct jval k, e, vk, ve;
        FUZZ_ASSERT(jscan_enter(&it, v) == 0);
        /* An entered value is delimited without checks (it was validated): a validating
         * scan of the same bytes must hand out the same spans. */
        bool obj = v->type == JT_OBJECT;
        FUZZ_ASSERT((obj ? jscan_object(&vit, v->p, v->n) : jscan_array(&vit, v->p, v->n)) == 0);
        int rc;
        while ((rc = obj ? jscan_member(&it, &k, &e) : jscan_elem(&it, &e)) == 1) {
            FUZZ_ASSERT((obj ? jscan_member(&vit, &vk, &ve) : jscan_elem(&vit, &ve)) == 1);
            FUZZ_ASSERT(ve.type == e.type && ve.p == e.p && ve.n == e.n && ve.esc == e.esc);
            FUZZ_ASSERT(!obj || (vk.p == k.p && vk.n == k.n && vk.esc == k.esc));
            check_value(data, size, &e, depth + 1, b);
        }
        /* A value the scanner validated once must walk without errors. */
        FUZZ_ASSERT(rc == 0);
        FUZZ_ASSERT((obj ? jscan_member(&vit, &vk, &ve) : jscan_elem(&vit, &ve)) == 0);
    }
}

FUZZ_TARGET(trace_jscan)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    struct jiter it;
    struct jval k, v;
    if (jscan_object(&it, (const char *)data, size) == 0) {
        int rc;
        while ((rc = jscan_member(&it, &k, &v)) == 1) {
            FUZZ_ASSERT(k.type == JT_STRING);
            check_value(data, size, &v, 0, &b);
        }
        FUZZ_ASSERT(rc == 0 || rc == ERR_PARSE);
        FUZZ_ASSERT(rc == 0 || it.err_off <= size);
    }
    if (jscan_array(&it, (const char *)data, size) == 0) {
        while (jscan_elem(&it, &v) == 1)
            check_value(data, size, &v, 0, &b);
    }
    size_t used;
    const char *why;
    if (size && jscan_prefix((const char *)data, size, &v, &used, &why) == 0) {
        FUZZ_ASSERT(used > 0 && used <= size);
        check_value(data, size, &v, 0, &b);
    }
    buf_free(&b);
    return 0;
}
