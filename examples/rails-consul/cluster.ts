/**
 * rails-consul: two microservices (user, catalog) and a frontend behind an nginx load balancer that
 * consul-template keeps current from Consul, with registrator registering every app replica, Postgres with its
 * bootstrap, and the supporting services (memcached, RabbitMQ) as plain containers.
 *
 * - Registrator registers each replica from its labels SERVICE_8000_NAME / SERVICE_8000_TAGS (set by
 *   AppServerPool because a discovery is given) with an HTTP check on /healthz; consul-template renders nginx's
 *   upstreams from the healthy instances and reloads nginx only when they changed.
 * - The frontend reaches the services by their shared host names (http://user:8000, http://catalog:8000).
 * - user and catalog read the `users` / `products` tables created by the bootstrap (./migrations).
 * - RabbitMQ's password is generated (secret) and handed to user and catalog as AMQP_URL; nothing is published
 *   except nginx's port.
 *
 * Consul and consul-template run here from images built from their Go modules; registrator's module is not served
 * here, so the example is verified through its resource graph and a run-time test of Consul, consul-template and
 * nginx wired as the load balancer wires them (see README).
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import {
    AppServerPool,
    ConfigChecker,
    dockerName,
    labelList,
    NginxLoadBalancer,
    PostgresCluster,
    ServiceDiscovery,
    ServiceImage,
    standardLabels,
    TieredNetwork,
} from "../../sdk";

/** The stack configuration, typed (keys as in Pulumi.yaml). */
export interface Config {
    readonly userReplicas: number;
    readonly catalogReplicas: number;
    readonly frontendReplicas: number;
    /** Host port nginx publishes. */
    readonly webPort: number;
    /** Build the service images from ./user, ./catalog, ./frontend (else use the names as they are). */
    readonly buildImages: boolean;
    /** Image name prefix: <prefix>-user:latest etc. */
    readonly imagePrefix: string;
    /** `ARG BASE_IMAGE` of the Dockerfiles. */
    readonly baseImage: string;
    readonly postgresImage: string;
    readonly nginxImage: string;
    readonly consulImage: string;
    readonly registratorImage: string;
    readonly consulTemplateImage: string;
    readonly memcachedImage: string;
    readonly rabbitmqImage: string;
    /** Memory limit per service replica, MiB. */
    readonly serviceMemoryMb: number;
    /** Publish Postgres on 127.0.0.1:<port> for the bootstrap (Docker Desktop); 0 = no. */
    readonly adminHostPort: number;
    readonly protectData: boolean;
    /** Database administrator password (secret); generated when absent. */
    readonly dbAdminPassword?: pulumi.Output<string>;
}

export interface Outputs {
    readonly url: string;
    readonly consul: string;
    readonly services: Readonly<Record<string, readonly string[]>>;
    readonly databaseUrl: pulumi.Output<string>;
}

/** The defaults, identical to Pulumi.yaml's. */
export const defaults: Config = {
    userReplicas: 2,
    catalogReplicas: 2,
    frontendReplicas: 1,
    webPort: 8080,
    buildImages: true,
    imagePrefix: "pdc-example/rails-consul",
    baseImage: "debian:bookworm-slim",
    postgresImage: "postgres:15-bookworm",
    nginxImage: "nginx:stable-bookworm",
    consulImage: "hashicorp/consul:1.15",
    registratorImage: "gliderlabs/registrator:master",
    consulTemplateImage: "hashicorp/consul-template:0.39",
    memcachedImage: "memcached:1.6-bookworm",
    rabbitmqImage: "rabbitmq:3.13",
    serviceMemoryMb: 256,
    adminHostPort: 0,
    protectData: false,
};

/** Reads the stack configuration. */
export function readConfig(c: pulumi.Config = new pulumi.Config()): Config {
    const d = defaults;
    return {
        userReplicas: c.getNumber("userReplicas") ?? d.userReplicas,
        catalogReplicas: c.getNumber("catalogReplicas") ?? d.catalogReplicas,
        frontendReplicas: c.getNumber("frontendReplicas") ?? d.frontendReplicas,
        webPort: c.getNumber("webPort") ?? d.webPort,
        buildImages: c.getBoolean("buildImages") ?? d.buildImages,
        imagePrefix: c.get("imagePrefix") ?? d.imagePrefix,
        baseImage: c.get("baseImage") ?? d.baseImage,
        postgresImage: c.get("postgresImage") ?? d.postgresImage,
        nginxImage: c.get("nginxImage") ?? d.nginxImage,
        consulImage: c.get("consulImage") ?? d.consulImage,
        registratorImage: c.get("registratorImage") ?? d.registratorImage,
        consulTemplateImage: c.get("consulTemplateImage") ?? d.consulTemplateImage,
        memcachedImage: c.get("memcachedImage") ?? d.memcachedImage,
        rabbitmqImage: c.get("rabbitmqImage") ?? d.rabbitmqImage,
        serviceMemoryMb: c.getNumber("serviceMemoryMb") ?? d.serviceMemoryMb,
        adminHostPort: c.getNumber("adminHostPort") ?? d.adminHostPort,
        protectData: c.getBoolean("protectData") ?? d.protectData,
        ...(c.get("dbAdminPassword") !== undefined ? { dbAdminPassword: c.requireSecret("dbAdminPassword") } : {}),
    };
}

export interface Cluster {
    readonly network: TieredNetwork;
    readonly discovery: ServiceDiscovery;
    readonly db: PostgresCluster;
    readonly memcached: docker.Container;
    readonly rabbitmq: docker.Container;
    readonly pools: Readonly<Record<"user" | "catalog" | "frontend", AppServerPool>>;
    readonly lb: NginxLoadBalancer;
    readonly outputs: Outputs;
}

