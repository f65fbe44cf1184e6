/**
 * Security and operations defaults of every container the components make (issue 16): bounded logs,
 * no-new-privileges, the hardening and memory limits of nginx and the sidecars; the container pass-through on each
 * component, overriding those defaults and refusing what the component sets itself, naming the argument to use.
 */
import {
    AppServerPool,
    ArgumentError,
    CONSUL_PROFILE,
    CONSUL_TEMPLATE_PROFILE,
    containerSettings,
    NginxLoadBalancer,
    NGINX_PROFILE,
    PostgresCluster,
    REGISTRATOR_PROFILE,
    Service,
    ServiceDiscovery,
    TieredNetwork,
} from "../../sdk";
import type { NginxLoadBalancerArgs, ServiceDiscoveryArgs } from "../../sdk";
import { generationless, runProgram, thrownBy } from "../support/graph";

const BOUNDED_LOGS = { logDriver: "json-file", logOpts: { "max-size": "10m", "max-file": "3" } };

/** Every component, consul-template mode (so every kind of container exists), with per-component extras. */
function cluster(
    extra: {
        lb?: Partial<NginxLoadBalancerArgs>;
        sd?: Partial<ServiceDiscoveryArgs>;
    } = {},
) {
    const network = new TieredNetwork("net");
    const db = new PostgresCluster("db", { network });
    const discovery = new ServiceDiscovery("sd", { network, ...extra.sd });
    const app = new AppServerPool("app", { network, image: "sha256:appimage", database: db, discovery });
    const svc = new Service("cache", { network, image: "memcached:1.6" });
    const lb = new NginxLoadBalancer("lb", {
        network,
        mode: "consul-template",
        discovery,
        routes: [{ path: "/", pool: app }],
        ...extra.lb,
    });
    return { network, db, discovery, app, svc, lb };
}

/** The message of what `construct` throws, run as a program (fails the test when it is not an ArgumentError). */
async function refusal(construct: () => unknown): Promise<string> {
    const { result } = await runProgram(() => thrownBy(construct));
    expect(result).toBeInstanceOf(ArgumentError);
    return (result as Error).message;
}

describe("defaults on every container", () => {
    test("bounded json-file logs and no-new-privileges on each one (files containers, never started, excepted)", async () => {
        const { graph } = await runProgram(() => cluster());
        const running = graph.containers().filter((c) => c.inputs.start !== false);
        expect(running.map((c) => generationless(c.name)).sort()).toEqual([
            "app-r0",
            "app-r1",
            "cache-r0",
            "db-server",
            "lb-consul-template",
            "lb-nginx",
            "sd-consul",
            "sd-registrator",
        ]);
        for (const c of running) {
            const { logDriver, logOpts, securityOpts } = c.inputs;
            expect({ container: c.name, logDriver, logOpts, securityOpts }).toEqual({
                container: c.name,
                ...BOUNDED_LOGS,
                securityOpts: ["no-new-privileges:true"],
            });
        }
    });

    test("Postgres, the replicas and a Service: logs and no-new-privileges only (capabilities and root as Docker's)", async () => {
        const { graph } = await runProgram(() => cluster());
        for (const name of ["db-server", "app-r0", "cache-r0"]) {
            const i = graph.get(name).inputs;
            expect([name, i.readOnly, i.capabilities, i.tmpfs, i.memory]).toEqual([
                name,
                undefined,
                undefined,
                undefined,
                undefined,
            ]);
        }
    });

    test("nginx: read-only root, tmpfs where it writes, four capabilities", async () => {
        const { graph } = await runProgram(() => cluster());
        expect(graph.get("lb-nginx").inputs).toMatchObject({
            readOnly: true,
            tmpfs: { "/var/cache/nginx": "", "/var/lib/nginx": "", "/run": "" },
            capabilities: {
                drops: ["ALL"],
                adds: ["CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"],
            },
        });
        // No default memory limit on nginx itself: its need grows with traffic (`resources` sets one).
        expect(graph.get("lb-nginx").inputs.memory).toBeUndefined();
    });

    test("sidecars: read-only root, /tmp tmpfs, reduced capabilities, memory limits (no swap)", async () => {
        const { graph } = await runProgram(() => cluster());
        expect(graph.get("lb-consul-template").inputs).toMatchObject({
            readOnly: true,
            tmpfs: { "/tmp": "" },
            capabilities: { drops: ["ALL"] },
            memory: 64,
            memorySwap: 64,
        });
        expect(graph.get("lb-consul-template").inputs.capabilities.adds).toBeUndefined();
        expect(graph.get("sd-consul").inputs).toMatchObject({
            readOnly: true,
            tmpfs: { "/tmp": "" },
            capabilities: { drops: ["ALL"], adds: ["CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"] },
            memory: 256,
            memorySwap: 256,
        });
        expect(graph.get("sd-registrator").inputs).toMatchObject({
            readOnly: true,
            tmpfs: { "/tmp": "" },
            capabilities: { drops: ["ALL"] },
            memory: 64,
            memorySwap: 64,
        });
    });

    test("the components' resolved settings are the exported profiles (what the runtime tests start)", () => {
        const s = containerSettings(undefined, undefined, NGINX_PROFILE);
        expect(s).toEqual({ ...NGINX_PROFILE, securityOpts: ["no-new-privileges:true"], ...BOUNDED_LOGS });
        for (const p of [CONSUL_TEMPLATE_PROFILE, CONSUL_PROFILE, REGISTRATOR_PROFILE])
            expect(containerSettings(undefined, undefined, p)).toMatchObject({ ...p, ...BOUNDED_LOGS });
    });
});

