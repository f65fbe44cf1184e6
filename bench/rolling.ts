/**
 * Rolling-update benchmark: 3 app replicas of the three-tier example moved to a new image under the same load
 * (tests/support/load.ts: 4 loops, a new connection per request, on 127.0.0.1), by a real `pulumi up` vs by
 * `docker-compose up -d` with the same images. Reports each one's wall time (until the update has finished and
 * the new image answers) and the requests lost meanwhile.
 *
 * The compose project is compose's best case for this: the three app services share the network alias `app` and
 * nginx re-resolves it through Docker's DNS every second (`resolver 127.0.0.11 valid=1s` and a variable in
 * `proxy_pass`), so recreated containers' new addresses are found without restarting nginx. Compose 1.29 (Debian's)
 * recreates each changed service in place (stop, remove, create, start) and has no rolling update.
 */
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { httpProbeScript } from "../sdk/container";
import { DOCKER_HOST, engine, freePortIn, httpRequest, LoadResult, loadWhile, stackDir } from "../tests/support";

const IMAGE_A = "pdc-example/three-tier-app:latest";
const IMAGE_B = "pdc-bench/three-tier-app:rolled";
const EXAMPLE = path.join(__dirname, "../examples/three-tier");
const env = { ...process.env, DOCKER_HOST, DOCKER_BUILDKIT: "0" };

/** A second image of the same app: the first plus a label, so its id differs. */
function buildImageB(): void {
    execFileSync("docker", ["build", "-q", "-t", IMAGE_B, "-"], {
        env,
        input: `FROM ${IMAGE_A}\nLABEL pdc.bench=rolled\n`,
        stdio: ["pipe", "ignore", "pipe"],
    });
}

function imageId(ref: string): string {
    return execFileSync("docker", ["image", "inspect", "--format", "{{.Id}}", ref], { env, encoding: "utf8" }).trim();
}

/** Until `GET /` answers 200 from a container of `image` (the app reports its instance; the label tells the image). */
async function untilServed(port: number, deadlineMs = 300000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
        const ok = await httpRequest(port, "/").then(
            (r) => r.status === 200,
            () => false,
        );
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`nothing answered on 127.0.0.1:${port} within ${deadlineMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

interface RollResult {
    ms: number;
    load: LoadResult;
    /** Containers of the app running image B afterwards (of 3). */
    onNewImage: number;
}

function runningOn(prefix: string, image: string): number {
    const id = imageId(image);
    const out = execFileSync("docker", ["ps", "--filter", `name=^${prefix}`, "--format", "{{.Names}}"], {
        env,
        encoding: "utf8",
    });
    let n = 0;
    for (const name of out.split("\n").filter((x) => /app/.test(x))) {
        if (
            execFileSync("docker", ["inspect", "--format", "{{.Image}}", name], { env, encoding: "utf8" }).trim() === id
        )
            n++;
    }
    return n;
}

async function engineRoll(): Promise<RollResult> {
    const port = await freePortIn(18000, 18999);
    const dir = stackDir("zd-bench");
    const stack = `zdbench${Date.now().toString(36)}`;
    const request = {
        dir,
        project: "three-tier",
        stack,
        projectFile: path.join(EXAMPLE, "Pulumi.yaml"),
        program: { module: path.join(EXAMPLE, "index.ts") },
    };
    const config = (image: string) => ({
        webPort: { value: String(port) },
        replicas: { value: "3" },
        buildAppImage: { value: "false" },
        appImage: { value: image },
    });
    try {
        const first = await engine({ op: "up", ...request, config: config(IMAGE_A) });
        if (first.error) throw new Error(`pulumi up failed: ${first.error}`);
        await untilServed(port);
        const t = Date.now();
        const { result, load } = await loadWhile(port, engine({ op: "up", ...request, config: config(IMAGE_B) }), {
            concurrency: 4,
            maxSeconds: 600,
        });
        if (result!.error) throw new Error(`pulumi up (new image) failed: ${result!.error}`);
        await untilServed(port);
        return { ms: Date.now() - t, load, onNewImage: runningOn(`three-tier-${stack}-app-`, IMAGE_B) };
    } finally {
        await engine({ op: "destroy", ...request });
        try {
            execFileSync("docker", ["volume", "rm", "-f", `three-tier-${stack}-db-data`], { env, stdio: "ignore" });
        } catch {
            // already gone
        }
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function composeFile(dir: string, port: number): void {
    const migration = fs.readFileSync(path.join(EXAMPLE, "migrations/V1__greeting.sql"), "utf8");
    fs.mkdirSync(path.join(dir, "initdb"), { recursive: true });
    fs.writeFileSync(path.join(dir, "initdb/00-role.sql"), "CREATE ROLE app LOGIN PASSWORD 'app-pw';\n");
    fs.writeFileSync(path.join(dir, "initdb/01-greeting.sql"), migration);
    fs.writeFileSync(
        path.join(dir, "nginx.conf"),
        `events {}\nhttp {\n  resolver 127.0.0.11 valid=1s ipv6=off;\n  server {\n    listen 80;\n` +
            `    location / { set $app http://app:8000; proxy_pass $app; proxy_next_upstream error timeout http_502 http_503; proxy_set_header Host $host; }\n  }\n}\n`,
    );
    const probe = JSON.stringify(["CMD-SHELL", httpProbeScript(8000, "/healthz")]).replace(/\$/g, "$$$$");
    const app = (n: number) => `  app${n}:
    image: \${APP_IMAGE}
    environment: { DATABASE_URL: "postgresql://app:app-pw@postgres:5432/app", PORT: "8000", INSTANCE: "app${n}" }
    networks: { webapp: { aliases: [app] }, appdb: {} }
    depends_on: { postgres: { condition: service_healthy } }
    healthcheck: { test: ${probe}, interval: 1s, timeout: 3s, retries: 5, start_period: 60s }
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
${app(1)}${app(2)}${app(3)}  web:
    image: nginx:stable-bookworm
    volumes: ["./nginx.conf:/etc/nginx/nginx.conf:ro"]
    ports: ["127.0.0.1:${port}:80"]
    networks: [webapp]
    depends_on: { app1: { condition: service_healthy }, app2: { condition: service_healthy }, app3: { condition: service_healthy } }
networks:
  webapp: {}
  appdb: { internal: true }
volumes:
  pgdata: {}
`,
    );
}

function compose(dir: string, project: string, image: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
        execFile(
            "docker-compose",
            ["-p", project, ...args],
            { cwd: dir, env: { ...env, APP_IMAGE: image } },
            (err, _out, stderr) => {
                if (err) reject(new Error(`docker-compose ${args.join(" ")} failed: ${stderr || err.message}`));
                else resolve();
            },
        );
    });
}

