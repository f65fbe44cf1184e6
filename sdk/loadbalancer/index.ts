/**
 * NginxLoadBalancer: the cluster's front door ("only web publishes port 80").
 *
 * The nginx container is replaced only when something it is made of changes (image, published port, listen port,
 * tiers, resources, restart policy): its config never is. The rendered nginx.conf (and the static files) live on a
 * named volume, written by a small data-only "files" container (created, never started: the docker provider
 * uploads into its volume mount) that is replaced whenever the config changes. nginx runs a tiny watcher next to
 * its master: when the file on the volume differs from the one loaded, it copies it, checks it with `nginx -t`
 * and sends the master SIGHUP — a graceful reload (the master keeps the listening socket, old workers finish their
 * requests). A config that `nginx -t` refuses is not loaded; the running one keeps serving.
 *
 * `pulumi up` waits for the reload through the readiness gate: each config answers its own digest on
 * `/nginx-config`, and the gate polls until the published port serves the new digest (and every route answers end
 * to end), then waits `drainSeconds` so requests still in flight on the old workers finish before anything that
 * left the config (an old replica) is removed.
 *
 * Static mode (default): upstreams generated from the pools' replica host names (a Flask site, generalised to
 * several pools routed by path prefix). The replica container ids are written next to the config, so a
 * replica re-created under the same name (say after a refresh) is a reload too, which resolves its new address.
 *
 * consul-template mode: nginx.conf includes upstream blocks rendered by a consul-template sidecar from Consul's
 * healthy instances; the sidecar shares nginx's PID namespace and sends it SIGHUP (graceful reload) only when the
 * rendered file changed. Apps come and go without touching the load balancer's resources.
 *
 * On a swarm network: one nginx service instead, its config a digest-named swarm config (sdk/loadbalancer/swarm.ts).
 */
import { isIP } from "net";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import { AppServerPool } from "../app";
import {
    checkEnvNames,
    checkLogging,
    checkPassThrough,
    checkResources,
    ContainerPassThrough,
    ContainerProfile,
    ContainerResources,
    ContainerSettings,
    containerSettings,
    containerSettingsInputs,
    envEntries,
    filesDigest,
    healthcheckInput,
    httpHealthcheck,
    isSafeRelativePath,
    LoggingArgs,
    overlayFiles,
    resourceInputs,
    RestartPolicy,
    uploadsUnder,
    withDefaultMemory,
} from "../container";
import { ServiceDiscovery } from "../discovery";
import { componentLabels, dockerName, labelList } from "../naming";
import { checkNetworkArg, NetworkClaim, TieredNetwork } from "../network";
import { ArgChecker } from "../validation";
import { renderConsulTemplateConfig, renderUpstreamsFromInstances, renderUpstreamsTemplate } from "./consulTemplate";
import {
    checkExtraDirective,
    checkLocationPattern,
    CustomLocationSpec,
    DOWN_PLACEHOLDER,
    isRegexModifier,
    LocationModifier,
    LocationSpec,
    NginxConfigSpec,
    READINESS_GATE_HEADER,
    readinessPaths,
    renderNginxConf,
    sealNginxConf,
    UpstreamSpec,
} from "./nginxConf";
import { HttpReadiness } from "./readiness";
import { buildSwarmLb, checkSwarmLbArgs, SWARM_DNS } from "./swarm";

export {
    checkExtraDirective,
    checkLocationPattern,
    DOWN_PLACEHOLDER,
    READINESS_GATE_HEADER,
    renderNginxConf,
    renderUpstreamBlock,
    sealNginxConf,
    type CustomLocationSpec,
    type LocationModifier,
    type LocationSpec,
    type NginxConfigSpec,
    type StaticSpec,
    type TlsSpec,
    type UpstreamSpec,
} from "./nginxConf";
export {
    renderConsulTemplateConfig,
    renderUpstreamsFromInstances,
    renderUpstreamsTemplate,
    type ConsulTemplateConfigSpec,
    type ConsulUpstream,
    type ServiceInstance,
} from "./consulTemplate";
export { HttpReadiness, httpReadinessProvider, type HttpReadinessArgs } from "./readiness";

export const DEFAULT_NGINX_IMAGE = "nginx:stable-bookworm";
export const DEFAULT_CONSUL_TEMPLATE_IMAGE = "hashicorp/consul-template:0.39";
/** Mount point of the config volume (config and static files) in the nginx and files containers. @internal */
export const NGINX_CONF_DIR = "/etc/nginx/pdc";
/** Where the generated config goes on the config volume. @internal */
export const NGINX_CONF_PATH = `${NGINX_CONF_DIR}/nginx.conf`;
/** The replica container ids the config was written for, one a line, next to it on the config volume. */
export const NGINX_REPLICAS_PATH = `${NGINX_CONF_DIR}/replicas`;
/** Where static files go on the config volume: `${STATIC_ROOT}-<digest of the files>/`, so a change is a new directory. @internal */
export const STATIC_ROOT = `${NGINX_CONF_DIR}/static`;
/** Where the watcher keeps the config nginx runs (inside the nginx container). */
export const NGINX_LIVE_DIR = "/run/pdc-nginx";
/** Path where nginx answers the digest of the config it serves. */
export const CONFIG_DIGEST_PATH = "/nginx-config";
/** consul-template mode: the shared directory holding the rendered upstreams. @internal */
export const UPSTREAMS_DIR = "/etc/nginx/upstreams";
/** @internal */
export const UPSTREAMS_FILE = `${UPSTREAMS_DIR}/upstreams.conf`;
/**
 * consul-template's config and template: on the upstreams volume (not included by nginx, which reads only
 * `*.conf` at its top), since Docker refuses uploads into a read-only root filesystem. @internal
 */
export const CONSUL_TEMPLATE_DIR = `${UPSTREAMS_DIR}/consul-template`;
/**
 * consul-template's Consul token (discovery with ACLs), next to its config: mode 0400, root's (the sidecar runs as
 * root), so nginx's workers, which share the volume, cannot read it. @internal
 */
export const CONSUL_TEMPLATE_TOKEN_FILE = `${CONSUL_TEMPLATE_DIR}/consul.token`;

/**
 * nginx's hardening: read-only root with tmpfs where nginx and its watcher write (the temp paths: /var/cache/nginx
 * in the official image, /var/lib/nginx in Debian's; /run: the pid file and the watcher's live config,
 * NGINX_LIVE_DIR), and only the capabilities the master needs: bind the port, chown its temp directories, switch
 * its workers to the nginx user. The config and static files are on a read-only volume anyway.
 */
export const NGINX_PROFILE: ContainerProfile = {
    readOnly: true,
    tmpfs: { "/var/cache/nginx": "", "/var/lib/nginx": "", "/run": "" },
    capabilities: { drops: ["ALL"], adds: ["CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"] },
};
/**
 * consul-template's hardening: read-only root (it writes only the upstreams volume), /tmp on tmpfs, no
 * capabilities (it signals nginx's master, a process of its own user, root).
 */
export const CONSUL_TEMPLATE_PROFILE: ContainerProfile = {
    readOnly: true,
    tmpfs: { "/tmp": "" },
    capabilities: { drops: ["ALL"] },
};
/**
 * consul-template's memory limit in MiB when `templateResources` leaves it out: it used 7 MiB (`docker stats` in
 * tests/sdk/discovery-runtime.test.ts, after its load).
 */
export const DEFAULT_CONSUL_TEMPLATE_MEMORY_MB = 64;
/** Where the TLS certificate and key go on the config volume (the key with mode 0600). */
export const NGINX_TLS_CERT_PATH = `${NGINX_CONF_DIR}/tls/certificate.pem`;
/** @see NGINX_TLS_CERT_PATH */
export const NGINX_TLS_KEY_PATH = `${NGINX_CONF_DIR}/tls/key.pem`;
/** The readiness gate's token as a map entry (`"<token>" 1;`), on the config volume (mode 0600). */
export const NGINX_GATE_PATH = `${NGINX_CONF_DIR}/gate.map`;
/** Label carrying the digest of the config a files container wrote. */
export const CONFIG_DIGEST_LABEL = "dockercluster.nginx-config-digest";