describe("overriding the defaults", () => {
    test("logging per component: another driver without json-file's options, or options merged over them", async () => {
        const { graph } = await runProgram(() => {
            const network = new TieredNetwork("net");
            const db = new PostgresCluster("db", { network, logging: { driver: "local" } });
            const app = new AppServerPool("app", {
                network,
                image: "i",
                database: db,
                logging: { options: { "max-size": "50m" } },
            });
            new Service("cache", { network, image: "memcached:1.6", logging: { driver: "journald", options: {} } });
            new NginxLoadBalancer("lb", {
                network,
                routes: [{ path: "/", pool: app }],
                logging: { driver: "syslog", options: { tag: "lb" } },
            });
            new ServiceDiscovery("sd", { network, logging: { options: { "max-file": "5" } } });
        });
        expect(graph.get("db-server").inputs.logDriver).toBe("local");
        expect(graph.get("db-server").inputs.logOpts).toBeUndefined();
        expect(graph.get("app-r0").inputs).toMatchObject({
            logDriver: "json-file",
            logOpts: { "max-size": "50m", "max-file": "3" },
        });
        expect(graph.get("cache-r0").inputs.logDriver).toBe("journald");
        expect(graph.get("cache-r0").inputs.logOpts).toBeUndefined();
        expect(graph.get("lb-nginx").inputs).toMatchObject({ logDriver: "syslog", logOpts: { tag: "lb" } });
        for (const c of ["sd-consul", "sd-registrator"])
            expect(graph.get(c).inputs.logOpts).toEqual({ "max-size": "10m", "max-file": "5" });
    });

    test("pass-through: securityOpts added, no-new-privileges:false replaces the default, readOnly/capabilities replaced, tmpfs merged", async () => {
        const { graph } = await runProgram(() => {
            const network = new TieredNetwork("net");
            const db = new PostgresCluster("db", {
                network,
                container: { securityOpts: ["no-new-privileges:false"], shmSize: 256 },
            });
            const discovery = new ServiceDiscovery("sd", {
                network,
                consulContainer: { readOnly: false, capabilities: { drops: ["NET_RAW"] } },
                registratorContainer: { tmpfs: { "/tmp": "size=8m", "/var/tmp": "" } },
                resources: { cpuShares: 512 },
                registratorResources: { memoryMb: 32 },
            });
            const app = new AppServerPool("app", {
                network,
                image: "i",
                database: db,
                discovery,
                container: { securityOpts: ["seccomp=unconfined"] },
            });
            new Service("cache", { network, image: "memcached:1.6", container: { user: "11211", readOnly: true } });
            new NginxLoadBalancer("lb", {
                network,
                mode: "consul-template",
                discovery,
                routes: [{ path: "/", pool: app }],
                container: { tmpfs: { "/srv/cache": "size=256m" }, readOnly: false },
                templateContainer: { capabilities: { drops: ["ALL"], adds: ["CAP_KILL"] } },
                templateResources: { memoryMb: 128 },
            });
        });
        expect(graph.get("db-server").inputs).toMatchObject({
            securityOpts: ["no-new-privileges:false"],
            shmSize: 256,
        });
        expect(graph.get("app-r0").inputs.securityOpts).toEqual(["no-new-privileges:true", "seccomp=unconfined"]);
        expect(graph.get("cache-r0").inputs).toMatchObject({ user: "11211", readOnly: true });
        const nginx = graph.get("lb-nginx").inputs;
        expect(nginx.readOnly).toBe(false);
        expect(nginx.tmpfs).toEqual({
            "/var/cache/nginx": "",
            "/var/lib/nginx": "",
            "/run": "",
            "/srv/cache": "size=256m",
        });
        expect(graph.get("lb-consul-template").inputs).toMatchObject({
            capabilities: { drops: ["ALL"], adds: ["CAP_KILL"] },
            memory: 128,
        });
        expect(graph.get("sd-consul").inputs).toMatchObject({
            readOnly: false,
            capabilities: { drops: ["NET_RAW"] },
            memory: 256,
            cpuShares: 512,
        });
        expect(graph.get("sd-consul").inputs.capabilities.adds).toBeUndefined();
        expect(graph.get("sd-registrator").inputs).toMatchObject({
            tmpfs: { "/tmp": "size=8m", "/var/tmp": "" },
            readOnly: true,
            memory: 32,
        });
    });

    test("a Service adopting a hand-made container gets no defaults (they would replace it); given settings still apply", async () => {
        const { graph } = await runProgram(() => {
            const network = new TieredNetwork("net");
            new Service("cache", { network, image: "memcached:1.6", adopt: { container: "memcached" } });
            new Service("queue", {
                network,
                image: "rabbitmq:3",
                adopt: { container: "rabbitmq" },
                logging: { driver: "local" },
                container: { init: true },
            });
        });
        const cache = graph.get("cache-r0").inputs;
        expect([cache.logDriver, cache.logOpts, cache.securityOpts]).toEqual([undefined, undefined, undefined]);
        expect(graph.get("queue-r0").inputs).toMatchObject({ logDriver: "local", init: true });
        expect(graph.get("queue-r0").inputs.securityOpts).toBeUndefined();
    });
});

