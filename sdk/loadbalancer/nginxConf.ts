/**
 * nginx.conf generation — pure functions, tested directly and checked with a real `nginx -t`.
 *
 * The shape follows a typical Flask site behind nginx (static files served by nginx, everything else proxied with Host / X-Real-IP /
 * X-Forwarded-For) plus X-Forwarded-Proto, upstream keep-alive and route matching by path prefix. Hardened (issue 16):
 * no version in answers, client timeouts, X-Forwarded-For from the peer address only, readiness paths behind a token.
 */
import { createHash } from "crypto";
import type { UpstreamServer } from "../container";

/** One named upstream (one app pool). */
export interface UpstreamSpec {
    /** nginx upstream name (the pool's service name). */
    readonly name: string;
    /** Its servers; an empty list renders a single `down` placeholder so the config stays valid (nginx answers 502). */
    readonly servers: readonly UpstreamServer[];
    /**
     * The servers' health path. When set (and the config has a `readinessPath`), `<readinessPath>/<name>` proxies to
     * it through a twin upstream that never marks servers failed, so probing during start-up cannot take the real
     * upstream's servers out of rotation. @default undefined (no readiness location)
     */
    readonly healthPath?: string;
}

/** Header carrying the readiness gate's token (see `NginxConfigSpec.readinessGateFile`). */
export const READINESS_GATE_HEADER = "X-PDC-Gate";

/** Variable set to 1 when the request carries the readiness gate's token. */
const GATE_OPEN_VAR = "$pdc_gate_open";

/** Suffix of the readiness twin of an upstream. */
export const READINESS_SUFFIX = "__ready";

/**
 * An nginx location modifier: "=" exact path, "^~" prefix that stops the regex search, "~" regex, "~*" regex
 * ignoring case. None: a plain prefix.
 */
export type LocationModifier = "=" | "^~" | "~" | "~*";

/** Whether a modifier makes the location's path a regular expression. */
export function isRegexModifier(m: LocationModifier | undefined): boolean {
    return m === "~" || m === "~*";
}

/** One proxied location. */
export interface LocationSpec {
    /** URL path prefix, e.g. "/" or "/users"; a regular expression with a regex `modifier`. */
    readonly path: string;
    /** nginx location modifier. @default undefined (a plain prefix) */
    readonly modifier?: LocationModifier;
    /** Name of the upstream serving it. */
    readonly upstream: string;
    /** Pass websocket upgrades (Upgrade / Connection "upgrade"); reads wait an hour unless `readTimeoutSeconds`. @default false */
    readonly websocket?: boolean;
    /** `proxy_read_timeout` in seconds. @default undefined (nginx's 60 s; 3600 s for a websocket route) */
    readonly readTimeoutSeconds?: number;
    /** `proxy_connect_timeout` in seconds. @default 5 */
    readonly connectTimeoutSeconds?: number;
    /** `client_max_body_size` of this location. @default undefined (the server's) */
    readonly clientMaxBodySize?: string;
    /** Further simple directives (checked by `checkExtraDirective`), rendered last. @default [] */
    readonly extraDirectives?: readonly string[];
}

/** A location of the user's own: a fixed answer or a proxy to a URL, plus checked directives. */
export interface CustomLocationSpec {
    /** Path, or a regular expression with a regex `modifier`. */
    readonly path: string;
    /** nginx location modifier. @default undefined (a plain prefix) */
    readonly modifier?: LocationModifier;
    /** `return <status> "<text>"` (the text is a URL for a redirect). @default undefined */
    readonly return?: { readonly status: number; readonly text?: string };
    /** `proxy_pass <url>` with the forwarding headers. @default undefined */
    readonly proxyPass?: string;
    /** Further simple directives (checked by `checkExtraDirective`), rendered last. @default [] */
    readonly extraDirectives?: readonly string[];
}

/** TLS on the server: certificate files nginx reads, and whether plain HTTP redirects to HTTPS. */
export interface TlsSpec {
    /** Port nginx listens on for HTTPS inside the container. */
    readonly listenPort: number;
    /** Published HTTPS port, for the redirect's target (443 is left out of the URL). */
    readonly hostPort: number;
    /** Path of the PEM certificate (chain) in the container. */
    readonly certificatePath: string;
    /** Path of the PEM private key in the container. */
    readonly keyPath: string;
    /**
     * Plain HTTP answers 301 to HTTPS (but for the load balancer's own paths, which the readiness gate and the
     * health check use). Else both ports serve everything.
     */
    readonly redirectHttp: boolean;
}