/** One routed path prefix (or exact path, or regular expression, by `modifier`). */
export interface NginxRoute {
    /**
     * URL path prefix: "/" or "/segment" (letters, digits, "-", "_", ".", "~", "/"); with `modifier` "=" the exact
     * path, with "~" or "~*" a regular expression (see `modifier`).
     */
    readonly path: string;
    /**
     * nginx location modifier: "=" exact path, "^~" prefix that wins over regexes, "~" regular expression, "~*" one
     * ignoring case. A pattern is 1–1024 printable ASCII characters without spaces, quotes or double backslashes,
     * e.g. "\\.(png|jpe?g)$"; regex locations are tried in the order given (routes' first, then `locations`').
     * @default undefined (a plain prefix)
     */
    readonly modifier?: LocationModifier;
    /** The pool serving it. */
    readonly pool: AppServerPool;
    /** Pass websocket upgrades through (Upgrade and Connection "upgrade"), reads waiting an hour. @default false */
    readonly websocket?: boolean;
    /** How long nginx waits for the app between two reads of a response, 1–86400 s. @default 60 (3600 with `websocket`) */
    readonly readTimeoutSeconds?: number;
    /** How long nginx waits to connect to a replica before trying the next, 1–3600 s. @default 5 (1 on a swarm network) */
    readonly connectTimeoutSeconds?: number;
    /** Largest request body on this route, like the load balancer's `clientMaxBodySize`. @default the load balancer's */
    readonly clientMaxBodySize?: string;
    /**
     * Further nginx directives in this route's location, one simple directive each, e.g. "proxy_buffering off"
     * (rule: see `NginxLoadBalancerArgs.extraDirectives`). @default []
     */
    readonly extraDirectives?: readonly string[];
}

/**
 * A location of your own: a fixed answer (`return`) or a proxy to another address (`proxyPass`), exactly one of
 * them, plus checked directives. E.g. `{ path: "/robots.txt", modifier: "=", return: { status: 200, text: "User-agent: *" } }`.
 */
export interface NginxCustomLocation {
    /** A path as a route's ("/" or "/segment"), or a regular expression with a regex `modifier`. */
    readonly path: string;
    /** nginx location modifier, as a route's (`NginxRoute.modifier`). @default undefined (a plain prefix) */
    readonly modifier?: LocationModifier;
    /**
     * `return <status> "<text>"`: status 200–599, text (a URL for a redirect; nginx variables such as $host are
     * expanded) of at most 4096 characters without control characters. @default undefined
     */
    readonly return?: { readonly status: number; readonly text?: string };
    /**
     * Proxy to `http(s)://host[:port][/path]` (path: letters, digits, "-", "_", ".", "~", "/"; none under a regex
     * modifier, which nginx refuses), with X-Real-IP / X-Forwarded-* set. The host name must resolve when nginx
     * loads the config (or be the name of one of the load balancer's upstreams, i.e. a pool's serviceName).
     * @default undefined
     */
    readonly proxyPass?: string;
    /** Further directives in this location, with the rule of `NginxLoadBalancerArgs.extraDirectives`. @default [] */
    readonly extraDirectives?: readonly string[];
}

/** HTTPS on the load balancer. */
export interface NginxTlsArgs {
    /** PEM certificate (with its chain), written to a file on the config volume. */
    readonly certificate: pulumi.Input<string>;
    /** PEM private key: kept secret in the state, written to a file of mode 0600 (never an environment variable). */
    readonly key: pulumi.Input<string>;
    /** Host port HTTPS is published on (on `hostIp`). @default 443 */
    readonly hostPort?: number;
    /** Port nginx listens on for HTTPS inside the container. @default 443 */
    readonly listenPort?: number;
    /**
     * Plain HTTP (`hostPort`) answers 301 to the same URL on HTTPS; the load balancer's own paths (/nginx-health,
     * /nginx-config, /nginx-ready/...) still answer on HTTP for the readiness gate. false: both serve the routes.
     * @default true
     */
    readonly redirectHttp?: boolean;
}

/** Static files served by nginx itself (e.g. a Flask app's `/static`). */
export interface NginxStaticArgs {
    /** URL prefix. @default "/static/" */
    readonly urlPath?: string;
    /** Directory whose files are uploaded (read when the program runs). @default undefined */
    readonly directory?: string;
    /** Inline files: relative path → UTF-8 text, merged over `directory`. @default {} */
    readonly files?: Readonly<Record<string, string>>;
}

export interface NginxLoadBalancerArgs {
    /** The cluster's networks. */
    readonly network: TieredNetwork;
    /** Tiers nginx joins; each route's pool must share one with it. @default ["web", "app"] */
    readonly tiers?: readonly string[];
    /** Path-prefix routes (at least one). */
    readonly routes: readonly NginxRoute[];
    /** Host port published (the only published port of a cluster). @default 80 */
    readonly hostPort?: number;
    /** Host address (IPv4 or IPv6) the port is published on. @default "0.0.0.0" */
    readonly hostIp?: string;
    /** Port nginx listens on inside the container. @default 80 */
    readonly listenPort?: number;
    /**
     * nginx image (official layout: /etc/nginx/nginx.conf, /etc/nginx/mime.types, user nginx). On a swarm network,
     * by digest (`nginx@sha256:…`) or image ID the new task of a change skips the registry, shortening its
     * stop-first gap (sdk/README.md "Scaling out: Docker Swarm"). @default "nginx:stable-bookworm"
     */
    readonly image?: pulumi.Input<string>;
    /** `server_name`: space-separated host names (`example.com`, `*.example.com`, `.example.com`) or "_". @default "_" */
    readonly serverName?: string;
    /** `client_max_body_size`: a number with an optional k, m or g suffix ("0" = no limit). @default "1m" */
    readonly clientMaxBodySize?: string;
    /** Static files. @default undefined (none) */
    readonly static?: NginxStaticArgs;
    /** "static": upstreams generated from the pools; "consul-template": from Consul's healthy instances. @default "static" */
    readonly mode?: "static" | "consul-template";
    /** Service discovery (required in consul-template mode). @default undefined */
    readonly discovery?: ServiceDiscovery;
    /** consul-template image (consul-template mode). @default "hashicorp/consul-template:0.39" */
    readonly consulTemplateImage?: pulumi.Input<string>;
    /** CPU and memory limits of nginx. @default no limits */
    readonly resources?: ContainerResources;
    /** Restart policy. @default "unless-stopped" */
    readonly restart?: RestartPolicy;
    /** Environment variables of the nginx container (plain or secret), e.g. `{ TZ: "UTC" }`. @default {} */
    readonly env?: Readonly<Record<string, pulumi.Input<string>>>;
    /**
     * After a reload, how long `pulumi up` waits before anything the new config no longer sends to (old replicas)
     * is removed: requests still in flight on nginx's old workers finish meanwhile. 0–600. @default 5
     */
    readonly drainSeconds?: number;
    /** HTTPS: certificate and key, a second published port, and HTTP redirected to it. @default undefined (HTTP only) */
    readonly tls?: NginxTlsArgs;
    /**
     * Further nginx directives in the server block(s) serving the routes, e.g. "add_header X-Frame-Options DENY".
     * Each is one simple directive: a lower-case name and its arguments, an optional trailing ";", no braces, other
     * semicolons, "#", backslashes or newlines, and none that reads files or runs code (include, load_module, root,
     * alias, lua, perl, js_, ssi, *_by_*, *_file, *_path, ...) or that the load balancer sets (proxy_pass, listen, server_name,
     * ssl_certificate, logs, user). nginx checks the rest with `nginx -t` before loading the config (a refused config
     * is not loaded, and `pulumi up` then fails waiting for it). @default []
     */
    readonly extraDirectives?: readonly string[];
    /**
     * Locations of your own (fixed answers, proxies elsewhere), rendered after the routes in the server block(s)
     * serving them; their paths may not repeat a route's, the static files' or the load balancer's own. @default []
     */
    readonly locations?: readonly NginxCustomLocation[];
    /**
     * Where nginx and the consul-template sidecar log.
     * @default { driver: "json-file", options: { "max-size": "10m", "max-file": "3" } } (Docker's json-file alone never rotates)
     */
    readonly logging?: LoggingArgs;
    /**
     * Further settings of the nginx container (see `ContainerPassThrough`), over its defaults: read-only root,
     * tmpfs /var/cache/nginx, /var/lib/nginx and /run, capabilities CHOWN, NET_BIND_SERVICE, SETGID, SETUID only,
     * no-new-privileges (e.g. `{ tmpfs: { "/srv/cache": "size=256m" } }` for a `proxy_cache_path`). Settings the
     * load balancer makes itself are refused, naming the argument to use. @default {}
     */
    readonly container?: ContainerPassThrough;
    /**
     * Further settings of the consul-template sidecar (consul-template mode), over its defaults: read-only root,
     * tmpfs /tmp, no capabilities, no-new-privileges. @default {}
     */
    readonly templateContainer?: ContainerPassThrough;
    /** Limits of the consul-template sidecar; `memoryMb` left out is the default. @default { memoryMb: 64 } */
    readonly templateResources?: ContainerResources;
    /**
     * Swarm network only: host name of the node nginx runs on (a placement constraint `node.hostname ==
     * <swarmNode>`), so you know which node's addresses serve `hostPort` (a swarm service publishes it on every
     * address of its node). Read it with `docker info -f '{{.Name}}'` on that node's engine.
     * @default undefined (any node; the port is served by the node swarm picks)
     */
    readonly swarmNode?: string;
}

