/**
 * PostgresCluster: Postgres on the database tier with a retained data volume, generated passwords, and the
 * once-only database bootstrap (roles, database, migrations, content) from provider/ wired after the container.
 *
 * The hand-run setup steps become one tracked resource; compose's "`docker-compose rm` lost my data" becomes a data
 * volume that survives `pulumi destroy` (retainOnDelete) unless the user opts out.
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import { Bootstrap, prepareBootstrap, PreparedBootstrap, withLateValues } from "../../provider";
import type { BootstrapArgs, BootstrapContentArgs, BootstrapMigrationSetArgs, BootstrapWaitArgs } from "../../provider";
import {
    checkEnvNames,
    checkHealthcheck,
    checkLogging,
    checkPassThrough,
    checkResources,
    ContainerPassThrough,
    ContainerResources,
    ContainerSettings,
    containerSettings,
    containerSettingsInputs,
    envEntries,
    healthcheckInput,
    HealthcheckArgs,
    LoggingArgs,
    resourceInputs,
    RestartPolicy,
} from "../container";
import { dockerName, isDnsLabel, labelList, standardLabels } from "../naming";
import { checkNetworkArg, NetworkClaim, TieredNetwork } from "../network";
import { ArgChecker } from "../validation";
import { ADMIN_PASSWORD_FILE, ADMIN_PASSWORD_SCRIPT, ADMIN_PASSWORD_SCRIPT_PATH } from "./adminPassword";
import {
    buildSwarmPostgres,
    checkSwarmPostgresArgs,
    DEFAULT_ADMIN_PROXY_IMAGE,
    DEFAULT_SWARM_ADMIN_PORT,
    SWARM_ADMIN_PASSWORD_FILE,
} from "./swarm";

/** The default Postgres image (the official image's Debian 12 variant). */
export const DEFAULT_POSTGRES_IMAGE = "postgres:15-bookworm";

/** Where the data volume is mounted, and the PGDATA directory inside it. */
export const POSTGRES_MOUNT = "/var/lib/postgresql/data";
export const POSTGRES_PGDATA = `${POSTGRES_MOUNT}/pgdata`;

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
/** Variables the server container sets itself, with the argument to use instead. */
const POSTGRES_ENV: Readonly<Record<string, string>> = {
    PGDATA: "",
    POSTGRES_DB: "database",
    POSTGRES_USER: "adminUser",
    POSTGRES_PASSWORD: "adminPassword",
    POSTGRES_PASSWORD_FILE: "adminPassword",
};

/** Where the server's pg_hba.conf is uploaded: outside PGDATA, so an existing data volume gets it too. */
export const POSTGRES_HBA_FILE = "/etc/pdc-pg_hba.conf";

/** The application role's defaults (`appConnectionLimit`, `appRoleSettings`). */
export const DEFAULT_APP_CONNECTION_LIMIT = 80;
export const DEFAULT_APP_ROLE_SETTINGS: Readonly<Record<string, string>> = {
    idle_in_transaction_session_timeout: "60s",
};

/** Seconds Docker waits after the stop signal before SIGKILL (`stopTimeout`). */
export const DEFAULT_POSTGRES_STOP_TIMEOUT = 60;

/**
 * The server's pg_hba.conf. First match wins: the administrator only from the admin network (the bootstrap, on
 * the host: with adminHostPort, Docker's proxy also connects from that network's gateway), every other role only
 * to the application database, password-checked; anything else, the maintenance database and replication
 * included, is refused. `local` (the socket inside the container: `docker exec`, the image's init) stays trusted,
 * as in the image's own file. Pure.
 */
export function pgHbaConf(p: {
    adminUser: string;
    database: string;
    adminSubnets: readonly string[];
    extraRules?: readonly string[];
}): string {
    return [
        "# Written by pulumi-docker-cluster's PostgresCluster (sdk/postgres/index.ts#pgHbaConf).",
        "# TYPE  DATABASE  USER  ADDRESS  METHOD",
        "local all all trust",
        ...p.adminSubnets.map((net) => `host all ${p.adminUser} ${net} scram-sha-256`),
        `host all ${p.adminUser} all reject`,
        ...(p.extraRules ?? []),
        `host ${p.database} all all scram-sha-256`,
        "host all all all reject",
        "",
    ].join("\n");
}

