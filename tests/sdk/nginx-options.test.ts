/**
 * The load balancer's optional nginx features: TLS (with the HTTP redirect), websocket routes, per-route timeouts
 * and body size, and validated extra directives. Rendered text first, then a real nginx (Debian's, as in
 * nginx-conf.test.ts) with a self-signed certificate made by `openssl`, in front of a local Node upstream.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { checkExtraDirective, NginxConfigSpec, renderNginxConf, TlsSpec } from "../../sdk";
import { freePort } from "../support/net";

const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => fs.existsSync(p));
const MIME = ["/etc/nginx/mime.types"].find((p) => fs.existsSync(p));

const TLS: TlsSpec = {
    listenPort: 443,
    hostPort: 443,
    certificatePath: "/etc/nginx/pdc/tls/certificate.pem",
    keyPath: "/etc/nginx/pdc/tls/key.pem",
    redirectHttp: true,
};

function spec(over: Partial<NginxConfigSpec> = {}): NginxConfigSpec {
    return {
        listenPort: 80,
        serverName: "_",
        user: "nginx",
        upstreams: [{ name: "app", servers: [{ host: "app-r0", port: 8000 }], healthPath: "/healthz" }],
        locations: [{ path: "/", upstream: "app" }],
        clientMaxBodySize: "1m",
        healthPath: "/nginx-health",
        readinessPath: "/nginx-ready",
        configDigestPath: "/nginx-config",
        mimeTypes: "/etc/nginx/mime.types",
        errorLog: "/var/log/nginx/error.log",
        accessLog: "/var/log/nginx/access.log",
        ...over,
    };
}

/** The text of each `server { ... }` block (they hold no nested braces but locations'). */
function servers(conf: string): string[] {
    return conf.split("\n    server {\n").slice(1);
}

