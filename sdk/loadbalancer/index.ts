/**
 * NginxLoadBalancer: the cluster's only published port (seed 002: "only web publishes port 80").
 *
 * Static mode (default): nginx.conf is generated from the pools' replica host names (seed 004's site, generalised
 * to several pools routed by path prefix, seed 003) and uploaded into the container. Scaling a pool changes the
 * generated config, so only the load balancer is replaced — never the app containers. The load balancer also
 * carries the replica container ids in a label, so when a replica is replaced (new image, new files) nginx is
 * restarted and resolves the new addresses.
 *
 * consul-template mode: nginx.conf includes upstream blocks rendered by a consul-template sidecar from Consul's
 * healthy instances; the sidecar shares nginx's PID namespace and sends it SIGHUP (graceful reload) only when the
 * rendered file changed. Apps come and go without touching the load balancer's resources.
 */
import { isIP } from "net";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { AppServerPool } from "../app";
import { checkResources, ContainerResources, FileUpload, fileUpload, healthcheckInput, httpHealthcheckAll, readTree, resourceInputs, RestartPolicy } from "../container";
import { HttpReadiness } from "../../provider";
import { ServiceDiscovery } from "../discovery";
import { dockerName, labelList, standardLabels } from "../naming";
import { checkAliases, checkTierNames, TieredNetwork } from "../network";
import { ArgChecker } from "../validation";
import { renderConsulTemplateConfig, renderUpstreamsFromInstances, renderUpstreamsTemplate } from "./consulTemplate";
import { LocationSpec, readinessPaths, renderNginxConf, UpstreamSpec } from "./nginxConf";

export * from "./nginxConf";
export * from "./consulTemplate";

export const DEFAULT_NGINX_IMAGE = "nginx:stable-bookworm";
export const DEFAULT_CONSUL_TEMPLATE_IMAGE = "hashicorp/consul-template:0.39";
/** Where the generated config goes in the nginx container. */
export const NGINX_CONF_PATH = "/etc/nginx/nginx.conf";
/** Where static files go in the nginx container. */
export const STATIC_ROOT = "/usr/share/nginx/static";
/** consul-template mode: the shared directory holding the rendered upstreams. */
export const UPSTREAMS_DIR = "/etc/nginx/upstreams";
export const UPSTREAMS_FILE = `${UPSTREAMS_DIR}/upstreams.conf`;
export const CONSUL_TEMPLATE_DIR = "/etc/consul-template";
/** Label listing the replica container ids the static config was generated for. */
export const UPSTREAM_IDS_LABEL = "dockercluster.upstream-container-ids";

/** One routed path prefix. */
export interface NginxRoute {
    /** URL path prefix: "/" or "/segment" (letters, digits, "-", "_", ".", "~", "/"). */
    readonly path: string;
    /** The pool serving it. */
    readonly pool: AppServerPool;
}

/** Static files served by nginx itself (seed 004's `/static`). */
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
    /** nginx image (official layout: /etc/nginx/nginx.conf, /etc/nginx/mime.types, user nginx). @default "nginx:stable-bookworm" */
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
}