export interface PostgresClusterArgs {
    /** The cluster's networks. */
    readonly network: TieredNetwork;
    /** Tier the server sits on (the only tier it joins, besides its private admin network). @default "db" */
    readonly tier?: string;
    /** Host name the server answers to on its tier; apps connect to `<alias>:5432`. @default "postgres" */
    readonly alias?: string;
    /** Postgres image honouring the official image's environment contract. @default "postgres:15-bookworm" */
    readonly image?: pulumi.Input<string>;
    /** Administrator (owner) role, `POSTGRES_USER`. Only the bootstrap ever uses it. @default "postgres" */
    readonly adminUser?: string;
    /** Administrator password, e.g. `config.requireSecret("dbAdminPassword")`. @default generated (random.RandomPassword, 32 chars) */
    readonly adminPassword?: pulumi.Input<string>;
    /** Application database, created by the bootstrap. @default "app" */
    readonly database?: string;
    /** Login role the applications use (`DATABASE_URL`). @default "app" */
    readonly appRole?: string;
    /** Application role's password. @default generated (random.RandomPassword, 32 chars) */
    readonly appPassword?: pulumi.Input<string>;
    /**
     * The application role's privileges preset: "owner" when the app migrates itself at start (Rails, Django, Go
     * ORMs: Postgres 15+ lets only the database owner create in `public`), "readwrite" / "readonly" when the
     * migration sets migrate (the bootstrap grants on every table, and on tables later migrations create).
     * See provider/README.md "Database privileges". @default "none" (the bootstrap grants nothing; the migrations GRANT)
     */
    readonly appPrivileges?: "owner" | "readwrite" | "readonly" | "none";
    /** Extensions created in the database. @default [] */
    readonly extensions?: readonly string[];
    /** Ordered migration sets (e.g. app, then sso), run once by the bootstrap as the administrator. @default [] */
    readonly migrationSets?: readonly BootstrapMigrationSetArgs[];
    /** Content (seed data) deployed after the migrations when new or changed. @default undefined */
    readonly content?: BootstrapContentArgs;
    /** What deleting the bootstrap does to the database and roles. @default "retain" */
    readonly bootstrapOnDelete?: "retain" | "drop";
    /**
     * Bootstrap's readiness and lock waits, and each migration's lock and statement timeouts.
     * @default the bootstrap's (120 s readiness, 600 s lock, no migration timeouts)
     */
    readonly bootstrapWait?: BootstrapWaitArgs;
    /**
     * Keep the data volume in Docker when Pulumi deletes it (`pulumi destroy`, or a replacement): the next
     * `pulumi up` finds the data again because the volume name is deterministic. @default true
     */
    readonly retainDataVolume?: boolean;
    /** Also `protect` the data volume, so `pulumi destroy` refuses to run until it is unprotected. @default false */
    readonly protectDataVolume?: boolean;
    /**
     * Publish 5432 on `127.0.0.1:<adminHostPort>` and let the bootstrap connect there. For Docker Desktop, where
     * container addresses are not routable from the host. On a swarm network: the admin proxy's published port on
     * `adminAddress`. @default undefined (bootstrap connects to the container's address on its private admin
     * network; nothing is published); 15432 on a swarm network
     */
    readonly adminHostPort?: number;
    /**
     * Swarm network only: host name of the node that keeps the data volume and runs the server (a placement
     * constraint, so the server is never rescheduled onto a node without its data). The docker provider must talk
     * to this node's engine: the data volume and the admin proxy are created there. Read it with
     * `docker info -f '{{.Name}}'` on that engine. @default undefined (required on a swarm network)
     */
    readonly swarmNode?: string;
    /**
     * Swarm network only: the address of the node on which the admin proxy publishes `adminHostPort`, the address
     * the bootstrap (in the `pulumi up` process) connects to. The node's loopback keeps the port off the network:
     * reach it with an SSH tunnel when `pulumi up` runs elsewhere, or give the node's management address.
     * @default "127.0.0.1"
     */
    readonly adminAddress?: string;
    /**
     * Swarm network only: the admin proxy's image, an nginx with Debian's stream module at
     * `/usr/lib/nginx/modules/ngx_stream_module.so`. @default "nginx:stable-bookworm"
     */
    readonly adminProxyImage?: pulumi.Input<string>;
    /**
     * Wait until the health check passes before the container counts as created. Off by default: the bootstrap
     * waits for an authenticated `SELECT 1` itself, polling far more often than Docker's health interval, so the
     * bootstrap starts the moment Postgres can serve it. @default false
     */
    readonly waitForHealthy?: boolean;
    /** Health check. @default `pg_isready -h 127.0.0.1 -U <adminUser> -d postgres` every 1 s */
    readonly healthcheck?: HealthcheckArgs;
    /**
     * The application role's connection limit (`CONNECTION LIMIT`), below Postgres's default max_connections (100)
     * so a leaking pool cannot take every slot from the other roles. -1 for none. @default 80
     */
    readonly appConnectionLimit?: number;
    /**
     * Server settings of the application role's sessions (`ALTER ROLE … SET`), merged over the defaults; give a
     * default's name the value "0" to switch it off, e.g. `{ idle_in_transaction_session_timeout: "0" }`.
     * @default { idle_in_transaction_session_timeout: "60s" } (a session idle in an open transaction is ended, its locks released)
     */
    readonly appRoleSettings?: Readonly<Record<string, string>>;
    /**
     * Extra pg_hba.conf lines, placed after the administrator's rules and before the application database's, e.g.
     * `["host reports reporting 10.0.0.0/8 scram-sha-256"]`. The administrator stays limited to the admin network.
     * @default [] (the administrator only from the admin network; every other role only to `database`; the rest refused)
     */
    readonly hbaRules?: readonly string[];
    /**
     * Seconds Docker waits after SIGINT (Postgres's fast shutdown: it ends sessions, writes a checkpoint) before it
     * kills the server, on `docker stop` and when Pulumi removes the container (destroy, replacement); a kill means
     * crash recovery at the next start. @default 60
     */
    readonly stopTimeout?: number;
    /** Extra `postgres` server arguments, e.g. ["-c", "max_connections=200"]. @default [] */
    readonly serverArgs?: readonly string[];
    /** CPU and memory limits. @default no limits */
    readonly resources?: ContainerResources;
    /** Restart policy. @default "unless-stopped" */
    readonly restart?: RestartPolicy;
    /**
     * Further environment variables of the server (plain or secret), e.g. `{ TZ: "UTC" }`; not PGDATA or
     * POSTGRES_DB / _USER / _PASSWORD, which it sets itself. @default {}
     */
    readonly env?: Readonly<Record<string, pulumi.Input<string>>>;
    /**
     * Where the server logs. @default { driver: "json-file", options: { "max-size": "10m", "max-file": "3" } }
     * (Docker's json-file alone never rotates)
     */
    readonly logging?: LoggingArgs;
    /**
     * Further settings of the server container (user, tmpfs, securityOpts, sysctls, ulimits, shmSize, …; see
     * `ContainerPassThrough`). Settings the cluster makes itself are refused, naming the argument to use.
     * `securityOpts` adds to `no-new-privileges:true`. Capabilities stay Docker's by default: the image's
     * entrypoint needs them to chown the data directory and drop to the postgres user. @default {}
     */
    readonly container?: ContainerPassThrough;
}