/** A plain infrastructure container on the app tier (memcached, RabbitMQ): no port published. */
function infraContainer(
    name: string,
    image: string,
    network: TieredNetwork,
    alias: string,
    extra: Partial<docker.ContainerArgs> = {},
): docker.Container {
    // Like the components, record the host name, so a pool or service later named like it is rejected.
    network.claim({
        owner: `container "${name}"`,
        tiersArgument: "tier",
        tiers: ["app"],
        aliases: [{ argument: "alias", names: [alias], fix: "rename the container's alias" }],
    });
    const img = new docker.RemoteImage(`${name}-image`, { name: image, keepLocally: true });
    return new docker.Container(
        name,
        {
            name: dockerName(name),
            image: img.imageId,
            networksAdvanced: network.attach(["app"], [alias]),
            restart: "unless-stopped",
            labels: labelList(standardLabels(pulumi.getProject(), pulumi.getStack(), name, alias)),
            ...extra,
        },
        { deleteBeforeReplace: true },
    );
}

/** The whole platform. */
export function railsConsul(cfg: Config): Cluster {
    // Check the whole configuration first: a bad value fails before a single resource exists.
    const check = new ConfigChecker(pulumi.getProject(), pulumi.getStack());
    check.integer("userReplicas", cfg.userReplicas, 1, 100);
    check.integer("catalogReplicas", cfg.catalogReplicas, 1, 100);
    check.integer("frontendReplicas", cfg.frontendReplicas, 1, 100);
    check.integer("webPort", cfg.webPort, 1, 65535);
    check.integer("adminHostPort", cfg.adminHostPort, 0, 65535);
    check.integer("serviceMemoryMb", cfg.serviceMemoryMb, 6, 1048576);
    check.distinctPorts({ webPort: cfg.webPort, adminHostPort: cfg.adminHostPort });
    check.throwIfAny();
    const network = new TieredNetwork("net"); // web, app, db (internal)
    const discovery = new ServiceDiscovery("discovery", {
        network,
        tier: "app",
        consulImage: cfg.consulImage,
        registratorImage: cfg.registratorImage,
    });

    const db = new PostgresCluster("db", {
        network,
        image: cfg.postgresImage,
        database: "mia",
        ...(cfg.dbAdminPassword ? { adminPassword: cfg.dbAdminPassword } : {}),
        migrationSets: [{ name: "app", directory: path.join(__dirname, "migrations") }],
        ...(cfg.adminHostPort > 0 ? { adminHostPort: cfg.adminHostPort } : {}),
        protectDataVolume: cfg.protectData,
    });

    const memcached = infraContainer("memcached", cfg.memcachedImage, network, "memcached");
    const rabbitPassword = new random.RandomPassword("rabbitmq-password", { length: 32, special: false });
    const rabbitSecret = pulumi.secret(rabbitPassword.result);
    const rabbitmq = infraContainer("rabbitmq", cfg.rabbitmqImage, network, "rabbitmq", {
        hostname: "rabbitmq",
        envs: pulumi.secret(rabbitSecret.apply((pw) => ["RABBITMQ_DEFAULT_USER=mia", `RABBITMQ_DEFAULT_PASS=${pw}`])),
    });
    const amqpUrl = pulumi.secret(rabbitSecret.apply((pw) => `amqp://mia:${encodeURIComponent(pw)}@rabbitmq:5672/`));

    const image = (svc: string): pulumi.Output<string> =>
        new ServiceImage(`${svc}-image`, {
            imageName: `${cfg.imagePrefix}-${svc}:latest`,
            ...(cfg.buildImages ? { build: { context: path.join(__dirname, svc), baseImage: cfg.baseImage } } : {}),
        }).ref;

    const backend = (svc: "user" | "catalog", replicas: number): AppServerPool =>
        new AppServerPool(svc, {
            network,
            tiers: ["app", "db"],
            image: image(svc),
            replicas,
            database: db,
            discovery,
            serviceTags: ["backend", svc],
            env: { APP_ENV: "production", MEMCACHE_SERVERS: "memcached:11211", AMQP_URL: amqpUrl },
            resources: { memoryMb: cfg.serviceMemoryMb },
            startAfter: [memcached, rabbitmq],
        });
    const user = backend("user", cfg.userReplicas);
    const catalog = backend("catalog", cfg.catalogReplicas);
    const frontend = new AppServerPool("frontend", {
        network,
        tiers: ["app"],
        image: image("frontend"),
        replicas: cfg.frontendReplicas,
        discovery,
        serviceTags: ["frontend"],
        env: {
            APP_ENV: "production",
            USER_SERVICE_URL: `http://${user.serviceName}:${user.port}`,
            CATALOG_SERVICE_URL: `http://${catalog.serviceName}:${catalog.port}`,
        },
        configFiles: {
            "app.json": JSON.stringify({ title: `Mia platform (${pulumi.getStack()})` }, null, 2) + "\n",
        },
        resources: { memoryMb: cfg.serviceMemoryMb },
    });

    const lb = new NginxLoadBalancer("lb", {
        network,
        tiers: ["web", "app"],
        image: cfg.nginxImage,
        hostPort: cfg.webPort,
        mode: "consul-template",
        discovery,
        consulTemplateImage: cfg.consulTemplateImage,
        routes: [
            { path: "/users", pool: user },
            { path: "/products", pool: catalog },
            { path: "/", pool: frontend },
        ],
    });

    return {
        network,
        discovery,
        db,
        memcached,
        rabbitmq,
        pools: { user, catalog, frontend },
        lb,
        outputs: {
            url: lb.url,
            consul: discovery.address,
            services: {
                user: user.instanceNames,
                catalog: catalog.instanceNames,
                frontend: frontend.instanceNames,
            },
            databaseUrl: db.applicationUrl,
        },
    };
}