describe("rendering (pure)", () => {
    test("TLS with redirect: HTTP answers the load balancer's own paths and 301s the rest; HTTPS serves the routes", () => {
        const conf = renderNginxConf(spec({ tls: TLS }));
        const [plain, secure] = servers(conf);
        expect(servers(conf)).toHaveLength(2);
        expect(plain).toContain("listen 80;");
        expect(plain).not.toContain("ssl");
        for (const own of ["location = /nginx-health", "location = /nginx-config", "location = /nginx-ready/app"])
            expect(plain).toContain(own);
        expect(plain).toContain("location / {\n            return 301 https://$host$request_uri;\n        }");
        expect(plain).not.toContain("proxy_pass http://app;");
        expect(secure).toContain(
            [
                "listen 443 ssl;",
                "        ssl_certificate /etc/nginx/pdc/tls/certificate.pem;",
                "        ssl_certificate_key /etc/nginx/pdc/tls/key.pem;",
                "        ssl_protocols TLSv1.2 TLSv1.3;",
            ].join("\n"),
        );
        expect(secure).toContain("location = /nginx-health");
        expect(secure).toContain("proxy_pass http://app;");
    });

    test("TLS on another published port: the redirect names it", () => {
        const conf = renderNginxConf(spec({ tls: { ...TLS, listenPort: 8443, hostPort: 9443 } }));
        expect(conf).toContain("return 301 https://$host:9443$request_uri;");
        expect(conf).toContain("listen 8443 ssl;");
    });

    test("TLS without redirect: one server listening on both ports", () => {
        const conf = renderNginxConf(spec({ tls: { ...TLS, redirectHttp: false } }));
        expect(servers(conf)).toHaveLength(1);
        expect(conf).toContain("listen 80;\n        listen 443 ssl;");
        expect(conf).not.toContain("return 301");
    });

    test('websocket route: Upgrade passed, Connection mapped ("upgrade" or keep-alive), reads wait an hour', () => {
        const conf = renderNginxConf(
            spec({
                locations: [
                    { path: "/", upstream: "app" },
                    { path: "/cable", upstream: "app", websocket: true },
                ],
            }),
        );
        expect(conf).toContain(
            "    map $http_upgrade $pdc_connection_upgrade {\n        default upgrade;\n        '' \"\";\n    }",
        );
        const cable = conf.slice(conf.indexOf("location /cable {"), conf.indexOf("location / {"));
        expect(cable).toContain("proxy_set_header Upgrade $http_upgrade;");
        expect(cable).toContain("proxy_set_header Connection $pdc_connection_upgrade;");
        expect(cable).toContain("proxy_read_timeout 3600s;");
        const root = conf.slice(conf.indexOf("location / {"));
        expect(root).toContain('proxy_set_header Connection "";');
        expect(root).not.toContain("Upgrade");
        expect(root).not.toContain("proxy_read_timeout");
        // No websocket route, no map.
        expect(renderNginxConf(spec())).not.toContain("map $http_upgrade");
    });

    test("per-route timeouts, body size and extra directives; server-level extra directives", () => {
        const conf = renderNginxConf(
            spec({
                extraDirectives: ["add_header X-Frame-Options DENY always;"],
                locations: [
                    {
                        path: "/upload",
                        upstream: "app",
                        readTimeoutSeconds: 300,
                        connectTimeoutSeconds: 2,
                        clientMaxBodySize: "100m",
                        extraDirectives: ["proxy_request_buffering off", "proxy_buffering off;"],
                    },
                    { path: "/", upstream: "app", websocket: true, readTimeoutSeconds: 120 },
                ],
            }),
        );
        const upload = conf.slice(conf.indexOf("location /upload {"), conf.indexOf("location / {"));
        expect(upload).toContain("proxy_connect_timeout 2s;");
        expect(upload).toContain("proxy_read_timeout 300s;");
        expect(upload).toContain("client_max_body_size 100m;");
        expect(upload).toContain(
            "            proxy_request_buffering off;\n            proxy_buffering off;\n        }",
        );
        expect(conf.slice(conf.indexOf("location / {"))).toContain("proxy_read_timeout 120s;");
        expect(conf).toContain("\n        add_header X-Frame-Options DENY always;\n");
    });

    test("extra directives: one simple directive each; nothing that reads files, runs code or is managed", () => {
        for (const ok of [
            "proxy_buffering off",
            'add_header Strict-Transport-Security "max-age=31536000" always;',
            "proxy_set_header X-Request-Id $request_id",
            "gzip on",
        ])
            expect([ok, checkExtraDirective(ok)]).toEqual([ok, undefined]);
        for (const bad of [
            "proxy_buffering off; include /etc/passwd",
            "location /x { return 200; }",
            "include /etc/nginx/other.conf",
            "root /",
            "alias /etc/",
            "content_by_lua_block x",
            "access_by_lua 'x'",
            "perl_modules /x",
            "js_import x.js",
            "auth_basic_user_file /etc/shadow",
            "proxy_temp_path /tmp",
            "proxy_pass http://evil",
            "listen 8080",
            "ssl_certificate /x",
            "return 200 \\x7b",
            "gzip on # comment",
            "gzip on\nserver_tokens on",
            "Gzip on",
            "",
            "   ",
        ])
            expect([bad, checkExtraDirective(bad)]).not.toEqual([bad, undefined]);
        expect(checkExtraDirective(42)).toBe("is not a string");
    });
});

function requireNginx(): string {
    if (NGINX && MIME) return NGINX;
    throw new Error(
        "nginx is not installed (Debian package `nginx`); run scripts/setup.sh or apt-get install nginx-light",
    );
}

/** A scratch directory nginx's workers can read. */
function tmpdir(): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-nginx-opt-"));
    fs.chmodSync(d, 0o755);
    return d;
}

function selfSigned(dir: string): { cert: string; key: string } {
    const cert = path.join(dir, "certificate.pem");
    const key = path.join(dir, "key.pem");
    execFileSync(
        "openssl",
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2"].concat([
            "-subj",
            "/CN=localhost",
        ]),
        { stdio: "pipe" },
    );
    return { cert, key };
}

function localSpec(dir: string, over: Partial<NginxConfigSpec>): NginxConfigSpec {
    return spec({
        user: null,
        upstreams: [{ name: "app", servers: [{ host: "127.0.0.1", port: 18000 }], healthPath: "/healthz" }],
        mimeTypes: MIME ?? "/etc/nginx/mime.types",
        errorLog: path.join(dir, "error.log"),
        accessLog: path.join(dir, "access.log"),
        tempDir: dir,
        ...over,
    });
}

