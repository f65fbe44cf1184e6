/**
 * The bootstrap provider as a user's project runs it after `npm install pulumi-docker-cluster`: serialized there,
 * `__provider` is a `require` of the installed package rather than its code, and the project's dynamic-provider
 * host runs the whole lifecycle with it against the real Postgres.
 */
import { InstalledPackage } from "../support/installed-package";
import { ProviderHost, serializedProvider } from "../support/provider-host";
import { inputsFor, query, uniqueName } from "../support/pg";
import { fixture, withScripts } from "../support/bootstrap-fixtures";

let installed: InstalledPackage;
let hosts: ProviderHost[];

beforeAll(async () => {
    installed = new InstalledPackage();
    hosts = [new ProviderHost("bootstrap", installed), new ProviderHost("bootstrap", installed)];
    await Promise.all(hosts.map((h) => h.start()));
}, 120000);

afterAll(async () => {
    await Promise.all((hosts ?? []).map((h) => h.stop()));
    installed?.destroy();
});

it("is serialized as a reference to the installed package, not as its code", () => {
    const text = installed.serializedProvider("bootstrap");
    expect(text).toContain('require("pulumi-docker-cluster/bin/provider/operations.js")');
    expect(text).not.toContain("pg_try_advisory_lock");
    expect(text.length).toBeLessThan(2000);
    // From this repository's source the same object carries the code itself.
    const fromSource = serializedProvider("bootstrap");
    expect(fromSource).toContain("pg_try_advisory_lock");
    expect(fromSource.length).toBeGreaterThan(20 * text.length);
});

it("runs create, a no-op diff, an update that adds one migration, read and delete through the project's host", async () => {
    const [host] = hosts;
    const f = fixture();
    const { inputs: checked, failures } = await host.check({}, f.inputs());
    expect(failures).toEqual([]);
    expect(checked.__provider).toBe(installed.serializedProvider("bootstrap"));
    const { id, outs } = await host.create(checked);
    expect(Object.keys(outs.applied.app).sort()).toEqual(["R__item_view.sql", "V1.1__add_price.sql", "V1__init.sql"]);
    expect(await query(f.db, "SELECT name FROM item")).toEqual([{ name: "welcome" }]);

    const same = await host.check(checked, f.inputs());
    expect((await host.diff(id, outs, same.inputs)).changes).toBe("none");

    const app = f.args.migrationSets![0].scripts as Record<string, string>;
    const next = await host.check(
        checked,
        inputsFor(
            withScripts(f.args, "app", {
                ...app,
                "V2__stock.sql": "ALTER TABLE item ADD COLUMN stock int NOT NULL DEFAULT 0;",
            }),
        ),
    );
    expect((await host.diff(id, outs, next.inputs)).changes).toBe("some");
    const updated = await host.update(id, outs, next.inputs);
    expect(Object.keys(updated.applied.app).sort()).toEqual([
        "R__item_view.sql",
        "V1.1__add_price.sql",
        "V1__init.sql",
        "V2__stock.sql",
    ]);
    expect(await query(f.db, "SELECT script FROM schema_history_app ORDER BY installed_rank")).toEqual(
        ["V1__init.sql", "V1.1__add_price.sql", "R__item_view.sql", "V2__stock.sql"].map((script) => ({ script })),
    );

    const read = await host.read(id, updated);
    expect(read.props.drift).toEqual([]);
    await host.delete(id, updated);
    await host.waitForLog(`onDelete is "retain": database ${f.db}`);
    expect(await query("postgres", "SELECT datname FROM pg_database WHERE datname = $1", [f.db])).toEqual([
        { datname: f.db },
    ]);
});

it("hands a concurrent bootstrap over between two of the project's hosts", async () => {
    const db = uniqueName("inst");
    const { inputs } = await hosts[0].check(
        {},
        inputsFor({
            database: { name: db },
            migrationSets: [
                { name: "app", scripts: { "V1__t.sql": "CREATE TABLE t (id int); INSERT INTO t VALUES (1);" } },
            ],
        }),
    );
    const answers = await Promise.all(hosts.map((h) => h.create(inputs)));
    for (const a of answers) expect(a.outs.applied.app).toEqual({ "V1__t.sql": expect.any(String) });
    expect(await query(db, "SELECT count(*)::int AS n FROM t")).toEqual([{ n: 1 }]);
    expect(await query(db, "SELECT count(*)::int AS n FROM schema_history_app")).toEqual([{ n: 1 }]);
});
