/**
 * NginxLoadBalancer's optional features in the graph (Pulumi mocks): TLS files uploaded next to the config (the key
 * secret, mode 0600, never in env), the second published port claimed, per-route options and extra directives
 * reaching the config, and the checks on all of them. The rendered text and a real nginx are in nginx-options.test.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    AppServerPool,
    ArgumentError,
    NGINX_CONF_PATH,
    NGINX_TLS_CERT_PATH,
    NGINX_TLS_KEY_PATH,
    NginxLoadBalancer,
    nginxWatcherScript,
    PostgresCluster,
    TieredNetwork,
} from "../../sdk";
import type { NginxLoadBalancerArgs, NginxRoute } from "../../sdk";
import { runProgram, thrownBy, upload, uploads } from "../support/graph";

const CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n";

function cluster(lb: Partial<NginxLoadBalancerArgs> = {}, route: Partial<NginxRoute> = {}) {
    const network = new TieredNetwork("net");
    const db = new PostgresCluster("db", { network });
    const app = new AppServerPool("app", { network, image: "img", database: db, replicas: 1 });
    const web = new NginxLoadBalancer("web", { network, routes: [{ path: "/", pool: app, ...route }], ...lb });
    return { network, app, web };
}

const tls = (over: Partial<NonNullable<NginxLoadBalancerArgs["tls"]>> = {}) => ({
    tls: { certificate: CERT, key: pulumi.secret(KEY), ...over },
});

describe("NginxLoadBalancer TLS", () => {
    test("certificate and key are files on the config volume (key 0600, secret in the state), two ports published", async () => {
        // A plain string key: the component itself keeps it secret.
        const { graph, result } = await runProgram(() => cluster({ tls: { certificate: CERT, key: KEY } }), {
            project: "shop",
            stack: "dev",
        });
        const secrets = graph.get("web-secrets");
        const byPath = Object.fromEntries(uploads(graph, "web-secrets").map((u) => [u.file, u]));
        expect(byPath[NGINX_TLS_CERT_PATH]).toMatchObject({ content: CERT, permissions: "0644" });
        expect(byPath[NGINX_TLS_KEY_PATH]).toMatchObject({ content: KEY, permissions: "0600" });
        // The key's upload is registered secret (mocks ignore additionalSecretOutputs: this is the input itself),
        // in the secrets container, so that the config's own uploads stay readable in previews.
        expect(secrets.secretInputs.has("uploads")).toBe(true);
        expect(secrets.secretInputs.has("name")).toBe(false);
        expect(graph.get("web-files").secretInputs.has("uploads")).toBe(false);
        expect(uploads(graph, "web-files").map((u) => u.file)).not.toContain(NGINX_TLS_KEY_PATH);
        // Never in an environment variable, never in nginx's own inputs, never in the config text.
        for (const c of graph.containers()) expect(JSON.stringify(c.inputs.envs ?? [])).not.toContain("secret-key");
        expect(JSON.stringify(graph.get("web-nginx").inputs)).not.toContain("secret-key");
        expect(result.web.nginxConf).not.toContain("secret-key");
        expect(result.web.nginxConf).toContain(`ssl_certificate_key ${NGINX_TLS_KEY_PATH};`);
        expect(result.web.nginxConf).toContain("return 301 https://$host$request_uri;");
        expect(graph.get("web-nginx").inputs.ports).toEqual([
            { internal: 80, external: 80, ip: "0.0.0.0" },
            { internal: 443, external: 443, ip: "0.0.0.0" },
        ]);
        // A renewed certificate is a reload: the watcher also watches the TLS files.
        expect(graph.get("web-nginx").inputs.command[0]).toContain(
            `cat ${NGINX_CONF_PATH} /etc/nginx/pdc/replicas ${NGINX_TLS_CERT_PATH} ${NGINX_TLS_KEY_PATH}`,
        );
        expect(result.web.httpsUrl).toBe("https://localhost:443/");
        expect(result.web.url).toBe("http://localhost:80/");
    });

    test("a renewed certificate replaces only the secrets and files containers (new names), not nginx", async () => {
        const a = await runProgram(() => cluster(tls()));
        const b = await runProgram(() => cluster(tls({ certificate: CERT.replace("MIIB", "MIIC") })));
        expect(b.graph.get("web-secrets").inputs.name).not.toBe(a.graph.get("web-secrets").inputs.name);
        expect(b.graph.get("web-files").inputs.name).not.toBe(a.graph.get("web-files").inputs.name);
        expect(b.graph.get("web-nginx").inputs).toEqual(a.graph.get("web-nginx").inputs);
        expect(b.result.web.nginxConf).toBe(a.result.web.nginxConf);
    });

    test("without the new arguments nothing changes: one port, no TLS files, the default watcher", async () => {
        const { graph, result } = await runProgram(() => cluster());
        expect(graph.get("web-nginx").inputs.ports).toHaveLength(1);
        expect(graph.get("web-nginx").inputs.command).toEqual([nginxWatcherScript()]);
        expect(upload(graph, "web-files", NGINX_TLS_KEY_PATH)).toBeUndefined();
        expect(graph.has("web-secrets")).toBe(true); // the readiness gate's token only
        expect(upload(graph, "web-secrets", NGINX_TLS_KEY_PATH)).toBeUndefined();
        expect(result.web.httpsUrl).toBeUndefined();
        expect(result.web.nginxConf).not.toMatch(/ssl|map \$http_upgrade|proxy_read_timeout/);
    });

    test("the HTTPS port is claimed on the network: another load balancer cannot publish it", async () => {
        const { result } = await runProgram(() => {
            const { network, app } = cluster(tls({ hostPort: 8443 }));
            return thrownBy(
                () =>
                    new NginxLoadBalancer("web2", {
                        network,
                        routes: [{ path: "/", pool: app }],
                        hostPort: 8443,
                    }),
            );
        });
        expect((result as Error).message).toMatch(
            /NginxLoadBalancer "web2": hostPort 8443 is already published by NginxLoadBalancer "web" \(tls.hostPort\)/,
        );
    });

    test("redirectHttp false and other ports: the redirect goes, the ports follow", async () => {
        const { graph, result } = await runProgram(() =>
            cluster(tls({ redirectHttp: false, hostPort: 8443, listenPort: 8443 })),
        );
        expect(result.web.nginxConf).not.toContain("return 301");
        expect(result.web.nginxConf).toContain("listen 80;\n        listen 8443 ssl;");
        expect(graph.get("web-nginx").inputs.ports[1]).toEqual({ internal: 8443, external: 8443, ip: "0.0.0.0" });
    });
});

describe("NginxLoadBalancer per-route options and extra directives", () => {
    test("websocket, timeouts, body size and extra directives reach the config", async () => {
        const { result } = await runProgram(() =>
            cluster(
                { extraDirectives: ["add_header X-Frame-Options DENY"] },
                {
                    websocket: true,
                    readTimeoutSeconds: 600,
                    connectTimeoutSeconds: 3,
                    clientMaxBodySize: "50m",
                    extraDirectives: ["proxy_buffering off"],
                },
            ),
        );
        const conf = result.web.nginxConf;
        const root = conf.slice(conf.indexOf("location / {"));
        for (const line of [
            "proxy_set_header Upgrade $http_upgrade;",
            "proxy_set_header Connection $pdc_connection_upgrade;",
            "proxy_read_timeout 600s;",
            "proxy_connect_timeout 3s;",
            "client_max_body_size 50m;",
            "proxy_buffering off;",
        ])
            expect(root).toContain(line);
        expect(conf).toContain("        add_header X-Frame-Options DENY;\n");
    });

    test("bad options fail with a clear message naming the argument, before any child is registered", async () => {
        const cases: [Partial<NginxLoadBalancerArgs>, Partial<NginxRoute>, RegExp][] = [
            [{}, { readTimeoutSeconds: 0 }, /routes\[0\]\.readTimeoutSeconds is 0, must be an integer from 1 to 86400/],
            [{}, { connectTimeoutSeconds: 1.5 }, /routes\[0\]\.connectTimeoutSeconds is 1\.5/],
            [{}, { clientMaxBodySize: "10 MB" }, /routes\[0\]\.clientMaxBodySize is "10 MB", not an nginx size/],
            [
                {},
                { extraDirectives: ["proxy_buffering off; include /etc/passwd"] },
                /routes\[0\]\.extraDirectives\[0\] \(.*\) contains a brace, a semicolon.*; write one simple directive/,
            ],
            [
                { extraDirectives: ["gzip on", "alias /etc/"] },
                {},
                /extraDirectives\[1\] \("alias \/etc\/"\) uses "alias", which reads files, runs code or is managed/,
            ],
            [{ extraDirectives: ["location /x { return 200; }"] }, {}, /extraDirectives\[0\] .* contains a brace/],
            [{ extraDirectives: ["content_by_lua_block x"] }, {}, /uses "content_by_lua_block"/],
            [tls({ hostPort: 80 }), {}, /tls\.hostPort is 80, like hostPort; publish HTTPS on another port/],
            [tls({ listenPort: 80 }), {}, /tls\.listenPort is 80, like listenPort/],
            [tls({ hostPort: 70000 }), {}, /tls\.hostPort is 70000, must be an integer from 1 to 65535/],
            [{ tls: { certificate: CERT, key: "" } }, {}, /tls\.key is missing; pass the PEM private key/],
        ];
        for (const [lb, route, message] of cases) {
            const { result, graph } = await runProgram(() => {
                const network = new TieredNetwork("net");
                const app = new AppServerPool("app", { network, image: "img", replicas: 1 });
                return thrownBy(
                    () =>
                        new NginxLoadBalancer("web", { network, routes: [{ path: "/", pool: app, ...route }], ...lb }),
                );
            });
            expect(result).toBeInstanceOf(ArgumentError);
            expect((result as Error).message).toMatch(message);
            expect(graph.names().filter((n) => n.startsWith("web"))).toEqual([]);
        }
    });
});

describe("NginxLoadBalancer regex routes and custom locations", () => {
    test("modifiers and custom locations reach the config: regexes quoted and after the prefixes, in order", async () => {
        const { result } = await runProgram(() => {
            const network = new TieredNetwork("net");
            const app = new AppServerPool("app", { network, image: "img", replicas: 1 });
            const img = new AppServerPool("img", { network, image: "img", replicas: 1 });
            return new NginxLoadBalancer("web", {
                network,
                routes: [
                    { path: "\\.(png|jpe?g){1}$", modifier: "~*", pool: img },
                    { path: "/", pool: app },
                    { path: "/exact", modifier: "=", pool: img },
                    { path: "/assets", modifier: "^~", pool: img },
                ],
                locations: [
                    { path: "/robots.txt", modifier: "=", return: { status: 200, text: 'User-agent: * "x"' } },
                    { path: "/docs", proxyPass: "http://docs:8080/v1/", extraDirectives: ["proxy_buffering off"] },
                    { path: "^/old/", modifier: "~", return: { status: 301, text: "https://$host/new/" } },
                ],
            });
        });
        const conf = result.nginxConf;
        const at = (s: string) => {
            expect(conf).toContain(s);
            return conf.indexOf(s);
        };
        const order = [
            at("location ^~ /assets {\n            proxy_pass http://img;"),
            at("location = /exact {\n            proxy_pass http://img;"),
            at("location / {\n            proxy_pass http://app;"),
            at('location ~* "\\.(png|jpe?g){1}$" {\n            proxy_pass http://img;'),
            at('location = /robots.txt {\n            return 200 "User-agent: * \\"x\\"";\n        }'),
            at("location /docs {\n            proxy_pass http://docs:8080/v1/;"),
            at('location ~ "^/old/" {\n            return 301 "https://$host/new/";\n        }'),
        ];
        expect([...order].sort((a, b) => a - b)).toEqual(order);
        expect(conf.slice(order[5], order[6])).toContain("proxy_buffering off;");
    });

    test("bad modifiers, patterns and custom locations fail with a message naming the argument and the fix", async () => {
        const cases: [Partial<NginxLoadBalancerArgs>, Partial<NginxRoute>, RegExp][] = [
            [{}, { modifier: "~~" as "~" }, /routes\[0\]\.modifier is "~~", not an nginx location modifier; use "="/],
            [{}, { path: '\\.png"', modifier: "~" }, /routes\[0\]\.path \(.*\) contains a quote; write a regular/],
            [{}, { path: "^/(a", modifier: "~" }, /routes\[0\]\.path \("\^\/\(a"\) is not a valid regular expression/],
            [{}, { path: "^/a b", modifier: "~*" }, /routes\[0\]\.path .* contains a space/],
            [{}, { path: "^/a\\\\b", modifier: "~" }, /routes\[0\]\.path .* contains a double or trailing backslash/],
            [{}, { path: "x\\", modifier: "~" }, /contains a double or trailing backslash/],
            [{}, { path: "/a b", modifier: "=" }, /routes\[0\]\.path is "\/a b"; use "\/" or a prefix/],
            [{ locations: [{ path: "/x" }] }, {}, /locations\[0\] has neither return nor proxyPass; give exactly one/],
            [
                { locations: [{ path: "/x", return: { status: 204 }, proxyPass: "http://a" }] },
                {},
                /locations\[0\] has both return and proxyPass/,
            ],
            [
                { locations: [{ path: "/x", return: { status: 99 } }] },
                {},
                /locations\[0\]\.return\.status is 99, must be an integer from 200 to 599; use an HTTP status/,
            ],
            [
                { locations: [{ path: "/x", return: { status: 200, text: "a\nreturn 500" } }] },
                {},
                /locations\[0\]\.return\.text is .*without control characters; write a one-line text/,
            ],
            [
                { locations: [{ path: "/x", proxyPass: "http://evil/$request_uri" }] },
                {},
                /locations\[0\]\.proxyPass is "http:\/\/evil\/\$request_uri", not an http\(s\):\/\/host\[:port\]\[\/path\] URL/,
            ],
            [
                { locations: [{ path: "^/x", modifier: "~", proxyPass: "http://docs:8080/" }] },
                {},
                /locations\[0\]\.proxyPass \("http:\/\/docs:8080\/"\) has a path, which nginx refuses in a regex location; drop the path/,
            ],
            [
                { locations: [{ path: "/x", return: { status: 200 }, extraDirectives: ["include /etc/passwd"] }] },
                {},
                /locations\[0\]\.extraDirectives\[0\] \("include \/etc\/passwd"\) uses "include"/,
            ],
            [{ locations: [{ path: "/", return: { status: 200 } }] }, {}, /locations\[0\]\.path "\/" is routed twice/],
            [
                { locations: [{ path: "/", modifier: "^~", return: { status: 200 } }] },
                {},
                /locations\[0\]\.path "\/" is routed twice/,
            ],
            [
                { locations: [{ path: "/nginx-ready/app", modifier: "=", return: { status: 200 } }] },
                {},
                /locations\[0\]\.path "\/nginx-ready\/app" is one of the load balancer's own paths.*; use another path/,
            ],
            [
                { locations: [{ path: "/a", modifier: "~", return: { status: 200 } }] },
                { path: "/a", modifier: "~" },
                /locations\[0\]\.path "\/a" is routed twice; route each pattern once/,
            ],
        ];
        for (const [lb, route, message] of cases) {
            const { result, graph } = await runProgram(() => {
                const network = new TieredNetwork("net");
                const app = new AppServerPool("app", { network, image: "img", replicas: 1 });
                return thrownBy(
                    () =>
                        new NginxLoadBalancer("web", { network, routes: [{ path: "/", pool: app, ...route }], ...lb }),
                );
            });
            expect([message, result]).toEqual([message, expect.any(ArgumentError)]);
            expect((result as Error).message).toMatch(message);
            expect(graph.names().filter((n) => n.startsWith("web"))).toEqual([]);
        }
    });
});