/**
 * A route or static path: "/", then segments of letters, digits, "-", "_", ".", "~" separated by single "/"s, an
 * optional trailing "/". Checked by character class and a substring test, not a nested-quantifier regex: that one
 * backtracked exponentially (a 28-character hostile path took 18 s, hanging `pulumi preview`). Linear. Pure.
 */
export function isRoutePath(p: unknown): boolean {
    return typeof p === "string" && p.startsWith("/") && /^[A-Za-z0-9._~/-]*$/.test(p) && !p.includes("//");
}

/** The nginx container's settings the load balancer makes itself, with the argument to use instead ("" for none). */
const NGINX_MANAGED: Readonly<Record<string, string>> = {
    image: "image",
    name: "",
    entrypoints: "", // the config watcher
    command: "",
    envs: "env",
    networksAdvanced: "tiers",
    networkMode: "tiers",
    ports: "hostPort / listenPort / tls",
    volumes: "static",
    mounts: "static",
    uploads: "",
    healthcheck: "",
    restart: "restart",
    labels: "",
    memory: "resources",
    memorySwap: "resources",
    cpuShares: "resources",
};
/** The consul-template sidecar's settings the load balancer makes itself. */
const TEMPLATE_MANAGED: Readonly<Record<string, string>> = {
    image: "consulTemplateImage",
    name: "",
    entrypoints: "",
    command: "",
    user: "", // root, like nginx's master, which it signals
    pidMode: "",
    networksAdvanced: "discovery",
    networkMode: "discovery",
    volumes: "",
    mounts: "",
    uploads: "",
    restart: "",
    labels: "",
    memory: "templateResources",
    memorySwap: "templateResources",
    cpuShares: "templateResources",
};

