/**
 * Runs `pulumi <up|preview|refresh|destroy>` of this repository's root program (Pulumi.yaml, index.ts, the
 * stack's Pulumi.<stack>.yaml) with the real Pulumi CLI, serving the program inline through the Automation API.
 * scripts/up.sh and scripts/down.sh use it when the CLI has no `pulumi-language-nodejs` plugin beside it (the CLI
 * built from Go modules by scripts/pulumi.sh: that plugin's module is not served here); with a full Pulumi install
 * they run `pulumi up` itself.
 *
 * Usage: ts-node scripts/stack.ts <up|preview|refresh|destroy> <stack>; PDC_PULUMI names the CLI and
 * PULUMI_BACKEND_URL the backend (both set by scripts/up.sh).
 */
import * as path from "path";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";

const ROOT = path.resolve(__dirname, "..");
type Op = "up" | "preview" | "refresh" | "destroy";

async function main(): Promise<void> {
    const [op, stackName] = process.argv.slice(2) as [Op, string];
    if (!["up", "preview", "refresh", "destroy"].includes(op) || !stackName) {
        throw new Error("usage: scripts/stack.ts <up|preview|refresh|destroy> <stack>");
    }
    const cli = process.env.PDC_PULUMI;
    if (!cli)
        throw new Error(
            'PDC_PULUMI is not set: run through scripts/up.sh, or eval "$(bash scripts/pulumi.sh env)" first',
        );
    const pulumiCommand = await PulumiCommand.get({ root: path.dirname(path.dirname(cli)) });
    const program = async () => {
        const m = require(path.join(ROOT, "index.ts"));
        return typeof m === "function" ? m() : m;
    };
    const ws = await LocalWorkspace.create({ workDir: ROOT, pulumiCommand, program });
    const projectName = (await ws.projectSettings()).name;
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName, projectName, program },
        { workDir: ROOT, pulumiCommand },
    );
    const onOutput = (s: string) => process.stdout.write(s);
    switch (op) {
        case "up": {
            const r = await stack.up({ onOutput, color: "auto" });
            for (const [k, v] of Object.entries(r.outputs))
                process.stdout.write(`${k}: ${v.secret ? "[secret]" : JSON.stringify(v.value)}\n`);
            break;
        }
        case "preview":
            await stack.preview({ onOutput, diff: true, color: "auto" });
            break;
        case "refresh":
            await stack.refresh({ onOutput, color: "auto" });
            break;
        case "destroy":
            await stack.destroy({ onOutput, color: "auto" });
            break;
    }
}

main().catch((e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
});
