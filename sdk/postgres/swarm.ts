/**
 * PostgresCluster on a swarm (`TieredNetwork` target "swarm"): one single-replica `docker.Service` pinned to the
 * node that holds its data volume, and the admin proxy through which the bootstrap (in the `pulumi up` process)
 * reaches it. See sdk/README.md "Scaling out: Docker Swarm".
 *
 * Why a proxy: the db tier is an internal overlay only the nodes' containers reach, and a service's published
 * port has no host address (host mode binds every address of the node). A plain container can publish on one
 * address, so it forwards TCP from there to the server over an admin overlay that only the two of them join; the
 * administrator is limited by pg_hba.conf to that overlay's subnet, as on the host target.
 */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import {
    checkSwarmResources,
    ContainerResources,
    ContainerSettings,
    containerSettings,
    containerSettingsInputs,
    HealthcheckArgs,
    RestartPolicy,
    swarmHealthcheckInput,
    swarmDuration,
    swarmTaskInputs,
} from "../container";
import { componentLabels, dockerName, labelList } from "../naming";
import { checkSwarmNode, SWARM_NOT_YET, SWARM_NOT_YET_FIX, TieredNetwork } from "../network";
import { ArgChecker } from "../validation";
import { ADMIN_PASSWORD_SCRIPT, ADMIN_PASSWORD_SCRIPT_PATH } from "./adminPassword";

/** The arguments with no swarm form yet: refused with a swarm network rather than ignored. */
export const SWARM_UNSUPPORTED_POSTGRES_ARGS = ["container"] as const;

/** The admin proxy's default image: nginx with its stream module (Debian's build loads it dynamically). */
export const DEFAULT_ADMIN_PROXY_IMAGE = "nginx:stable-bookworm";
/** The admin proxy's default published port on the swarm target (the node's 5432 may be taken). */
export const DEFAULT_SWARM_ADMIN_PORT = 15432;
/** Where the admin password secret is mounted (POSTGRES_PASSWORD_FILE). */
export const SWARM_ADMIN_PASSWORD_FILE = "/run/secrets/pdc-postgres-admin-password";
/** The official image's postgres user and group: the secret's owner, so the image's entrypoint reads it as them. */
const POSTGRES_UID = "999";

/**
 * The password wrapper without its chown: a swarm secret is mounted read-only, already owned by the postgres user
 * (chown on it fails and would stop the wrapper). The rest is the host target's wrapper, unchanged.
 */
export const SWARM_ADMIN_PASSWORD_SCRIPT = ADMIN_PASSWORD_SCRIPT.replace(
    /^ {2}# uploaded as root[^\n]*\n {2}\[ "\$\(id -u\)" = 0 \] && chown[^\n]*\n/m,
    "",
);

/** Records a problem for each argument of {@link SWARM_UNSUPPORTED_POSTGRES_ARGS} that is set, and swarmNode's. */
export function checkSwarmPostgresArgs(c: ArgChecker, args: Readonly<Record<string, unknown>>): void {
    c.unset(args, SWARM_UNSUPPORTED_POSTGRES_ARGS, SWARM_NOT_YET, SWARM_NOT_YET_FIX);
    checkSwarmResources(c, "resources", args.resources as ContainerResources | undefined);
    checkSwarmNode(c, args.swarmNode, "the server stays on the node holding its data volume");
}

/** The admin proxy's nginx configuration: TCP 5432 to the server's name, re-resolved (it may start later). */
export function adminProxyConf(alias: string): string {
    return [
        "# Written by pulumi-docker-cluster's PostgresCluster (sdk/postgres/swarm.ts): the bootstrap's way in.",
        "load_module /usr/lib/nginx/modules/ngx_stream_module.so;",
        "worker_processes 1;",
        "pid /tmp/nginx.pid;",
        "error_log stderr notice;",
        "events {}",
        "stream {",
        "    resolver 127.0.0.11 valid=1s ipv6=off;",
        "    server {",
        "        listen 5432;",
        `        set $pg ${alias};`,
        "        proxy_pass $pg:5432;",
        "        proxy_connect_timeout 2s;",
        "    }",
        "}",
        "",
    ].join("\n");
}

export interface SwarmPostgresSpec {
    readonly network: TieredNetwork;
    readonly tier: string;
    readonly alias: string;
    readonly image: pulumi.Input<string>;
    readonly adminUser: string;
    readonly adminPassword: pulumi.Output<string>;
    readonly envs: pulumi.Output<string[]>;
    readonly serverArgs: readonly string[];
    readonly hbaFile: string;
    readonly hba: (adminSubnets: string[]) => string;
    readonly dataVolumeName: pulumi.Input<string>;
    readonly healthcheck: HealthcheckArgs;
    readonly waitForHealthy: boolean;
    readonly stopTimeout: number;
    readonly swarmNode: string;
    readonly adminAddress: string;
    readonly adminPort: number;
    readonly adminProxyImage: pulumi.Input<string>;
    readonly labels: Readonly<Record<string, string>>;
    /** The host form's memory limit, restart policy and log settings, as the task's. */
    readonly resources: ContainerResources | undefined;
    readonly restart: RestartPolicy;
    readonly settings: ContainerSettings;
}

export interface SwarmPostgres {
    readonly service: docker.Service;
    readonly adminNetwork: docker.Network;
    readonly adminProxy: docker.Container;
    readonly adminPasswordSecret: docker.Secret;
}