/** One `server_name` token: "_", or a host name with an optional leading `*.` / `.` or trailing `.*` (no regexes). */
const SERVER_NAME_TOKEN =
    /^(_|(\*\.|\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(\.\*)?)$/;
const BODY_SIZE = /^\d+[kKmMgG]?$/;
const MODIFIERS: readonly string[] = ["=", "^~", "~", "~*"];
/** A custom location's proxy target: scheme, host, optional port, optional plain path (disjoint parts: linear). */
const PROXY_URL = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/;
const HEALTH_PATH = "/nginx-health";
/** Prefix of the end-to-end readiness locations (static mode): `/nginx-ready/<upstream>`. */
const READINESS_PATH = "/nginx-ready";

/** NginxLoadBalancer's arguments with every default applied and the static files read. */
export interface ResolvedLbArgs {
    readonly network: TieredNetwork;
    readonly tiers: string[];
    readonly routes: readonly NginxRoute[];
    readonly hostPort: number;
    readonly hostIp: string;
    readonly listenPort: number;
    readonly image: pulumi.Input<string>;
    readonly mode: "static" | "consul-template";
    /** The static files' URL prefix, ending in "/"; undefined without `static`. */
    readonly staticUrlPath: string | undefined;
    /** The static files (relative path → bytes): `static.directory` overlaid by `static.files`. */
    readonly staticFiles: Readonly<Record<string, Buffer>>;
    readonly serverName: string;
    readonly clientMaxBodySize: string;
    readonly discovery: ServiceDiscovery | undefined;
    readonly consulTemplateImage: pulumi.Input<string>;
    readonly resources: ContainerResources | undefined;
    readonly restart: RestartPolicy;
    readonly drainSeconds: number;
    /** HTTPS with its defaults applied; undefined without `tls`. */
    readonly tls:
        | {
              readonly certificate: pulumi.Input<string>;
              readonly key: pulumi.Input<string>;
              readonly hostPort: number;
              readonly listenPort: number;
              readonly redirectHttp: boolean;
          }
        | undefined;
    readonly extraDirectives: readonly string[];
    /** The custom locations, as given (checked). */
    readonly customLocations: readonly CustomLocationSpec[];
    /** The nginx container's settings: `container` over NGINX_PROFILE, no-new-privileges and `logging`. */
    readonly nginxSettings: ContainerSettings;
    /** The consul-template sidecar's settings: `templateContainer` over CONSUL_TEMPLATE_PROFILE and the rest. */
    readonly templateSettings: ContainerSettings;
    /** The sidecar's limits, the default memory applied. */
    readonly templateResources: ContainerResources;
    /** nginx's host name (the load balancer's name) on its tiers and the published port, for `network.claim`. */
    readonly claim: NetworkClaim;
    /** The network's target is "swarm": one swarm service instead of containers (sdk/loadbalancer/swarm.ts). */
    readonly swarm: boolean;
    /** Swarm only: the node nginx is pinned to. */
    readonly swarmNode: string | undefined;
}

/**
 * Applies defaults and checks every argument, then reads the static files; throws an ArgumentError before anything
 * is created. Pure but for reading `static.directory`.
 */
export function resolveLbArgs(name: string, args: NginxLoadBalancerArgs): ResolvedLbArgs {
    const c = new ArgChecker("NginxLoadBalancer", name);
    const swarm = checkNetworkArg(c, args.network) && args.network.target === "swarm";
    if (swarm) checkSwarmLbArgs(c, args as unknown as Readonly<Record<string, unknown>>);
    else
        c.check(
            args.swarmNode === undefined,
            "swarmNode",
            'has no meaning with a host network (it is for target "swarm")',
            "leave it out",
        );
    const tiers = [...(args.tiers ?? ["web", "app"])];
    const hostPort = args.hostPort ?? 80;
    const hostIp = args.hostIp ?? "0.0.0.0";
    const listenPort = args.listenPort ?? 80;
    const mode = args.mode ?? "static";
    const staticUrlPath = args.static ? normalizePrefix(args.static.urlPath ?? "/static/") : undefined;
    const serverName = args.serverName ?? "_";
    const clientMaxBodySize = args.clientMaxBodySize ?? "1m";
    const tls = args.tls
        ? {
              certificate: args.tls.certificate,
              key: args.tls.key,
              hostPort: args.tls.hostPort ?? 443,
              listenPort: args.tls.listenPort ?? 443,
              redirectHttp: args.tls.redirectHttp ?? true,
          }
        : undefined;
    const extraDirectives = args.extraDirectives ?? [];
    const claim: NetworkClaim = {
        owner: `NginxLoadBalancer "${name}"`,
        tiersArgument: "tiers",
        tiers,
        // nginx answers to the load balancer's name on its tiers (other containers reach it as http://<name>).
        aliases: [
            {
                argument: "name",
                names: [name],
                fix: "give the load balancer a name no other container on its tiers uses",
            },
        ],
        hostPorts: [
            { argument: "hostPort", ip: hostIp, port: hostPort, fix: "pick another hostPort" },
            ...(tls
                ? [{ argument: "tls.hostPort", ip: hostIp, port: tls.hostPort, fix: "pick another tls.hostPort" }]
                : []),
        ],
        targets: ["host", "swarm"],
    };

    if (args.network instanceof TieredNetwork) {
        const net = args.network;
        net.checkClaim(c, claim);
        c.check(
            tiers.some((t) => !net.hasTier(t) || !net.internal[t]),
            "tiers",
            "are all internal",
            "join at least one non-internal tier (e.g. web) so the published port is reachable",
        );
    }
    c.port(hostPort, "hostPort");
    c.port(listenPort, "listenPort");
    if (tls) checkTls(c, tls, args.tls, hostPort, listenPort);
    checkDirectives(c, "extraDirectives", extraDirectives);
    c.check(
        isIP(hostIp) !== 0,
        "hostIp",
        `is "${hostIp}", not an IP address`,
        'use an IPv4 or IPv6 address such as "0.0.0.0", "127.0.0.1" or "::1"',
    );
    c.check(
        typeof serverName === "string" && serverName.split(" ").every((t) => SERVER_NAME_TOKEN.test(t)),
        "serverName",
        `is ${JSON.stringify(serverName)}, not a list of nginx server names`,
        'use host names separated by single spaces, e.g. "example.com www.example.com" or "*.example.com", or "_" (no regexes)',
    );
    c.check(
        typeof clientMaxBodySize === "string" && BODY_SIZE.test(clientMaxBodySize),
        "clientMaxBodySize",
        `is ${JSON.stringify(clientMaxBodySize)}, not an nginx size`,
        'write a whole number with an optional k, m or g suffix, e.g. "64k" or "10m" ("0" for no limit)',
    );
    c.check(["static", "consul-template"].includes(mode), "mode", `is "${mode}"`, 'use "static" or "consul-template"');
    const routes: readonly NginxRoute[] = Array.isArray(args.routes) ? args.routes : [];
    const seenPaths = new Set<string>();
    checkRoutes(c, routes, tiers, mode, args.discovery, staticUrlPath, seenPaths);
    if (swarm)
        routes.forEach((route, i) =>
            c.check(
                !(route.pool instanceof AppServerPool) || route.pool.service !== undefined,
                `routes[${i}].pool`,
                `("${route.pool.serviceName}") is not a swarm service, so nginx's service could not reach it`,
                "build the pool on the load balancer's swarm network",
            ),
        );
    const customLocations = checkCustomLocations(c, args.locations, staticUrlPath, seenPaths);
    if (staticUrlPath) {
        c.check(
            isRoutePath(staticUrlPath),
            "static.urlPath",
            `is "${args.static?.urlPath}"`,
            'use a prefix like "/static/"',
        );
        for (const p of Object.keys(args.static?.files ?? {})) {
            c.check(
                isSafeRelativePath(p),
                `static.files["${p}"]`,
                "is not a safe relative path",
                'use a path like "css/site.css"',
            );
        }
    }
    if (mode === "consul-template") {
        c.check(
            args.discovery instanceof ServiceDiscovery,
            "discovery",
            "is missing",
            'pass the ServiceDiscovery the pools register with (mode "consul-template" needs it)',
        );
        if (args.discovery instanceof ServiceDiscovery) {
            c.check(
                tiers.includes(args.discovery.tier),
                "tiers",
                `do not include the discovery tier "${args.discovery.tier}"`,
                `add "${args.discovery.tier}" so consul-template reaches Consul`,
            );
        }
    } else {
        for (const arg of ["consulTemplateImage", "templateContainer", "templateResources"] as const)
            c.check(
                args[arg] === undefined,
                arg,
                'is set but mode is "static"',
                `set mode: "consul-template" or drop ${arg}`,
            );
    }
    checkResources(c, "resources", args.resources);
    checkResources(c, "templateResources", args.templateResources);
    checkLogging(c, "logging", args.logging);
    checkPassThrough(c, "container", args.container, NGINX_MANAGED);
    checkPassThrough(c, "templateContainer", args.templateContainer, TEMPLATE_MANAGED);
    checkEnvNames(c, "env", args.env, {});
    c.integer(
        args.drainSeconds,
        "drainSeconds",
        0,
        600,
        "set drainSeconds to a whole number of seconds from 0 to 600, or leave it out (5)",
    );
    c.throwIfAny();
    return {
        network: args.network,
        tiers,
        routes,
        hostPort,
        hostIp,
        listenPort,
        image: args.image ?? DEFAULT_NGINX_IMAGE,
        mode,
        staticUrlPath,
        staticFiles: args.static
            ? overlayFiles(args.static.directory, args.static.files, `NginxLoadBalancer "${name}" static.directory`)
            : {},
        serverName,
        clientMaxBodySize,
        discovery: args.discovery,
        consulTemplateImage: args.consulTemplateImage ?? DEFAULT_CONSUL_TEMPLATE_IMAGE,
        resources: args.resources,
        restart: args.restart ?? "unless-stopped",
        drainSeconds: args.drainSeconds ?? 5,
        tls,
        extraDirectives,
        customLocations,
        nginxSettings: containerSettings(args.logging, args.container, NGINX_PROFILE),
        templateSettings: containerSettings(args.logging, args.templateContainer, CONSUL_TEMPLATE_PROFILE),
        templateResources: withDefaultMemory(args.templateResources, DEFAULT_CONSUL_TEMPLATE_MEMORY_MB),
        claim,
        swarm,
        swarmNode: swarm ? args.swarmNode : undefined,
    };
}

/** Checks `tls`: both PEM inputs given, ports valid and distinct from the plain HTTP ones. */
function checkTls(
    c: ArgChecker,
    tls: NonNullable<ResolvedLbArgs["tls"]>,
    given: NginxTlsArgs | undefined,
    hostPort: number,
    listenPort: number,
): void {
    c.check(
        given?.certificate !== undefined && given.certificate !== "",
        "tls.certificate",
        "is missing",
        "pass the PEM certificate (with its chain), e.g. from a config secret or a file read by the program",
    );
    c.check(
        given?.key !== undefined && given.key !== "",
        "tls.key",
        "is missing",
        'pass the PEM private key, e.g. `config.requireSecret("tlsKey")`',
    );
    if (c.port(tls.hostPort, "tls.hostPort"))
        c.check(
            tls.hostPort !== hostPort,
            "tls.hostPort",
            `is ${hostPort}, like hostPort`,
            "publish HTTPS on another port (443)",
        );
    if (c.port(tls.listenPort, "tls.listenPort"))
        c.check(
            tls.listenPort !== listenPort,
            "tls.listenPort",
            `is ${listenPort}, like listenPort`,
            "listen for HTTPS on another port (443)",
        );
    c.check(
        typeof tls.redirectHttp === "boolean",
        "tls.redirectHttp",
        `is ${JSON.stringify(tls.redirectHttp)}, not a boolean`,
        "set it to true (HTTP redirects to HTTPS) or false (both serve)",
    );
}

/** Checks extra directives one by one (see `checkExtraDirective`). */
function checkDirectives(c: ArgChecker, argument: string, directives: unknown): void {
    if (
        !c.check(
            Array.isArray(directives),
            argument,
            "is not a list",
            'pass a list of directives, e.g. ["proxy_buffering off"]',
        )
    )
        return;
    (directives as unknown[]).forEach((d, i) => {
        const problem = checkExtraDirective(d);
        c.check(
            problem === undefined,
            `${argument}[${i}]`,
            `(${JSON.stringify(d)}) ${problem}`,
            'write one simple directive such as "proxy_buffering off" or "add_header X-Frame-Options DENY"; for anything else, open an issue',
        );
    });
}

/**
 * Checks `routes`: at least one, paths well formed, distinct and clear of the static and the load balancer's own
 * paths, each to a pool that shares a tier with the load balancer, one upstream per service name.
 */
function checkRoutes(
    c: ArgChecker,
    routes: readonly NginxRoute[],
    tiers: readonly string[],
    mode: string,
    discovery: ServiceDiscovery | undefined,
    staticUrlPath: string | undefined,
    seenPaths: Set<string>,
): void {
    c.check(routes.length > 0, "routes", "is empty", 'route at least "/" to a pool');
    const services = new Map<string, { pool: AppServerPool; route: string }>();
    routes.forEach((route, i) => {
        const a = `routes[${i}]`;
        checkLocationPath(c, a, route.path, route.modifier, staticUrlPath, seenPaths);
        c.check(
            route.websocket === undefined || typeof route.websocket === "boolean",
            `${a}.websocket`,
            `is ${JSON.stringify(route.websocket)}, not a boolean`,
            "set it to true or leave it out",
        );
        c.integer(route.readTimeoutSeconds, `${a}.readTimeoutSeconds`, 1, 86400);
        c.integer(route.connectTimeoutSeconds, `${a}.connectTimeoutSeconds`, 1, 3600);
        c.check(
            route.clientMaxBodySize === undefined ||
                (typeof route.clientMaxBodySize === "string" && BODY_SIZE.test(route.clientMaxBodySize)),
            `${a}.clientMaxBodySize`,
            `is ${JSON.stringify(route.clientMaxBodySize)}, not an nginx size`,
            'write a whole number with an optional k, m or g suffix, e.g. "64k" or "10m" ("0" for no limit)',
        );
        if (route.extraDirectives !== undefined) checkDirectives(c, `${a}.extraDirectives`, route.extraDirectives);
        c.check(route.pool instanceof AppServerPool, `${a}.pool`, "is not an AppServerPool", "pass an AppServerPool");
        if (!(route.pool instanceof AppServerPool)) return;
        // The upstream is named by the service name: two pools sharing one would be merged into one upstream.
        const other = services.get(route.pool.serviceName);
        c.check(
            other === undefined || other.pool === route.pool,
            `${a}.pool`,
            `has serviceName "${route.pool.serviceName}", like the different pool of ${other?.route}, so nginx would merge them into one upstream`,
            "give each pool its own serviceName",
        );
        if (other === undefined) services.set(route.pool.serviceName, { pool: route.pool, route: a });
        const shared = route.pool.tiers.filter((t) => tiers.includes(t));
        c.check(
            shared.length > 0,
            `${a}.pool`,
            `("${route.pool.serviceName}", tiers ${route.pool.tiers.join(", ")}) shares no tier with the load balancer (${tiers.join(", ")})`,
            "add a common tier to one of them",
        );
        if (mode === "consul-template") {
            c.check(
                route.pool.discovery !== undefined && route.pool.discovery === discovery,
                `${a}.pool`,
                `("${route.pool.serviceName}") does not register with the load balancer's discovery`,
                "pass the same ServiceDiscovery to the pool and the load balancer",
            );
        }
    });
}

/**
 * Checks the `path` and `modifier` of a route or custom location `a`: a well-formed path (a pattern for a regex
 * modifier), not routed before (`seen`, which it extends), clear of the static and the load balancer's own paths.
 */
function checkLocationPath(
    c: ArgChecker,
    a: string,
    path: unknown,
    modifier: unknown,
    staticUrlPath: string | undefined,
    seen: Set<string>,
): void {
    if (
        !c.check(
            modifier === undefined || (typeof modifier === "string" && MODIFIERS.includes(modifier)),
            `${a}.modifier`,
            `is ${JSON.stringify(modifier)}, not an nginx location modifier`,
            'use "=" (exact path), "^~" (prefix that wins over regexes), "~" (regular expression), "~*" (one ignoring case), or leave it out (a prefix)',
        )
    )
        return;
    const m = modifier as LocationModifier | undefined;
    if (isRegexModifier(m)) {
        const problem = checkLocationPattern(path);
        c.check(
            problem === undefined,
            `${a}.path`,
            `(${JSON.stringify(path)}) ${problem}`,
            'write a regular expression such as "\\.(png|jpe?g)$" or "^/api/v[0-9]+/" (no spaces, quotes or double backslashes)',
        );
        const key = `${m} ${String(path)}`;
        c.check(!seen.has(key), `${a}.path`, `"${String(path)}" is routed twice`, "route each pattern once");
        seen.add(key);
        return;
    }
    if (
        !c.check(
            isRoutePath(path),
            `${a}.path`,
            `is "${String(path)}"`,
            'use "/" or a prefix like "/users" (letters, digits, - _ . ~ /)',
        )
    )
        return;
    const p = path as string;
    const norm = m === "=" ? p : normalizePath(p);
    // "^~ /x" and "/x" are one location to nginx (a duplicate); "= /x" is another.
    const key = m === "=" ? `= ${p}` : norm;
    c.check(!seen.has(key), `${a}.path`, `"${p}" is routed twice`, "route each path prefix once");
    seen.add(key);
    if (staticUrlPath && m !== "=") {
        c.check(
            norm !== normalizePath(staticUrlPath),
            `${a}.path`,
            `"${p}" collides with the static path ${staticUrlPath}`,
            "move the route or static.urlPath",
        );
    }
    c.check(
        norm !== HEALTH_PATH && norm !== CONFIG_DIGEST_PATH && !(m === "=" && p.startsWith(`${READINESS_PATH}/`)),
        `${a}.path`,
        `"${p}" is one of the load balancer's own paths (${HEALTH_PATH}, ${CONFIG_DIGEST_PATH}, ${READINESS_PATH}/<pool>)`,
        "use another path",
    );
}

/** Checks `locations` (see `NginxCustomLocation`); returns them as config specs. */
function checkCustomLocations(
    c: ArgChecker,
    locations: readonly NginxCustomLocation[] | undefined,
    staticUrlPath: string | undefined,
    seen: Set<string>,
): CustomLocationSpec[] {
    if (locations === undefined) return [];
    if (
        !c.check(
            Array.isArray(locations),
            "locations",
            "is not a list",
            'pass a list of locations, e.g. [{ path: "/robots.txt", modifier: "=", return: { status: 200, text: "" } }]',
        )
    )
        return [];
    locations.forEach((l, i) => {
        const a = `locations[${i}]`;
        checkLocationPath(c, a, l.path, l.modifier, staticUrlPath, seen);
        c.check(
            (l.return === undefined) !== (l.proxyPass === undefined),
            a,
            l.return === undefined ? "has neither return nor proxyPass" : "has both return and proxyPass",
            'give exactly one: return (a fixed answer, e.g. { status: 204 }) or proxyPass (e.g. "http://docs:8080")',
        );
        if (l.return !== undefined) {
            c.integer(l.return.status, `${a}.return.status`, 200, 599, "use an HTTP status from 200 to 599");
            const t = l.return.text;
            c.check(
                t === undefined ||
                    (typeof t === "string" && t.length <= 4096 && ![...t].some((ch) => ch < " " || ch === "\x7f")),
                `${a}.return.text`,
                `is ${JSON.stringify(t)?.slice(0, 80)}, not a text of at most 4096 characters without control characters`,
                "write a one-line text (or a URL for a redirect), or leave it out",
            );
        }
        if (l.proxyPass !== undefined) {
            const url = l.proxyPass;
            const ok = c.check(
                typeof url === "string" && PROXY_URL.test(url),
                `${a}.proxyPass`,
                `is ${JSON.stringify(url)}, not an http(s)://host[:port][/path] URL`,
                'write a URL such as "http://docs:8080" or "https://example.com/api/" (no query, no variables)',
            );
            if (ok && isRegexModifier(l.modifier)) {
                c.check(
                    !/^https?:\/\/[^/]+\//.test(url),
                    `${a}.proxyPass`,
                    `("${url}") has a path, which nginx refuses in a regex location`,
                    'drop the path (e.g. "http://docs:8080"): the request\'s own path is passed on',
                );
            }
        }
        if (l.extraDirectives !== undefined) checkDirectives(c, `${a}.extraDirectives`, l.extraDirectives);
    });
    return locations.map((l) => ({
        path: l.path,
        ...(l.modifier !== undefined ? { modifier: l.modifier } : {}),
        ...(l.return !== undefined ? { return: l.return } : {}),
        ...(l.proxyPass !== undefined ? { proxyPass: l.proxyPass } : {}),
        ...(l.extraDirectives?.length ? { extraDirectives: l.extraDirectives } : {}),
    }));
}

function normalizePrefix(p: string): string {
    return p.endsWith("/") ? p : `${p}/`;
}

/** A path prefix without trailing slashes ("/" stays "/"), so "/x", "/x/" and "/", "/" compare equal. */
function normalizePath(p: string): string {
    return p.replace(/\/+$/, "") || "/";
}

/**
 * The host part of a URL reaching `hostIp`: `forHumans` gives "localhost" for the loopback and wildcard IPv4
 * addresses (127.0.0.1, 0.0.0.0), else "127.0.0.1" for the wildcard; IPv6 is bracketed, with "::" reached on "::1".
 */
export function urlHost(hostIp: string, forHumans: boolean): string {
    if (hostIp === "0.0.0.0" || hostIp === "127.0.0.1") return forHumans ? "localhost" : "127.0.0.1";
    if (isIP(hostIp) === 6) {
        let bracketed = `[${hostIp}]`;
        try {
            bracketed = new URL(`http://${bracketed}/`).hostname; // canonical form: "[0:0:0:0:0:0:0:1]" -> "[::1]"
        } catch {
            // e.g. a zone id ("fe80::1%eth0"), which URLs cannot carry unescaped: keep it as given
        }
        return bracketed === "[::]" ? "[::1]" : bracketed;
    }
    return hostIp;
}

/** The upstreams (one per distinct pool, in route order) and locations of `routes`. Pure. */
export function upstreamsAndLocations(routes: readonly NginxRoute[]): {
    upstreams: UpstreamSpec[];
    locations: LocationSpec[];
} {
    const upstreams: UpstreamSpec[] = [];
    for (const r of routes) {
        if (!upstreams.some((u) => u.name === upstreamName(r.pool))) {
            upstreams.push({
                name: upstreamName(r.pool),
                servers: r.pool.upstreamServers,
                healthPath: r.pool.healthPath,
            });
        }
    }
    return { upstreams, locations: routes.map(locationOf) };
}

/** A route's location; options left out when not set, so a config without them renders as before. */
function locationOf(r: NginxRoute): LocationSpec {
    return {
        path: r.path,
        ...(r.modifier !== undefined ? { modifier: r.modifier } : {}),
        upstream: upstreamName(r.pool),
        ...(r.websocket ? { websocket: true } : {}),
        ...(r.readTimeoutSeconds !== undefined ? { readTimeoutSeconds: r.readTimeoutSeconds } : {}),
        ...(r.connectTimeoutSeconds !== undefined ? { connectTimeoutSeconds: r.connectTimeoutSeconds } : {}),
        ...(r.clientMaxBodySize !== undefined ? { clientMaxBodySize: r.clientMaxBodySize } : {}),
        ...(r.extraDirectives?.length ? { extraDirectives: r.extraDirectives } : {}),
    };
}

/** The nginx upstream name of a pool: its service name. */
export function upstreamName(pool: AppServerPool): string {
    return pool.serviceName;
}

/**
 * The nginx container's start: a watcher loop in the background (a child of the nginx master once the shell has
 * exec'd it, so PID 1 is the master), then nginx on a copy of the config on the volume. The watcher loads a new
 * config only once it has stopped changing (the upload may still be writing it) and `nginx -t` accepts it; a
 * refused config is reported once and left out until it changes again. `alsoWatched`: further files whose change
 * is a reload (the TLS certificate and key: a renewal reloads).
 *
 * The config nginx runs is rendered from the one on the volume: each upstream server whose host name does not
 * resolve (`getent hosts`; a stopped replica has no DNS name) becomes a `down` placeholder, since nginx refuses to
 * start or reload on one unresolvable name: a site with one replica down would go down whole at its next restart.
 * The names are checked again every `resolveEvery` rounds, and a change of the unresolved set is a graceful reload.
 * POSIX sh, cmp, cp, cksum, sort, getent, sleep: what any Debian-based nginx image has.
 * @internal
 */
export function nginxWatcherScript(
    confPath: string = NGINX_CONF_PATH,
    liveDir: string = NGINX_LIVE_DIR,
    everySeconds = 1,
    replicasPath: string = NGINX_REPLICAS_PATH,
    alsoWatched: readonly string[] = [],
    resolveEvery = 3,
): string {
    const live = `${liveDir}/nginx.conf`;
    const next = `${liveDir}/next.conf`;
    const raw = `${liveDir}/raw.conf`;
    return [
        // -f: the config's words are split below; a "*" in one (server_name *.example.com) must stay a word.
        "set -uf",
        `mkdir -p ${liveDir}`,
        // What is on the volume: the config and the replica ids (a re-created replica has a new address to resolve).
        `state() { cat ${[confPath, replicasPath, ...alsoWatched].join(" ")} 2>/dev/null | cksum; }`,
        // The host names of upstream servers ("server host:port ...;") in config $1 that do not resolve, sorted.
        "unresolved() {",
        '  while IFS= read -r l; do set -- $l; [ "${1:-}" = server ] || continue',
        '    case "${2:-}" in *:*) getent hosts "${2%:*}" >/dev/null 2>&1 || echo "${2%:*}" ;; esac',
        "  done < $1 | sort -u | tr '\\n' ' '",
        "}",
        // Config $1 to $2, each server of a host in $3 (space-separated) replaced by a down placeholder.
        "render() {",
        '  miss=" $3 "',
        "  while IFS= read -r l; do set -- $l; h=${2:-}",
        '    if [ "${1:-}" = server ] && case "$miss" in *" ${h%:*} "*) true ;; *) false ;; esac; then',
        `      printf '%s\\n' "\${l%%server*}server ${DOWN_PLACEHOLDER} down; # unresolved: $h"`,
        "    else printf '%s\\n' \"$l\"; fi",
        "  done < $1 > $2",
        "}",
        // The files container writes the file before nginx is created; wait briefly in case the volume lags.
        `i=0; while [ ! -s ${confPath} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done`,
        `cp ${confPath} ${raw}; missing=$(unresolved ${raw}); render ${raw} ${live} "$missing"`,
        '[ -z "$missing" ] || echo "load balancer: upstream hosts that do not resolve left out until they do: $missing" >&2',
        "(",
        '  loaded=$(state); left=$missing; bad=""; n=0',
        `  while sleep ${everySeconds}; do`,
        "    n=$((n+1)); now=$(state)",
        // Same files: only a changed set of unresolved names (checked every resolveEvery rounds) is a reload.
        '    if [ "$now" = "$loaded" ]; then',
        `      [ $((n % ${resolveEvery})) -eq 0 ] || continue`,
        `      [ "$(unresolved ${confPath})" = "$left" ] && continue`,
        "    fi",
        `    cp ${confPath} ${raw} || continue`,
        // Settled: an upload still writing would show a different state a moment later.
        "    sleep 0.2",
        '    [ "$(state)" = "$now" ] || continue',
        `    cmp -s ${confPath} ${raw} || continue`,
        `    m=$(unresolved ${raw})`,
        '    [ "$now $m" = "$bad" ] && continue',
        `    render ${raw} ${next} "$m"`,
        `    if out=$(nginx -t -q -c ${next} 2>&1); then`,
        `      mv ${next} ${live} && kill -HUP 1 && echo "load balancer: config changed, nginx reloaded gracefully\${m:+ (upstream hosts left out until they resolve: $m)}" >&2; loaded=$now; left=$m; bad=""`,
        "    else",
        '      echo "load balancer: new config refused by nginx -t, the running one keeps serving: $out" >&2; bad="$now $m"',
        "    fi",
        "  done",
        ") &",
        `exec nginx -c ${live} -g 'daemon off;'`,
    ].join("\n");
}

/**
 * The cluster's nginx. See the module comment for the update model and the two modes.
 */
export class NginxLoadBalancer extends pulumi.ComponentResource {
    /**
     * The nginx container (replaced only when its image, ports, tiers, resources, restart policy, logging or
     * container settings change); undefined on a swarm network (see `service`).
     */
    public readonly container: docker.Container | undefined;
    /** The volume holding the config and static files (never replaced); undefined on a swarm network. */
    public readonly configVolume: docker.Volume | undefined;
    /** The data-only container that writes the config volume (replaced whenever the config changes); undefined on a swarm network. */
    public readonly configContainer: docker.Container | undefined;
    /** With a swarm network: the nginx service (sdk/loadbalancer/swarm.ts); undefined on a host network. */
    public readonly service: docker.Service | undefined;
    /** With a swarm network: the config the service mounts, named by its digest; undefined on a host network. */
    public readonly serviceConfig: docker.ServiceConfig | undefined;
    /** The consul-template sidecar (consul-template mode). */
    public readonly templateContainer: docker.Container | undefined;
    /** The volume holding the rendered upstreams (consul-template mode). */
    public readonly upstreamsVolume: docker.Volume | undefined;
    /** The generated nginx.conf. */
    public readonly nginxConf: string;
    /** The digest nginx answers on `/nginx-config` once it serves `nginxConf`. */
    public readonly configDigest: string;
    /** The consul-template template (consul-template mode). */
    public readonly upstreamsTemplate: string | undefined;
    /**
     * Completes when the published port serves the current config and every route answers end to end; undefined on
     * a swarm network, where the service's convergence waits for nginx's health check instead.
     */
    public readonly readiness: HttpReadiness | undefined;
    /** The published port. */
    public readonly hostPort: number;
    /**
     * `http://<host>:<hostPort>/`: localhost when published on 0.0.0.0 or 127.0.0.1, else hostIp (IPv6 bracketed).
     * On a swarm network: `http://<swarmNode>:<hostPort>/`, or localhost without swarmNode (the node nginx runs on).
     */
    public readonly url: string;
    /** `https://<host>:<tls.hostPort>/` with `tls`, else undefined. */
    public readonly httpsUrl: string | undefined;

    constructor(name: string, args: NginxLoadBalancerArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const r = resolveLbArgs(name, args);
        super("dockercluster:loadbalancer:NginxLoadBalancer", name, {}, opts);
        r.network.claim(r.claim);

        const { upstreams, locations } = upstreamsAndLocations(r.routes);
        const consulMode = r.mode === "consul-template";
        // Static files go to a directory named by their digest: a changed set is a new directory (the old one's
        // files cannot be removed by an upload), and the new config points at it.
        const staticDir = `${STATIC_ROOT}-${filesDigest(r.staticFiles).slice(0, 12)}`;
        const pools = [...new Set(r.routes.map((rt) => rt.pool))];
        // The replicas' container ids, known once each is healthy (their gates passed). They go into a file of
        // their own next to the config, not into it, so a preview shows the config's diff in full (the ids of new
        // replicas are unknown then); the watcher reloads when either changes, so a replica re-created under its
        // name (say after a refresh) is resolved anew. consul-template mode names no replicas.
        const replicaIds = consulMode
            ? pulumi.output([] as string[])
            : pulumi.all(pools.map((p) => p.servingIds)).apply((ids) => ids.flat());
        const replicaResources = pools.flatMap((p) => p.replicaIds.map((id) => p.healthGates[id] ?? p.containers[id]));
        const spec = nginxConfigSpec(r, upstreams, locations, staticDir);
        const ready = readinessPaths(spec);
        const sealed = sealNginxConf(renderNginxConf(spec));
        this.nginxConf = sealed.text;
        this.configDigest = sealed.digest;
        this.hostPort = r.hostPort;
        if (r.swarm) {
            const built = buildSwarmLb(
                name,
                {
                    ...r,
                    healthPath: HEALTH_PATH,
                    conf: sealed.text,
                    digest: sealed.digest,
                    env: args.env ?? {},
                    tmpfs: Object.keys(NGINX_PROFILE.tmpfs ?? {}),
                    capAdds: NGINX_PROFILE.capabilities?.adds ?? [],
                    dependsOn: pools.map((p) => p.service ?? p),
                },
                this,
            );
            this.service = built.service;
            this.serviceConfig = built.config;
            this.container = undefined;
            this.configVolume = undefined;
            this.configContainer = undefined;
            this.templateContainer = undefined;
            this.upstreamsVolume = undefined;
            this.upstreamsTemplate = undefined;
            this.readiness = undefined;
            this.httpsUrl = undefined;
            this.url = `http://${r.swarmNode ?? "localhost"}:${r.hostPort}/`;
            this.registerOutputs({
                serviceName: built.service.name,
                configDigest: this.configDigest,
                hostPort: this.hostPort,
                url: this.url,
            });
            return;
        }
        this.service = undefined;
        this.serviceConfig = undefined;
        const consulUpstreams = upstreams.map((u) => ({
            name: u.name,
            service: r.routes.find((rt) => upstreamName(rt.pool) === u.name)!.pool.serviceName,
        }));
        this.upstreamsTemplate = consulMode ? renderUpstreamsTemplate(consulUpstreams) : undefined;

        const image = new docker.RemoteImage(`${name}-image`, { name: r.image, keepLocally: true }, { parent: this });
        // The readiness paths proxy to the apps' health paths: only requests with this token (the gate's) pass.
        // A header, not a source address: behind Docker's port publishing the gate's address is not reliably known.
        // A Pulumi secret (a RandomPassword's result): previews are posted as PR comments, state is shared.
        const gateToken = ready.length
            ? pulumi.secret(
                  new random.RandomPassword(`${name}-gate-token`, { length: 32, special: false }, { parent: this })
                      .result,
              )
            : undefined;
        const gateUploads: docker.types.input.ContainerUpload[] = gateToken
            ? [
                  {
                      file: NGINX_GATE_PATH,
                      content: gateToken.apply((t) => `"${t}" 1;\n`),
                      permissions: "0600",
                  },
              ]
            : [];
        // 64 bits of a digest of a 190-bit token reveal nothing usable; the containers' names stay readable.
        const gateDigest = gateToken
            ? pulumi.unsecret(gateToken.apply((t) => filesDigest({ t }).slice(0, 16)))
            : undefined;

        const configVolume = new docker.Volume(
            `${name}-config`,
            { name: dockerName(`${name}-config`), labels: labelList(componentLabels(name, "nginx-config")) },
            { parent: this },
        );
        const replicasFile = replicaIds.apply((ids) => `${ids.join("\n")}\n`);
        // TLS files: uploaded by the secrets container next to the config; their digest names it and the files
        // container (a renewed certificate is a new pair, so the watcher reloads) and is unsecret: a truncated
        // sha256 reveals nothing of the key.
        const tlsUploads: docker.types.input.ContainerUpload[] = r.tls
            ? [
                  { file: NGINX_TLS_CERT_PATH, content: r.tls.certificate, permissions: "0644" },
                  { file: NGINX_TLS_KEY_PATH, content: pulumi.secret(r.tls.key), permissions: "0600" },
              ]
            : [];
        const tlsDigest = r.tls
            ? pulumi.unsecret(
                  pulumi
                      .all([r.tls.certificate, r.tls.key])
                      .apply(([cert, key]) => filesDigest({ cert, key }).slice(0, 16)),
              )
            : undefined;
        const configMount: docker.types.input.ContainerVolume = {
            volumeName: configVolume.name,
            containerPath: NGINX_CONF_DIR,
        };
        const nginxVolumes: docker.types.input.ContainerVolume[] = [{ ...configMount, readOnly: true }];
        const nginxUploads: docker.types.input.ContainerUpload[] = [];
        if (consulMode) {
            this.upstreamsVolume = new docker.Volume(
                `${name}-upstreams`,
                { name: dockerName(`${name}-upstreams`), labels: labelList(componentLabels(name, "upstreams")) },
                { parent: this, deleteBeforeReplace: true },
            );
            nginxVolumes.push({ volumeName: this.upstreamsVolume.name, containerPath: UPSTREAMS_DIR });
            // Until consul-template has rendered, every upstream is a single "down" server: nginx starts and answers 502.
            // Written when nginx is created (never by the files container, which would overwrite what consul-template rendered).
            nginxUploads.push({ file: UPSTREAMS_FILE, content: renderUpstreamsFromInstances(consulUpstreams, {}) });
        } else {
            this.upstreamsVolume = undefined;
        }

        // The TLS files and the gate's token in a never-started container of their own: one secret among a
        // container's uploads shows the whole list as [secret] in previews, which would hide the config's diff.
        const secretUploads = [...tlsUploads, ...gateUploads];
        const secretsContainer = secretUploads.length
            ? new docker.Container(
                  `${name}-secrets`,
                  {
                      name: pulumi
                          .all([tlsDigest, gateDigest])
                          .apply(([tls, gate]) =>
                              dockerName(
                                  `${name}-secrets-${filesDigest({ tls: tls ?? "", gate: gate ?? "" }).slice(0, 12)}`,
                              ),
                          ),
                      image: image.imageId,
                      start: false,
                      mustRun: false,
                      restart: "no",
                      volumes: [configMount],
                      uploads: secretUploads,
                      labels: labelList(componentLabels(name, "nginx-secrets")),
                  },
                  { parent: this },
              )
            : undefined;

        // Named by the config's digest, so the new one is created before the old one is deleted (no name clash,
        // and no delete-before-replace, which would also replace nginx, a dependent).
        const configContainer = new docker.Container(
            `${name}-files`,
            {
                name: pulumi.all([replicasFile, tlsDigest, gateDigest]).apply(([ids, tlsFiles, gate]) =>
                    dockerName(
                        `${name}-files-${filesDigest({
                            conf: sealed.text,
                            ids,
                            ...(tlsFiles === undefined ? {} : { tls: tlsFiles }),
                            ...(gate === undefined ? {} : { gate }),
                        }).slice(0, 12)}`,
                    ),
                ),
                image: image.imageId,
                start: false,
                mustRun: false,
                restart: "no",
                volumes: [configMount],
                uploads: [
                    { file: NGINX_CONF_PATH, content: this.nginxConf },
                    { file: NGINX_REPLICAS_PATH, content: replicasFile },
                    ...uploadsUnder(staticDir, r.staticFiles),
                ],
                labels: labelList({
                    ...componentLabels(name, "nginx-config"),
                    [CONFIG_DIGEST_LABEL]: this.configDigest,
                }),
            },
            // After the secrets: the config it writes reads them.
            {
                parent: this,
                dependsOn: [...(consulMode ? [] : replicaResources), ...(secretsContainer ? [secretsContainer] : [])],
            },
        );

        const container = new docker.Container(
            `${name}-nginx`,
            {
                ...containerSettingsInputs(r.nginxSettings),
                name: dockerName(`${name}-nginx`),
                image: image.imageId,
                entrypoints: ["/bin/sh", "-c"],
                command: [
                    r.tls
                        ? nginxWatcherScript(NGINX_CONF_PATH, NGINX_LIVE_DIR, 1, NGINX_REPLICAS_PATH, [
                              NGINX_TLS_CERT_PATH,
                              NGINX_TLS_KEY_PATH,
                          ])
                        : nginxWatcherScript(),
                ],
                networksAdvanced: r.network.attach(r.tiers, [name]),
                ports: [
                    { internal: r.listenPort, external: r.hostPort, ip: r.hostIp },
                    ...(r.tls ? [{ internal: r.tls.listenPort, external: r.tls.hostPort, ip: r.hostIp }] : []),
                ],
                volumes: nginxVolumes,
                ...(nginxUploads.length ? { uploads: nginxUploads } : {}),
                restart: r.restart,
                // Only when given: an nginx without env keeps its exact inputs (no restart on upgrade).
                ...(args.env && Object.keys(args.env).length > 0 ? { envs: envEntries(args.env) } : {}),
                labels: labelList(componentLabels(name, "nginx")),
                // Liveness of nginx itself, for monitoring (routes are checked end to end by the readiness gate, which
                // polls from outside at no lasting cost): a check that named the routes would make a route change a restart.
                healthcheck: healthcheckInput({
                    ...httpHealthcheck(r.listenPort, HEALTH_PATH),
                    interval: "10s",
                    startPeriod: "30s",
                    retries: 3,
                }),
                ...resourceInputs(r.resources),
            },
            {
                parent: this,
                deleteBeforeReplace: true,
                // Started once the replicas serve (static mode: through the config, which names them).
                dependsOn: [
                    configContainer,
                    ...(consulMode && r.discovery ? [r.discovery.consul, ...replicaResources] : []),
                ],
            },
        );

        this.templateContainer =
            consulMode && r.discovery && this.upstreamsVolume && this.upstreamsTemplate
                ? consulTemplateSidecar(
                      name,
                      r,
                      r.discovery,
                      this.upstreamsVolume,
                      this.upstreamsTemplate,
                      container,
                      this,
                  )
                : undefined;

        // `pulumi up` returns when the published port serves the current config and every route answers end to end;
        // after a reload (an update of this gate) it then waits drainSeconds.
        const base = `http://${urlHost(r.hostIp, false)}:${r.hostPort}`;
        const digestUrl = `${base}${CONFIG_DIGEST_PATH}`;
        this.readiness = new HttpReadiness(
            `${name}-ready`,
            {
                urls: [digestUrl, ...(ready.length ? ready : [HEALTH_PATH]).map((p) => `${base}${p}`)],
                bodies: { [digestUrl]: this.configDigest },
                settleSeconds: r.drainSeconds,
                timeoutSeconds: 120,
                ...(gateToken ? { headers: { [READINESS_GATE_HEADER]: gateToken } } : {}),
                // A new nginx, or new replica ids (the watcher reloads for them too): wait and drain again.
                triggers: [container.id, replicasFile, ...(tlsDigest ? [tlsDigest] : [])],
            },
            { parent: this, dependsOn: [container, configContainer] },
        );

        this.configVolume = configVolume;
        this.configContainer = configContainer;
        this.container = container;
        this.url = `http://${urlHost(r.hostIp, true)}:${r.hostPort}/`;
        this.httpsUrl = r.tls ? `https://${urlHost(r.hostIp, true)}:${r.tls.hostPort}/` : undefined;
        this.registerOutputs({
            containerName: container.name,
            configDigest: this.configDigest,
            hostPort: this.hostPort,
            url: this.url,
        });
    }
}

/** The nginx.conf of a load balancer, its static files under `staticDir`. Pure. */
function nginxConfigSpec(
    r: ResolvedLbArgs,
    upstreams: UpstreamSpec[],
    locations: LocationSpec[],
    staticDir: string,
): NginxConfigSpec {
    const consulMode = r.mode === "consul-template";
    return {
        listenPort: r.listenPort,
        serverName: r.serverName,
        user: "nginx",
        upstreams: consulMode ? { include: `${UPSTREAMS_DIR}/*.conf` } : upstreams,
        locations,
        ...(r.staticUrlPath ? { static: { urlPath: r.staticUrlPath, root: `${staticDir}/` } } : {}),
        clientMaxBodySize: r.clientMaxBodySize,
        healthPath: HEALTH_PATH,
        ...(r.tls
            ? {
                  tls: {
                      listenPort: r.tls.listenPort,
                      hostPort: r.tls.hostPort,
                      certificatePath: NGINX_TLS_CERT_PATH,
                      keyPath: NGINX_TLS_KEY_PATH,
                      redirectHttp: r.tls.redirectHttp,
                  },
              }
            : {}),
        ...(r.extraDirectives.length ? { extraDirectives: r.extraDirectives } : {}),
        ...(r.customLocations.length ? { customLocations: r.customLocations } : {}),
        ...(consulMode || r.swarm ? {} : { readinessPath: READINESS_PATH, readinessGateFile: NGINX_GATE_PATH }),
        ...(r.swarm ? { resolver: SWARM_DNS } : {}),
        configDigestPath: CONFIG_DIGEST_PATH,
        mimeTypes: "/etc/nginx/mime.types",
        errorLog: "/var/log/nginx/error.log",
        accessLog: "/var/log/nginx/access.log",
    };
}

/**
 * consul-template mode's sidecar: renders the upstreams from Consul's healthy instances into `upstreamsVolume` and
 * signals nginx (it shares nginx's PID namespace) to reload when the file changed.
 */
function consulTemplateSidecar(
    name: string,
    r: ResolvedLbArgs,
    discovery: ServiceDiscovery,
    upstreamsVolume: docker.Volume,
    template: string,
    nginx: docker.Container,
    lb: NginxLoadBalancer,
): docker.Container {
    const image = new docker.RemoteImage(
        `${name}-consul-template-image`,
        { name: r.consulTemplateImage, keepLocally: true },
        { parent: lb },
    );
    const token = discovery.consulTemplateToken;
    const config = renderConsulTemplateConfig({
        consulAddress: discovery.address,
        ...(token ? { tokenFile: CONSUL_TEMPLATE_TOKEN_FILE } : {}),
        source: `${CONSUL_TEMPLATE_DIR}/upstreams.conf.ctmpl`,
        destination: UPSTREAMS_FILE,
        // PID 1 of the shared PID namespace is the nginx master: SIGHUP = test config, then graceful reload.
        command: "kill -HUP 1",
        waitMin: "1s",
        waitMax: "5s",
    });
    return new docker.Container(
        `${name}-consul-template`,
        {
            ...containerSettingsInputs(r.templateSettings),
            name: dockerName(`${name}-consul-template`),
            image: image.imageId,
            entrypoints: ["consul-template"],
            command: [`-config=${CONSUL_TEMPLATE_DIR}/config.hcl`],
            user: "root",
            pidMode: pulumi.interpolate`container:${nginx.id}`,
            networksAdvanced: r.network.attach([discovery.tier], []),
            volumes: [{ volumeName: upstreamsVolume.name, containerPath: UPSTREAMS_DIR }],
            uploads: [
                { file: `${CONSUL_TEMPLATE_DIR}/config.hcl`, content: config },
                { file: `${CONSUL_TEMPLATE_DIR}/upstreams.conf.ctmpl`, content: template },
                ...(token
                    ? [{ file: CONSUL_TEMPLATE_TOKEN_FILE, content: pulumi.secret(token), permissions: "0400" }]
                    : []),
            ],
            restart: "unless-stopped",
            labels: labelList(componentLabels(name, "consul-template")),
            ...resourceInputs(r.templateResources),
        },
        {
            parent: lb,
            deleteBeforeReplace: true,
            // With ACLs, started once its token exists.
            dependsOn: [nginx, discovery.consul, ...(discovery.aclSetup ? [discovery.aclSetup] : [])],
        },
    );
}
