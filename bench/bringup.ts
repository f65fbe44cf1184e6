/**
 * Bring-up benchmark: the three-tier example by a real `pulumi up` (the CLI and plugins of scripts/pulumi.sh, the
 * program served inline through the Automation API, a new stack on a file backend) vs `docker-compose up -d` of an
 * equivalent compose file using the same images, both until the app answers through nginx. Debian's
 * docker-compose is 1.29 (no `--wait`), so after `up -d` (which honours `depends_on: condition: service_healthy`)
 * the clock runs until nginx answers 200 with the app's JSON, the same end point as for `pulumi up`.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { httpProbeScript } from "../sdk/container";
import { DOCKER_HOST, engine, freePort, httpRequest, stackDir } from "../tests/support";

const APP_IMAGE = "pdc-example/three-tier-app:latest";

async function untilAnswers(port: number, deadlineMs = 300000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
        const ok = await httpRequest(port, "/").then(
            (r) => r.status === 200 && r.body.includes("greeting"),
            () => false,
        );
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`nothing answered on 127.0.0.1:${port} within ${deadlineMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

/** A compose project equivalent to the three-tier program: same images, networks, health checks and intervals. */
function composeProject(dir: string, port: number): void {
    const migration = fs.readFileSync(
        path.join(__dirname, "../examples/three-tier/migrations/V1__greeting.sql"),
        "utf8",
    );
    fs.mkdirSync(path.join(dir, "initdb"), { recursive: true });
    fs.writeFileSync(path.join(dir, "initdb/00-role.sql"), "CREATE ROLE app LOGIN PASSWORD 'app-pw';\n");
    fs.writeFileSync(path.join(dir, "initdb/01-greeting.sql"), migration);
    fs.writeFileSync(
        path.join(dir, "nginx.conf"),
        `events {}\nhttp {\n  upstream app { server app1:8000; server app2:8000; }\n  server {\n    listen 80;\n    location /nginx-health { return 200 "ok\\n"; }\n` +
            `    location / { proxy_pass http://app; proxy_set_header Host $host; proxy_set_header X-Real-IP $remote_addr; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }\n  }\n}\n`,
    );
    // Compose interpolates "$": escape it as "$$".
    const probe = (p: number, route: string) =>
        JSON.stringify(["CMD-SHELL", httpProbeScript(p, route)]).replace(/\$/g, "$$$$");
    const app = (n: number) => `  app${n}:
    image: ${APP_IMAGE}
    environment: { DATABASE_URL: "postgresql://app:app-pw@postgres:5432/app", PORT: "8000", INSTANCE: "app${n}" }
    networks: [webapp, appdb]
    depends_on: { postgres: { condition: service_healthy } }
    healthcheck: { test: ${probe(8000, "/healthz")}, interval: 2s, timeout: 3s, retries: 5, start_period: 60s }
`;
    fs.writeFileSync(
        path.join(dir, "docker-compose.yml"),
        `version: "2.4"
services:
  postgres:
    image: postgres:15-bookworm
    environment: { POSTGRES_USER: postgres, POSTGRES_PASSWORD: admin-pw, POSTGRES_DB: app }
    volumes: ["./initdb:/docker-entrypoint-initdb.d:ro", "pgdata:/var/lib/postgresql/data"]
    networks: [appdb]
    healthcheck: { test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U postgres -d app"], interval: 1s, timeout: 3s, retries: 5, start_period: 120s }
${app(1)}${app(2)}  web:
    image: nginx:stable-bookworm
    volumes: ["./nginx.conf:/etc/nginx/nginx.conf:ro"]
    ports: ["127.0.0.1:${port}:80"]
    networks: [webapp]
    depends_on: { app1: { condition: service_healthy }, app2: { condition: service_healthy } }
networks:
  webapp: {}
  appdb: { internal: true }
volumes:
  pgdata: {}
`,
    );
}

function compose(dir: string, project: string, args: string[]): void {
    try {
        execFileSync("docker-compose", ["-p", project, ...args], {
            cwd: dir,
            env: { ...process.env, DOCKER_HOST },
            stdio: ["ignore", "ignore", "pipe"],
        });
    } catch (e) {
        throw new Error(
            `docker-compose ${args.join(" ")} failed: ${(e as { stderr?: Buffer }).stderr?.toString() ?? e}`,
        );
    }
}