const ROUTE_PATH = /^\/([A-Za-z0-9._~-]+\/?)*$/;
/** One `server_name` token: "_", or a host name with an optional leading `*.` / `.` or trailing `.*` (no regexes). */
const SERVER_NAME_TOKEN = /^(_|(\*\.|\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(\.\*)?)$/;
const BODY_SIZE = /^\d+[kKmMgG]?$/;
const HEALTH_PATH = "/nginx-health";
/** Prefix of the end-to-end readiness locations (static mode): `/nginx-ready/<upstream>`. */
const READINESS_PATH = "/nginx-ready";

/** Arguments with defaults applied. */
export interface ResolvedLbArgs {
    readonly tiers: string[];
    readonly hostPort: number;
    readonly hostIp: string;
    readonly listenPort: number;
    readonly mode: "static" | "consul-template";
    readonly staticUrlPath: string | undefined;
    readonly serverName: string;
    readonly clientMaxBodySize: string;
}

/** Applies defaults and validates; throws an ArgumentError before anything is created. Pure. */
export function resolveLbArgs(name: string, args: NginxLoadBalancerArgs): ResolvedLbArgs {
    const c = new ArgChecker("NginxLoadBalancer", name);
    const tiers = [...(args.tiers ?? ["web", "app"])];
    const hostPort = args.hostPort ?? 80;
    const hostIp = args.hostIp ?? "0.0.0.0";
    const listenPort = args.listenPort ?? 80;
    const mode = args.mode ?? "static";
    const staticUrlPath = args.static ? normalizePrefix(args.static.urlPath ?? "/static/") : undefined;

    c.check(args.network instanceof TieredNetwork, "network", "is not a TieredNetwork", "pass the cluster's TieredNetwork");
    const net = args.network instanceof TieredNetwork ? args.network : undefined;
    if (net) {
        checkTierNames(c, "tiers", tiers, net.tierNames);
        const publishing = tiers.filter((t) => net.hasTier(t) && !net.internal[t]);
        c.check(publishing.length > 0 || tiers.some((t) => !net.hasTier(t)), "tiers", "are all internal", "join at least one non-internal tier (e.g. web) so the published port is reachable");
    }
    c.port(hostPort, "hostPort");
    c.port(listenPort, "listenPort");
    c.check(isIP(hostIp) !== 0, "hostIp", `is "${hostIp}", not an IP address`, 'use an IPv4 or IPv6 address such as "0.0.0.0", "127.0.0.1" or "::1"');
    if (net && Number.isInteger(hostPort)) {
        const owner = net.hostPortOwner(hostIp, hostPort);
        c.check(owner === undefined, "hostPort", `${hostPort} is already published by ${owner}`, "pick another hostPort");
    }
    // nginx answers to the load balancer's name on its tiers (other containers reach it as http://<name>).
    if (net) checkAliases(c, "name", net, tiers, [name], "give the load balancer a name no other container on its tiers uses");
    const serverName = args.serverName ?? "_";
    c.check(
        typeof serverName === "string" && serverName.split(" ").every((t) => SERVER_NAME_TOKEN.test(t)),
        "serverName",
        `is ${JSON.stringify(serverName)}, not a list of nginx server names`,
        'use host names separated by single spaces, e.g. "example.com www.example.com" or "*.example.com", or "_" (no regexes)',
    );
    const clientMaxBodySize = args.clientMaxBodySize ?? "1m";
    c.check(
        typeof clientMaxBodySize === "string" && BODY_SIZE.test(clientMaxBodySize),
        "clientMaxBodySize",
        `is ${JSON.stringify(clientMaxBodySize)}, not an nginx size`,
        'write a whole number with an optional k, m or g suffix, e.g. "64k" or "10m" ("0" for no limit)',
    );
    c.check(["static", "consul-template"].includes(mode), "mode", `is "${mode}"`, 'use "static" or "consul-template"');

    c.check(Array.isArray(args.routes) && args.routes.length > 0, "routes", "is empty", 'route at least "/" to a pool');
    const routes: readonly NginxRoute[] = Array.isArray(args.routes) ? args.routes : [];
    const seenPaths = new Set<string>();
    const services = new Map<string, { pool: AppServerPool; route: string }>();
    routes.forEach((route, i) => {
        const a = `routes[${i}]`;
        c.check(ROUTE_PATH.test(route.path), `${a}.path`, `is "${route.path}"`, 'use "/" or a prefix like "/users" (letters, digits, - _ . ~ /)');
        const norm = normalizePath(route.path);
        c.check(!seenPaths.has(norm), `${a}.path`, `"${route.path}" is routed twice`, "route each path prefix once");
        seenPaths.add(norm);
        if (staticUrlPath) {
            c.check(norm !== normalizePath(staticUrlPath), `${a}.path`, `"${route.path}" collides with the static path ${staticUrlPath}`, "move the route or static.urlPath");
        }
        c.check(norm !== HEALTH_PATH, `${a}.path`, `"${route.path}" is the load balancer's own health path`, "use another path");
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
                route.pool.discovery !== undefined && route.pool.discovery === args.discovery,
                `${a}.pool`,
                `("${route.pool.serviceName}") does not register with the load balancer's discovery`,
                "pass the same ServiceDiscovery to the pool and the load balancer",
            );
        }
    });
    if (staticUrlPath) {
        c.check(ROUTE_PATH.test(staticUrlPath), "static.urlPath", `is "${args.static?.urlPath}"`, 'use a prefix like "/static/"');
        for (const p of Object.keys(args.static?.files ?? {})) {
            c.check(p.split("/").every((s) => s !== "" && s !== "." && s !== ".."), `static.files["${p}"]`, "is not a safe relative path", 'use a path like "css/site.css"');
        }
    }
    if (mode === "consul-template") {
        c.check(args.discovery instanceof ServiceDiscovery, "discovery", "is missing", 'pass the ServiceDiscovery the pools register with (mode "consul-template" needs it)');
        if (args.discovery instanceof ServiceDiscovery) {
            c.check(tiers.includes(args.discovery.tier), "tiers", `do not include the discovery tier "${args.discovery.tier}"`, `add "${args.discovery.tier}" so consul-template reaches Consul`);
        }
    } else {
        c.check(args.consulTemplateImage === undefined, "consulTemplateImage", 'is set but mode is "static"', 'set mode: "consul-template" or drop consulTemplateImage');
    }
    checkResources(c, "resources", args.resources);
    c.throwIfAny();
    return { tiers, hostPort, hostIp, listenPort, mode, staticUrlPath, serverName, clientMaxBodySize };
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
export function upstreamsAndLocations(routes: readonly NginxRoute[]): { upstreams: UpstreamSpec[]; locations: LocationSpec[] } {
    const upstreams: UpstreamSpec[] = [];
    for (const r of routes) {
        if (!upstreams.some((u) => u.name === upstreamName(r.pool))) {
            upstreams.push({ name: upstreamName(r.pool), servers: r.pool.upstreamServers, healthPath: r.pool.healthPath });
        }
    }
    return { upstreams, locations: routes.map((r) => ({ path: r.path, upstream: upstreamName(r.pool) })) };
}

