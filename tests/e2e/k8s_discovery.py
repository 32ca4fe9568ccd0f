"""A stand-in for a Kubernetes API server's discovery endpoints (for kubectl, offline).

kubectl's `apply --dry-run=client` maps each object's kind to a resource by asking the
server's discovery API (/api, /apis, /apis/batch/v1), even with --validate=false; this
answers those for core/v1 and batch/v1 (Jobs, Pods) and 404 for everything else (an object
lookup then means "not there yet": created, dry run). It validates nothing itself. Prints
its port, serves on 127.0.0.1 until killed."""
import http.server
import json

RES = {
    "/api": {"kind": "APIVersions", "versions": ["v1"],
             "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                             "serverAddress": "127.0.0.1"}]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1",
              "groups": [{"name": "batch",
                          "versions": [{"groupVersion": "batch/v1", "version": "v1"}],
                          "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"}}]},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1",
                "resources": [{"name": "pods", "singularName": "pod", "namespaced": True,
                               "kind": "Pod", "verbs": ["create", "get", "list"]}]},
    "/apis/batch/v1": {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "batch/v1",
                       "resources": [{"name": "jobs", "singularName": "job", "namespaced": True,
                                      "kind": "Job",
                                      "verbs": ["create", "delete", "get", "list", "patch"]}]},
}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = RES.get(self.path.split("?")[0])
        code = 200 if body else 404
        body = body or {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "reason": "NotFound", "code": 404}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()