/** Variable mapped from `$http_upgrade`: "upgrade" on an upgrade request, "" (keep-alive to the upstream) otherwise. */
export const CONNECTION_UPGRADE_VAR = "$pdc_connection_upgrade";

/** Static files served by nginx itself. */
export interface StaticSpec {
    /** URL prefix, ending in "/", e.g. "/static/". */
    readonly urlPath: string;
    /** Directory in the container, ending in "/", e.g. "/usr/share/nginx/static/". */
    readonly root: string;
}

/** @internal */
export interface NginxConfigSpec {
    /** Port nginx listens on inside the container. */
    readonly listenPort: number;
    /** `server_name`. */
    readonly serverName: string;
    /** Worker user (`user` directive); null leaves it out (nginx's compiled-in default). */
    readonly user: string | null;
    /** Upstreams inline, or `{ include }`: a glob of files holding them (consul-template mode). */
    readonly upstreams: readonly UpstreamSpec[] | { readonly include: string };
    /** Proxied locations. */
    readonly locations: readonly LocationSpec[];
    /** The user's own locations, rendered after the routes in this order. @default [] */
    readonly customLocations?: readonly CustomLocationSpec[];
    /** Static files. @default undefined (none) */
    readonly static?: StaticSpec;
    /** `client_max_body_size`. */
    readonly clientMaxBodySize: string;
    /** Path answered with 200 by nginx itself (liveness of the load balancer). */
    readonly healthPath: string;
    /** Prefix of the per-upstream readiness locations (see `UpstreamSpec.healthPath`). @default none */
    readonly readinessPath?: string;
    /**
     * File holding the one map entry `"<token>" 1;`: with it, the readiness locations answer 404 unless the request's
     * `X-PDC-Gate` header carries the token (they proxy to the apps' health paths, which are not for the public; the
     * readiness gate sends it). @default undefined (readiness locations open to any client)
     */
    readonly readinessGateFile?: string;
    /** Path of mime.types. */
    readonly mimeTypes: string;
    /** Error log target. */
    readonly errorLog: string;
    /** Access log target. */
    readonly accessLog: string;
    /** Directory for nginx's temp files (tests run nginx outside a container). @default undefined (compiled-in paths) */
    readonly tempDir?: string;
    /**
     * Path answered by nginx itself with the config's digest (see `sealNginxConf`), so a reload can be seen from
     * outside: the new config serves only once nginx loaded it. @default undefined (none)
     */
    readonly configDigestPath?: string;
    /** Comment lines put at the top (e.g. the replica container ids, so their change changes the config). @default [] */
    readonly comments?: readonly string[];
    /** HTTPS. @default undefined (plain HTTP only) */
    readonly tls?: TlsSpec;
    /** Simple directives added to the server block(s) serving the routes (see `checkExtraDirective`). @default [] */
    readonly extraDirectives?: readonly string[];
    /**
     * DNS server through which each request resolves its upstream's host name (a swarm's, "127.0.0.11", whose
     * pools are DNS round-robin names): no upstream blocks are rendered, each upstream's first server is its host
     * and port, and a route proxies to it through a variable, so the name's addresses are looked up again once a
     * second (nginx 1.22 has no `resolve` in upstream blocks) and a task that left is tried no more. No readiness
     * locations (they proxy to upstream blocks). @default undefined (upstream blocks, resolved when nginx loads the config)
     */
    readonly resolver?: string;
}

/** Directives an extra directive may not be: they read files, run code, or are managed by the load balancer. */
const REFUSED_DIRECTIVES =
    /^(include|load_module|root|alias|proxy_pass|listen|server_name|ssl_certificate|ssl_certificate_key|ssl_password_file|user|pid|daemon|env|access_log|error_log|.*lua.*|perl.*|js_.*|.*_by_.*|ssi.*|auth_request.*|mirror|.*_file|.*_path)$/;

