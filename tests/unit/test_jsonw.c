#include "jsonw.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>

TEST(jsonw_nesting_and_escapes)
{
    struct buf b;
    buf_init(&b, 0);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "s");
    jsonw_str(&w, "a\"b\\c\n\x01\xc3\xa9");
    jsonw_key(&w, "a");
    jsonw_arr_begin(&w);
    jsonw_int(&w, -3);
    jsonw_double(&w, 0.1);
    jsonw_double(&w, 2.0);
    jsonw_double(&w, NAN);
    jsonw_bool(&w, true);
    jsonw_null(&w);
    jsonw_arr_end(&w);
    jsonw_key(&w, "o");
    jsonw_obj_begin(&w);
    jsonw_obj_end(&w);
    jsonw_obj_end(&w);
    CHECK_INT(w.err, 0);
    CHECK_STR(
        b.p,
        "{\"s\":\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\",\"a\":[-3,0.1,2.0,null,true,null],\"o\":{}}");
    buf_free(&b);
}

TEST(jsonw_double_roundtrip)
{
    double vals[] = {1e-300, 123456.789, 1.0 / 3.0, 5e20, -0.5};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char out[32];
        json_format_double(out, vals[i]);
        CHECK(strtod(out, NULL) == vals[i]);
    }
}
