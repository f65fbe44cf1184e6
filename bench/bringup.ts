/**
 * Bring-up benchmark (issue: bring the examples up on a real Docker engine): the three-tier example through the
 * bring-up harness vs `docker-compose up -d` of an equivalent compose file using the same images, both until the
 * app answers through nginx. Debian's docker-compose is 1.29 (no `--wait`), so after `up -d` (which honours
 * `depends_on: condition: service_healthy`) the clock runs until nginx answers 200 with the app's JSON, which is
 * the same end point as for the harness.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import program = require("../examples/three-tier");
import { httpProbeScript } from "../sdk/container";
import { bringUp, freshStack } from "../tests/bringup/harness";
import { DOCKER_HOST } from "../tests/bringup/docker-api";
import { freePort, httpRequest } from "../tests/bringup/support";

const APP_IMAGE = "pdc-example/three-tier-app:latest";

async function untilAnswers(port: number, deadlineMs = 300000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
        const ok = await httpRequest(port, "/").then((r) => r.status === 200 && r.body.includes("greeting"), () => false);
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`nothing answered on 127.0.0.1:${port} within ${deadlineMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

/** A compose project equivalent to the three-tier program: same images, networks, health checks and intervals. */
function composeProject(dir: string, port: number): void {
    const migration = fs.readFileSync(path.join(__dirname, "../examples/three-tier/migrations/V1__greeting.sql"), "utf8");
    fs.mkdirSync(path.join(dir, "initdb"), { recursive: true });
    fs.writeFileSync(path.join(dir, "initdb/00-role.sql"), "CREATE ROLE app LOGIN PASSWORD 'app-pw';\n");
    fs.writeFileSync(path.join(dir, "initdb/01-greeting.sql"), migration);
    fs.writeFileSync(
        path.join(dir, "nginx.conf"),
        `events {}\nhttp {\n  upstream app { server app1:8000; server app2:8000; }\n  server {\n    listen 80;\n    location /nginx-health { return 200 "ok\\n"; }\n` +
            `    location / { proxy_pass http://app; proxy_set_header Host $host; proxy_set_header X-Real-IP $remote_addr; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }\n  }\n}\n`,
    );
    // Compose interpolates "$": escape it as "$$".
    const probe = (p: number, route: string) => JSON.stringify(["CMD-SHELL", httpProbeScript(p, route)]).replace(/\$/g, "$$$$");
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
        execFileSync("docker-compose", ["-p", project, ...args], { cwd: dir, env: { ...process.env, DOCKER_HOST }, stdio: ["ignore", "ignore", "pipe"] });
    } catch (e) {
        throw new Error(`docker-compose ${args.join(" ")} failed: ${(e as { stderr?: Buffer }).stderr?.toString() ?? e}`);
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

interface HarnessRun {
    ms: number;
    phases: Record<string, [number, number]>;
}

async function harnessRun(): Promise<HarnessRun> {
    const port = await freePort();
    const t = Date.now();
    const { cluster } = await bringUp(() => program.threeTier({ ...program.defaults, webPort: port, replicas: 2, buildAppImage: false, appImage: APP_IMAGE }), {
        project: "three-tier",
        stack: freshStack("bench"),
    });
    try {
        await untilAnswers(port);
        const ms = Date.now() - t;
        const span = (re: RegExp): [number, number] => {
            const hits = cluster.timeline.filter((e) => re.test(e.resource));
            return [Math.min(...hits.map((e) => e.startMs)), Math.max(...hits.map((e) => e.endMs))];
        };
        return { ms, phases: { "postgres ready": span(/^db-server$/), bootstrap: span(/^db-bootstrap$/), "app start": span(/^app-r\d+$/), "nginx + readiness": span(/^web-(nginx|ready)$/) } };
    } finally {
        await cluster.teardown(true);
    }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function bringupBenchmark(rounds = 5): Promise<void> {
    const ours: HarnessRun[] = [];
    const theirs: number[] = [];
    // Alternate so that caches and background load affect both the same way.
    for (let i = 0; i < rounds; i++) {
        ours.push(await harnessRun());
        theirs.push(await composeRun());
    }
    const o = median(ours.map((r) => r.ms));
    const c = median(theirs);
    const verdict = o / c <= 0.8 ? "meets" : "MISSES";
    console.log(`three-tier bring-up until the app answers through nginx: harness ${o} ms vs docker-compose up -d ${c} ms = ${(o / c).toFixed(2)}x (target <= 0.8x, ${verdict})`);
    const typical = ours.find((r) => r.ms === o)!;
    for (const [phase, [a, b]] of Object.entries(typical.phases)) console.log(`  ${phase}: ${a}-${b} ms (${b - a} ms)`);
    console.log(`  runs: harness ${ours.map((r) => r.ms).join(", ")} ms; compose ${theirs.join(", ")} ms`);
}

if (require.main === module) {
    bringupBenchmark().catch((e) => {
        console.error(e);
        process.exit(1);
    });
}
