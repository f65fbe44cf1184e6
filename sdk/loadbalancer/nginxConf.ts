/**
 * nginx.conf generation — pure functions, tested directly and checked with a real `nginx -t`.
 *
 * The shape follows seed 004's site (static files served by nginx, everything else proxied with Host / X-Real-IP /
 * X-Forwarded-For) plus X-Forwarded-Proto, upstream keep-alive and route matching by path prefix (seed 003).
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

/** Suffix of the readiness twin of an upstream. */
export const READINESS_SUFFIX = "__ready";

/** One proxied path prefix. */
export interface LocationSpec {
    /** URL path prefix, e.g. "/" or "/users". */
    readonly path: string;
    /** Name of the upstream serving it. */
    readonly upstream: string;
}

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
    /** Static files. @default undefined (none) */
    readonly static?: StaticSpec;
    /** `client_max_body_size`. */
    readonly clientMaxBodySize: string;
    /** Path answered with 200 by nginx itself (liveness of the load balancer). */
    readonly healthPath: string;
    /** Prefix of the per-upstream readiness locations (see `UpstreamSpec.healthPath`). @default none */
    readonly readinessPath?: string;
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
export function readinessPaths(spec: Pick<NginxConfigSpec, "readinessPath" | "upstreams">): string[] {
    if (spec.readinessPath === undefined || "include" in spec.upstreams) return [];
    return spec.upstreams.filter((u) => u.healthPath !== undefined).map((u) => `${spec.readinessPath}/${u.name}`);
}

/** Location paths sorted longest first (nginx picks the longest matching prefix anyway; this keeps output stable). */
function sortedLocations(locations: readonly LocationSpec[]): LocationSpec[] {
    return [...locations].sort((a, b) => b.path.length - a.path.length || a.path.localeCompare(b.path));
}

function indent(text: string, by: string): string {
    return text
        .split("\n")
        .map((l) => (l.length > 0 ? by + l : l))
        .join("\n");
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
        "    keepalive_timeout 65;",
        "    server_tokens off;",
    );
    out.push(`    client_max_body_size ${spec.clientMaxBodySize};`);
    if (spec.tempDir !== undefined) {
        for (const k of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"])
            out.push(`    ${k}_temp_path ${spec.tempDir}/${k};`);
    }
    out.push("");
    if ("include" in spec.upstreams) {
        out.push(
            "    # Upstreams rendered by consul-template from Consul's healthy instances.",
            `    include ${spec.upstreams.include};`,
        );
    } else {
        out.push(indent(renderUpstreamBlocks(spec.upstreams), "    ").replace(/\n+$/, ""));
        for (const u of spec.readinessPath !== undefined
            ? spec.upstreams.filter((x) => x.healthPath !== undefined)
            : []) {
            out.push("", indent(renderReadinessUpstream(u), "    ").replace(/\n+$/, ""));
        }
    }
    out.push(
        "",
        "    server {",
        `        listen ${spec.listenPort};`,
        `        server_name ${spec.serverName};`,
        "        charset utf-8;",
        "",
    );
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
    if (spec.readinessPath !== undefined && !("include" in spec.upstreams)) {
        for (const u of spec.upstreams.filter((x) => x.healthPath !== undefined)) {
            out.push(
                "",
                `        # Readiness of ${u.name}: one of its servers answers ${u.healthPath} through nginx.`,
                `        location = ${spec.readinessPath}/${u.name} {`,
                "            access_log off;",
                `            proxy_pass http://${u.name}${READINESS_SUFFIX}${u.healthPath};`,
                "            proxy_next_upstream error timeout http_502 http_503;",
                "            proxy_connect_timeout 2s;",
                "        }",
            );
        }
    }
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
        out.push(
            "",
            `        location ${l.path} {`,
            `            proxy_pass http://${l.upstream};`,
            "            proxy_http_version 1.1;",
            '            proxy_set_header Connection "";',
            "            proxy_set_header Host $host;",
            "            proxy_set_header X-Real-IP $remote_addr;",
            "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "            proxy_set_header X-Forwarded-Proto $scheme;",
            "            proxy_next_upstream error timeout http_502 http_503;",
            "            proxy_connect_timeout 5s;",
            "        }",
        );
    }
    out.push("    }", "}", "");
    return out.join("\n");
}
