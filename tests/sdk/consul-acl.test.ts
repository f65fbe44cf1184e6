/**
 * Consul's ACLs at run time (issue 16), on the private Docker engine: Consul 1.14.11 and consul-template 0.42.1
 * built here (tests/infra/build-images.sh), given exactly the files ServiceDiscovery uploads (its ACL config, the
 * token and policy files) and hardened as it runs them; the ACL setup done by ServiceDiscovery's own provider,
 * closure-serialized and driven over gRPC through Pulumi's dynamic-provider host, as `pulumi up` runs it.
 *
 * Then what each caller can do, asserted as Consul 1.14 really answers: anonymous callers (any container on the
 * tier) read an empty catalog and get 403 for writes, keys and ACLs; registrator's token registers, lists and
 * deregisters services and nothing else; consul-template's token reads health and nothing else; consul-template,
 * with its token file as the load balancer hands it over, renders the upstreams and nginx routes. Registrator
 * itself cannot be built here (tests/sdk/discovery-runtime.test.ts): its registration is made over the API with its
 * token, as its Consul client makes it.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    CONSUL_ACL_DIR,
    CONSUL_ACL_ROLES,
    CONSUL_ENV,
    CONSUL_PROFILE,
    CONSUL_MANAGEMENT_TOKEN_FILE,
    CONSUL_TEMPLATE_DIR,
    CONSUL_TEMPLATE_PROFILE,
    CONSUL_TEMPLATE_TOKEN_FILE,
    consulAclPolicies,
    consulAclSetupScript,
    consulAgentCommand,
    consulHealthTest,
    consulPolicyFile,
    consulTokenFile,
    containerSettings,
    DEFAULT_CONSUL_MEMORY_MB,
    discoveryLabels,
    NGINX_CONF_PATH,
    renderConsulAclConfig,
    renderConsulTemplateConfig,
    renderNginxConf,
    renderUpstreamsFromInstances,
    renderUpstreamsTemplate,
    UPSTREAMS_DIR,
    UPSTREAMS_FILE,
} from "../../sdk";
import { containerFlags } from "../support/container-flags";
import { consulModeNginxCreateArgs } from "../support/watched-nginx";
import { DOCKER_HOST, dockerCli } from "../support/docker-api";
import { execIn, httpRequest } from "../support/http";
import { freePort } from "../support/net";
import { ProviderHost } from "../support/provider-host";

jest.setTimeout(240000);

const CONSUL_IMAGE = process.env.PDC_CONSUL_IMAGE ?? "pdc/consul:1.14.11";
const CONSUL_TEMPLATE_IMAGE = process.env.PDC_CONSUL_TEMPLATE_IMAGE ?? "pdc/consul-template:0.42.1";
const NGINX_IMAGE = "pdc/nginx:bookworm";
const APP_IMAGE = "pdc-example/rails-consul-frontend:latest";
const P = `acl${process.pid}`;
const NET = `${P}-app`;
const ACL_VOLUME = `${P}-consul-acl`;
const UPSTREAMS_VOLUME = `${P}-upstreams`;
const CONFIG_VOLUME = `${P}-config`;
const CONSUL = `${P}-consul`;
const LB = `${P}-lb`;
const CT = `${P}-consul-template`;
const REPLICA = `${P}-frontend-r0`;
const APP_PORT = 8000;
const UPSTREAMS = [{ name: "frontend", service: "frontend" }];
const TOKENS = {
    management: crypto.randomUUID(),
    agent: crypto.randomUUID(),
    registrator: crypto.randomUUID(),
    "consul-template": crypto.randomUUID(),
};
const work = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-acl-"));
const host = new ProviderHost("consul-acl");
let consulPort = 0;
let webPort = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const v = await probe();
            if (v !== undefined) return v;
        } catch (e) {
            last = e;
        }
        if (Date.now() > deadline)
            throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ""}`);
        await sleep(200);
    }
}

/** One call to Consul's HTTP API with `token` ("" = anonymous): status and body. */
async function consul(token: string, method: string, pathname: string, body?: unknown) {
    const r = await httpRequest(consulPort, pathname, {
        method,
        headers: { ...(token ? { "X-Consul-Token": token } : {}), "Content-Type": "application/json" },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: r.body };
}

/** The registration registrator makes for the replica (tests/sdk/discovery-runtime.test.ts's `register`). */
function registration(id: string, address = "frontend-r0") {
    return {
        ID: id,
        Name: "frontend",
        Tags: ["frontend"],
        Address: address,
        Port: APP_PORT,
        Check: { HTTP: `http://${address}:${APP_PORT}/healthz`, Interval: "5s", Timeout: "3s" },
    };
}

/** The ACL setup's inputs, as ServiceDiscovery gives them to its ConsulAclSetup. */
const setupInputs = (trigger: string) => ({
    container: CONSUL,
    script: consulAclSetupScript(),
    policies: { ...consulAclPolicies("consul") },
    timeoutSeconds: 60,
    dockerHost: DOCKER_HOST,
    triggers: [trigger],
});

/** Consul created as ServiceDiscovery creates it with ACLs, its uploads in place, started. */
async function startConsul(): Promise<void> {
    await dockerCli([
        "create",
        "--name",
        CONSUL,
        "--network",
        NET,
        "--network-alias",
        "consul",
        ...CONSUL_ENV.flatMap((e) => ["-e", e]),
        "-p",
        `127.0.0.1:${consulPort}:8500`,
        "-v",
        `${ACL_VOLUME}:${CONSUL_ACL_DIR}`,
        ...containerFlags(containerSettings(undefined, undefined, CONSUL_PROFILE), {
            memoryMb: DEFAULT_CONSUL_MEMORY_MB,
        }),
        CONSUL_IMAGE,
        ...consulAgentCommand("consul", "dc1", true),
    ]);
    // ServiceDiscovery's uploads (mode 0444), into the volume: Docker refuses uploads into the read-only root.
    const dir = path.join(work, "acl");
    fs.mkdirSync(dir, { recursive: true });
    const policies = consulAclPolicies("consul");
    const files: Record<string, string> = {
        [path.basename("/consul/acl/acl.hcl")]: renderConsulAclConfig(TOKENS.management, TOKENS.agent),
        [path.basename(CONSUL_MANAGEMENT_TOKEN_FILE)]: TOKENS.management,
    };
    for (const role of CONSUL_ACL_ROLES) {
        files[path.basename(consulTokenFile(role))] = TOKENS[role];
        files[path.basename(consulPolicyFile(role))] = policies[role];
    }
    for (const [f, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), content, { mode: 0o444 });
    await dockerCli(["cp", `${dir}/.`, `${CONSUL}:${CONSUL_ACL_DIR}/`]);
    await dockerCli(["start", CONSUL]);
    await until("Consul elects a leader", async () => {
        const r = await consul("", "GET", "/v1/status/leader");
        return r.status === 200 && r.body.length > 2 ? true : undefined;
    });
}

beforeAll(async () => {
    for (const image of [CONSUL_IMAGE, CONSUL_TEMPLATE_IMAGE, NGINX_IMAGE, APP_IMAGE])
        await dockerCli(["image", "inspect", image]).catch(() => {
            throw new Error(`image ${image} is missing: run tests/infra/build-images.sh (scripts/setup.sh does)`);
        });
    consulPort = await freePort();
    webPort = await freePort();
    await host.start();
    await dockerCli(["network", "create", NET]);
    for (const v of [ACL_VOLUME, UPSTREAMS_VOLUME, CONFIG_VOLUME]) await dockerCli(["volume", "create", v]);
    await startConsul();
    await dockerCli([
        "run",
        "-d",
        "--name",
        REPLICA,
        "--network",
        NET,
        "--network-alias",
        "frontend",
        "--network-alias",
        "frontend-r0",
        "-e",
        "INSTANCE=frontend-r0",
        "-e",
        `PORT=${APP_PORT}`,
        ...Object.entries(discoveryLabels("frontend", APP_PORT, ["frontend"], "/healthz", "frontend-r0")).flatMap(
            ([k, v]) => ["--label", `${k}=${v}`],
        ),
        APP_IMAGE,
    ]);
}, 180000);

afterAll(async () => {
    await host.stop();
    const names = (await dockerCli(["ps", "-aq", "--filter", `name=^${P}-`]).catch(() => ""))
        .split("\n")
        .filter(Boolean);
    if (names.length) await dockerCli(["rm", "-f", "-v", ...names]).catch(() => undefined);
    await dockerCli(["volume", "rm", "-f", ACL_VOLUME, UPSTREAMS_VOLUME, CONFIG_VOLUME]).catch(() => undefined);
    await dockerCli(["network", "rm", NET]).catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
}, 120000);

describe("Consul with ServiceDiscovery's ACLs (Consul 1.14.11, consul-template 0.42.1)", () => {
    it("the health check needs the management token's file (anonymous lacks operator:read), and passes with it", async () => {
        const [, ...withToken] = consulHealthTest(true);
        const [, ...without] = consulHealthTest(false);
        expect(await execIn(CONSUL, withToken.join(" "))).toMatchObject({ code: 0 });
        const anonymous = await execIn(CONSUL, `${without.join(" ")} 2>&1; echo "exit=$?"`);
        expect(anonymous.output).toMatch(/lacks permission 'operator:read'[^]*exit=1/);
    });

    it("the setup provider (serialized, over gRPC) creates each policy and token; run again, it changes nothing", async () => {
        const { inputs, failures } = await host.check({}, setupInputs("c1"));
        expect(failures).toEqual([]);
        const t0 = Date.now();
        const { id } = await host.create(inputs);
        expect(id).toMatch(/^consul-acl-/);
        const tookMs = Date.now() - t0;
        expect(tookMs).toBeLessThan(60000);
        const before = await consul(TOKENS.management, "GET", "/v1/acl/tokens");
        await host.create(inputs);
        expect((await consul(TOKENS.management, "GET", "/v1/acl/tokens")).body).toBe(before.body);

        const policies = JSON.parse((await consul(TOKENS.management, "GET", "/v1/acl/policies")).body) as {
            Name: string;
        }[];
        expect(policies.map((p) => p.Name).sort()).toEqual([
            "agent",
            "builtin/global-read-only",
            "consul-template",
            "global-management",
            "registrator",
        ]);
        for (const role of CONSUL_ACL_ROLES) {
            const self = await consul(TOKENS[role], "GET", "/v1/acl/token/self");
            expect(self.status).toBe(200);
            expect(JSON.parse(self.body).Policies.map((p: { Name: string }) => p.Name)).toEqual([role]);
            const rules = JSON.parse((await consul(TOKENS.management, "GET", `/v1/acl/policy/name/${role}`)).body);
            expect(rules.Rules).toBe(consulAclPolicies("consul")[role]);
        }
        // A script that fails: the provider reports its output and the fix, within its timeout.
        const bad = await host.check(
            {},
            { ...setupInputs("c1"), script: "echo no such thing >&2; exit 3", timeoutSeconds: 2 },
        );
        await expect(host.create(bad.inputs)).rejects.toThrow(
            /ACL setup in container .* did not succeed within 2s \(last attempt: exit 3: no such thing\); check the Consul container's logs, or set the ServiceDiscovery's acl: false/,
        );
    });

    it("registrator's token registers, lists and deregisters services, and nothing else", async () => {
        const id = `${P}:probe:8000`;
        expect((await consul(TOKENS.registrator, "PUT", "/v1/agent/service/register", registration(id))).status).toBe(
            200,
        );
        const listed = await consul(TOKENS.registrator, "GET", "/v1/agent/services");
        expect(listed.status).toBe(200);
        expect(Object.keys(JSON.parse(listed.body))).toContain(id);
        expect(
            (await consul(TOKENS.registrator, "PUT", `/v1/agent/service/deregister/${encodeURIComponent(id)}`)).status,
        ).toBe(200);
        for (const [method, p, body] of [
            ["GET", "/v1/kv/anything", undefined],
            ["PUT", "/v1/kv/anything", "x"],
            ["PUT", "/v1/acl/policy", { Name: "mine", Rules: 'key_prefix "" { policy = "write" }' }],
            ["GET", "/v1/acl/tokens", undefined],
            ["GET", "/v1/operator/raft/configuration", undefined],
        ] as const) {
            const r = await consul(TOKENS.registrator, method, p, body);
            expect({ method, p, status: r.status }).toEqual({ method, p, status: 403 });
            expect(r.body).toMatch(/Permission denied/);
        }
    });

    it("anonymous callers on the tier: an empty catalog and health, 403 for registering, keys and ACLs", async () => {
        // The replica registered, as registrator does, and passing: there is something to hide.
        await consul(TOKENS.registrator, "PUT", "/v1/agent/service/register", registration(`${P}:${REPLICA}:8000`));
        await until("the replica passes its check", async () => {
            const r = await consul(TOKENS["consul-template"], "GET", "/v1/health/service/frontend?passing=true");
            return JSON.parse(r.body).length === 1 ? true : undefined;
        });
        expect(await consul("", "GET", "/v1/catalog/services")).toEqual({ status: 200, body: "{}" });
        expect(await consul("", "GET", "/v1/health/service/frontend?passing=true")).toEqual({
            status: 200,
            body: "[]",
        });
        expect(await consul("", "GET", "/v1/agent/services")).toEqual({ status: 200, body: "{}" });
        for (const [method, p, body] of [
            ["PUT", "/v1/agent/service/register", registration("rogue", "x; } server { listen 80; }")],
            ["PUT", "/v1/agent/service/register", registration("rogue", "attacker")],
            ["PUT", `/v1/agent/service/deregister/${encodeURIComponent(`${P}:${REPLICA}:8000`)}`, undefined],
            ["GET", "/v1/kv/anything", undefined],
            ["PUT", "/v1/kv/anything", "x"],
            ["GET", "/v1/acl/policies", undefined],
        ] as const) {
            const r = await consul("", method, p, body);
            expect({ method, p, status: r.status }).toEqual({ method, p, status: 403 });
        }
        // The same from a container on the app tier, by Consul's name there, as an app replica would try it.
        const probe = await dockerCli([
            "run",
            "--rm",
            "--network",
            NET,
            "--entrypoint",
            "sh",
            CONSUL_IMAGE,
            "-c",
            "export CONSUL_HTTP_ADDR=consul:8500; echo catalog:$(consul catalog services 2>&1 | tr '\\n' ' ');" +
                " echo register:$(consul services register -name=frontend -address=attacker -port=80 2>&1 | tr '\\n' ' ');" +
                " echo kv:$(consul kv get anything 2>&1 | tr '\\n' ' '); true",
        ]);
        const lines = Object.fromEntries(
            probe
                .trim()
                .split("\n")
                .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
        );
        expect(lines.catalog).toBe("No services match the given query - try expanding your search.");
        expect(lines.register).toMatch(/403.*Permission denied.*service:write/);
        expect(lines.kv).toMatch(/403/);
        const healthy = JSON.parse(
            (await consul(TOKENS["consul-template"], "GET", "/v1/health/service/frontend?passing=true")).body,
        );
        expect(healthy.map((e: { Service: { Address: string } }) => e.Service.Address)).toEqual(["frontend-r0"]);
    });

    it("consul-template's token reads health and nothing else", async () => {
        const health = await consul(TOKENS["consul-template"], "GET", "/v1/health/service/frontend");
        expect(health.status).toBe(200);
        expect(JSON.parse(health.body)).toHaveLength(1);
        for (const [method, p, body] of [
            ["PUT", "/v1/agent/service/register", registration("rogue", "attacker")],
            ["PUT", `/v1/agent/service/deregister/${encodeURIComponent(`${P}:${REPLICA}:8000`)}`, undefined],
            ["GET", "/v1/kv/anything", undefined],
            ["GET", "/v1/acl/tokens", undefined],
        ] as const) {
            const r = await consul(TOKENS["consul-template"], method, p, body);
            expect({ method, p, status: r.status }).toEqual({ method, p, status: 403 });
        }
    });

    it("consul-template with its token file (as the load balancer hands it over) renders the upstreams and nginx routes; without a token it sees nothing", async () => {
        const nginxConf = renderNginxConf({
            listenPort: 80,
            serverName: "_",
            user: "nginx",
            upstreams: { include: `${UPSTREAMS_DIR}/*.conf` },
            locations: [{ path: "/", upstream: "frontend" }],
            clientMaxBodySize: "1m",
            healthPath: "/nginx-health",
            mimeTypes: "/etc/nginx/mime.types",
            errorLog: "/var/log/nginx/error.log",
            accessLog: "/var/log/nginx/access.log",
        });
        await dockerCli(
            consulModeNginxCreateArgs({
                name: LB,
                network: NET,
                webPort,
                configVolume: CONFIG_VOLUME,
                upstreamsVolume: UPSTREAMS_VOLUME,
                image: NGINX_IMAGE,
            }),
        );
        const lbDir = path.join(work, "lb");
        fs.mkdirSync(path.join(lbDir, "conf"), { recursive: true });
        fs.mkdirSync(path.join(lbDir, "upstreams"), { recursive: true });
        fs.writeFileSync(path.join(lbDir, "conf", "nginx.conf"), nginxConf);
        fs.writeFileSync(path.join(lbDir, "upstreams", "upstreams.conf"), renderUpstreamsFromInstances(UPSTREAMS, {}));
        await dockerCli(["cp", path.join(lbDir, "conf", "nginx.conf"), `${LB}:${NGINX_CONF_PATH}`]);
        await dockerCli(["cp", path.join(lbDir, "upstreams", "upstreams.conf"), `${LB}:${UPSTREAMS_FILE}`]);
        await dockerCli(["start", LB]);

        // The sidecar's uploads: config (naming the token file), template, token (0400, root's).
        const ctDir = path.join(work, "consul-template");
        fs.mkdirSync(ctDir);
        const config = renderConsulTemplateConfig({
            consulAddress: "consul:8500",
            tokenFile: CONSUL_TEMPLATE_TOKEN_FILE,
            source: `${CONSUL_TEMPLATE_DIR}/upstreams.conf.ctmpl`,
            destination: UPSTREAMS_FILE,
            command: "kill -HUP 1",
            waitMin: "1s",
            waitMax: "5s",
        });
        expect(config).not.toContain(TOKENS["consul-template"]);
        fs.writeFileSync(path.join(ctDir, "config.hcl"), config);
        fs.writeFileSync(path.join(ctDir, "upstreams.conf.ctmpl"), renderUpstreamsTemplate(UPSTREAMS));
        fs.writeFileSync(path.join(ctDir, path.basename(CONSUL_TEMPLATE_TOKEN_FILE)), TOKENS["consul-template"], {
            mode: 0o400,
        });
        await dockerCli([
            "create",
            "--name",
            CT,
            "--network",
            NET,
            "--pid",
            `container:${LB}`,
            "--user",
            "root",
            "-v",
            `${UPSTREAMS_VOLUME}:${UPSTREAMS_DIR}`,
            ...containerFlags(containerSettings(undefined, undefined, CONSUL_TEMPLATE_PROFILE)),
            "--entrypoint",
            "consul-template",
            CONSUL_TEMPLATE_IMAGE,
            `-config=${CONSUL_TEMPLATE_DIR}/config.hcl`,
        ]);
        await dockerCli(["cp", ctDir, `${CT}:${CONSUL_TEMPLATE_DIR}`]);
        await dockerCli(["start", CT]);

        const expected = renderUpstreamsFromInstances(UPSTREAMS, {
            frontend: [{ address: "frontend-r0", port: APP_PORT }],
        });
        await until("consul-template renders the healthy replica", async () =>
            (await execIn(LB, `cat ${UPSTREAMS_FILE}`)).output === expected ? true : undefined,
        );
        const page = await until("nginx routes to frontend-r0", async () => {
            const r = await httpRequest(webPort, "/healthz");
            return r.status === 200 && r.headers["x-instance"] === "frontend-r0" ? r : undefined;
        });
        expect(page.status).toBe(200);

        // The same template rendered once without a token: Consul shows no instance, every upstream is down.
        const anonymous = await dockerCli([
            "run",
            "--rm",
            "--network",
            NET,
            "-v",
            `${UPSTREAMS_VOLUME}:${UPSTREAMS_DIR}:ro`,
            "--entrypoint",
            "consul-template",
            CONSUL_TEMPLATE_IMAGE,
            "-consul-addr=consul:8500",
            `-template=${CONSUL_TEMPLATE_DIR}/upstreams.conf.ctmpl:/tmp/out.conf`,
            "-once",
            "-dry",
        ]);
        expect(anonymous).toContain(renderUpstreamsFromInstances(UPSTREAMS, {}).trim());
        expect(anonymous).not.toContain("frontend-r0");
    });

    it("a replaced Consul (new, empty data) gets the same tokens back when the setup runs again, so clients keep theirs", async () => {
        await dockerCli(["rm", "-f", "-v", CONSUL]);
        await startConsul();
        // Before the setup, registrator's token is unknown to the new Consul.
        expect(
            (await consul(TOKENS.registrator, "PUT", "/v1/agent/service/register", registration(`${P}:again:8000`)))
                .status,
        ).toBe(403);
        const { inputs } = await host.check({}, setupInputs("c2"));
        await host.create(inputs);
        expect(
            (await consul(TOKENS.registrator, "PUT", "/v1/agent/service/register", registration(`${P}:again:8000`)))
                .status,
        ).toBe(200);
        expect(
            JSON.parse((await consul(TOKENS["consul-template"], "GET", "/v1/health/service/frontend")).body),
        ).toHaveLength(1);
    });
});