/** The nginx upstream name of a pool: its service name. */
export function upstreamName(pool: AppServerPool): string {
    return pool.serviceName;
}

/**
 * The cluster's nginx. See the module comment for the two modes.
 */
export class NginxLoadBalancer extends pulumi.ComponentResource {
    /** The nginx container. */
    public readonly container: docker.Container;
    /** The consul-template sidecar (consul-template mode). */
    public readonly templateContainer: docker.Container | undefined;
    /** The volume holding the rendered upstreams (consul-template mode). */
    public readonly upstreamsVolume: docker.Volume | undefined;
    /** The generated nginx.conf. */
    public readonly nginxConf: string;
    /** The consul-template template (consul-template mode). */
    public readonly upstreamsTemplate: string | undefined;
    /** Completes when every route answers end to end through the published port. */
    public readonly readiness: HttpReadiness;
    /** The published port. */
    public readonly hostPort: number;
    /** `http://<host>:<hostPort>/`: localhost when published on 0.0.0.0 or 127.0.0.1, else hostIp (IPv6 bracketed). */
    public readonly url: string;

    constructor(name: string, args: NginxLoadBalancerArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const r = resolveLbArgs(name, args);
        const staticFiles: FileUpload[] = [];
        if (args.static) {
            const files: Record<string, Buffer> = { ...(args.static.directory ? readTree(args.static.directory, `NginxLoadBalancer "${name}" static.directory`) : {}) };
            for (const [p, text] of Object.entries(args.static.files ?? {})) files[p] = Buffer.from(text, "utf8");
            for (const p of Object.keys(files).sort()) staticFiles.push(fileUpload(path.posix.join(STATIC_ROOT, p), files[p]));
        }
        super("dockercluster:loadbalancer:NginxLoadBalancer", name, {}, opts);
        args.network.claimHostPort(r.hostIp, r.hostPort, `NginxLoadBalancer "${name}" (hostPort)`);
        args.network.claimAliases(r.tiers, [name], `NginxLoadBalancer "${name}"`);

        const project = pulumi.getProject();
        const stack = pulumi.getStack();
        const { upstreams, locations } = upstreamsAndLocations(args.routes);
        const consulMode = r.mode === "consul-template";
        this.nginxConf = renderNginxConf({
            listenPort: r.listenPort,
            serverName: r.serverName,
            user: "nginx",
            upstreams: consulMode ? { include: `${UPSTREAMS_DIR}/*.conf` } : upstreams,
            locations,
            ...(r.staticUrlPath ? { static: { urlPath: r.staticUrlPath, root: `${STATIC_ROOT}/` } } : {}),
            clientMaxBodySize: r.clientMaxBodySize,
            healthPath: HEALTH_PATH,
            ...(consulMode ? {} : { readinessPath: READINESS_PATH }),
            mimeTypes: "/etc/nginx/mime.types",
            errorLog: "/var/log/nginx/error.log",
            accessLog: "/var/log/nginx/access.log",
        });
        const consulUpstreams = upstreams.map((u) => ({ name: u.name, service: args.routes.find((rt) => upstreamName(rt.pool) === u.name)!.pool.serviceName }));
        this.upstreamsTemplate = consulMode ? renderUpstreamsTemplate(consulUpstreams) : undefined;

        const image = new docker.RemoteImage(`${name}-image`, { name: args.image ?? DEFAULT_NGINX_IMAGE, keepLocally: true }, { parent: this });
        const pools = [...new Set(args.routes.map((rt) => rt.pool))];
        const replicaContainers = pools.flatMap((p) => p.replicaIds.map((id) => p.containers[id]));

        const ready = consulMode ? [] : readinessPaths({ readinessPath: READINESS_PATH, upstreams });
        const uploads: FileUpload[] = [{ file: NGINX_CONF_PATH, content: this.nginxConf }, ...staticFiles];
        const labels: Record<string, pulumi.Input<string>> = { ...standardLabels(project, stack, name, "nginx") };
        if (consulMode) {
            this.upstreamsVolume = new docker.Volume(
                `${name}-upstreams`,
                { name: dockerName(`${name}-upstreams`), labels: labelList(standardLabels(project, stack, name, "upstreams")) },
                { parent: this, deleteBeforeReplace: true },
            );
            // Until consul-template has rendered, every upstream is a single "down" server: nginx starts and answers 502.
            uploads.push({ file: `${UPSTREAMS_FILE}`, content: renderUpstreamsFromInstances(consulUpstreams, {}) });
        } else {
            this.upstreamsVolume = undefined;
            labels[UPSTREAM_IDS_LABEL] = pulumi.all(replicaContainers.map((ct) => ct.id)).apply((ids) => ids.join(","));
        }

        this.container = new docker.Container(
            `${name}-nginx`,
            {
                name: dockerName(`${name}-nginx`),
                image: image.imageId,
                networksAdvanced: args.network.attach(r.tiers, [name]),
                ports: [{ internal: r.listenPort, external: r.hostPort, ip: r.hostIp }],
                uploads,
                ...(this.upstreamsVolume ? { volumes: [{ volumeName: this.upstreamsVolume.name, containerPath: UPSTREAMS_DIR }] } : {}),
                restart: args.restart ?? "unless-stopped",
                labels: labelList(labels),
                // `pulumi up` finishes when nginx answers, not merely when its container started.
                // Healthy = every route answers end to end: each pool's health path through nginx (static mode), or
                // nginx itself (consul-template mode). For monitoring only, hence the relaxed interval: `pulumi up`
                // waits through the HttpReadiness resource below, which polls from outside at no lasting cost.
                healthcheck: healthcheckInput({ ...httpHealthcheckAll(r.listenPort, ready.length ? ready : [HEALTH_PATH]), interval: "10s", startPeriod: "30s", retries: 3 }),
                ...resourceInputs(args.resources),
            },
            {
                parent: this,
                deleteBeforeReplace: true,
                dependsOn: [...replicaContainers, ...(consulMode && args.discovery ? [args.discovery.consul] : [])],
            },
        );

        if (consulMode && args.discovery && this.upstreamsVolume) {
            const ctImage = new docker.RemoteImage(
                `${name}-consul-template-image`,
                { name: args.consulTemplateImage ?? DEFAULT_CONSUL_TEMPLATE_IMAGE, keepLocally: true },
                { parent: this },
            );
            const ctConfig = renderConsulTemplateConfig({
                consulAddress: args.discovery.address,
                source: `${CONSUL_TEMPLATE_DIR}/upstreams.conf.ctmpl`,
                destination: UPSTREAMS_FILE,
                // PID 1 of the shared PID namespace is the nginx master: SIGHUP = test config, then graceful reload.
                command: "kill -HUP 1",
                waitMin: "1s",
                waitMax: "5s",
            });
            this.templateContainer = new docker.Container(
                `${name}-consul-template`,
                {
                    name: dockerName(`${name}-consul-template`),
                    image: ctImage.imageId,
                    entrypoints: ["consul-template"],
                    command: [`-config=${CONSUL_TEMPLATE_DIR}/config.hcl`],
                    user: "root",
                    pidMode: pulumi.interpolate`container:${this.container.id}`,
                    networksAdvanced: args.network.attach([args.discovery.tier], []),
                    volumes: [{ volumeName: this.upstreamsVolume.name, containerPath: UPSTREAMS_DIR }],
                    uploads: [
                        { file: `${CONSUL_TEMPLATE_DIR}/config.hcl`, content: ctConfig },
                        { file: `${CONSUL_TEMPLATE_DIR}/upstreams.conf.ctmpl`, content: this.upstreamsTemplate! },
                    ],
                    restart: "unless-stopped",
                    labels: labelList(standardLabels(project, stack, name, "consul-template")),
                },
                { parent: this, deleteBeforeReplace: true, dependsOn: [this.container, args.discovery.consul] },
            );
        } else {
            this.templateContainer = undefined;
        }

        // `pulumi up` returns when every route answers end to end through the published port.
        const probeHost = urlHost(r.hostIp, false);
        this.readiness = new HttpReadiness(
            `${name}-ready`,
            { urls: (ready.length ? ready : [HEALTH_PATH]).map((p) => `http://${probeHost}:${r.hostPort}${p}`), timeoutSeconds: 120, triggers: [this.container.id] },
            { parent: this, dependsOn: [this.container] },
        );

        this.hostPort = r.hostPort;
        this.url = `http://${urlHost(r.hostIp, true)}:${r.hostPort}/`;
        this.registerOutputs({ containerName: this.container.name, hostPort: this.hostPort, url: this.url });
    }
}
