/**
 * The README's main command on this machine: `bash scripts/up.sh <stack>` stands the default cluster up with a real
 * `pulumi up` (the toolchain of scripts/pulumi.sh, the checkout's file backend) and its URL answers;
 * `bash scripts/down.sh <stack>` tears it down again. A stack of its own, with Pulumi.yaml's defaults (nginx on
 * port 8080).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { dockerCli } from "../support/docker-api";
import { httpRequest } from "../support/http";
import { engineEnv } from "../support/engine";

jest.setTimeout(900000);

const ROOT = path.resolve(__dirname, "../..");
const STACK = `upsh${process.pid}`;
const PREFIX = `pulumi-docker-cluster-${STACK}-`;
// A stack other than dev must have a passphrase for its secrets (up.sh refuses an empty one).
const PASSPHRASE = "up-script-test";

function script(
    name: string,
    args: string[],
    passphrase: string = PASSPHRASE,
): Promise<{ code: number; output: string }> {
    return new Promise((resolve) => {
        execFile(
            "bash",
            [path.join(ROOT, "scripts", name), ...args],
            {
                cwd: ROOT,
                env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: passphrase },
                maxBuffer: 64 * 1024 * 1024,
                timeout: 800000,
            },
            (err, stdout, stderr) =>
                resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
        );
    });
}

afterAll(async () => {
    await script("down.sh", [STACK]);
    await dockerCli(["volume", "rm", "-f", `${PREFIX}db-data`]).catch(() => undefined);
    // The stack's record in the checkout's file backend, and its settings file if the CLI wrote one.
    fs.rmSync(path.join(ROOT, `Pulumi.${STACK}.yaml`), { force: true });
    await new Promise((resolve) =>
        execFile(
            engineEnv().PDC_PULUMI!,
            ["stack", "rm", "--yes", "--force", STACK],
            {
                cwd: ROOT,
                env: {
                    ...engineEnv(),
                    PULUMI_BACKEND_URL: `file://${ROOT}/.pulumi-state`,
                    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
                },
            },
            resolve,
        ),
    );
});

it("up.sh refuses a stack other than dev with an empty passphrase, before anything runs", async () => {
    const refused = await script("up.sh", ["prod"], "");
    expect(refused.code).toBe(2);
    expect(refused.output).toBe(
        'scripts/up.sh: stack "prod" would keep its secrets under an empty passphrase: set PULUMI_CONFIG_PASSPHRASE ' +
            "(or PULUMI_CONFIG_PASSPHRASE_FILE) first; only the dev stack may go without one\n",
    );
});

it("up.sh brings the default cluster up and its URL answers; down.sh removes every container", async () => {
    const up = await script("up.sh", [STACK]);
    expect(up.output).toContain("scripts/up.sh: the cluster answers at http://localhost:8080/");
    expect(up.code).toBe(0);
    const page = await httpRequest(8080, "/");
    expect(page.status).toBe(200);
    expect(page.headers["x-instance"]).toMatch(/^app-r[01]$/);

    const down = await script("down.sh", [STACK]);
    expect(down.code).toBe(0);
    expect((await dockerCli(["ps", "-aq", "--filter", `name=^${PREFIX}`])).trim()).toBe("");
});