describe("refusals name the argument to use", () => {
    test("each component's pass-through refuses what it sets itself; logs always point to logging", async () => {
        const pg = await refusal(
            () =>
                new PostgresCluster("db", {
                    network: new TieredNetwork("net"),
                    container: { command: ["x"], stopSignal: "SIGTERM", logOpts: {}, envs: [] } as never,
                }),
        );
        expect(pg).toMatch(
            /PostgresCluster "db": container\.command is a container setting the component manages itself; use the serverArgs argument instead/,
        );
        expect(pg).toMatch(/container\.stopSignal is a container setting .*; remove it \(the component fixes it\)/);
        expect(pg).toMatch(/container\.logOpts .*; use the logging argument instead/);
        expect(pg).toMatch(/container\.envs .*; use the env argument instead/);

        const svc = await refusal(
            () =>
                new Service("cache", {
                    network: new TieredNetwork("net"),
                    image: "memcached:1.6",
                    container: { hostname: "x", memory: 5, bogus: true } as never,
                }),
        );
        expect(svc).toMatch(/Service "cache": container\.hostname .*; use the hostname argument instead/);
        expect(svc).toMatch(/container\.memory .*; use the resources argument instead/);
        expect(svc).toMatch(/container\.bogus is not a container setting the pass-through takes; use one of user, /);

        const sd = await refusal(
            () =>
                new ServiceDiscovery("sd", {
                    network: new TieredNetwork("net"),
                    consulContainer: { ports: [] } as never,
                    registratorContainer: { volumes: [], logDriver: "local" } as never,
                    logging: { driver: "Bad Driver", options: { "max-size": 10 as never } },
                    registratorResources: { memoryMb: 2 },
                }),
        );
        expect(sd).toMatch(/consulContainer\.ports .*; use the uiHostPort argument instead/);
        expect(sd).toMatch(/registratorContainer\.volumes .*; use the dockerSocket argument instead/);
        expect(sd).toMatch(/registratorContainer\.logDriver .*; use the logging argument instead/);
        expect(sd).toMatch(/logging\.driver is "Bad Driver", not a log driver name; name a Docker log driver/);
        expect(sd).toMatch(/logging\.options\["max-size"\] is 10; give the driver's option names and string values/);
        expect(sd).toMatch(/registratorResources\.memoryMb is 2/);

        const lb = await refusal(() => {
            const { network, app } = cluster();
            new NginxLoadBalancer("web", {
                network,
                hostPort: 8080,
                routes: [{ path: "/", pool: app }],
                container: { entrypoints: ["nginx"], ports: [], securityOpts: [""] } as never,
                templateContainer: { user: "root" },
            });
        });
        expect(lb).toMatch(/NginxLoadBalancer "web": container\.entrypoints .*; remove it \(the component fixes it\)/);
        expect(lb).toMatch(/container\.ports .*; use the hostPort \/ listenPort \/ tls argument instead/);
        expect(lb).toMatch(/container\.securityOpts\[0\] is ""; give a Docker security option/);
        expect(lb).toMatch(
            /templateContainer is set but mode is "static"; set mode: "consul-template" or drop templateContainer/,
        );

        const ct = await refusal(() => cluster({ lb: { templateContainer: { user: "root" } } }));
        expect(ct).toMatch(/templateContainer\.user .*; remove it \(the component fixes it\)/);
    });
});
