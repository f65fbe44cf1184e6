/**
 * The load balancer's generated configuration: pure functions, checked with a real nginx (`nginx -t`) and by
 * proxying real requests to real local upstream servers. nginx must be installed (Debian's `nginx` package);
 * scripts/setup.sh installs it. Without it the nginx-backed tests fail with a message saying so.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import {
    DOWN_PLACEHOLDER,
    NginxConfigSpec,
    renderConsulTemplateConfig,
    renderNginxConf,
    renderUpstreamBlock,
    renderUpstreamsFromInstances,
    renderUpstreamsTemplate,
    sealNginxConf,
} from "../../sdk";
import { freePort } from "../support/net";
import { renderGoTemplate } from "../support/gotemplate";

const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => fs.existsSync(p));
const MIME = ["/etc/nginx/mime.types"].find((p) => fs.existsSync(p));

function baseSpec(over: Partial<NginxConfigSpec> = {}): NginxConfigSpec {
    return {
        listenPort: 80,
        serverName: "_",
        user: "nginx",
        upstreams: [
            {
                name: "app",
                servers: [
                    { host: "app-r0", port: 8000 },
                    { host: "app-r1", port: 8000 },
                ],
            },
        ],
        locations: [{ path: "/", upstream: "app" }],
        static: { urlPath: "/static/", root: "/usr/share/nginx/static/" },
        clientMaxBodySize: "1m",
        healthPath: "/nginx-health",
        mimeTypes: "/etc/nginx/mime.types",
        errorLog: "/var/log/nginx/error.log",
        accessLog: "/var/log/nginx/access.log",
        ...over,
    };
}

describe("renderNginxConf (pure)", () => {
    test("upstream lists every replica with passive health checks and keep-alive", () => {
        expect(
            renderUpstreamBlock({
                name: "app",
                servers: [
                    { host: "app-r0", port: 8000 },
                    { host: "app-r1", port: 8000 },
                ],
            }),
        ).toBe(
            [
                "upstream app {",
                "    server app-r0:8000 max_fails=3 fail_timeout=10s;",
                "    server app-r1:8000 max_fails=3 fail_timeout=10s;",
                "    keepalive 16;",
                "}",
                "",
            ].join("\n"),
        );
        expect(renderUpstreamBlock({ name: "app", servers: [] })).toContain(`server ${DOWN_PLACEHOLDER} down;`);
    });

    test("the comments site: /static served by nginx, / proxied with Host, X-Real-IP, X-Forwarded-For, X-Forwarded-Proto", () => {
        const conf = renderNginxConf(baseSpec());
        expect(conf).toContain("location /static/ {\n            alias /usr/share/nginx/static/;");
        expect(conf).toMatch(/location \/ \{\n\s+proxy_pass http:\/\/app;/);
        for (const h of [
            "Host $host",
            "X-Real-IP $remote_addr",
            "X-Forwarded-For $remote_addr",
            "X-Forwarded-Proto $scheme",
        ]) {
            expect(conf).toContain(`proxy_set_header ${h};`);
        }
        expect(conf).toContain("listen 80;");
        expect(conf).toContain("user nginx;");
        expect(conf).not.toMatch(/^\s*(pid|daemon|load_module)\b/m); // left to the image / command line
    });

    test("hardened defaults: no version, client timeouts, X-Forwarded-For never appended to the client's", () => {
        const conf = renderNginxConf(baseSpec());
        for (const d of [
            "server_tokens off;",
            "client_header_timeout 10s;",
            "client_body_timeout 30s;",
            "send_timeout 30s;",
            "keepalive_timeout 30s;",
        ])
            expect(conf).toContain(`\n    ${d}\n`);
        expect(conf).not.toContain("$proxy_add_x_forwarded_for");
        // Without a gate file the readiness paths are open (the spec's default); with one, token-only.
        const open = renderNginxConf(
            baseSpec({ readinessPath: "/nginx-ready", upstreams: [{ name: "app", servers: [], healthPath: "/h" }] }),
        );
        expect(open).not.toContain("pdc_gate_open");
        const gated = renderNginxConf(
            baseSpec({
                readinessPath: "/nginx-ready",
                readinessGateFile: "/etc/nginx/pdc/gate.map",
                upstreams: [{ name: "app", servers: [], healthPath: "/h" }],
            }),
        );
        expect(gated).toContain(
            "    map $http_x_pdc_gate $pdc_gate_open {\n        default 0;\n        include /etc/nginx/pdc/gate.map;\n    }",
        );
        expect(gated).toMatch(
            /location = \/nginx-ready\/app \{\n\s+access_log off;\n\s+if \(\$pdc_gate_open = 0\) \{\n\s+return 404;\n\s+\}\n\s+proxy_set_header X-PDC-Gate "";/,
        );
    });

    test("routes are emitted longest prefix first and the output is deterministic", () => {
        const spec = baseSpec({
            upstreams: [
                { name: "user", servers: [{ host: "user-r0", port: 8000 }] },
                { name: "frontend", servers: [{ host: "frontend-r0", port: 8000 }] },
            ],
            locations: [
                { path: "/", upstream: "frontend" },
                { path: "/users", upstream: "user" },
            ],
        });
        const conf = renderNginxConf(spec);
        expect(conf.indexOf("location /users")).toBeLessThan(conf.indexOf("location / {"));
        expect(renderNginxConf(spec)).toBe(conf);
    });

    test("consul-template mode includes the rendered upstreams instead of inlining them", () => {
        const conf = renderNginxConf(baseSpec({ upstreams: { include: "/etc/nginx/upstreams/*.conf" } }));
        expect(conf).toContain("include /etc/nginx/upstreams/*.conf;");
        expect(conf).not.toContain("upstream app {");
    });

    test("resolver mode (swarm): no upstream blocks or readiness, each route proxies to its pool's name through a variable", () => {
        const conf = renderNginxConf(
            baseSpec({
                upstreams: [
                    { name: "app", servers: [{ host: "app", port: 8000 }], healthPath: "/healthz" },
                    { name: "api-v2", servers: [{ host: "api-v2", port: 9000 }] },
                ],
                locations: [
                    { path: "/", upstream: "app" },
                    { path: "/api", upstream: "api-v2", connectTimeoutSeconds: 3 },
                ],
                static: undefined,
                readinessPath: "/nginx-ready",
                resolver: "127.0.0.11",
            }),
        );
        expect(conf).toContain("    resolver 127.0.0.11 valid=1s ipv6=off;\n");
        expect(conf).not.toMatch(/upstream \S+ \{/);
        expect(conf).not.toContain("/nginx-ready");
        // "-" is not a variable character; "$pdc_" keeps clear of nginx's own $upstream_* variables.
        expect(conf).toContain(
            [
                "        location /api {",
                "            set $pdc_upstream_api_v2 api-v2;",
                "            proxy_pass http://$pdc_upstream_api_v2:9000;",
            ].join("\n"),
        );
        expect(conf).toContain(
            [
                "        location / {",
                "            set $pdc_upstream_app app;",
                "            proxy_pass http://$pdc_upstream_app:8000;",
            ].join("\n"),
        );
        // The host form's defaults stay: retries on errors, peer address only, no version.
        expect(conf).toContain("proxy_next_upstream error timeout http_502 http_503;");
        expect(conf).toContain("proxy_set_header X-Forwarded-For $remote_addr;");
        expect(conf).toContain("server_tokens off;");
        // A stopped task's overlay address hangs: 1 s to connect unless the route says otherwise.
        expect(conf.match(/proxy_connect_timeout \S+;/g)).toEqual([
            "proxy_connect_timeout 3s;",
            "proxy_connect_timeout 1s;",
        ]);
    });
});

describe("consul-template (pure): the template renders exactly renderUpstreamsFromInstances' output", () => {
    const upstreams = [
        { name: "user", service: "user" },
        { name: "catalog", service: "catalog" },
    ];
    const cases: Record<string, Record<string, { address: string; port: number }[]>> = {
        "no instances yet": {},
        "one healthy instance each": {
            user: [{ address: "user-r0", port: 8000 }],
            catalog: [{ address: "catalog-r0", port: 8000 }],
        },
        "several, one service empty": {
            user: [
                { address: "user-r0", port: 8000 },
                { address: "user-r2", port: 8000 },
            ],
        },
        // A registration anyone on Consul's network could make: the address is taken verbatim by Consul.
        "a crafted address beside a plain one": {
            user: [
                { address: "x:1; } server { listen 80; location / { alias /etc/; } } upstream y { server z", port: 1 },
                { address: "10.0.0.7", port: 8000 },
            ],
        },
        "only crafted addresses: the placeholder keeps the file valid": {
            user: [
                { address: "user-r0 down; server evil", port: 8000 },
                { address: "-leading-hyphen", port: 8000 },
            ],
        },
    };
    for (const [label, instances] of Object.entries(cases)) {
        test(label, () => {
            const template = renderUpstreamsTemplate(upstreams);
            expect(renderGoTemplate(template, instances)).toBe(renderUpstreamsFromInstances(upstreams, instances));
        });
    }

    test("only plain host names and IPv4 addresses get into nginx.conf", () => {
        const rendered = renderGoTemplate(
            renderUpstreamsTemplate(upstreams),
            cases["a crafted address beside a plain one"],
        );
        expect(rendered).toContain("server 10.0.0.7:8000 ");
        expect(rendered).not.toContain("alias");
        const none = renderGoTemplate(
            renderUpstreamsTemplate(upstreams),
            cases["only crafted addresses: the placeholder keeps the file valid"],
        );
        expect(none).not.toContain("evil");
        expect(none.match(/server 127\.0\.0\.1:65535 down;/g)).toHaveLength(upstreams.length);
    });

    test("the template asks Consul for each service (healthy instances only, consul-template's default)", () => {
        const t = renderUpstreamsTemplate(upstreams);
        expect(t).toContain('{{- range service "user" }}');
        expect(t).toContain('{{- range service "catalog" }}');
        expect(t).not.toContain("|any"); // `service "x|any"` would include failing instances
    });

    test("consul-template config: reload command runs only on change, retries Consul forever", () => {
        const hcl = renderConsulTemplateConfig({
            consulAddress: "consul:8500",
            source: "/etc/consul-template/upstreams.conf.ctmpl",
            destination: "/etc/nginx/upstreams/upstreams.conf",
            command: "kill -HUP 1",
            waitMin: "1s",
            waitMax: "5s",
        });
        expect(hcl).toContain('address = "consul:8500"');
        expect(hcl).toContain('command         = "kill -HUP 1"');
        expect(hcl).toContain("attempts    = 0");
        expect(hcl).toContain('destination     = "/etc/nginx/upstreams/upstreams.conf"');
    });

    test("rejects a service name consul-template cannot query", () => {
        expect(() => renderUpstreamsTemplate([{ name: "x", service: 'bad"name' }])).toThrow(/not valid/);
    });
});

// ---------------------------------------------------------------------------------------------------------------
// Real nginx

function requireNginx(): string {
    if (NGINX && MIME) return NGINX;
    throw new Error(
        "nginx is not installed (Debian package `nginx`); run scripts/setup.sh or apt-get install nginx-light",
    );
}

/** A scratch directory nginx's workers (which drop to `nobody` when nginx runs as root) can read. */
function tmpdir(): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-nginx-"));
    fs.chmodSync(d, 0o755);
    return d;
}

