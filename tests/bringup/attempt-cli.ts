/**
 * Runs one program through the bring-up harness in a plain Node process and prints what happened as JSON, then
 * tears everything down. For programs that are meant to fail: a failed registration rejects the outputs of all
 * its dependents, and inside jest those rejections would each be reported as a test failure of their own.
 * Usage: attempt-cli.ts <module> <exported function> <project> <stack>
 */
import * as path from "path";
import { attempt } from "./harness";

async function main(): Promise<void> {
    const [modulePath, exportName, project, stack] = process.argv.slice(2);
    const factory = require(path.resolve(modulePath))[exportName] as () => unknown;
    const r = await attempt(factory, { project, stack });
    const report = { error: r.error?.message ?? null, created: r.cluster.created.map((c) => ({ ...c })), timeline: r.cluster.timeline };
    await r.cluster.teardown(true);
    process.stdout.write(JSON.stringify(report));
}

process.on("unhandledRejection", () => undefined); // the failed program's dependents; reported through `error`
main().then(
    () => process.exit(0),
    (e) => {
        process.stderr.write(`${(e as Error).stack}\n`);
        process.exit(1);
    },
);