/** Builds the server's service, its admin overlay, secret, configs and the admin proxy under `parent`. */
export function buildSwarmPostgres(name: string, s: SwarmPostgresSpec, parent: pulumi.Resource): SwarmPostgres {
    // Attachable so the proxy (a plain container) can join; not internal, or Docker would publish nothing from it.
    const adminNetwork = new docker.Network(
        `${name}-admin`,
        {
            name: dockerName(`${name}-admin`),
            driver: "overlay",
            attachable: true,
            internal: false,
            labels: labelList(componentLabels(name, "admin-network")),
        },
        { parent, deleteBeforeReplace: true },
    );
    const hba = pulumi.all([adminNetwork.ipamConfigs, adminNetwork.name]).apply(([ipam, netName]) => {
        const subnets = (ipam ?? []).flatMap((x) => (x.subnet ? [x.subnet] : []));
        if (!subnets.length)
            throw new Error(`PostgresCluster "${name}": Docker reported no subnet for the admin network "${netName}"`);
        return s.hba(subnets);
    });
    // Swarm configs and secrets cannot change: a new content is a new one (named by its digest, or a suffix renewed
    // with the value), created before the service moves to it.
    const config = (role: string, content: pulumi.Input<string>) =>
        new docker.ServiceConfig(
            `${name}-${role}`,
            {
                name: pulumi
                    .output(content)
                    .apply(
                        (t) =>
                            `${dockerName(`${name}-${role}`)}-${createHash("sha256").update(t).digest("hex").slice(0, 8)}`,
                    ),
                data: pulumi.output(content).apply((t) => Buffer.from(t, "utf8").toString("base64")),
            },
            { parent },
        );
    const hbaConfig = config("hba", hba);
    const entrypointConfig = config("entrypoint", SWARM_ADMIN_PASSWORD_SCRIPT);
    const suffix = new random.RandomId(
        `${name}-admin-password-id`,
        { byteLength: 4, keepers: { value: s.adminPassword } },
        { parent },
    );
    const adminPasswordSecret = new docker.Secret(
        `${name}-admin-password`,
        {
            name: pulumi.interpolate`${dockerName(`${name}-admin-password`)}-${suffix.hex}`,
            data: s.adminPassword.apply((v) => Buffer.from(v, "utf8").toString("base64")),
            labels: labelList(componentLabels(name, "admin-password")),
        },
        { parent },
    );
    const h = s.healthcheck;
    const service = new docker.Service(
        `${name}-server`,
        {
            name: dockerName(`${name}-server`),
            labels: labelList(s.labels),
            mode: { replicated: { replicas: 1 } },
            endpointSpec: { mode: "dnsrr" },
            taskSpec: {
                containerSpec: {
                    image: s.image,
                    commands: [ADMIN_PASSWORD_SCRIPT_PATH],
                    args: ["postgres", "-c", `hba_file=${s.hbaFile}`, ...s.serverArgs],
                    env: s.envs.apply((list) =>
                        Object.fromEntries(list.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
                    ),
                    mounts: [{ type: "volume", source: s.dataVolumeName, target: "/var/lib/postgresql/data" }],
                    configs: [
                        {
                            configId: entrypointConfig.id,
                            configName: entrypointConfig.name,
                            fileName: ADMIN_PASSWORD_SCRIPT_PATH,
                            fileMode: 0o755,
                        },
                        { configId: hbaConfig.id, configName: hbaConfig.name, fileName: s.hbaFile, fileMode: 0o444 },
                    ],
                    secrets: [
                        {
                            secretId: adminPasswordSecret.id,
                            secretName: adminPasswordSecret.name,
                            fileName: SWARM_ADMIN_PASSWORD_FILE,
                            fileMode: 0o400,
                            fileUid: POSTGRES_UID,
                            fileGid: POSTGRES_UID,
                        },
                    ],
                    healthcheck: swarmHealthcheckInput(h),
                    // Postgres's fast shutdown, and the time for its checkpoint before swarm kills it.
                    stopSignal: "SIGINT",
                    stopGracePeriod: swarmDuration(`${s.stopTimeout}s`),
                },
                // The volume is local to its node: the task must never start anywhere else.
                placement: { constraints: [`node.hostname == ${s.swarmNode}`] },
                networksAdvanceds: [
                    ...s.network.attachService([s.tier], [s.alias]),
                    { name: adminNetwork.name, aliases: [s.alias] },
                ],
                ...swarmTaskInputs(s.resources, s.restart, s.settings),
            },
            // Never two servers on one data directory: the old task stops before the new one starts.
            updateConfig: { parallelism: 1, order: "stop-first", failureAction: "pause" },
            ...(s.waitForHealthy ? { convergeConfig: { delay: "1s", timeout: "300s" } } : {}),
        },
        { parent },
    );
    const adminProxy = new docker.Container(
        `${name}-admin-proxy`,
        {
            // The cluster's container defaults: rotated json-file logs, no-new-privileges.
            ...containerSettingsInputs(containerSettings(undefined, undefined)),
            name: dockerName(`${name}-admin-proxy`),
            image: s.adminProxyImage,
            entrypoints: ["nginx"],
            command: ["-g", "daemon off;", "-c", "/etc/pdc-admin-proxy.conf"],
            uploads: [{ file: "/etc/pdc-admin-proxy.conf", content: adminProxyConf(s.alias), permissions: "0644" }],
            networksAdvanced: [{ name: adminNetwork.name }],
            ports: [{ internal: 5432, external: s.adminPort, ip: s.adminAddress }],
            restart: "unless-stopped",
            labels: labelList(componentLabels(name, "admin-proxy")),
        },
        { parent, deleteBeforeReplace: true, dependsOn: [service] },
    );
    return { service, adminNetwork, adminProxy, adminPasswordSecret };
}