async function composeRun(): Promise<number> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-compose-"));
    const port = await freePort();
    const project = `bench${Date.now().toString(36)}`;
    composeProject(dir, port);
    const t = Date.now();
    try {
        compose(dir, project, ["up", "-d"]);
        await untilAnswers(port);
        return Date.now() - t;
    } finally {
        compose(dir, project, ["down", "-v", "--remove-orphans"]);
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

interface EngineRun {
    ms: number;
    phases: Record<string, [number, number]>;
}

const EXAMPLE = path.join(__dirname, "../examples/three-tier");

async function engineRun(): Promise<EngineRun> {
    const port = await freePort();
    const dir = stackDir("bench");
    const stack = `bench${Date.now().toString(36)}`;
    const request = {
        dir,
        project: "three-tier",
        stack,
        projectFile: path.join(EXAMPLE, "Pulumi.yaml"),
        program: { module: path.join(EXAMPLE, "index.ts") },
    };
    const config = {
        webPort: { value: String(port) },
        replicas: { value: "2" },
        buildAppImage: { value: "false" },
        appImage: { value: APP_IMAGE },
    };
    const t = Date.now();
    try {
        const r = await engine({ op: "up", ...request, config });
        const returned = Date.now() - t;
        if (r.error) throw new Error(`pulumi up failed: ${r.error}`);
        await untilAnswers(port);
        const ms = Date.now() - t;
        // The up's own clock starts after the client's start-up and stack selection: shift it onto this one.
        const shift = returned - (r.totalMs ?? 0);
        const at = (name: string): [number, number] => {
            const span = r.timeline?.[name];
            return span ? [span[0] + shift, span[1] + shift] : [NaN, NaN];
        };
        const spanOf = (re: RegExp): [number, number] => {
            const hits = Object.entries(r.timeline ?? {})
                .filter(([n]) => re.test(n))
                .map(([, v]) => v);
            return [Math.min(...hits.map((h) => h[0])) + shift, Math.max(...hits.map((h) => h[1])) + shift];
        };
        return {
            ms,
            phases: {
                "client start, stack select, config": [0, shift],
                "engine start (CLI)": at("(engine started)"),
                "all resource steps": spanOf(/^(?!\(engine started\)|three-tier-)/),
                networks: spanOf(/^net-|^db-admin$/),
                "postgres ready": at("db-server"),
                bootstrap: at("db-bootstrap"),
                "app start": spanOf(/^app-r\d+-[0-9a-f]{8}(-healthy)?$/),
                "nginx + readiness": spanOf(/^web-(nginx|ready)$/),
            },
        };
    } finally {
        await engine({ op: "destroy", ...request });
        try {
            execFileSync("docker", ["volume", "rm", "-f", `three-tier-${stack}-db-data`], {
                env: { ...process.env, DOCKER_HOST },
                stdio: "ignore",
            });
        } catch {
            // already gone
        }
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function bringupBenchmark(rounds = 5): Promise<void> {
    const ours: EngineRun[] = [];
    const theirs: number[] = [];
    // Alternate so that caches and background load affect both the same way.
    for (let i = 0; i < rounds; i++) {
        ours.push(await engineRun());
        theirs.push(await composeRun());
    }
    const o = median(ours.map((r) => r.ms));
    const c = median(theirs);
    const verdict = o / c <= 1.0 ? "meets" : "MISSES";
    console.log(
        `three-tier bring-up until the app answers through nginx: pulumi up ${o} ms vs docker-compose up -d ${c} ms = ${(o / c).toFixed(2)}x (target <= 1.0x, ${verdict})`,
    );
    const typical = ours.find((r) => r.ms === o)!;
    for (const [phase, [a, b]] of Object.entries(typical.phases)) console.log(`  ${phase}: ${a}-${b} ms (${b - a} ms)`);
    console.log(`  runs: pulumi up ${ours.map((r) => r.ms).join(", ")} ms; compose ${theirs.join(", ")} ms`);
}

if (require.main === module) {
    bringupBenchmark().catch((e) => {
        console.error(e);
        process.exit(1);
    });
}
