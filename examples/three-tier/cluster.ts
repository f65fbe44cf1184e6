/**
 * three-tier: web (nginx) / app / db on two networks.
 *
 *   webapp  (bridge)            nginx  <->  app replicas
 *   appdb   (bridge, internal)              app replicas  <->  Postgres
 *
 * Only nginx publishes a port. nginx is not on `appdb`, so it cannot even resolve the database's name; `appdb` is
 * internal, so the database has no route off the host. The database, the `app` role and the `greeting` table come
 * from the bootstrap (./migrations), before any app replica starts.
 *
 * index.ts runs `threeTier(readConfig())` for `pulumi up` (Pulumi.yaml declares the configuration, and
 * Pulumi.<stack>.yaml sets it); tests call `threeTier(config)` directly.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    AppServerPool,
    ConfigChecker,
    NginxLoadBalancer,
    PostgresCluster,
    ServiceImage,
    TieredNetwork,
} from "../../sdk";

/** The stack configuration, typed (keys as in Pulumi.yaml). */
export interface Config {
    /** App replicas. */
    readonly replicas: number;
    /** Host port nginx publishes. */
    readonly webPort: number;
    /** App image name; built from ./app when buildAppImage is true. */
    readonly appImage: string;
    /** Build the app image from ./app/Dockerfile (else use appImage as it is). */
    readonly buildAppImage: boolean;
    /** `ARG BASE_IMAGE` of the app's Dockerfile. */
    readonly baseImage: string;
    readonly postgresImage: string;
    readonly nginxImage: string;
    /** Memory limits in MiB. */
    readonly appMemoryMb: number;
    readonly dbMemoryMb: number;
    /** Publish Postgres on 127.0.0.1:<port> for the bootstrap (Docker Desktop); 0 = no. */
    readonly adminHostPort: number;
    /** `protect` the database's data volume. */
    readonly protectData: boolean;
    /** Where the cluster runs: "host" (containers on one engine) or "swarm" (services on a swarm; see sdk/README.md). */
    readonly target: string;
    /** Swarm only: the host name of the node the docker provider talks to (Postgres and nginx are pinned to it). */
    readonly swarmNode: string;
    /** Swarm only: the address of that node on which the database's admin proxy publishes adminHostPort. */
    readonly adminAddress: string;
    /** Database administrator password (secret); generated when absent. */
    readonly dbAdminPassword?: pulumi.Output<string>;
}

/** Stack outputs. */
export interface Outputs {
    readonly url: string;
    readonly replicas: readonly string[];
    readonly databaseUrl: pulumi.Output<string>;
    readonly dataVolume: pulumi.Output<string>;
}

/** The defaults, identical to Pulumi.yaml's. */
export const defaults: Config = {
    replicas: 2,
    webPort: 8080,
    appImage: "pdc-example/three-tier-app:latest",
    buildAppImage: true,
    baseImage: "debian:bookworm-slim",
    postgresImage: "postgres:15-bookworm",
    nginxImage: "nginx:stable-bookworm",
    appMemoryMb: 256,
    dbMemoryMb: 512,
    adminHostPort: 0,
    protectData: false,
    target: "host",
    swarmNode: "",
    adminAddress: "127.0.0.1",
};

/** Reads the stack configuration. */
export function readConfig(c: pulumi.Config = new pulumi.Config()): Config {
    return {
        replicas: c.getNumber("replicas") ?? defaults.replicas,
        webPort: c.getNumber("webPort") ?? defaults.webPort,
        appImage: c.get("appImage") ?? defaults.appImage,
        buildAppImage: c.getBoolean("buildAppImage") ?? defaults.buildAppImage,
        baseImage: c.get("baseImage") ?? defaults.baseImage,
        postgresImage: c.get("postgresImage") ?? defaults.postgresImage,
        nginxImage: c.get("nginxImage") ?? defaults.nginxImage,
        appMemoryMb: c.getNumber("appMemoryMb") ?? defaults.appMemoryMb,
        dbMemoryMb: c.getNumber("dbMemoryMb") ?? defaults.dbMemoryMb,
        adminHostPort: c.getNumber("adminHostPort") ?? defaults.adminHostPort,
        protectData: c.getBoolean("protectData") ?? defaults.protectData,
        target: c.get("target") ?? defaults.target,
        swarmNode: c.get("swarmNode") ?? defaults.swarmNode,
        adminAddress: c.get("adminAddress") ?? defaults.adminAddress,
        ...(c.get("dbAdminPassword") !== undefined ? { dbAdminPassword: c.requireSecret("dbAdminPassword") } : {}),
    };
}