/** The server container's settings the cluster makes itself, with the argument to use instead ("" for none). */
const POSTGRES_MANAGED: Readonly<Record<string, string>> = {
    image: "image",
    name: "alias",
    entrypoints: "", // the admin password wrapper
    command: "serverArgs",
    envs: "env",
    uploads: "hbaRules / adminPassword",
    volumes: "", // the data volume
    mounts: "",
    networksAdvanced: "tier",
    networkMode: "tier",
    ports: "adminHostPort",
    healthcheck: "healthcheck",
    restart: "restart",
    stopSignal: "", // SIGINT, Postgres's fast shutdown
    stopTimeout: "stopTimeout",
    labels: "",
    memory: "resources",
    memorySwap: "resources",
    cpuShares: "resources",
};

/** PostgresCluster's arguments with defaults applied. */
export interface ResolvedPostgresArgs {
    readonly tier: string;
    readonly alias: string;
    readonly adminUser: string;
    readonly database: string;
    readonly appRole: string;
    readonly extensions: string[];
    readonly retainDataVolume: boolean;
    readonly protectDataVolume: boolean;
    readonly waitForHealthy: boolean;
    readonly restart: RestartPolicy;
    /** Seconds between the stop signal and Docker's SIGKILL. */
    readonly stopTimeout: number;
    /** Extra pg_hba.conf lines. */
    readonly hbaRules: string[];
    readonly image: pulumi.Input<string>;
    readonly serverArgs: string[];
    /** The port the bootstrap reaches the server on: the published one, else 5432 on the admin network. */
    readonly adminPort: number;
    /** The network's target is "swarm": a service and an admin proxy instead of a container (sdk/postgres/swarm.ts). */
    readonly swarm: boolean;
    /** Swarm: the address the admin proxy publishes on. */
    readonly adminAddress: string;
    readonly healthcheck: HealthcheckArgs;
    /** The server container's settings: `container` over no-new-privileges and `logging` (defaults applied). */
    readonly settings: ContainerSettings;
    /** The server's host name on its tier and the published admin port, for `network.claim`. */
    readonly claim: NetworkClaim;
    /** The bootstrap, read and checked; its admin endpoint and generated passwords come once the resources exist. */
    readonly bootstrap: PreparedBootstrap;
}