/** A config runnable by an unprivileged test nginx under `dir`. */
function localSpec(dir: string, over: Partial<NginxConfigSpec>): NginxConfigSpec {
    return baseSpec({
        user: null,
        mimeTypes: MIME ?? "/etc/nginx/mime.types",
        errorLog: path.join(dir, "error.log"),
        accessLog: path.join(dir, "access.log"),
        tempDir: dir,
        ...over,
    });
}

function nginxTest(nginx: string, conf: string, dir: string): { ok: boolean; output: string } {
    const file = path.join(dir, "nginx.conf");
    fs.writeFileSync(file, conf);
    try {
        const out = execFileSync(nginx, ["-t", "-q", "-p", dir, "-c", file, "-g", `pid ${dir}/nginx.pid;`], {
            stdio: "pipe",
        });
        return { ok: true, output: out.toString() };
    } catch (e) {
        const err = e as { stderr?: Buffer; stdout?: Buffer };
        return { ok: false, output: `${err.stderr?.toString() ?? ""}${err.stdout?.toString() ?? ""}` };
    }
}

describe("real nginx", () => {
    test("nginx -t accepts the resolver mode (swarm)", () => {
        const nginx = requireNginx();
        const dir = tmpdir();
        const conf = renderNginxConf(
            localSpec(dir, {
                upstreams: [{ name: "app", servers: [{ host: "app", port: 8000 }] }],
                resolver: "127.0.0.11",
                configDigestPath: "/nginx-config",
            }),
        );
        const r = nginxTest(nginx, conf, dir);
        expect(r.output).toBe("");
        expect(r.ok).toBe(true);
    });

    test("nginx -t accepts the static-mode config", () => {
        const nginx = requireNginx();
        const dir = tmpdir();
        const { text: conf, digest } = sealNginxConf(
            renderNginxConf(
                localSpec(dir, {
                    upstreams: [
                        {
                            name: "app",
                            servers: [
                                { host: "127.0.0.1", port: 18000 },
                                { host: "127.0.0.1", port: 18001 },
                            ],
                        },
                    ],
                    static: { urlPath: "/static/", root: `${dir}/static/` },
                    configDigestPath: "/nginx-config",
                    comments: ["replica containers: a,b"],
                }),
            ),
        );
        expect(conf).toContain(`return 200 "${digest}\\n";`);
        expect(conf).not.toContain("@CONFIG_DIGEST@");
        expect(conf.split("\n")[1]).toBe("# replica containers: a,b");
        const r = nginxTest(nginx, conf, dir);
        expect(r.output).toBe("");
        expect(r.ok).toBe(true);
    });

    test("nginx -t accepts consul-template mode with the placeholder and with rendered instances", () => {
        const nginx = requireNginx();
        const upstreams = [
            { name: "user", service: "user" },
            { name: "catalog", service: "catalog" },
            { name: "frontend", service: "frontend" },
        ];
        const cases: Record<string, { address: string; port: number }[]>[] = [
            {},
            { user: [{ address: "127.0.0.1", port: 18000 }], frontend: [{ address: "127.0.0.1", port: 18001 }] },
            {
                user: [
                    { address: "x; } server { listen 1; location / { alias /etc/; } } upstream y { server z", port: 1 },
                ],
            },
        ];
        for (const instances of cases) {
            const dir = tmpdir();
            fs.mkdirSync(path.join(dir, "upstreams"));
            fs.writeFileSync(
                path.join(dir, "upstreams", "upstreams.conf"),
                renderGoTemplate(renderUpstreamsTemplate(upstreams), instances),
            );
            const conf = renderNginxConf(
                localSpec(dir, {
                    upstreams: { include: `${dir}/upstreams/*.conf` },
                    locations: [
                        { path: "/users", upstream: "user" },
                        { path: "/products", upstream: "catalog" },
                        { path: "/", upstream: "frontend" },
                    ],
                    static: undefined,
                }),
            );
            const r = nginxTest(nginx, conf, dir);
            expect(r.output).toBe("");
            expect(r.ok).toBe(true);
        }
    });

    test("nginx -t accepts the widest serverName, clientMaxBodySize and pool healthPath the components accept", () => {
        // Each value passes NginxLoadBalancer's / AppServerPool's validation (tests/sdk/loadbalancer.test.ts).
        const nginx = requireNginx();
        for (const [serverName, clientMaxBodySize] of [
            ["example.com *.example.org .example.net www.example.* 10.0.0.1 _", "10M"],
            ["_", "0"],
            ["a-b.c1", "64k"],
        ]) {
            const dir = tmpdir();
            const conf = renderNginxConf(
                localSpec(dir, {
                    serverName,
                    clientMaxBodySize,
                    upstreams: [
                        {
                            name: "app",
                            servers: [{ host: "127.0.0.1", port: 18000 }],
                            healthPath: "/health/v1.2_x~y:z@a+b,c=d&e?full=1",
                        },
                    ],
                    readinessPath: "/nginx-ready",
                    static: undefined,
                }),
            );
            expect(nginxTest(nginx, conf, dir)).toEqual({ ok: true, output: "" });
        }
    });

    test('static files at "/" beside a route "/" is a duplicate location, which is why the load balancer rejects it', () => {
        const nginx = requireNginx();
        const dir = tmpdir();
        const conf = renderNginxConf(
            localSpec(dir, {
                upstreams: [{ name: "app", servers: [{ host: "127.0.0.1", port: 18000 }] }],
                static: { urlPath: "/", root: `${dir}/static/` },
            }),
        );
        const r = nginxTest(nginx, conf, dir);
        expect(r.ok).toBe(false);
        expect(r.output).toMatch(/duplicate location "\/"/);
    });

    test("nginx -t rejects a broken config (the check is real)", () => {
        const nginx = requireNginx();
        const dir = tmpdir();
        const conf = renderNginxConf(localSpec(dir, { locations: [{ path: "/", upstream: "app" }], upstreams: [] }));
        expect(nginxTest(nginx, conf.replace("events {", "events {{"), dir).ok).toBe(false);
    });

    describe("proxies real requests to real local upstreams", () => {
        let upstreamsServers: http.Server[] = [];
        let nginxProc: ChildProcess | undefined;
        let port = 0;
        let dir = "";
        const seen: { server: number; headers: http.IncomingHttpHeaders; url: string }[] = [];

        beforeAll(async () => {
            const nginx = requireNginx();
            dir = tmpdir();
            fs.mkdirSync(path.join(dir, "static", "css"), { recursive: true });
            fs.writeFileSync(path.join(dir, "static", "css", "site.css"), "body { color: teal; }\n");
            const ports: number[] = [];
            upstreamsServers = [0, 1].map((i) =>
                http.createServer((req, res) => {
                    seen.push({ server: i, headers: req.headers, url: req.url ?? "" });
                    res.setHeader("X-Instance", `app-r${i}`);
                    res.end(`hello from r${i}`);
                }),
            );
            for (const s of upstreamsServers) {
                await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
                ports.push((s.address() as net.AddressInfo).port);
            }
            port = await freePort();
            const conf = renderNginxConf(
                localSpec(dir, {
                    listenPort: port,
                    upstreams: [{ name: "app", servers: ports.map((p) => ({ host: "127.0.0.1", port: p })) }],
                    static: { urlPath: "/static/", root: `${dir}/static/` },
                }),
            );
            fs.writeFileSync(path.join(dir, "nginx.conf"), conf);
            nginxProc = spawn(
                nginx,
                ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-g", `daemon off; pid ${dir}/nginx.pid;`],
                { stdio: "ignore" },
            );
            const deadline = Date.now() + 10000;
            for (;;) {
                const ok = await new Promise<boolean>((resolve) => {
                    http.get({ host: "127.0.0.1", port, path: "/nginx-health" }, (res) => {
                        res.resume();
                        resolve(res.statusCode === 200);
                    }).on("error", () => resolve(false));
                });
                if (ok) break;
                if (Date.now() > deadline)
                    throw new Error(
                        `nginx did not come up; ${fs.existsSync(path.join(dir, "error.log")) ? fs.readFileSync(path.join(dir, "error.log"), "utf8") : ""}`,
                    );
                await new Promise((r) => setTimeout(r, 100));
            }
        });

        afterAll(async () => {
            nginxProc?.kill("SIGQUIT");
            await Promise.all(upstreamsServers.map((s) => new Promise<void>((r) => s.close(() => r()))));
        });

        function get(
            p: string,
            headers: Record<string, string> = {},
        ): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
            return new Promise((resolve, reject) => {
                http.get({ host: "127.0.0.1", port, path: p, headers }, (res) => {
                    let body = "";
                    res.on("data", (d) => (body += d));
                    res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
                }).on("error", reject);
            });
        }

        test("round-robins across both upstreams and passes the proxy headers", async () => {
            const bodies = new Set<string>();
            // A client's own X-Forwarded-For is forgeable: nginx replaces it with the peer's address.
            for (let i = 0; i < 6; i++)
                bodies.add((await get("/comments?x=1", { Host: "example.test", "X-Forwarded-For": "6.6.6.6" })).body);
            expect([...bodies].sort()).toEqual(["hello from r0", "hello from r1"]);
            const last = seen[seen.length - 1];
            expect(last.url).toBe("/comments?x=1");
            expect(last.headers.host).toBe("example.test");
            expect(last.headers["x-real-ip"]).toBe("127.0.0.1");
            expect(last.headers["x-forwarded-for"]).toBe("127.0.0.1");
            expect(last.headers["x-forwarded-proto"]).toBe("http");
        });

        test("serves /static/ itself, without touching the upstreams", async () => {
            const before = seen.length;
            const r = await get("/static/css/site.css");
            expect(r.status).toBe(200);
            expect(r.body).toBe("body { color: teal; }\n");
            expect(r.headers["content-type"]).toMatch(/text\/css/);
            expect(seen.length).toBe(before);
        });

        test("one upstream down: requests still succeed (passive failover)", async () => {
            await new Promise<void>((r) => upstreamsServers[1].close(() => r()));
            for (let i = 0; i < 4; i++) expect((await get("/")).body).toBe("hello from r0");
        });
    });
});

