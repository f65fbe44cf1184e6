/**
 * examples/three-tier's cluster for the real-engine tests, with what a user edits in their repository (the app's
 * build context, the migrations folder, app.json) taken from stack config, so a test changes them between two
 * `pulumi up`s the way a commit does. The components and their wiring are the example's.
 *
 * Config: webPort, replicas, appDir, migrations, title (goes into app.json). nginx publishes on 127.0.0.1 only
 * (tests reach servers on the loopback only).
 */
import * as pulumi from "@pulumi/pulumi";
import { AppServerPool, NginxLoadBalancer, PostgresCluster, ServiceImage, TieredNetwork } from "../../../sdk";

export function threeTierProgram(): Record<string, pulumi.Input<unknown>> {
    const cfg = new pulumi.Config();
    const network = new TieredNetwork("net", { tiers: { webapp: {}, appdb: { internal: true } } });
    const image = new ServiceImage("app-image", {
        imageName: `pdc-engine/three-tier-app:${pulumi.getStack()}`,
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
        waitForHealthy: false,
        configFiles: { "app.json": JSON.stringify({ name: cfg.require("title") }, null, 2) + "\n" },
        resources: { memoryMb: 256 },
    });
    const web = new NginxLoadBalancer("web", {
        network,
        tiers: ["webapp"],
        image: "nginx:stable-bookworm",
        hostIp: "127.0.0.1",
        hostPort: cfg.requireNumber("webPort"),
        routes: [{ path: "/", pool: app }],
    });
    return {
        url: web.url,
        replicas: app.instanceNames,
        databaseUrl: db.applicationUrl,
        dataVolume: db.dataVolume.name,
    };
}