/**
 * Applies defaults and validates, including the bootstrap's own checks; throws an ArgumentError before anything is
 * created. Pure but for reading the migration and content directories.
 */
export function resolvePostgresArgs(name: string, args: PostgresClusterArgs): ResolvedPostgresArgs {
    const swarm = args.network instanceof TieredNetwork && args.network.target === "swarm";
    const adminAddress = args.adminAddress ?? "127.0.0.1";
    const r = {
        tier: args.tier ?? "db",
        alias: args.alias ?? "postgres",
        adminUser: args.adminUser ?? "postgres",
        database: args.database ?? "app",
        appRole: args.appRole ?? "app",
        extensions: [...(args.extensions ?? [])],
        retainDataVolume: args.retainDataVolume ?? true,
        protectDataVolume: args.protectDataVolume ?? false,
        waitForHealthy: args.waitForHealthy ?? false,
        restart: args.restart ?? ("unless-stopped" as RestartPolicy),
        stopTimeout: args.stopTimeout ?? DEFAULT_POSTGRES_STOP_TIMEOUT,
        hbaRules: [...(args.hbaRules ?? [])],
        image: args.image ?? DEFAULT_POSTGRES_IMAGE,
        serverArgs: [...(args.serverArgs ?? [])],
        adminPort: args.adminHostPort ?? (swarm ? DEFAULT_SWARM_ADMIN_PORT : 5432),
        healthcheck: args.healthcheck ?? {
            test: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", args.adminUser ?? "postgres", "-d", "postgres"],
            interval: "1s",
            timeout: "3s",
            startPeriod: "120s",
            retries: 10,
        },
    };
    const claim: NetworkClaim = {
        owner: `PostgresCluster "${name}"`,
        tiersArgument: "tier",
        tiers: [r.tier],
        aliases: [
            { argument: "alias", names: [r.alias], fix: "set alias to a name no other container on the tier uses" },
        ],
        hostPorts:
            args.adminHostPort === undefined && !swarm
                ? []
                : [
                      {
                          argument: "adminHostPort",
                          ip: swarm ? adminAddress : "127.0.0.1",
                          port: r.adminPort,
                          fix: "pick another port",
                      },
                  ],
        targets: ["host", "swarm"],
    };
    const c = new ArgChecker("PostgresCluster", name);
    if (checkNetworkArg(c, args.network)) args.network.checkClaim(c, claim);
    if (swarm) checkSwarmPostgresArgs(c, args as unknown as Readonly<Record<string, unknown>>);
    else
        c.unset(
            args as unknown as Readonly<Record<string, unknown>>,
            ["swarmNode", "adminAddress", "adminProxyImage"],
            'has no meaning with a host network (it is for target "swarm")',
            "leave it out",
        );
    c.check(
        /^[0-9.]+$|^[0-9a-fA-F:]+$/.test(adminAddress),
        "adminAddress",
        `is ${JSON.stringify(args.adminAddress)}, not an IP address`,
        'give an address of the node, e.g. "127.0.0.1"',
    );
    c.check(
        isDnsLabel(r.alias),
        "alias",
        `is "${r.alias}", not a DNS label`,
        "use lower-case letters, digits and inner hyphens",
    );
    c.check(IDENT.test(r.adminUser), "adminUser", `is "${r.adminUser}"`, "use a plain lower-case SQL identifier");
    checkEnvNames(c, "env", args.env, POSTGRES_ENV);
    c.check(IDENT.test(r.appRole), "appRole", `is "${r.appRole}"`, "use a plain lower-case SQL identifier");
    c.check(IDENT.test(r.database), "database", `is "${r.database}"`, "use a plain lower-case SQL identifier");
    c.check(
        r.appRole !== r.adminUser,
        "appRole",
        `equals adminUser ("${r.adminUser}")`,
        "give the applications their own role; they must never hold the owner password",
    );
    c.port(args.adminHostPort, "adminHostPort");
    c.check(
        !(r.protectDataVolume && !r.retainDataVolume),
        "protectDataVolume",
        "is true while retainDataVolume is false",
        "retain the volume too, or drop protection",
    );
    c.check(
        Number.isInteger(r.stopTimeout) && r.stopTimeout >= 1 && r.stopTimeout <= 3600,
        "stopTimeout",
        `is ${r.stopTimeout}, not a whole number of seconds from 1 to 3600`,
        "give e.g. 60 (Postgres needs time for its shutdown checkpoint)",
    );
    r.hbaRules.forEach((line, i) =>
        c.check(
            /^host(ssl|nossl|gssenc|nogssenc)?\s+\S+\s+\S+\s+\S+\s+\S+/.test(line) && !/[\r\n]/.test(line),
            `hbaRules[${i}]`,
            `is ${JSON.stringify(line)}, not one pg_hba.conf host line`,
            'give "host <database> <user> <address> <method>", one rule per entry',
        ),
    );
    checkHealthcheck(c, "healthcheck", args.healthcheck, r.waitForHealthy);
    checkResources(c, "resources", args.resources);
    checkLogging(c, "logging", args.logging);
    checkPassThrough(c, "container", args.container, POSTGRES_MANAGED);
    // The bootstrap's own check (names, extensions, migration sets, content, their files), run now rather than
    // during `up`: the same rules, on the inputs this component will give it. The admin endpoint and generated
    // passwords exist only once the resources do; placeholders stand in for them here (`withLateValues`).
    const bootstrap = prepareBootstrap(
        bootstrapArgs(
            r,
            args,
            { host: "placeholder", port: r.adminPort, password: args.adminPassword ?? "placeholder" },
            args.appPassword ?? "placeholder",
        ),
    );
    for (const f of bootstrap.failures) {
        const argument = bootstrapArgument(f.property, r.appRole);
        if (c.has(argument)) continue; // already reported by the stricter checks above
        c.check(false, argument, `is rejected by the bootstrap: ${f.problem}`, f.fix);
    }
    c.throwIfAny();
    return { ...r, swarm, adminAddress, settings: containerSettings(args.logging, args.container), claim, bootstrap };
}

