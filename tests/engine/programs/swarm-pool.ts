/**
 * `PostgresCluster` and `AppServerPool` on a swarm network under the real engine (tests/engine/swarm.test.ts):
 * Postgres as a pinned service bootstrapped through its admin proxy; two replicas of a plain HTTP server as one
 * swarm service (`appContract: false`, health on "/"; the database URL and a token as secret files); in front of
 * it a raw nginx service (config as a `docker.ServiceConfig`) publishing the only port, in host mode on the node, and
 * re-resolving the pool's DNS round-robin name every second. Config: `docker:host` (the swarm engine), `port`,
 * `rev` (an env value: a change rolls the pool), `node` (the node's host name), `adminAddress`, `adminPort`, `conf`
 * (the text of a config file, default "1": a change is a new swarm config the pool rolls to), `replicas` (of the
 * pool; 2 unless set).
 */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { AppServerPool, dockerName, PostgresCluster, TieredNetwork } from "../../../sdk";

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
    const conf = `
server {
    listen 80;
    resolver 127.0.0.11 valid=1s ipv6=off;
    location / {
        set $app ${pool.serviceName};
        proxy_pass http://$app:${pool.port};
        proxy_next_upstream error timeout http_502;
        proxy_connect_timeout 1s;
    }
}
`;
    const nginxConf = new docker.ServiceConfig("web-conf", {
        // A swarm config cannot change: a new text is a new config, named by its digest.
        name: dockerName(`web-conf-${createHash("sha256").update(conf).digest("hex").slice(0, 8)}`),
        data: Buffer.from(conf).toString("base64"),
    });
    const web = new docker.Service(
        "web",
        {
            name: dockerName("web"),
            mode: { replicated: { replicas: 1 } },
            endpointSpec: {
                mode: "dnsrr",
                ports: [{ targetPort: 80, publishedPort: cfg.requireNumber("port"), publishMode: "host" }],
            },
            taskSpec: {
                containerSpec: {
                    image: "nginx:stable-bookworm",
                    // With it the provider's delete waits until the task's container is removed (so the networks can
                    // go), but for no longer than this, and then fails: nginx's graceful stop took more than 5 s.
                    stopGracePeriod: "30s",
                    configs: [
                        {
                            configId: nginxConf.id,
                            configName: nginxConf.name,
                            fileName: "/etc/nginx/conf.d/default.conf",
                        },
                    ],
                },
                networksAdvanceds: network.attachService(["web", "app"], ["web"]),
            },
            convergeConfig: { delay: "1s", timeout: "2m" },
        },
        { dependsOn: [pool] },
    );
    return { service: pool.service!.name, web: web.name, db: db.service!.name };
}
