import * as fs from "fs";
import {
    ADMIN_PASSWORD_FILE,
    ADMIN_PASSWORD_SCRIPT,
    ADMIN_PASSWORD_SCRIPT_PATH,
} from "../../sdk/postgres/adminPassword";
import { pgHbaConf, POSTGRES_HBA_FILE } from "../../sdk/postgres";
import * as os from "os";
import * as path from "path";
import { ArgumentError, Bootstrap, PostgresCluster, TieredNetwork } from "../../sdk";
import { peek, runProgram, thrownBy } from "../support/graph";

const BOOTSTRAP = "pulumi-nodejs:dynamic/postgres:Bootstrap";

// Every folder listing the program makes, to show each migration folder is read once.
const listed: string[] = [];
jest.mock("fs", () => {
    const real = jest.requireActual<typeof import("fs")>("fs");
    return {
        ...real,
        readdirSync: (...a: Parameters<typeof real.readdirSync>) => {
            listed.push(String(a[0]));
            return real.readdirSync(...a);
        },
    };
});

describe("PostgresCluster", () => {
    test("exact graph: passwords, image, retained volume, admin network, server, bootstrap — all parented", async () => {
        const { graph } = await runProgram(
            () => {
                const network = new TieredNetwork("net");
                return new PostgresCluster("db", { network });
            },
            { project: "shop", stack: "dev" },
        );
        expect(graph.shape()).toEqual({
            db: "dockercluster:postgres:PostgresCluster",
            "db-admin": "docker:index/network:Network",
            "db-admin-password": "random:index/randomPassword:RandomPassword",
            "db-app-password": "random:index/randomPassword:RandomPassword",
            "db-bootstrap": BOOTSTRAP,
            "db-data": "docker:index/volume:Volume",
            "db-image": "docker:index/remoteImage:RemoteImage",
            "db-server": "docker:index/container:Container",
            net: "dockercluster:network:TieredNetwork",
            "net-app": "docker:index/network:Network",
            "net-db": "docker:index/network:Network",
            "net-web": "docker:index/network:Network",
        });
        for (const child of [
            "db-admin",
            "db-admin-password",
            "db-app-password",
            "db-bootstrap",
            "db-data",
            "db-image",
            "db-server",
        ]) {
            expect(graph.parentName(child)).toBe("db");
        }
        expect(graph.get("db-image").inputs).toMatchObject({ name: "postgres:15-bookworm", keepLocally: true });
        expect(graph.get("db-admin-password").inputs).toMatchObject({ length: 32, special: false });
    });

    test("data volume: scoped name, retained on delete by default, protect optional", async () => {
        const { graph } = await runProgram(() => new PostgresCluster("db", { network: new TieredNetwork("net") }), {
            project: "shop",
            stack: "dev",
        });
        const vol = graph.get("db-data");
        expect(vol.inputs.name).toBe("shop-dev-db-data");
        expect(vol.retainOnDelete).toBe(true);
        expect(vol.protect).toBe(false);
        const server = graph.get("db-server");
        expect(server.inputs.volumes).toEqual([
            { volumeName: "shop-dev-db-data", containerPath: "/var/lib/postgresql/data" },
        ]);

        const p = await runProgram(
            () => new PostgresCluster("db", { network: new TieredNetwork("net"), protectDataVolume: true }),
        );
        expect(p.graph.get("db-data").protect).toBe(true);
        const r = await runProgram(
            () => new PostgresCluster("db", { network: new TieredNetwork("net"), retainDataVolume: false }),
        );
        expect(r.graph.get("db-data").retainOnDelete).toBe(false);
    });

    test("server: db tier (alias postgres) + its private admin network only, no published port, init-proof health check", async () => {
        const { graph } = await runProgram(() => new PostgresCluster("db", { network: new TieredNetwork("net") }), {
            project: "shop",
            stack: "dev",
        });
        const s = graph.get("db-server");
        expect(s.inputs.name).toBe("shop-dev-db-server");
        expect(s.inputs.image).toBe("sha256:db-image");
        expect(s.inputs.networksAdvanced).toEqual([
            { name: "shop-dev-net-db", aliases: ["postgres"] },
            { name: "shop-dev-db-admin" },
        ]);
        expect(s.inputs.ports).toBeUndefined();
        expect(s.inputs.healthcheck.tests).toEqual([
            "CMD",
            "pg_isready",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
        ]);
        // The bootstrap's own readiness wait replaces Docker's health polling (see waitForHealthy).
        expect(s.inputs.wait).toBe(false);
        expect(s.inputs.restart).toBe("unless-stopped");
        expect(graph.envOf("db-server")).toEqual({
            PGDATA: "/var/lib/postgresql/data/pgdata",
            POSTGRES_DB: "postgres",
            POSTGRES_PASSWORD_FILE: ADMIN_PASSWORD_FILE,
            POSTGRES_USER: "postgres",
        });
        // The password is an uploaded file (secret in state), not an environment variable the Docker API shows.
        expect(s.secretInputs.has("envs")).toBe(false);
        expect(s.secretInputs.has("uploads")).toBe(true);
        // Starts through the wrapper that sets the admin password on a kept data directory, then the image's own.
        expect(s.inputs.entrypoints).toEqual([ADMIN_PASSWORD_SCRIPT_PATH]);
        expect(s.inputs.command).toEqual(["postgres", "-c", `hba_file=${POSTGRES_HBA_FILE}`]);
        expect(s.inputs.uploads).toEqual([
            { file: ADMIN_PASSWORD_SCRIPT_PATH, content: ADMIN_PASSWORD_SCRIPT, executable: true },
            {
                file: POSTGRES_HBA_FILE,
                content: pgHbaConf({ adminUser: "postgres", database: "app", adminSubnets: ["172.31.0.0/16"] }),
                permissions: "0644",
            },
            { file: ADMIN_PASSWORD_FILE, content: "pw-db-admin-password", permissions: "0600" },
        ]);
        expect(ADMIN_PASSWORD_SCRIPT).toContain("exec docker-entrypoint.sh");
        expect(ADMIN_PASSWORD_SCRIPT).toContain('password="$(<"$POSTGRES_PASSWORD_FILE")"');
        // Fast shutdown, with time for its checkpoint before Docker's SIGKILL.
        expect(s.inputs.stopSignal).toBe("SIGINT");
        expect(s.inputs.stopTimeout).toBe(60);
        // The same grace when Pulumi removes it (destroy, replacement): the provider would otherwise kill it.
        expect(s.inputs.destroyGraceSeconds).toBe(60);
        expect(graph.get("db-admin").inputs).toMatchObject({
            name: "shop-dev-db-admin",
            internal: true,
            driver: "bridge",
        });
        expect(s.deleteBeforeReplace).toBe(true);
    });

    test("bootstrap: after the server, connects to the server's admin-network address, app role only in the URL", async () => {
        const { graph, result } = await runProgram(
            () => new PostgresCluster("db", { network: new TieredNetwork("net") }),
            { project: "shop", stack: "dev" },
        );
        expect(graph.dependencyNames("db-bootstrap")).toEqual([
            "db-admin",
            "db-admin-password",
            "db-app-password",
            "db-server",
        ]);
        expect(graph.get("db-bootstrap").dependencies).toContain(graph.get("db-server").urn);
        const b = graph.get("db-bootstrap");
        const serverIp = (await peek(result.container!.networkDatas)).value.find(
            (d) => d.networkName === "shop-dev-db-admin",
        )?.ipAddress;
        expect(serverIp).toMatch(/^172\./);
        expect(b.inputs.connection).toMatchObject({
            host: serverIp,
            port: 5432,
            user: "postgres",
            password: "pw-db-admin-password",
            maintenanceDatabase: "postgres",
        });
        expect(b.inputs.roles).toEqual({
            app: expect.objectContaining({ login: true, password: "pw-db-app-password" }),
        });
        expect(b.inputs.database).toMatchObject({ name: "app", owner: "postgres" });
        expect(b.inputs.onDelete).toBe("retain");
        // Secretness is decided by the inputs we pass (the mocks ignore additionalSecretOutputs).
        expect(b.secretInputs.has("connection")).toBe(true);
        expect(b.secretInputs.has("roles")).toBe(true);

        const url = await peek(result.applicationUrl);
        expect(url.value).toBe("postgresql://app:pw-db-app-password@postgres:5432/app");
        expect(url.secret).toBe(true);
        expect(url.value).not.toContain("pw-db-admin-password");
        expect((await peek(result.adminPassword)).secret).toBe(true);
    });

    test("adminHostPort publishes 5432 on 127.0.0.1 only and points the bootstrap there", async () => {
        const { graph } = await runProgram(
            () => new PostgresCluster("db", { network: new TieredNetwork("net"), adminHostPort: 15432 }),
        );
        expect(graph.get("db-server").inputs.ports).toEqual([{ internal: 5432, external: 15432, ip: "127.0.0.1" }]);
        expect(graph.get("db-bootstrap").inputs.connection).toMatchObject({ host: "127.0.0.1", port: 15432 });
        // Docker publishes ports only through a non-internal network; the proxy then connects from its gateway.
        expect(graph.get("db-admin").inputs.internal).toBe(false);
    });

    test("appPrivileges reaches the application role; by default the role carries no preset", async () => {
        const owner = await runProgram(
            () => new PostgresCluster("db", { network: new TieredNetwork("net"), appPrivileges: "owner" }),
        );
        expect(owner.graph.get("db-bootstrap").inputs.roles.app).toMatchObject({ login: true, privileges: "owner" });
        const plain = await runProgram(() => new PostgresCluster("db", { network: new TieredNetwork("net") }));
        expect(plain.graph.get("db-bootstrap").inputs.roles.app).not.toHaveProperty("privileges");
    });

    test("pg_hba: the administrator only from the admin subnets, other roles only to the database, the rest refused", () => {
        expect(
            pgHbaConf({
                adminUser: "postgres",
                database: "shop",
                adminSubnets: ["172.30.0.0/16"],
                extraRules: ["host reports reporter 10.0.0.0/8 scram-sha-256"],
            })
                .split("\n")
                .filter((l) => l && !l.startsWith("#")),
        ).toEqual([
            "local all all trust",
            "host all postgres 172.30.0.0/16 scram-sha-256",
            "host all postgres all reject",
            "host reports reporter 10.0.0.0/8 scram-sha-256",
            "host shop all all scram-sha-256",
            "host all all all reject",
        ]);
    });

    test("the application role gets a connection limit and idle-in-transaction timeout; both overridable; the maintenance database is closed", async () => {
        const roleOf = async (extra: Record<string, unknown>) => {
            const { graph } = await runProgram(
                () => new PostgresCluster("db", { network: new TieredNetwork("net"), ...extra }),
            );
            const inputs = graph.get("db-bootstrap").inputs;
            expect(inputs.connection.restrictMaintenanceDatabase).toBe(true);
            return inputs.roles.app;
        };
        expect(await roleOf({})).toMatchObject({
            connectionLimit: 80,
            settings: { idle_in_transaction_session_timeout: "60s" },
        });
        const custom = await roleOf({
            appConnectionLimit: -1,
            appRoleSettings: { idle_in_transaction_session_timeout: "0", statement_timeout: "30s" },
            stopTimeout: 120,
        });
        expect(custom.connectionLimit).toBe(-1);
        expect(custom.settings).toEqual({ idle_in_transaction_session_timeout: "0", statement_timeout: "30s" });
    });

    test("a given admin password (e.g. from config) is used, kept secret, and no generator is created", async () => {
        const { graph } = await runProgram(
            () =>
                new PostgresCluster("db", {
                    network: new TieredNetwork("net"),
                    adminPassword: "from-config",
                    database: "shop",
                    appRole: "shop_app",
                    tier: "db",
                    alias: "pg",
                }),
        );
        expect(graph.has("db-admin-password")).toBe(false);
        expect(graph.envOf("db-server").POSTGRES_PASSWORD).toBeUndefined();
        expect(graph.get("db-server").inputs.uploads[2]).toEqual({
            file: ADMIN_PASSWORD_FILE,
            content: "from-config",
            permissions: "0600",
        });
        expect(graph.get("db-server").secretInputs.has("uploads")).toBe(true);
        expect(graph.get("db-server").inputs.uploads[1].content).toContain("host shop all all scram-sha-256\n");
        expect(graph.get("db-bootstrap").inputs.roles).toHaveProperty("shop_app");
        expect(graph.get("db-server").inputs.networksAdvanced[0].aliases).toEqual(["pg"]);
    });

    test("migrations and content reach the bootstrap as per-file checksums", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-mig-"));
        fs.writeFileSync(path.join(dir, "V1__init.sql"), "CREATE TABLE t (id int);");
        const { graph } = await runProgram(
            () =>
                new PostgresCluster("db", {
                    network: new TieredNetwork("net"),
                    migrationSets: [{ name: "app", directory: dir }],
                    content: { items: { "001.sql": "SELECT 1;" } },
                }),
        );
        const sets = graph.get("db-bootstrap").inputs.migrationSets as {
            name: string;
            files: Record<string, { checksum: string }>;
        }[];
        expect(sets.map((s) => s.name)).toEqual(["app", "content"]);
        expect(Object.keys(sets[0].files)).toEqual(["V1__init.sql"]);
    });

    test("bad arguments fail with a clear message before any child is registered", async () => {
        const cases: [Record<string, unknown>, RegExp][] = [
            [
                { tier: "data" },
                /PostgresCluster "db": tier names the unknown tier "data"; use one of the network's tiers: web, app, db/,
            ],
            [{ appRole: "postgres" }, /appRole equals adminUser \("postgres"\); give the applications their own role/],
            [{ adminHostPort: 70000 }, /adminHostPort is 70000, must be an integer from 1 to 65535/],
            [
                { retainDataVolume: false, protectDataVolume: true },
                /protectDataVolume is true while retainDataVolume is false/,
            ],
            [{ alias: "Postgres_1" }, /alias is "Postgres_1", not a DNS label/],
            [{ stopTimeout: 0 }, /stopTimeout is 0, not a whole number of seconds from 1 to 3600/],
            [
                { hbaRules: ["local all all trust"] },
                /hbaRules\[0\] is "local all all trust", not one pg_hba.conf host line/,
            ],
            [
                { appConnectionLimit: -5 },
                /appConnectionLimit is rejected by the bootstrap: roles\.app\.connectionLimit is -5, not an integer from -1/,
            ],
            [
                { appRoleSettings: { "work mem": "1MB" } },
                /appRoleSettings is rejected by the bootstrap: setting name "work mem" is not a server parameter name/,
            ],
            [
                { migrationSets: [{ name: "a" }, { name: "a" }] },
                /migrationSets\[1\]\.name is rejected by the bootstrap: migration set "a" is listed twice; give each set its own name/,
            ],
        ];
        for (const [extra, message] of cases) {
            const run = runProgram(() => new PostgresCluster("db", { network: new TieredNetwork("net"), ...extra }));
            await expect(run).rejects.toThrow(ArgumentError);
            await expect(run).rejects.toThrow(message);
        }
    });

    test("each migration and content folder is read once, and the bootstrap gets what was read and checked", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-once-"));
        fs.mkdirSync(path.join(dir, "app"));
        fs.mkdirSync(path.join(dir, "content"));
        fs.writeFileSync(path.join(dir, "app", "V1__init.sql"), "CREATE TABLE t (id int);");
        fs.writeFileSync(path.join(dir, "content", "pages.sql"), "SELECT 1;");
        listed.length = 0;
        const { graph } = await runProgram(() => {
            return new PostgresCluster("db", {
                network: new TieredNetwork("net"),
                migrationSets: [{ name: "app", directory: path.join(dir, "app") }],
                content: { directory: path.join(dir, "content") },
            });
        });
        expect(listed.filter((d) => d.startsWith(dir)).sort()).toEqual([
            path.join(dir, "app"),
            path.join(dir, "content"),
        ]);
        const sets = graph.get("db-bootstrap").inputs.migrationSets as { files: Record<string, { sql: string }> }[];
        expect(sets[0].files["V1__init.sql"].sql).toBe("CREATE TABLE t (id int);");
        expect(Object.keys(sets[1].files)).toEqual(["pages.sql"]);
    });

    test("a symbolic link leading outside a migration or content folder is refused, and its target never read", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-links-"));
        const app = path.join(dir, "app");
        fs.mkdirSync(path.join(app, "views"), { recursive: true });
        fs.writeFileSync(path.join(dir, "secret.sql"), "SELECT 'outside';");
        fs.writeFileSync(path.join(app, "V1__init.sql"), "CREATE TABLE t (id int);");
        // Inside the folder: followed, as Flyway follows it.
        fs.symlinkSync(path.join(app, "V1__init.sql"), path.join(app, "views", "V2__same.sql"));
        const inside = await runProgram(
            () =>
                new PostgresCluster("db", {
                    network: new TieredNetwork("net"),
                    migrationSets: [{ name: "app", directory: app }],
                }),
        );
        const sets = inside.graph.get("db-bootstrap").inputs.migrationSets as { files: Record<string, unknown> }[];
        expect(Object.keys(sets[0].files)).toEqual(["V1__init.sql", "views/V2__same.sql"]);

        fs.symlinkSync(path.join(dir, "secret.sql"), path.join(app, "V3__leak.sql"));
        fs.symlinkSync(dir, path.join(app, "up"));
        const { graph, result } = await runProgram(() =>
            thrownBy(
                () =>
                    new PostgresCluster("db", {
                        network: new TieredNetwork("net"),
                        migrationSets: [{ name: "app", directory: app }],
                        content: { directory: app },
                    }),
            ),
        );
        expect(result).toBeInstanceOf(ArgumentError);
        const message = (result as Error).message;
        expect(message).toContain(
            `migrationSets[0].directory is rejected by the bootstrap: in directory "${app}", V3__leak.sql, up are symbolic links leading outside the folder; copy the file into the folder`,
        );
        expect(message).toContain(
            `content.directory is rejected by the bootstrap: in directory "${app}", V3__leak.sql, up are symbolic`,
        );
        expect(message).not.toContain("outside';");
        expect(graph.names().filter((n) => n.startsWith("db"))).toEqual([]);
    });

    test("a Bootstrap on its own refuses every bad argument in one error before it exists", async () => {
        const { graph, result } = await runProgram(() =>
            thrownBy(
                () =>
                    new Bootstrap("boot", {
                        connection: { host: "db", password: "pw", port: 0 },
                        roles: [{ name: "app" }, { name: "app" }],
                        database: { name: "template1" },
                        applicationRole: "web",
                    }),
            ),
        );
        const lines = (result as Error).message.split("\n");
        expect(lines[0]).toBe("Bootstrap boot: arguments refused:");
        expect(lines.slice(1)).toEqual([
            '  roles: role "app" is listed twice; list each role once',
            '  applicationRole: applicationRole "web" is not in roles; add it to roles or fix the name',
            "  connection.port: connection.port 0 is not a port; use an integer from 1 to 65535",
            '  database.name: "template1" is a template database; choose another name',
        ]);
        expect(graph.names()).not.toContain("boot");
    });

    test("migration and content problems the bootstrap's check would find fail before any child, as one ArgumentError", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-mig-"));
        fs.writeFileSync(path.join(dir, "notes.sql"), "SELECT 1;");
        const missing = path.join(dir, "missing");
        const cases: [Record<string, unknown>, RegExp[]][] = [
            // A missing directory used to throw a plain Error from the Bootstrap, after the server was registered.
            [
                {
                    migrationSets: [{ name: "app", directory: missing }],
                    content: { directory: path.join(dir, "nope") },
                },
                [
                    /migrationSets\[0\]\.directory is rejected by the bootstrap: directory ".*missing" does not exist; create it or fix the path/,
                    /content\.directory is rejected by the bootstrap: directory ".*nope" does not exist/,
                ],
            ],
            // These used to pass the component and fail only in the provider's check, during `up`.
            [
                { migrationSets: [{ name: "content" }], content: { items: {} } },
                [
                    /migrationSets\[0\]\.name is rejected by the bootstrap: set name "content" is reserved for the content set while content is given; rename the set/,
                ],
            ],
            [{ migrationSets: [{ name: "content" }] }, []], // not reserved without content
            [
                { migrationSets: [{ name: "App" }] },
                [
                    /migrationSets\[0\]\.name is rejected by the bootstrap: set name "App" is not lower-case letters, digits or "_"; rename the set/,
                ],
            ],
            [
                { migrationSets: [{ name: "x", table: "content_history" }], content: { items: {} } },
                [
                    /migrationSets\[0\]\.table is rejected by the bootstrap: history table public\.content_history is the content set's/,
                ],
            ],
            // Flyway ignores a misnamed file (the plan warns); strictNaming refuses it, as validateMigrationNaming does.
            [{ migrationSets: [{ name: "app", directory: dir }] }, []],
            [
                { migrationSets: [{ name: "app", directory: dir, strictNaming: true }] },
                [
                    /migrationSets\[0\]\.files is rejected by the bootstrap: migration set "app": notes\.sql fits no migration name \(V<version>__<description>\.sql/,
                ],
            ],
            [
                { extensions: ["pg trgm"] },
                [/extensions is rejected by the bootstrap: extension name "pg trgm" is not allowed/],
            ],
            [
                { database: "template1" },
                [/database is rejected by the bootstrap: "template1" is a template database; choose another name/],
            ],
            [{ bootstrapWait: { timeoutSeconds: 0 } }, [/bootstrapWait\.timeoutSeconds is rejected by the bootstrap/]],
            [
                { appPrivileges: "admin" },
                [
                    /appPrivileges is rejected by the bootstrap: privileges "admin" is not a preset; use "owner", "readwrite"/,
                ],
            ],
        ];
        for (const [extra, messages] of cases) {
            const { graph, result } = await runProgram(() => {
                const network = new TieredNetwork("net");
                return thrownBy(() => new PostgresCluster("db", { network, ...extra }));
            });
            if (messages.length === 0) {
                expect(result).toBeUndefined();
                continue;
            }
            expect(result).toBeInstanceOf(ArgumentError);
            for (const m of messages) expect((result as Error).message).toMatch(m);
            expect((result as Error).message.split("\n")).toHaveLength(messages.length);
            expect(graph.names().filter((n) => n === "db" || n.startsWith("db-"))).toEqual([]);
        }
    });

    test("a disabled health check (NONE) with waitForHealthy is rejected; without waiting it is accepted", async () => {
        const none = { test: ["NONE"] };
        const run = runProgram(
            () =>
                new PostgresCluster("db", {
                    network: new TieredNetwork("net"),
                    healthcheck: none,
                    waitForHealthy: true,
                }),
        );
        await expect(run).rejects.toThrow(ArgumentError);
        await expect(run).rejects.toThrow(
            /healthcheck\.test is \["NONE"\] \(no health check\) while waitForHealthy is true.*; set waitForHealthy: false, or give a real health check/,
        );
        const { graph } = await runProgram(
            () => new PostgresCluster("db", { network: new TieredNetwork("net"), healthcheck: none }),
        );
        expect(graph.get("db-server").inputs.healthcheck.tests).toEqual(["NONE"]);
    });

    test("its host name is its own on the tier: another component already answering to it is rejected", async () => {
        const { graph, result } = await runProgram(() => {
            const network = new TieredNetwork("net");
            new PostgresCluster("db", { network });
            return thrownBy(() => new PostgresCluster("db2", { network, alias: "postgres" }));
        });
        expect(result).toBeInstanceOf(ArgumentError);
        expect((result as Error).message).toMatch(
            /PostgresCluster "db2": alias gives the host name "postgres", which PostgresCluster "db" already answers to on tier "db"; set alias/,
        );
        expect(graph.names().filter((n) => n.startsWith("db2"))).toEqual([]);
    });

    test("bad arguments register no PostgresCluster resources at all", async () => {
        const { graph } = await runProgram(() => {
            const network = new TieredNetwork("net");
            expect(() => new PostgresCluster("db", { network, tier: "nope" })).toThrow(ArgumentError);
        });
        expect(graph.names().filter((n) => n.startsWith("db"))).toEqual([]);
    });
});
