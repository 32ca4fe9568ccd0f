/* Request bodies as the mock reads them: the first byte picks the endpoint, the rest is the
 * body. Invariants: a verdict is always given, errors always explain themselves, and what
 * a successful parse reports is within the documented ranges. */
#include "fuzz.h"
#include "mock_req.h"

#include <string.h>

FUZZ_TARGET(mock_req)
{
    if (size == 0)
        return 0;
    enum mock_endpoint ep = (enum mock_endpoint)(data[0] % (MOCK_EP_RESPONSES + 1));
    const char *body = (const char *)data + 1;
    struct mock_params p;
    struct diag d = {0};
    int rc = mock_req_parse(ep, body, size - 1, &p, &d);
    FUZZ_ASSERT(rc == 0 || rc == ERR_PARSE || rc == ERR_INVALID);
    if (rc != 0) {
        FUZZ_ASSERT(d.msg[0] != '\0');
        return 0;
    }
    FUZZ_ASSERT(p.prompt_tokens >= 0 && p.n_inputs >= 0);
    FUZZ_ASSERT(p.max_tokens == -1 || (p.max_tokens >= 1 && p.max_tokens <= 1000000));
    FUZZ_ASSERT(p.min_tokens >= 0 && p.min_tokens <= 1000000);
    FUZZ_ASSERT(strlen(p.model) < sizeof p.model);
    FUZZ_ASSERT((long)(size - 1) >= p.prompt_tokens || ep == MOCK_EP_COMPLETIONS ||
                ep == MOCK_EP_EMBEDDINGS);
    struct mock_params q;
    FUZZ_ASSERT(mock_req_parse(ep, body, size - 1, &q, &d) == 0 && q.hash == p.hash &&
                q.prompt_tokens == p.prompt_tokens);
    return 0;
}
