/**
 * Miniflux 2.3.5 (Apache-2.0; a Go RSS reader whose documented compose file is miniflux + postgres) ported to the
 * components: a real app not written for the pool, which migrates its own schema and creates its admin at start.
 * So the app role owns the database (`appPrivileges: "owner"`), the pool sets only what Miniflux reads
 * (`appContract: false`), its secrets are files (`secretFiles`, `databaseUrlAs: "file"`), and nginx serves it over
 * HTTPS with HTTP redirected.
 *
 * Config: `revision` (a build arg of the stack's image: changing it rolls the replicas), `httpPort`, `httpsPort`,
 * `tlsCert`, `tlsKey` (secret) and `adminPassword` (secret).
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { AppServerPool, NginxLoadBalancer, PostgresCluster, ServiceImage, TieredNetwork } from "../../../sdk";

/** The admin Miniflux creates at its first start (CREATE_ADMIN). */
export const MINIFLUX_ADMIN = "admin";
/** The user the image runs as (nobody, as the official image). */
export const MINIFLUX_UID = 65534;

export function minifluxProgram(): Record<string, pulumi.Input<unknown>> {
    const cfg = new pulumi.Config();
    const httpsPort = cfg.requireNumber("httpsPort");
    const network = new TieredNetwork("net", { tiers: { web: {}, app: {}, db: { internal: true } } });
    const image = new ServiceImage("miniflux-image", {
        imageName: `pdc-engine/miniflux:${pulumi.getStack()}`,
        build: { context: path.join(__dirname, "miniflux"), args: { REVISION: cfg.require("revision") } },
    });
    const db = new PostgresCluster("db", {
        network,
        image: "postgres:15-bookworm",
        // Miniflux creates its tables itself (RUN_MIGRATIONS): only the database owner may create in `public`.
        appPrivileges: "owner",
        resources: { memoryMb: 512 },
    });
    const app = new AppServerPool("miniflux", {
        network,
        tiers: ["app", "db"],
        image: image.ref,
        appContract: false,
        port: 8080,
        replicas: 2,
        // Miniflux's migration takes no lock: of two first starts at once, one exits on a duplicate (3 of 3 tries
        // here). One at a time, each gated on its health check, the second finds the schema up to date.
        updateBatchSize: 1,
        database: db,
        // The app role's URL and the admin password as files under /run/secrets, found through Miniflux's own
        // *_FILE variables: neither is in the container's environment, which `docker inspect` shows.
        databaseUrlAs: "file",
        secretFiles: {
            "admin-password": {
                value: cfg.requireSecret("adminPassword"),
                env: "ADMIN_PASSWORD_FILE",
                mode: "0400",
                owner: MINIFLUX_UID,
            },
        },
        env: {
            RUN_MIGRATIONS: "1",
            CREATE_ADMIN: "1",
            ADMIN_USERNAME: MINIFLUX_ADMIN,
            // lib/pq asks for TLS by default; the database is on an internal tier without it.
            PGSSLMODE: "disable",
            BASE_URL: `https://127.0.0.1:${httpsPort}/`,
        },
        healthcheck: { test: ["CMD", "miniflux", "-healthcheck", "auto"], interval: "1s" },
        healthPath: "/healthcheck",
        healthTimeoutSeconds: 60,
        // Hardened as far as secret files allow: a read-only root runs too, but Docker refuses the files' upload
        // into it (secretFiles and container.readOnly exclude each other).
        container: { securityOpts: ["no-new-privileges"], capabilities: { drops: ["ALL"] } },
        resources: { memoryMb: 256 },
    });
    const web = new NginxLoadBalancer("web", {
        network,
        tiers: ["web", "app"],
        image: "nginx:stable-bookworm",
        hostIp: "127.0.0.1",
        hostPort: cfg.requireNumber("httpPort"),
        tls: { certificate: cfg.require("tlsCert"), key: cfg.requireSecret("tlsKey"), hostPort: httpsPort },
        routes: [{ path: "/", pool: app }],
    });
    return { url: web.url, httpsUrl: web.httpsUrl, replicas: app.containerNames, database: db.databaseName };
}