/** The Bootstrap's arguments for these component arguments; `resolvePostgresArgs` checks exactly these. Pure. */
function bootstrapArgs(
    r: {
        readonly adminUser: string;
        readonly appRole: string;
        readonly database: string;
        readonly extensions: string[];
        readonly alias: string;
    },
    args: PostgresClusterArgs,
    admin: { host: pulumi.Input<string>; port: number; password: pulumi.Input<string> },
    appPassword: pulumi.Input<string>,
): BootstrapArgs {
    return {
        connection: {
            host: admin.host,
            port: admin.port,
            user: r.adminUser,
            password: admin.password,
            maintenanceDatabase: "postgres",
            // Its own server: no role but the administrator connects to "postgres", where the bootstrap's lock is.
            restrictMaintenanceDatabase: true,
        },
        ...(args.bootstrapWait ? { wait: args.bootstrapWait } : {}),
        roles: [
            {
                name: r.appRole,
                login: true,
                password: appPassword,
                privileges: args.appPrivileges,
                connectionLimit: args.appConnectionLimit ?? DEFAULT_APP_CONNECTION_LIMIT,
                settings: { ...DEFAULT_APP_ROLE_SETTINGS, ...(args.appRoleSettings ?? {}) },
            },
        ],
        database: { name: r.database, extensions: r.extensions },
        migrationSets: [...(args.migrationSets ?? [])],
        ...(args.content ? { content: args.content } : {}),
        onDelete: args.bootstrapOnDelete ?? "retain",
        applicationRole: r.appRole,
        applicationEndpoint: { host: r.alias, port: 5432 },
    };
}