/** The cluster's components, for tests and for programs that build on this one. */
export interface Cluster {
    readonly network: TieredNetwork;
    readonly image: ServiceImage;
    readonly db: PostgresCluster;
    readonly app: AppServerPool;
    readonly web: NginxLoadBalancer;
    readonly outputs: Outputs;
}

/** The whole three-tier cluster. */
export function threeTier(cfg: Config): Cluster {
    // Check the whole configuration first: a bad value fails before a single resource exists.
    const check = new ConfigChecker(pulumi.getProject(), pulumi.getStack());
    check.integer("replicas", cfg.replicas, 1, 100);
    check.integer("webPort", cfg.webPort, 1, 65535);
    check.integer("adminHostPort", cfg.adminHostPort, 0, 65535);
    check.integer("appMemoryMb", cfg.appMemoryMb, 6, 1048576);
    check.integer("dbMemoryMb", cfg.dbMemoryMb, 6, 1048576);
    check.distinctPorts({ webPort: cfg.webPort, adminHostPort: cfg.adminHostPort });
    check.check(
        cfg.target === "host" || cfg.target === "swarm",
        "target",
        `is ${JSON.stringify(cfg.target)}, must be "host" or "swarm"`,
        "run `pulumi config set target host` (or `swarm`)",
    );
    const swarm = cfg.target === "swarm";
    check.check(
        swarm === (cfg.swarmNode !== ""),
        "swarmNode",
        swarm ? "is not set, and the swarm target needs it" : 'is set, but it is only for target "swarm"',
        swarm
            ? "run `pulumi config set swarmNode \"$(docker info -f '{{.Name}}')\"` with DOCKER_HOST at the swarm manager"
            : "run `pulumi config rm swarmNode`",
    );
    check.throwIfAny();
    const network = new TieredNetwork("net", {
        target: swarm ? "swarm" : "host",
        tiers: { webapp: {}, appdb: { internal: true } },
    });
    // Swarm: Postgres is pinned to the node holding its volume, nginx to the node whose address serves webPort.
    const onSwarm = swarm ? { swarmNode: cfg.swarmNode } : {};

    const image = new ServiceImage("app-image", {
        imageName: cfg.appImage,
        ...(cfg.buildAppImage ? { build: { context: path.join(__dirname, "app"), baseImage: cfg.baseImage } } : {}),
    });

    const db = new PostgresCluster("db", {
        network,
        tier: "appdb",
        image: cfg.postgresImage,
        ...(cfg.dbAdminPassword ? { adminPassword: cfg.dbAdminPassword } : {}),
        migrationSets: [{ name: "app", directory: path.join(__dirname, "migrations") }],
        ...(cfg.adminHostPort > 0 ? { adminHostPort: cfg.adminHostPort } : {}),
        ...(swarm ? { ...onSwarm, adminAddress: cfg.adminAddress } : {}),
        protectDataVolume: cfg.protectData,
        resources: { memoryMb: cfg.dbMemoryMb },
    });

    const app = new AppServerPool("app", {
        network,
        tiers: ["webapp", "appdb"],
        image: image.ref,
        replicas: cfg.replicas,
        database: db,
        // A swarm service's env is readable through `docker service inspect`: the URL goes in a secret file there.
        ...(swarm ? { databaseUrlAs: "file" as const } : {}),
        // Each new replica must pass its health check before nginx sends it traffic: what makes an image, env or
        // config change a rolling update without a failed request (see sdk/README.md, the update model).
        configFiles: { "app.json": JSON.stringify({ name: `three-tier-${pulumi.getStack()}` }, null, 2) + "\n" },
        resources: { memoryMb: cfg.appMemoryMb },
    });

    const web = new NginxLoadBalancer("web", {
        network,
        tiers: ["webapp"],
        image: cfg.nginxImage,
        hostPort: cfg.webPort,
        routes: [{ path: "/", pool: app }],
        ...onSwarm,
    });

    return {
        network,
        image,
        db,
        app,
        web,
        outputs: {
            url: web.url,
            replicas: app.instanceNames,
            databaseUrl: db.applicationUrl,
            dataVolume: db.dataVolume.name,
        },
    };
}
