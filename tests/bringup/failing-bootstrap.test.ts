/**
 * A failing bootstrap (a broken migration) on a real engine: the error names the migration, and no app server is
 * ever created, because the pool's replicas depend on the bootstrap. The program runs in a plain Node process
 * (attempt-cli.ts), where its dependents' rejected outputs do not each count as a jest failure.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { freshStack } from "./harness";

interface Report {
    error: string | null;
    created: { kind: string; name: string; resource: string }[];
    timeline: { resource: string }[];
}

it("stops the app servers from being created and names the broken migration", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-broken-"));
    fs.writeFileSync(path.join(dir, "V1__greeting.sql"), "CREATE TABLE greeting (greeting text); GRANT SELECT ON greeting TO app;");
    fs.writeFileSync(path.join(dir, "V2__broken.sql"), "INSERT INTO no_such_table VALUES (1);");
    const root = path.resolve(__dirname, "../..");
    const out = await new Promise<string>((resolve, reject) =>
        execFile(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", "tests/bringup/attempt-cli.ts", "tests/bringup/programs/broken-bootstrap.ts", "brokenBootstrap", "broken", freshStack("bb")],
            { cwd: root, env: { ...process.env, PDC_MIGRATIONS_DIR: dir }, timeout: 300000, maxBuffer: 16 * 1024 * 1024 },
            (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
        ),
    );
    fs.rmSync(dir, { recursive: true, force: true });
    const r = JSON.parse(out) as Report;
    expect(r.error).toMatch(/V2__broken\.sql failed: relation "no_such_table" does not exist/);
    const created = r.created.map((c) => `${c.kind}:${c.resource}`);
    expect(created).toContain("container:db-server");
    expect(created.filter((k) => /app-r\d/.test(k))).toEqual([]);
    const ran = r.timeline.map((t) => t.resource);
    expect(ran).toContain("db-bootstrap");
    expect(ran.filter((n) => /^app-r\d$/.test(n))).toEqual([]);
}, 300000);
