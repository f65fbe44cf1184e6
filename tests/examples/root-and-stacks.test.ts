/**
 * The repository's root Pulumi program (runs flask-nginx-postgres), the stack files' hygiene, the CI preview
 * workflow, and the time it takes to evaluate each example under mocks.
 */
import * as fs from "fs";
import * as path from "path";
import rootProgram = require("../../index");
import * as flaskProgram from "../../examples/flask-nginx-postgres/cluster";
import flaskIndex = require("../../examples/flask-nginx-postgres");
import * as threeTierProgram from "../../examples/three-tier/cluster";
import * as railsProgram from "../../examples/rails-consul/cluster";
import { publishing, runProgram } from "../support/graph";
import { projectFile, REPO, schemaDefaults, stackConfig, timeEvaluation } from "../support/examples";

const yaml = require("js-yaml") as { load(src: string): unknown };

const EXAMPLES = ["three-tier", "flask-nginx-postgres", "rails-consul"];

describe("mock evaluation time of each example (printed; cold = first in this process)", () => {
    // First in this file, so "cold" includes the one-off closure serialization of the bootstrap provider.
    test("three-tier, flask-nginx-postgres, rails-consul", async () => {
        const results = [
            await timeEvaluation(
                "three-tier",
                () => threeTierProgram.threeTier({ ...threeTierProgram.defaults, buildAppImage: false }),
                { project: "three-tier", stack: "dev" },
            ),
            await timeEvaluation(
                "flask-nginx-postgres",
                () => flaskProgram.flaskNginxPostgres({ ...flaskProgram.defaults, buildAppImage: false }),
                { project: "flask-nginx-postgres", stack: "dev" },
            ),
            await timeEvaluation(
                "rails-consul",
                () => railsProgram.railsConsul({ ...railsProgram.defaults, buildImages: false }),
                { project: "rails-consul", stack: "dev" },
            ),
        ];
        // three-tier and flask-nginx-postgres: + the readiness gate's token and its secrets container;
        // rails-consul: 57 + the memcached and rabbitmq Service components (their containers are the same), + 6 for
        // Consul's ACLs (four tokens, the ACL volume, the setup).
        expect(results.map((r) => r.resources)).toEqual([29, 30, 65]);
        for (const r of results) expect(r.warmMs).toBeLessThan(60000);
    });
});

describe("root program", () => {
    const ROOT = REPO;

    test("Pulumi.yaml runs index.ts (not package.json's library main) with flask-nginx-postgres' config schema", () => {
        const p = projectFile(ROOT);
        expect(p).toMatchObject({ name: "pulumi-docker-cluster", runtime: "nodejs", main: "index.ts" });
        expect(schemaDefaults(ROOT)).toEqual(schemaDefaults(path.join(REPO, "examples", "flask-nginx-postgres")));
        expect(rootProgram).toBe(flaskIndex);
    });

    test("with Pulumi.dev.yaml it stands up the flask-nginx-postgres cluster on :8080", async () => {
        const { graph } = await runProgram(() => rootProgram(), {
            project: "pulumi-docker-cluster",
            stack: "dev",
            config: stackConfig(ROOT, "dev", { buildAppImage: "false" }),
        });
        expect(publishing(graph)).toEqual(["web-nginx"]);
        expect(graph.get("web-nginx").inputs.ports).toEqual([{ internal: 80, external: 8080, ip: "0.0.0.0" }]);
        expect(graph.names().filter((n) => /^app-r\d$/.test(n))).toEqual(["app-r0", "app-r1"]);
        expect(graph.get("db-server").inputs.name).toBe("pulumi-docker-cluster-dev-db-server");
    });
});

describe("stack files", () => {
    const dirs = [REPO, ...EXAMPLES.map((e) => path.join(REPO, "examples", e))];
    for (const dir of dirs) {
        const rel = path.relative(REPO, dir) || ".";
        test(`${rel}: every stack key is declared in Pulumi.yaml, namespaced, typed right, and nothing secret is in plaintext`, () => {
            const p = projectFile(dir);
            const stacks = fs.readdirSync(dir).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f) && f !== "Pulumi.yaml");
            expect(stacks.length).toBeGreaterThan(0);
            expect(stacks.sort()).toEqual(["Pulumi.dev.yaml", "Pulumi.prod.yaml"]);
            for (const f of stacks) {
                const doc = yaml.load(fs.readFileSync(path.join(dir, f), "utf8")) as {
                    config: Record<string, unknown>;
                };
                for (const [k, v] of Object.entries(doc.config)) {
                    expect(k.startsWith(`${p.name}:`)).toBe(true);
                    const key = k.slice(p.name.length + 1);
                    expect(/password|secret|token|key$/i.test(key) && typeof v !== "object").toBe(false);
                    const decl = p.config[key];
                    expect(decl).toBeDefined();
                    const t = decl.type === "integer" ? "number" : decl.type;
                    expect(typeof v).toBe(t);
                    if (decl.type === "integer") expect(Number.isInteger(v)).toBe(true);
                }
            }
        });
    }

    test("dev and prod differ in replicas, ports and resources", () => {
        for (const e of EXAMPLES) {
            const dir = path.join(REPO, "examples", e);
            const dev = stackConfig(dir, "dev");
            const prod = stackConfig(dir, "prod");
            const differing = Object.keys({ ...dev, ...prod })
                .filter((k) => dev[k] !== prod[k])
                .map((k) => k.split(":")[1]);
            expect(differing.some((k) => /replicas/i.test(k))).toBe(true);
            expect(differing).toContain("webPort");
            expect(differing.some((k) => /MemoryMb$/.test(k))).toBe(true);
        }
    });
});

describe(".github/workflows/preview.yml", () => {
    test("pulumi preview --diff per stack on pull requests, posted as a PR comment", () => {
        const wf = yaml.load(fs.readFileSync(path.join(REPO, ".github", "workflows", "preview.yml"), "utf8")) as {
            on: Record<string, unknown>;
            jobs: Record<
                string,
                {
                    environment?: string;
                    strategy?: { matrix?: { include?: { dir: string; stack: string }[] } };
                    steps: { uses?: string; with?: Record<string, unknown> }[];
                }
            >;
        };
        expect(Object.keys(wf.on)).toContain("pull_request");
        const job = Object.values(wf.jobs)[0];
        const step = job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
        expect(step.with).toMatchObject({ command: "preview", diff: true, "comment-on-pr": true });
        const matrix = job.strategy!.matrix!.include!;
        const pairs = matrix.map((m) => `${m.dir}:${m.stack}`);
        for (const e of EXAMPLES) for (const s of ["dev", "prod"]) expect(pairs).toContain(`examples/${e}:${s}`);
        expect(pairs).toContain(".:dev");
        expect(pairs).toContain(".:prod");
    });

    test("each stack's job runs in the GitHub environment of that name (prod's approval gate), actions pinned by commit", () => {
        const wf = yaml.load(fs.readFileSync(path.join(REPO, ".github", "workflows", "preview.yml"), "utf8")) as {
            jobs: Record<string, { environment?: string; steps: { uses?: string }[] }>;
        };
        for (const job of Object.values(wf.jobs)) {
            expect(job.environment).toBe("${{ matrix.stack }}");
            const uses = job.steps.map((s) => s.uses).filter((u): u is string => u !== undefined);
            expect(uses.length).toBeGreaterThanOrEqual(3);
            for (const u of uses) expect(u).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
        }
    });
});
