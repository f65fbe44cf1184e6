/**
 * `PostgresCluster` and `AppServerPool` on a swarm network under the real engine (tests/engine/swarm.test.ts):
 * Postgres as a pinned service bootstrapped through its admin proxy; two replicas of a plain HTTP server as one
 * swarm service (`appContract: false`, health on "/"; the database URL and a token as secret files); in front of
 * it `NginxLoadBalancer`'s swarm form publishing the only port, in host mode on the node, and re-resolving the
 * pool's DNS round-robin name every second. Config: `docker:host` (the swarm engine), `port`, `rev` (an env value: a
 * change rolls the pool), `node` (the node's host name), `adminAddress`, `adminPort`, `replicas` (of the pool; 2
 * unless set), `conf` (the text of a config file, default "1": a change is a new swarm config the pool rolls to), `nginxRev` (optional: a change of nginx's config only), `nginxImage` (optional: nginx's image, e.g.
 * by ID).
 */
import * as pulumi from "@pulumi/pulumi";
import { AppServerPool, NginxLoadBalancer, PostgresCluster, TieredNetwork } from "../../../sdk";

const APP_IMAGE = "pdc-example/three-tier-app:latest";

// Each request names the replica that served it (its hostname) and the revision. It exits on SIGTERM: as PID 1 it
// would otherwise ignore it, be killed only at the end of the grace period, and fail the provider's delete.
const SERVER = `
import http.server, os, signal, socket, sys
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("%s %s\\n" % (socket.gethostname(), os.environ["REV"])).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("", 8000), H).serve_forever()
`;

export function swarmPoolProgram(): Record<string, pulumi.Input<unknown>> {
    const cfg = new pulumi.Config();
    const network = new TieredNetwork("net", { target: "swarm", tiers: { web: {}, app: {}, db: { internal: true } } });
    // Pinned to the node, its admin proxy on the node's address (the host reaches the node there, not its loopback).
    const db = new PostgresCluster("db", {
        network,
        swarmNode: cfg.require("node"),
        adminAddress: cfg.require("adminAddress"),
        adminHostPort: cfg.requireNumber("adminPort"),
        stopTimeout: 20,
    });
    const pool = new AppServerPool("app", {
        network,
        tiers: ["app", "db"],
        database: db,
        databaseUrlAs: "file",
        image: APP_IMAGE,
        appContract: false,
        command: ["python3", "-c", SERVER],
        env: { REV: cfg.require("rev") },
        healthPath: "/",
        port: 8000,
        replicas: cfg.getNumber("replicas") ?? 2,
        secretFiles: { token: { value: pulumi.secret("s3cret-token"), env: "TOKEN_FILE", mode: "0400", owner: 10001 } },
        configFiles: { "settings/app.conf": `conf=${cfg.get("conf") ?? "1"}\n` },
    });
    // nginx's swarm form: one service, its config a digest-named ServiceConfig, the only published port (host
    // mode, pinned to the node), the pool's DNS round-robin name re-resolved per request. `nginxRev` (optional)
    // changes only nginx's config (a response header): swarm replaces its task, stop-first.
    const web = new NginxLoadBalancer("web", {
        network,
        tiers: ["web", "app"],
        hostPort: cfg.requireNumber("port"),
        swarmNode: cfg.require("node"),
        // A lost node's addresses hang rather than refuse: 1 s, then nginx tries another replica.
        routes: [{ path: "/", pool, connectTimeoutSeconds: 1 }],
        extraDirectives: [`add_header X-Nginx-Rev ${cfg.get("nginxRev") ?? "1"} always`],
        // By image ID the new task skips the registry, which stop-first would otherwise wait for.
        ...(cfg.get("nginxImage") ? { image: cfg.require("nginxImage") } : {}),
    });
    return { service: pool.service!.name, web: web.service!.name, db: db.service!.name };
}