describe("real nginx: end-to-end readiness locations", () => {
    let nginxProc: ChildProcess | undefined;
    let server: http.Server | undefined;
    let port = 0;
    let upstreamPort = 0;
    let otherPort = 0;

    beforeAll(async () => {
        const nginx = requireNginx();
        const dir = tmpdir();
        // Nothing listens on either yet: two replicas "starting" (nginx never marks the only server of a group failed).
        upstreamPort = await freePort();
        otherPort = await freePort();
        port = await freePort();
        const conf = renderNginxConf(
            localSpec(dir, {
                listenPort: port,
                upstreams: [
                    {
                        name: "app",
                        servers: [
                            { host: "127.0.0.1", port: upstreamPort },
                            { host: "127.0.0.1", port: otherPort },
                        ],
                        healthPath: "/healthz",
                    },
                ],
                readinessPath: "/nginx-ready",
                static: undefined,
            }),
        );
        expect(nginxTest(nginx, conf, dir)).toEqual({ ok: true, output: "" });
        nginxProc = spawn(
            nginx,
            ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-g", `daemon off; pid ${dir}/nginx.pid;`],
            { stdio: "ignore" },
        );
        const deadline = Date.now() + 10000;
        while ((await status("/nginx-health")) !== 200) {
            if (Date.now() > deadline) throw new Error("nginx did not come up");
            await new Promise((r) => setTimeout(r, 50));
        }
    });

    afterAll(async () => {
        nginxProc?.kill("SIGQUIT");
        await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    });

    function status(p: string): Promise<number> {
        return new Promise((resolve) => {
            http.get({ host: "127.0.0.1", port, path: p }, (res) => {
                res.resume();
                res.on("end", () => resolve(res.statusCode ?? 0));
            }).on("error", () => resolve(0));
        });
    }

    test("answer 502 while the app is down, 200 from its health path as soon as it listens, and never take it out of rotation", async () => {
        // While the replicas are down: readiness fails, and real traffic marks the real upstream's servers failed.
        for (let i = 0; i < 4; i++) expect(await status("/nginx-ready/app")).toBe(502);
        for (let i = 0; i < 4; i++) expect(await status("/")).toBe(502);
        const paths: string[] = [];
        server = http.createServer((req, res) => {
            paths.push(req.url ?? "");
            res.end("ok");
        });
        await new Promise<void>((r) => server!.listen(upstreamPort, "127.0.0.1", () => r()));
        // The readiness twin has no failure accounting: it answers at once, from the app's health path.
        expect(await status("/nginx-ready/app")).toBe(200);
        expect(paths).toEqual(["/healthz"]);
        expect(await status("/nginx-ready/app")).toBe(200);
        // The real upstream is still serving out its fail_timeout: the twin is what keeps probes from doing this.
        expect(await status("/")).toBe(502);
    });
});

