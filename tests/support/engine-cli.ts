/**
 * Runs one operation of the real Pulumi engine (the CLI from scripts/pulumi.sh) on a stack and prints the result
 * as JSON. The program runs inline through the Automation API: the CLI is started with `--client` and the
 * program's language runtime is served from this process, which is how Pulumi runs Node programs without the
 * `pulumi-language-nodejs` plugin (its Go module is not served here; see tools/README.md).
 *
 * Run in a plain Node process, not inside jest: closure serialization of the dynamic providers needs Node's own
 * module system. Usage: engine-cli.ts '<EngineRequest as JSON>'
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { ConfigMap, EngineEvent, LocalWorkspace, ProjectSettings, PulumiCommand } from "@pulumi/pulumi/automation";
import type { EngineRequest, EngineResult } from "./engine";

async function main(): Promise<void> {
    const req = JSON.parse(process.argv[2]) as EngineRequest;
    const cli = process.env.PDC_PULUMI;
    if (!cli) throw new Error('PDC_PULUMI is not set: run under `eval "$(bash scripts/pulumi.sh env)"`');
    const pulumiCommand = await PulumiCommand.get({ root: path.dirname(path.dirname(cli)) });
    const work = path.join(req.dir, "work");
    fs.mkdirSync(work, { recursive: true });
    const backend = `file://${path.join(req.dir, "state")}`;
    fs.mkdirSync(path.join(req.dir, "state"), { recursive: true });
    const program = async () => {
        const m = require(path.resolve(req.program.module));
        return req.program.export ? m[req.program.export]() : typeof m === "function" ? m() : m;
    };
    // A project file (e.g. an example's Pulumi.yaml, with its config schema and defaults) or a bare project.
    const settings: ProjectSettings = req.projectFile
        ? { ...(yaml.load(fs.readFileSync(req.projectFile, "utf8")) as ProjectSettings), main: undefined }
        : { name: req.project, runtime: "nodejs" };
    const stack = await LocalWorkspace.createOrSelectStack(
        { projectName: req.project, stackName: req.stack, program },
        {
            workDir: work,
            pulumiCommand,
            projectSettings: { ...settings, backend: { url: backend } },
            secretsProvider: "passphrase",
            envVars: { PULUMI_BACKEND_URL: backend },
        },
    );
    if (req.config) await stack.setAllConfig(req.config as ConfigMap);
    let output = "";
    const onOutput = (s: string) => (output += s);
    const result: EngineResult = { output: "", error: null, timeline: {} };
    // When each resource's step started and ended, in ms from the start of the operation (the engine's own
    // timestamps are whole seconds).
    const t0 = Date.now();
    const onEvent = (e: EngineEvent) => {
        const ms = Date.now() - t0;
        if (e.preludeEvent) result.timeline!["(engine started)"] = [ms, ms];
        const urn = e.resourcePreEvent?.metadata.urn ?? e.resOutputsEvent?.metadata.urn;
        if (!urn) return;
        const name = urn.split("::").pop()!;
        const span = (result.timeline![name] ??= [ms, ms]);
        if (e.resOutputsEvent) span[1] = ms;
    };
    try {
        switch (req.op) {
            case "preview": {
                const r = await stack.preview({ diff: req.diff, color: "never", onOutput, onEvent });
                result.changes = r.changeSummary as Record<string, number>;
                break;
            }
            case "up": {
                const r = await stack.up({ diff: req.diff, color: "never", onOutput, onEvent });
                result.changes = (r.summary.resourceChanges ?? {}) as Record<string, number>;
                result.outputs = r.outputs;
                break;
            }
            case "refresh": {
                const r = await stack.refresh({ color: "never", onOutput, onEvent });
                result.changes = (r.summary.resourceChanges ?? {}) as Record<string, number>;
                result.outputs = await stack.outputs();
                break;
            }
            case "destroy": {
                const r = await stack.destroy({ color: "never", onOutput, onEvent });
                result.changes = (r.summary.resourceChanges ?? {}) as Record<string, number>;
                break;
            }
        }
    } catch (e) {
        result.error = (e as Error).message;
    }
    result.output = output;
    result.totalMs = Date.now() - t0;
    process.stdout.write(JSON.stringify(result));
}

main().catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
});