async function composeRoll(): Promise<RollResult> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-zd-compose-"));
    const port = await freePortIn(18000, 18999);
    const project = `zdbench${Date.now().toString(36)}`;
    composeFile(dir, port);
    try {
        await compose(dir, project, IMAGE_A, ["up", "-d"]);
        await untilServed(port);
        const t = Date.now();
        const { load } = await loadWhile(
            port,
            compose(dir, project, IMAGE_B, ["up", "-d"]).then(() => untilServed(port)),
            { concurrency: 4, maxSeconds: 600 },
        );
        return { ms: Date.now() - t, load, onNewImage: runningOn(`${project}_app`, IMAGE_B) };
    } finally {
        await compose(dir, project, IMAGE_A, ["down", "-v", "--remove-orphans"]).catch(() => undefined);
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

export async function rollingBenchmark(rounds = Number(process.env.PDC_BENCH_ROLLING_ROUNDS ?? 1)): Promise<void> {
    buildImageB();
    const hasCompose = (() => {
        try {
            execFileSync("docker-compose", ["version"], { stdio: "ignore" });
            return true;
        } catch {
            return false;
        }
    })();
    for (let i = 0; i < rounds; i++) {
        const o = await engineRoll();
        console.log(
            `rolling update of 3 replicas to a new image under load: pulumi up ${o.ms} ms, ${o.load.failed} of ${o.load.requests} requests lost` +
                ` (p50 ${o.load.p50Ms} ms, p99 ${o.load.p99Ms} ms; ${o.onNewImage}/3 on the new image)`,
        );
        if (!hasCompose) {
            console.log(
                "  docker-compose up -d: not measured, docker-compose is not installed (apt-get install docker-compose)",
            );
            continue;
        }
        const c = await composeRoll();
        console.log(
            `  same change by docker-compose up -d: ${c.ms} ms, ${c.load.failed} of ${c.load.requests} requests lost ${JSON.stringify(c.load.failures)}` +
                ` (p50 ${c.load.p50Ms} ms, p99 ${c.load.p99Ms} ms; ${c.onNewImage}/3 on the new image); wall time ratio ${(o.ms / c.ms).toFixed(2)}x`,
        );
    }
}

if (require.main === module) {
    rollingBenchmark().catch((e) => {
        console.error(e);
        process.exit(1);
    });
}