/** This component's argument behind a property of the bootstrap's wire inputs. */
function bootstrapArgument(property: string, appRole: string): string {
    if (property === "connection.user" || property === "database.owner") return "adminUser";
    if (property === "database.name") return "database";
    if (property === "database.extensions") return "extensions";
    if (property === "onDelete") return "bootstrapOnDelete";
    if (property === "connection.password") return "adminPassword";
    if (property === `roles.${appRole}.password`) return "appPassword";
    if (property === `roles.${appRole}.privileges`) return "appPrivileges";
    if (property === `roles.${appRole}.connectionLimit`) return "appConnectionLimit";
    if (property.startsWith(`roles.${appRole}.settings`)) return "appRoleSettings";
    if (property === `roles.${appRole}` || property.startsWith(`roles.${appRole}.`)) return "appRole";
    if (property.startsWith("wait.")) return `bootstrapWait.${property.slice("wait.".length)}`;
    return property; // migrationSets[i]..., content...: the same names as this component's arguments
}

/**
 * A Postgres server and its bootstrap. Apps get `applicationUrl` (the application role, never the owner).
 */
export class PostgresCluster extends pulumi.ComponentResource {
    /** The Postgres container (undefined on a swarm network: see `service`). */
    public readonly container: docker.Container | undefined;
    /** With a swarm network: the server's single-replica service (undefined on a host network). */
    public readonly service: docker.Service | undefined;
    /**
     * With a swarm network: the container forwarding the admin port to the server, on `adminAddress` of the node the
     * docker provider talks to (undefined on a host network).
     */
    public readonly adminProxy: docker.Container | undefined;
    /** The data volume (retained on delete by default). */
    public readonly dataVolume: docker.Volume;
    /**
     * The private network through which the bootstrap (on the host) reaches the server; nothing else joins it.
     * Internal (no route off the host), except with adminHostPort: Docker publishes ports only on a non-internal network.
     */
    public readonly adminNetwork: docker.Network;
    /** The once-only bootstrap: roles, database, migrations, content. */
    public readonly bootstrap: Bootstrap;
    /** Tier the server is on. */
    public readonly tier: string;
    /** Host name of the server on its tier. */
    public readonly host: string;
    /** Port apps connect to. */
    public readonly port: number;
    /** Application database name. */
    public readonly databaseName: pulumi.Output<string>;
    /** Application role name. */
    public readonly appRole: string;
    /** `postgresql://<appRole>:<password>@<alias>:5432/<database>` (secret). */
    public readonly applicationUrl: pulumi.Output<string>;
    /** The administrator password (secret). */
    public readonly adminPassword: pulumi.Output<string>;
    /** The application role's password (secret). */
    public readonly appPassword: pulumi.Output<string>;
    /** Host and port the bootstrap uses to reach the server as administrator. */
    public readonly adminEndpoint: pulumi.Output<{ host: string; port: number }>;