describe("real nginx: the readiness paths answer only the gate (its token in X-PDC-Gate)", () => {
    let nginxProc: ChildProcess | undefined;
    let app: http.Server | undefined;
    let port = 0;
    const seen: http.IncomingHttpHeaders[] = [];
    const TOKEN = "t0kenOfTheGate";

    beforeAll(async () => {
        const nginx = requireNginx();
        const dir = tmpdir();
        app = http.createServer((req, res) => {
            seen.push(req.headers);
            res.end("healthy");
        });
        await new Promise<void>((r) => app!.listen(0, "127.0.0.1", () => r()));
        port = await freePort();
        // The file the component writes to the config volume: the one map entry of the token.
        fs.writeFileSync(path.join(dir, "gate.map"), `"${TOKEN}" 1;\n`);
        const conf = renderNginxConf(
            localSpec(dir, {
                listenPort: port,
                upstreams: [
                    {
                        name: "app",
                        servers: [{ host: "127.0.0.1", port: (app.address() as net.AddressInfo).port }],
                        healthPath: "/healthz",
                    },
                ],
                readinessPath: "/nginx-ready",
                readinessGateFile: path.join(dir, "gate.map"),
                static: undefined,
            }),
        );
        expect(nginxTest(nginx, conf, dir)).toEqual({ ok: true, output: "" });
        nginxProc = spawn(
            nginx,
            ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-g", `daemon off; pid ${dir}/nginx.pid;`],
            { stdio: "ignore" },
        );
        const deadline = Date.now() + 10000;
        while ((await status("/nginx-health")) !== 200) {
            if (Date.now() > deadline) throw new Error("nginx did not come up");
            await new Promise((r) => setTimeout(r, 50));
        }
    });

    afterAll(async () => {
        nginxProc?.kill("SIGQUIT");
        app?.closeAllConnections();
        await new Promise<void>((r) => (app ? app.close(() => r()) : r()));
    });

    function status(p: string, headers: Record<string, string> = {}): Promise<number> {
        return new Promise((resolve) => {
            http.get({ host: "127.0.0.1", port, path: p, headers }, (res) => {
                res.resume();
                res.on("end", () => resolve(res.statusCode ?? 0));
            }).on("error", () => resolve(0));
        });
    }

    test("an outside client gets 404 and never reaches the app; the gate's request passes, without its token", async () => {
        expect(await status("/nginx-ready/app")).toBe(404);
        expect(await status("/nginx-ready/app", { "X-PDC-Gate": "guess" })).toBe(404);
        expect(await status("/nginx-ready/app", { "X-PDC-Gate": "" })).toBe(404);
        expect(seen).toEqual([]);
        expect(await status("/nginx-ready/app", { "X-PDC-Gate": TOKEN })).toBe(200);
        expect(seen).toHaveLength(1);
        expect(seen[0]["x-pdc-gate"]).toBeUndefined();
        // The routes and the load balancer's own paths stay public.
        expect(await status("/")).toBe(200);
        expect(await status("/nginx-health")).toBe(200);
    });
});