function nginxT(nginx: string, conf: string, dir: string): { ok: boolean; output: string } {
    const file = path.join(dir, "nginx.conf");
    fs.writeFileSync(file, conf);
    try {
        execFileSync(nginx, ["-t", "-q", "-p", dir, "-c", file, "-g", `pid ${dir}/nginx.pid;`], { stdio: "pipe" });
        return { ok: true, output: "" };
    } catch (e) {
        const err = e as { stderr?: Buffer };
        return { ok: false, output: err.stderr?.toString() ?? "" };
    }
}

describe("real nginx", () => {
    test("nginx -t accepts every option together, and the extra directives the check lets through", () => {
        const nginx = requireNginx();
        const dir = tmpdir();
        const { cert, key } = selfSigned(dir);
        for (const redirectHttp of [true, false]) {
            const conf = renderNginxConf(
                localSpec(dir, {
                    listenPort: 18080,
                    tls: { listenPort: 18443, hostPort: 443, certificatePath: cert, keyPath: key, redirectHttp },
                    // The hardened client timeouts are overridable in the server block.
                    extraDirectives: ["add_header X-Frame-Options DENY always", "gzip on;", "client_body_timeout 300s"],
                    locations: [
                        {
                            path: "/",
                            upstream: "app",
                            clientMaxBodySize: "0",
                            extraDirectives: ["proxy_buffering off"],
                        },
                        { path: "/ws", upstream: "app", websocket: true },
                        { path: "/slow", upstream: "app", readTimeoutSeconds: 86400, connectTimeoutSeconds: 3600 },
                    ],
                }),
            );
            expect(nginxT(nginx, conf, dir)).toEqual({ ok: true, output: "" });
        }
    });

    test("an argument nginx refuses in an accepted directive is caught by nginx -t (what the watcher runs)", () => {
        const nginx = requireNginx();
        const dir = tmpdir();
        const bad = "proxy_buffering sometimes";
        expect(checkExtraDirective(bad)).toBeUndefined();
        const r = nginxT(nginx, renderNginxConf(localSpec(dir, { extraDirectives: [bad] })), dir);
        expect(r.ok).toBe(false);
        expect(r.output).toMatch(/invalid value "sometimes"/);
    });

    describe("TLS, redirect and websockets against a local upstream", () => {
        let upstream: http.Server | undefined;
        let nginxProc: ChildProcess | undefined;
        let httpPort = 0;
        let httpsPort = 0;
        const seen: { url: string; headers: http.IncomingHttpHeaders; upgrade: boolean }[] = [];
        const tunnels: net.Socket[] = [];

        beforeAll(async () => {
            const nginx = requireNginx();
            const dir = tmpdir();
            const { cert, key } = selfSigned(dir);
            // Echoes: plain requests get their own headers back; an upgrade gets 101 and an echoing tunnel.
            upstream = http.createServer((req, res) => {
                seen.push({ url: req.url ?? "", headers: req.headers, upgrade: false });
                res.setHeader("Content-Type", "application/json");
                res.end(JSON.stringify(req.headers));
            });
            upstream.on("upgrade", (req: http.IncomingMessage, socket: net.Socket) => {
                seen.push({ url: req.url ?? "", headers: req.headers, upgrade: true });
                tunnels.push(socket);
                socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
                socket.on("data", (d) => socket.write(`echo:${d.toString()}`));
            });
            await new Promise<void>((r) => upstream!.listen(0, "127.0.0.1", () => r()));
            const upstreamPort = (upstream.address() as net.AddressInfo).port;
            httpPort = await freePort();
            httpsPort = await freePort();
            const conf = renderNginxConf(
                localSpec(dir, {
                    listenPort: httpPort,
                    upstreams: [{ name: "app", servers: [{ host: "127.0.0.1", port: upstreamPort }] }],
                    readinessPath: undefined,
                    tls: {
                        listenPort: httpsPort,
                        hostPort: httpsPort,
                        certificatePath: cert,
                        keyPath: key,
                        redirectHttp: true,
                    },
                    locations: [
                        { path: "/", upstream: "app", clientMaxBodySize: "1k" },
                        { path: "/cable", upstream: "app", websocket: true },
                    ],
                }),
            );
            fs.writeFileSync(path.join(dir, "nginx.conf"), conf);
            nginxProc = spawn(
                nginx,
                ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-g", `daemon off; pid ${dir}/nginx.pid;`],
                { stdio: "ignore" },
            );
            const deadline = Date.now() + 10000;
            while ((await request("https", "/nginx-health").catch(() => ({ status: 0 }))).status !== 200) {
                if (Date.now() > deadline) {
                    const log = path.join(dir, "error.log");
                    throw new Error(`nginx did not come up: ${fs.existsSync(log) ? fs.readFileSync(log, "utf8") : ""}`);
                }
                await new Promise((r) => setTimeout(r, 100));
            }
        });

        afterAll(async () => {
            nginxProc?.kill("SIGTERM");
            // nginx's keep-alive connections and the websocket tunnels (which the server no longer tracks).
            upstream?.closeAllConnections();
            for (const t of tunnels) t.destroy();
            await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
        });

        function request(
            scheme: "http" | "https",
            p: string,
            opts: { method?: string; body?: string; headers?: Record<string, string> } = {},
        ): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
            return new Promise((resolve, reject) => {
                const mod = scheme === "https" ? https : http;
                const req = mod.request(
                    {
                        host: "127.0.0.1",
                        port: scheme === "https" ? httpsPort : httpPort,
                        path: p,
                        method: opts.method ?? "GET",
                        headers: { Host: "localhost", ...opts.headers },
                        rejectUnauthorized: false,
                    },
                    (res) => {
                        let body = "";
                        res.on("data", (d) => (body += d));
                        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
                    },
                );
                req.on("error", reject);
                req.end(opts.body);
            });
        }

        test("HTTPS serves the routes with X-Forwarded-Proto https; HTTP 301s to the same URL on HTTPS", async () => {
            const r = await request("https", "/users?page=2");
            expect(r.status).toBe(200);
            expect(JSON.parse(r.body)["x-forwarded-proto"]).toBe("https");
            const before = seen.length;
            const redirect = await request("http", "/users?page=2");
            expect(redirect.status).toBe(301);
            expect(redirect.headers.location).toBe(`https://localhost:${httpsPort}/users?page=2`);
            expect(seen.length).toBe(before); // the redirect never reached the app
        });

        test("the load balancer's own paths still answer on plain HTTP (readiness gate, health check)", async () => {
            const r = await request("http", "/nginx-health");
            expect([r.status, r.body]).toEqual([200, "ok\n"]);
            expect((await request("http", "/nginx-config")).status).toBe(200);
        });

        test("a websocket upgrade reaches the upstream with Connection: upgrade and the tunnel carries data", async () => {
            const socket = await new Promise<net.Socket>((resolve, reject) => {
                const req = https.request({
                    host: "127.0.0.1",
                    port: httpsPort,
                    path: "/cable",
                    rejectUnauthorized: false,
                    headers: { Host: "localhost", Connection: "Upgrade", Upgrade: "websocket" },
                });
                req.on("upgrade", (res: http.IncomingMessage, s: net.Socket) => {
                    expect(res.statusCode).toBe(101);
                    resolve(s);
                });
                req.on("response", (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
                req.on("error", reject);
                req.end();
            });
            const up = seen.filter((s) => s.upgrade).pop()!;
            expect(up.url).toBe("/cable");
            expect(up.headers.connection).toBe("upgrade");
            expect(up.headers.upgrade).toBe("websocket");
            const echoed = await new Promise<string>((resolve) => {
                socket.once("data", (d) => resolve(d.toString()));
                socket.write("ping");
            });
            expect(echoed).toBe("echo:ping");
            socket.destroy();
        });

        test("a plain request on the websocket route keeps Connection off (upstream keep-alive)", async () => {
            const r = await request("https", "/cable/info");
            expect(r.status).toBe(200);
            expect(JSON.parse(r.body).connection).toBeUndefined();
            expect(JSON.parse(r.body).upgrade).toBeUndefined();
        });

        test("an Upgrade on a route without websocket is not passed on", async () => {
            const r = await request("https", "/x", { headers: { Connection: "Upgrade", Upgrade: "websocket" } });
            expect(r.status).toBe(200);
            expect(JSON.parse(r.body).upgrade).toBeUndefined();
            expect(JSON.parse(r.body).connection).toBeUndefined();
        });

        test("the per-route body size is enforced: 413 over 1k on /, the websocket route keeps the server's 1m", async () => {
            const big = "x".repeat(4096);
            expect((await request("https", "/form", { method: "POST", body: big })).status).toBe(413);
            expect((await request("https", "/cable/form", { method: "POST", body: big })).status).toBe(200);
        });
    });
});

describe("real nginx: regex and exact routes, custom locations", () => {
    const servers: http.Server[] = [];
    let nginxProc: ChildProcess | undefined;
    let port = 0;
    let dir = "";

    beforeAll(async () => {
        const nginx = requireNginx();
        dir = tmpdir();
        // Three local servers answering "<name> <url>": app, img (two upstreams) and docs (a custom proxyPass).
        const ports: number[] = [];
        for (const name of ["app", "img", "docs"]) {
            const s = http.createServer((req, res) => res.end(`${name} ${req.url}`));
            await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
            servers.push(s);
            ports.push((s.address() as net.AddressInfo).port);
        }
        port = await freePort();
        const conf = renderNginxConf(
            localSpec(dir, {
                listenPort: port,
                readinessPath: undefined,
                upstreams: [
                    { name: "app", servers: [{ host: "127.0.0.1", port: ports[0] }] },
                    { name: "img", servers: [{ host: "127.0.0.1", port: ports[1] }] },
                ],
                locations: [
                    { path: "/", upstream: "app" },
                    { path: "\\.(png|jpe?g)$", modifier: "~*", upstream: "img" },
                    { path: "^/v[0-9]{2}/", modifier: "~", upstream: "img" },
                    { path: "/exact", modifier: "=", upstream: "img" },
                    { path: "/assets", modifier: "^~", upstream: "app" },
                ],
                customLocations: [
                    { path: "/robots.txt", modifier: "=", return: { status: 200, text: 'User-agent: * "quoted"' } },
                    { path: "^/old/(.*)$", modifier: "~", return: { status: 301, text: "/new/$1" } },
                    {
                        path: "/docs/",
                        proxyPass: `http://127.0.0.1:${ports[2]}/v1/`,
                        extraDirectives: ["add_header X-Docs yes"],
                    },
                ],
            }),
        );
        expect(nginxT(nginx, conf, dir)).toEqual({ ok: true, output: "" });
        nginxProc = spawn(
            nginx,
            ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-g", `daemon off; pid ${dir}/nginx.pid;`],
            { stdio: "ignore" },
        );
        const deadline = Date.now() + 10000;
        while ((await get("/nginx-health").catch(() => ({ status: 0 }))).status !== 200) {
            if (Date.now() > deadline) throw new Error("nginx did not come up");
            await new Promise((r) => setTimeout(r, 100));
        }
    });

    afterAll(async () => {
        nginxProc?.kill("SIGTERM");
        for (const s of servers) {
            s.closeAllConnections();
            await new Promise<void>((r) => s.close(() => r()));
        }
    });

    function get(p: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
        return new Promise((resolve, reject) => {
            http.get({ host: "127.0.0.1", port, path: p }, (res) => {
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
            }).on("error", reject);
        });
    }

    test("regex routes match by pattern (case-insensitive with ~*, braces kept by the quoting), exact by path", async () => {
        expect((await get("/photos/cat.PNG")).body).toBe("img /photos/cat.PNG");
        expect((await get("/photos/cat.jpeg?x=1")).body).toBe("img /photos/cat.jpeg?x=1");
        expect((await get("/photos/cat.png.txt")).body).toBe("app /photos/cat.png.txt");
        expect((await get("/v12/items")).body).toBe("img /v12/items");
        expect((await get("/v1/items")).body).toBe("app /v1/items");
        expect((await get("/exact")).body).toBe("img /exact");
        expect((await get("/exact/more")).body).toBe("app /exact/more");
        // "^~": the prefix wins over the regexes.
        expect((await get("/assets/logo.png")).body).toBe("app /assets/logo.png");
    });

    test("custom locations: a fixed answer, a redirect with a capture, a proxy elsewhere with its directive", async () => {
        const robots = await get("/robots.txt");
        expect([robots.status, robots.body]).toEqual([200, 'User-agent: * "quoted"']);
        const old = await get("/old/page?id=3");
        expect(old.status).toBe(301);
        expect(String(old.headers.location)).toMatch(/\/new\/page$/);
        const docs = await get("/docs/intro");
        expect([docs.status, docs.body, docs.headers["x-docs"]]).toEqual([200, "docs /v1/intro", "yes"]);
    });
});
