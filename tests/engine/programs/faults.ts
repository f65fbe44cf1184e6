/**
 * examples/three-tier's cluster for the fault tests: 3 replicas of the example's app image (built by
 * tests/infra/build-images.sh, copied into the test's own engine: that engine has no route to fetch a base image),
 * Postgres with the bootstrap and the example's migrations, nginx with one static file (served by nginx itself,
 * so it tells the site's own answers from the database's). nginx publishes on 127.0.0.1; Postgres publishes its
 * admin port on 127.0.0.1 too (`adminHostPort`): the bootstrap runs on the host and the engine's container
 * addresses live in the test engine's network namespace, reachable through the published ports only.
 *
 * Config: webPort, adminPort, migrations.
 */
import * as pulumi from "@pulumi/pulumi";
import { AppServerPool, httpHealthcheck, NginxLoadBalancer, PostgresCluster, TieredNetwork } from "../../../sdk";

export function faultsProgram(): Record<string, pulumi.Input<unknown>> {
    const cfg = new pulumi.Config();
    const network = new TieredNetwork("net", { tiers: { webapp: {}, appdb: { internal: true } } });
    const db = new PostgresCluster("db", {
        network,
        tier: "appdb",
        image: "postgres:15-bookworm",
        adminHostPort: cfg.requireNumber("adminPort"),
        migrationSets: [{ name: "app", directory: cfg.require("migrations") }],
        resources: { memoryMb: 512 },
    });
    const app = new AppServerPool("app", {
        network,
        tiers: ["webapp", "appdb"],
        image: "pdc-example/three-tier-app:latest",
        replicas: 3,
        database: db,
        // Every second: a replica counts as healthy soon after it starts.
        healthcheck: { ...httpHealthcheck(8000, "/healthz"), interval: "1s" },
        healthTimeoutSeconds: 60,
        resources: { memoryMb: 256 },
    });
    const web = new NginxLoadBalancer("web", {
        network,
        tiers: ["webapp"],
        image: "nginx:stable-bookworm",
        hostIp: "127.0.0.1",
        hostPort: cfg.requireNumber("webPort"),
        static: { files: { "site.txt": "served by nginx\n" } },
        routes: [{ path: "/", pool: app }],
    });
    return { url: web.url, replicas: app.instanceNames };
}