/**
 * Why one extra directive is refused, or undefined if it is accepted: one simple directive (a lower-case name,
 * then arguments) with an optional trailing ";", without braces, other semicolons, comments, newlines or
 * backslashes, and not one that reads files, runs code or that the load balancer sets itself. What nginx itself
 * thinks of the arguments is checked by `nginx -t` before the config is loaded. Pure.
 */
export function checkExtraDirective(d: unknown): string | undefined {
    if (typeof d !== "string") return "is not a string";
    const text = d.trim().replace(/;$/, "");
    if (/[{};#\\\r\n]/.test(text)) return "contains a brace, a semicolon, a comment, a backslash or a newline";
    const m = /^([a-z][a-z0-9_]*)(\s+\S.*)?$/.exec(text);
    if (!m) return "is not a directive name followed by its arguments";
    if (REFUSED_DIRECTIVES.test(m[1]))
        return `uses "${m[1]}", which reads files, runs code or is managed by the load balancer`;
    return undefined;
}

/**
 * Why a regex location pattern is refused, or undefined if it is accepted: 1–1024 printable ASCII characters
 * without spaces or quotes (it is rendered in double quotes, so braces and ";" stay inside it), no double and no
 * trailing backslash (nginx's quoting would change or end the pattern), and a regular expression JavaScript can
 * compile (PCRE, which nginx uses, accepts what it does for the usual patterns; `nginx -t` has the last word). Pure.
 */
export function checkLocationPattern(p: unknown): string | undefined {
    if (typeof p !== "string") return "is not a string";
    if (p.length === 0 || p.length > 1024) return "is empty or longer than 1024 characters";
    if (!/^[\x21-\x7e]*$/.test(p)) return "contains a space, a control or a non-ASCII character";
    if (/["']/.test(p)) return "contains a quote";
    if (p.includes("\\\\") || p.endsWith("\\")) return "contains a double or trailing backslash";
    try {
        new RegExp(p);
    } catch {
        return "is not a valid regular expression";
    }
    return undefined;
}

/** A location's opening line's argument(s): the modifier, and a regex pattern in double quotes. */
function locationHead(path: string, modifier: LocationModifier | undefined): string {
    if (modifier === undefined) return path;
    return isRegexModifier(modifier) ? `${modifier} "${path}"` : `${modifier} ${path}`;
}

/** `text` as an nginx double-quoted string (variables in it stay variables). */
function quoted(text: string): string {
    return `"${text.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
}

function directiveLine(d: string, pad: string): string {
    return `${pad}${d.trim().replace(/;$/, "")};`;
}

/** Placeholder of the config digest in a rendered config, replaced by `sealNginxConf`. */
export const CONFIG_DIGEST_PLACEHOLDER = "@CONFIG_DIGEST@";

/**
 * Replaces the digest placeholder of a rendered config with the first 16 hex digits of the sha256 of the text
 * with the placeholder in it: the same input gives the same config and digest. Pure.
 * @internal
 */
export function sealNginxConf(text: string): { text: string; digest: string } {
    const digest = createHash("sha256").update(text).digest("hex").slice(0, 16);
    return { text: text.split(CONFIG_DIGEST_PLACEHOLDER).join(digest), digest };
}

/** Placeholder server of an upstream that has no servers: valid for nginx, marked down, so requests get 502. @internal */
export const DOWN_PLACEHOLDER = "127.0.0.1:65535";

/** Per-server parameters: passive health checking. */
export const SERVER_PARAMS = "max_fails=3 fail_timeout=10s";

/** Idle keep-alive connections kept per worker to each upstream. */
export const UPSTREAM_KEEPALIVE = 16;

function upstreamBlock(
    name: string,
    servers: readonly UpstreamServer[],
    params: string,
    tail: readonly string[],
): string {
    const lines = [`upstream ${name} {`];
    if (servers.length === 0) lines.push(`    server ${DOWN_PLACEHOLDER} down;`);
    for (const s of servers) lines.push(`    server ${s.host}:${s.port} ${params};`);
    lines.push(...tail, "}", "");
    return lines.join("\n");
}

/** One upstream block. The exact same text is produced by the consul-template template for the same servers. @internal */
export function renderUpstreamBlock(u: UpstreamSpec): string {
    return upstreamBlock(u.name, u.servers, SERVER_PARAMS, [`    keepalive ${UPSTREAM_KEEPALIVE};`]);
}

/** All upstream blocks, in order. */
export function renderUpstreamBlocks(upstreams: readonly UpstreamSpec[]): string {
    return upstreams.map(renderUpstreamBlock).join("\n");
}

/** The readiness twin of an upstream: same servers, no failure accounting (`max_fails=0`). */
export function renderReadinessUpstream(u: UpstreamSpec): string {
    return upstreamBlock(`${u.name}${READINESS_SUFFIX}`, u.servers, "max_fails=0", []);
}

/** The readiness paths a config answers on: one per upstream with a health path. */
export function readinessPaths(spec: Pick<NginxConfigSpec, "readinessPath" | "upstreams" | "resolver">): string[] {
    if (spec.readinessPath === undefined || spec.resolver !== undefined || "include" in spec.upstreams) return [];
    return spec.upstreams.filter((u) => u.healthPath !== undefined).map((u) => `${spec.readinessPath}/${u.name}`);
}

/**
 * Prefix and exact locations sorted longest first (nginx picks the longest matching prefix anyway; this keeps output
 * stable), then the regex ones in their given order (nginx tries them in the order of the config).
 */
function sortedLocations(locations: readonly LocationSpec[]): LocationSpec[] {
    const plain = locations.filter((l) => !isRegexModifier(l.modifier));
    plain.sort((a, b) => b.path.length - a.path.length || a.path.localeCompare(b.path));
    return [...plain, ...locations.filter((l) => isRegexModifier(l.modifier))];
}

function indent(text: string, by: string): string {
    return text
        .split("\n")
        .map((l) => (l.length > 0 ? by + l : l))
        .join("\n");
}

function tlsListen(tls: TlsSpec): string[] {
    return [
        `listen ${tls.listenPort} ssl;`,
        `ssl_certificate ${tls.certificatePath};`,
        `ssl_certificate_key ${tls.keyPath};`,
        "ssl_protocols TLSv1.2 TLSv1.3;",
        "ssl_session_cache shared:pdc_ssl:1m;",
    ];
}

function serverOpen(spec: NginxConfigSpec, listen: readonly string[]): string[] {
    return [
        "",
        "    server {",
        ...listen.map((l) => `        ${l}`),
        `        server_name ${spec.serverName};`,
        "        charset utf-8;",
        "",
    ];
}

/** The load balancer's own locations: health, config digest, readiness (served on plain HTTP even with a redirect). */
function ownLocations(spec: NginxConfigSpec): string[] {
    const out: string[] = [];
    out.push(
        `        location = ${spec.healthPath} {`,
        "            access_log off;",
        "            default_type text/plain;",
        '            return 200 "ok\\n";',
        "        }",
    );
    if (spec.configDigestPath !== undefined) {
        out.push(
            "",
            "        # The digest of this config: tells from outside which config nginx serves (after a reload).",
            `        location = ${spec.configDigestPath} {`,
            "            access_log off;",
            "            default_type text/plain;",
            `            return 200 "${CONFIG_DIGEST_PLACEHOLDER}\\n";`,
            "        }",
        );
    }
    if (readinessPaths(spec).length > 0 && !("include" in spec.upstreams)) {
        for (const u of spec.upstreams.filter((x) => x.healthPath !== undefined)) {
            out.push(
                "",
                `        # Readiness of ${u.name}: one of its servers answers ${u.healthPath} through nginx.`,
                `        location = ${spec.readinessPath}/${u.name} {`,
                "            access_log off;",
                ...(spec.readinessGateFile !== undefined
                    ? [
                          // Only the gate (it sends the token); the token is not passed on to the app.
                          `            if (${GATE_OPEN_VAR} = 0) {`,
                          "                return 404;",
                          "            }",
                          `            proxy_set_header ${READINESS_GATE_HEADER} "";`,
                      ]
                    : []),
                `            proxy_pass http://${u.name}${READINESS_SUFFIX}${u.healthPath};`,
                "            proxy_next_upstream error timeout http_502 http_503;",
                "            proxy_connect_timeout 2s;",
                "        }",
            );
        }
    }
    return out;
}

/**
 * A route's connect timeout unless it sets one: 5 s, 1 s in resolver mode (swarm). There a task that just stopped
 * (a rolling update) or a lost node's task leaves an overlay address that hangs instead of refusing, until the
 * name stops resolving to it; 1 s, then nginx tries the next address (measured: 12 of 832 requests waited out a
 * 5 s connect during a rolling update of examples/three-tier on swarm; 0 of 1,194 and of 1,558 with 1 s).
 */
export function defaultConnectTimeout(spec: Pick<NginxConfigSpec, "resolver">): number {
    return spec.resolver !== undefined ? 1 : 5;
}

/** The variable holding an upstream's host name in resolver mode (`$pdc_`: nginx's own are `$upstream_*`). */
export function upstreamVariable(upstream: string): string {
    return `$pdc_upstream_${upstream.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

/** A route's `proxy_pass`: to its upstream block, or in resolver mode to the host name through a variable. */
function proxyPassLines(spec: NginxConfigSpec, upstream: string): string[] {
    if (spec.resolver === undefined || "include" in spec.upstreams)
        return [`            proxy_pass http://${upstream};`];
    const server = spec.upstreams.find((u) => u.name === upstream)?.servers[0];
    if (server === undefined) return ["            return 502;"];
    // A variable makes nginx resolve the name per request (cached `valid` seconds) over all its addresses.
    const v = upstreamVariable(upstream);
    return [`            set ${v} ${server.host};`, `            proxy_pass http://${v}:${server.port};`];
}

/** Static files, the routes and the server-level extra directives. */
function routedLocations(spec: NginxConfigSpec): string[] {
    const out: string[] = [];
    const extra = spec.extraDirectives ?? [];
    if (extra.length > 0) out.push("", ...extra.map((d) => directiveLine(d, "        ")));
    if (spec.static) {
        out.push(
            "",
            `        location ${spec.static.urlPath} {`,
            `            alias ${spec.static.root};`,
            "            expires 1h;",
            "            access_log off;",
            "        }",
        );
    }
    for (const l of sortedLocations(spec.locations)) {
        // Websockets: Upgrade passed on, Connection "upgrade" only on an upgrade request (else "", keep-alive).
        const connection = l.websocket ? CONNECTION_UPGRADE_VAR : '""';
        const readTimeout = l.readTimeoutSeconds ?? (l.websocket ? 3600 : undefined);
        out.push(
            "",
            `        location ${locationHead(l.path, l.modifier)} {`,
            ...proxyPassLines(spec, l.upstream),
            "            proxy_http_version 1.1;",
            ...(l.websocket ? ["            proxy_set_header Upgrade $http_upgrade;"] : []),
            `            proxy_set_header Connection ${connection};`,
            "            proxy_set_header Host $host;",
            "            proxy_set_header X-Real-IP $remote_addr;",
            // The peer's address only: a client's own X-Forwarded-For would be forged (nginx is the front door).
            "            proxy_set_header X-Forwarded-For $remote_addr;",
            "            proxy_set_header X-Forwarded-Proto $scheme;",
            "            proxy_next_upstream error timeout http_502 http_503;",
            `            proxy_connect_timeout ${l.connectTimeoutSeconds ?? defaultConnectTimeout(spec)}s;`,
            ...(readTimeout !== undefined ? [`            proxy_read_timeout ${readTimeout}s;`] : []),
            ...(l.clientMaxBodySize !== undefined ? [`            client_max_body_size ${l.clientMaxBodySize};`] : []),
            ...(l.extraDirectives ?? []).map((d) => directiveLine(d, "            ")),
            "        }",
        );
    }
    for (const l of spec.customLocations ?? []) {
        out.push("", `        location ${locationHead(l.path, l.modifier)} {`);
        if (l.return !== undefined)
            out.push(
                `            return ${l.return.status}${l.return.text !== undefined ? ` ${quoted(l.return.text)}` : ""};`,
            );
        if (l.proxyPass !== undefined)
            out.push(
                `            proxy_pass ${l.proxyPass};`,
                "            proxy_set_header X-Real-IP $remote_addr;",
                "            proxy_set_header X-Forwarded-For $remote_addr;",
                "            proxy_set_header X-Forwarded-Proto $scheme;",
                "            proxy_connect_timeout 5s;",
            );
        out.push(...(l.extraDirectives ?? []).map((d) => directiveLine(d, "            ")), "        }");
    }
    return out;
}

/** The complete nginx.conf. @internal */
export function renderNginxConf(spec: NginxConfigSpec): string {
    const out: string[] = [];
    out.push("# Generated by pulumi-docker-cluster (NginxLoadBalancer). Do not edit: changes are overwritten.");
    for (const c of spec.comments ?? []) out.push(`# ${c.replace(/\n/g, " ")}`);
    if (spec.user !== null) out.push(`user ${spec.user};`);
    out.push(
        "worker_processes auto;",
        `error_log ${spec.errorLog} notice;`,
        "",
        "events {",
        "    worker_connections 1024;",
        "}",
        "",
    );
    out.push("http {");
    out.push(`    include ${spec.mimeTypes};`, "    default_type application/octet-stream;");
    out.push(
        "    log_format main '$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent '",
        '                    \'"$http_referer" "$http_user_agent" "$http_x_forwarded_for" upstream=$upstream_addr\';',
    );
    out.push(
        `    access_log ${spec.accessLog} main;`,
        "    sendfile on;",
        "    server_tokens off;",
        // Slow or idle clients cannot hold connections (slowloris); extraDirectives in the server block override them.
        "    client_header_timeout 10s;",
        "    client_body_timeout 30s;",
        "    send_timeout 30s;",
        "    keepalive_timeout 30s;",
    );
    out.push(`    client_max_body_size ${spec.clientMaxBodySize};`);
    if (spec.resolver !== undefined) out.push(`    resolver ${spec.resolver} valid=1s ipv6=off;`);
    if (spec.tempDir !== undefined) {
        for (const k of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"])
            out.push(`    ${k}_temp_path ${spec.tempDir}/${k};`);
    }
    if (spec.locations.some((l) => l.websocket)) {
        out.push(
            `    map $http_upgrade ${CONNECTION_UPGRADE_VAR} {`,
            "        default upgrade;",
            "        '' \"\";",
            "    }",
        );
    }
    if (spec.readinessGateFile !== undefined && readinessPaths(spec).length > 0) {
        out.push(
            `    map $http_${READINESS_GATE_HEADER.toLowerCase().replace(/-/g, "_")} ${GATE_OPEN_VAR} {`,
            "        default 0;",
            `        include ${spec.readinessGateFile};`,
            "    }",
        );
    }
    out.push("");
    if ("include" in spec.upstreams) {
        out.push(
            "    # Upstreams rendered by consul-template from Consul's healthy instances.",
            `    include ${spec.upstreams.include};`,
        );
    } else if (spec.resolver !== undefined) {
        out.push("    # Upstreams resolved per request (resolver above): see the routes' proxy_pass.");
    } else {
        out.push(indent(renderUpstreamBlocks(spec.upstreams), "    ").replace(/\n+$/, ""));
        for (const u of spec.readinessPath !== undefined
            ? spec.upstreams.filter((x) => x.healthPath !== undefined)
            : []) {
            out.push("", indent(renderReadinessUpstream(u), "    ").replace(/\n+$/, ""));
        }
    }
    const tls = spec.tls;
    const routed = routedLocations(spec);
    if (tls === undefined) {
        out.push(...serverOpen(spec, [`listen ${spec.listenPort};`]), ...ownLocations(spec), ...routed);
    } else if (tls.redirectHttp) {
        const target = tls.hostPort === 443 ? "https://$host$request_uri" : `https://$host:${tls.hostPort}$request_uri`;
        out.push(...serverOpen(spec, [`listen ${spec.listenPort};`]), ...ownLocations(spec));
        out.push("", "        location / {", `            return 301 ${target};`, "        }", "    }");
        out.push(...serverOpen(spec, tlsListen(tls)), ...ownLocations(spec), ...routed);
    } else {
        out.push(
            ...serverOpen(spec, [`listen ${spec.listenPort};`, ...tlsListen(tls)]),
            ...ownLocations(spec),
            ...routed,
        );
    }
    out.push("    }", "}", "");
    return out.join("\n");
}