    constructor(name: string, args: PostgresClusterArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const r = resolvePostgresArgs(name, args);
        super("dockercluster:postgres:PostgresCluster", name, {}, opts);
        const project = pulumi.getProject();
        const stack = pulumi.getStack();
        const net = args.network;
        net.claim(r.claim);

        const adminPassword = pulumi.secret(
            args.adminPassword ??
                new random.RandomPassword(`${name}-admin-password`, { length: 32, special: false }, { parent: this })
                    .result,
        );
        const appPassword = pulumi.secret(
            args.appPassword ??
                new random.RandomPassword(`${name}-app-password`, { length: 32, special: false }, { parent: this })
                    .result,
        );

        // A service takes the image by name (each node pulls it); the host target's container takes it by id.
        const image = r.swarm
            ? undefined
            : new docker.RemoteImage(`${name}-image`, { name: r.image, keepLocally: true }, { parent: this });

        this.dataVolume = new docker.Volume(
            `${name}-data`,
            { name: dockerName(`${name}-data`), labels: labelList(standardLabels(project, stack, name, "data")) },
            {
                parent: this,
                retainOnDelete: r.retainDataVolume,
                protect: r.protectDataVolume,
                deleteBeforeReplace: true,
            },
        );

        // The password travels as a file (POSTGRES_PASSWORD_FILE), never in Env, which the Docker API shows.
        const envs = pulumi.output(envEntries(args.env ?? {})).apply((extra) => [
            `PGDATA=${POSTGRES_PGDATA}`,
            `POSTGRES_DB=postgres`,
            `POSTGRES_PASSWORD_FILE=${r.swarm ? SWARM_ADMIN_PASSWORD_FILE : ADMIN_PASSWORD_FILE}`,
            `POSTGRES_USER=${r.adminUser}`,
            // After the server's own, so a server without `env` keeps its exact list.
            ...extra,
        ]);
        const hbaFor = (adminSubnets: string[]) =>
            pgHbaConf({ adminUser: r.adminUser, database: r.database, adminSubnets, extraRules: r.hbaRules });
        let adminHost: pulumi.Output<string>;
        let server: pulumi.Resource;
        if (r.swarm) {
            const built = buildSwarmPostgres(
                name,
                {
                    ...r,
                    network: net,
                    adminPassword,
                    envs,
                    hbaFile: POSTGRES_HBA_FILE,
                    hba: hbaFor,
                    dataVolumeName: this.dataVolume.name,
                    swarmNode: args.swarmNode ?? "",
                    adminProxyImage: args.adminProxyImage ?? DEFAULT_ADMIN_PROXY_IMAGE,
                    labels: standardLabels(project, stack, name, "postgres"),
                },
                this,
            );
            this.container = undefined;
            this.service = built.service;
            this.adminProxy = built.adminProxy;
            this.adminNetwork = built.adminNetwork;
            adminHost = pulumi.output(r.adminAddress);
            server = built.adminProxy;
        } else {
            this.adminNetwork = new docker.Network(
                `${name}-admin`,
                {
                    name: dockerName(`${name}-admin`),
                    driver: "bridge",
                    internal: args.adminHostPort === undefined,
                    labels: labelList(standardLabels(project, stack, name, "admin-network")),
                },
                { parent: this, deleteBeforeReplace: true },
            );

            const adminNetworkName = this.adminNetwork.name;
            const hba = pulumi.all([this.adminNetwork.ipamConfigs, adminNetworkName]).apply(([ipam, netName]) => {
                const subnets = (ipam ?? []).flatMap((x) => (x.subnet ? [x.subnet] : []));
                if (!subnets.length)
                    throw new Error(
                        `PostgresCluster "${name}": Docker reported no subnet for the admin network "${netName}"`,
                    );
                return hbaFor(subnets);
            });

            const container = new docker.Container(
                `${name}-server`,
                {
                    ...containerSettingsInputs(r.settings),
                    name: dockerName(`${name}-server`),
                    image: image!.imageId,
                    entrypoints: [ADMIN_PASSWORD_SCRIPT_PATH],
                    command: ["postgres", "-c", `hba_file=${POSTGRES_HBA_FILE}`, ...r.serverArgs],
                    uploads: [
                        { file: ADMIN_PASSWORD_SCRIPT_PATH, content: ADMIN_PASSWORD_SCRIPT, executable: true },
                        { file: POSTGRES_HBA_FILE, content: hba, permissions: "0644" },
                        { file: ADMIN_PASSWORD_FILE, content: adminPassword, permissions: "0600" },
                    ],
                    envs,
                    volumes: [{ volumeName: this.dataVolume.name, containerPath: POSTGRES_MOUNT }],
                    networksAdvanced: [...net.attach([r.tier], [r.alias]), { name: this.adminNetwork.name }],
                    ...(args.adminHostPort !== undefined
                        ? { ports: [{ internal: 5432, external: args.adminHostPort, ip: "127.0.0.1" }] }
                        : {}),
                    healthcheck: healthcheckInput(r.healthcheck),
                    wait: r.waitForHealthy,
                    waitTimeout: 300,
                    restart: r.restart,
                    // SIGINT is Postgres's fast shutdown (the official image's STOPSIGNAL), set here for any image.
                    stopSignal: "SIGINT",
                    stopTimeout: r.stopTimeout,
                    // The provider removes a container by force (SIGKILL) on destroy or replacement unless this is set:
                    // it then stops it first, so Postgres ends with its shutdown checkpoint, not crash recovery next start.
                    destroyGraceSeconds: r.stopTimeout,
                    labels: labelList(standardLabels(project, stack, name, "postgres")),
                    ...resourceInputs(args.resources),
                },
                { parent: this, deleteBeforeReplace: true },
            );

            adminHost =
                args.adminHostPort !== undefined
                    ? pulumi.output("127.0.0.1")
                    : pulumi.all([container.networkDatas, adminNetworkName]).apply(([datas, netName]) => {
                          const ip = (datas ?? []).find((d) => d.networkName === netName)?.ipAddress;
                          if (!ip) {
                              throw new Error(
                                  `PostgresCluster "${name}": the container has no address on its admin network "${netName}"; ` +
                                      "on Docker Desktop set adminHostPort to publish 5432 on 127.0.0.1 instead",
                              );
                          }
                          return ip;
                      });
            this.container = container;
            this.service = undefined;
            this.adminProxy = undefined;
            server = container;
        }
        this.adminEndpoint = adminHost.apply((host) => ({ host, port: r.adminPort }));

        this.bootstrap = new Bootstrap(
            `${name}-bootstrap`,
            withLateValues(r.bootstrap, {
                connection: { host: adminHost, password: adminPassword },
                rolePasswords: { [r.appRole]: appPassword },
            }),
            { parent: this, dependsOn: [server] },
        );

        this.tier = r.tier;
        this.host = r.alias;
        this.port = 5432;
        this.appRole = r.appRole;
        this.databaseName = this.bootstrap.databaseName;
        this.applicationUrl = this.bootstrap.applicationUrl;
        this.adminPassword = adminPassword;
        this.appPassword = appPassword;
        this.registerOutputs({
            ...(this.container ? { containerName: this.container.name } : {}),
            ...(this.service ? { serviceName: this.service.name } : {}),
            dataVolumeName: this.dataVolume.name,
            host: this.host,
            port: this.port,
            databaseName: this.databaseName,
            applicationUrl: this.applicationUrl,
        });
    }
}
