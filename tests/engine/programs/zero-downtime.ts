/**
 * examples/three-tier's cluster for the zero-downtime tests, with what a user edits taken from stack config, so a
 * test changes it between two `pulumi up`s the way a commit does: appDir (the app's build context), replicas, title
 * (app.json, a config file), greeting (an env variable), bodySize (an nginx setting), healthTimeout.
 * nginx publishes on 127.0.0.1 only (tests reach servers on the loopback only).
 */
import * as pulumi from "@pulumi/pulumi";
import {
    AppServerPool,
    httpHealthcheck,
    NginxLoadBalancer,
    PostgresCluster,
    ServiceImage,
    TieredNetwork,
} from "../../../sdk";

export function zeroDowntimeProgram(): Record<string, pulumi.Input<unknown>> {
    const cfg = new pulumi.Config();
    const network = new TieredNetwork("net", { tiers: { webapp: {}, appdb: { internal: true } } });
    const image = new ServiceImage("app-image", {
        imageName: `pdc-engine/zd-app:${pulumi.getStack()}`,
        build: { context: cfg.require("appDir"), baseImage: "debian:bookworm-slim" },
    });
    const db = new PostgresCluster("db", {
        network,
        tier: "appdb",
        image: "postgres:15-bookworm",
        migrationSets: [{ name: "app", directory: cfg.require("migrations") }],
        resources: { memoryMb: 512 },
    });
    const app = new AppServerPool("app", {
        network,
        tiers: ["webapp", "appdb"],
        image: image.ref,
        replicas: cfg.requireNumber("replicas"),
        database: db,
        env: { GREETING_STYLE: cfg.get("greeting") ?? "plain" },
        configFiles: { "app.json": JSON.stringify({ name: cfg.require("title") }, null, 2) + "\n" },
        // The default check, every second: a new replica counts as healthy sooner.
        healthcheck: { ...httpHealthcheck(8000, "/healthz"), interval: "1s" },
        healthTimeoutSeconds: cfg.getNumber("healthTimeout") ?? 60,
        updateBatchSize: cfg.getNumber("batch") ?? 1,
        resources: { memoryMb: 256 },
    });
    const web = new NginxLoadBalancer("web", {
        network,
        tiers: ["webapp"],
        image: "nginx:stable-bookworm",
        hostIp: "127.0.0.1",
        hostPort: cfg.requireNumber("webPort"),
        clientMaxBodySize: cfg.get("bodySize") ?? "1m",
        routes: [{ path: "/", pool: app }],
    });
    return { url: web.url, replicas: app.instanceNames, generation: app.generation, configDigest: web.configDigest };
}
