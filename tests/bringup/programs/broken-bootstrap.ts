/**
 * A cluster whose bootstrap must fail: Postgres with a migration set from `PDC_MIGRATIONS_DIR`, and an app pool
 * that depends on the bootstrap. Used by failing-bootstrap.test.ts through attempt-cli.ts.
 */
import { AppServerPool, PostgresCluster, TieredNetwork } from "../../../sdk";

export function brokenBootstrap(): AppServerPool {
    const network = new TieredNetwork("net", { tiers: { web: {}, app: {}, db: { internal: true } } });
    const db = new PostgresCluster("db", { network, migrationSets: [{ name: "app", directory: process.env.PDC_MIGRATIONS_DIR! }], retainDataVolume: false });
    return new AppServerPool("app", { network, image: "pdc-example/three-tier-app:latest", replicas: 2, database: db });
}
