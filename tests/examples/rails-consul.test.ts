import * as path from "path";
import * as railsProgram from "../../examples/rails-consul/cluster";
import railsIndex = require("../../examples/rails-consul");
import { ArgumentError, NGINX_CONF_PATH, renderUpstreamsFromInstances } from "../../sdk";
import { mockOutputs, peek, publishing, runProgram, upload, uploads } from "../support/graph";
import { renderGoTemplate } from "../support/gotemplate";
import { dockerObjectNames, projectFile, REPO, schemaDefaults, stackConfig } from "../support/examples";

const DIR = path.join(REPO, "examples", "rails-consul");
type Config = railsProgram.Config;
const cfg = (over: Partial<Config> = {}): Config => ({ ...railsProgram.defaults, buildImages: false, ...over });
const PROJECT = { project: "rails-consul", stack: "dev" };
const C = "docker:index/container:Container";
const RI = "docker:index/remoteImage:RemoteImage";

describe("examples/rails-consul", () => {
    test("Pulumi.yaml: nodejs program with a typed config schema whose defaults are the program's", () => {
        expect(projectFile(DIR)).toMatchObject({ name: "rails-consul", runtime: "nodejs", main: "index.ts" });
        expect(schemaDefaults(DIR)).toEqual(railsProgram.defaults);
    });

    test("exact graph", async () => {
        const { graph } = await runProgram(() => railsProgram.railsConsul(cfg()), PROJECT);
        const pool = (n: string, replicas: number, files = false) => ({
            [n]: "dockercluster:app:AppServerPool",
            [`${n}-config`]: "docker:index/volume:Volume",
            [`${n}-content`]: "docker:index/volume:Volume",
            ...(files ? { [`${n}-files`]: C } : {}),
            [`${n}-image`]: "dockercluster:image:ServiceImage",
            [`${n}-image-image`]: RI,
            ...Object.fromEntries(Array.from({ length: replicas }, (_, i) => [`${n}-r${i}`, C])),
            ...Object.fromEntries(
                Array.from({ length: replicas }, (_, i) => [
                    `${n}-r${i}-healthy`,
                    "pulumi-nodejs:dynamic/health:ContainerHealthGate",
                ]),
            ),
        });
        expect(graph.shape()).toEqual(
            Object.fromEntries(
                Object.entries({
                    ...pool("user", 2),
                    ...pool("catalog", 2),
                    ...pool("frontend", 1, true),
                    db: "dockercluster:postgres:PostgresCluster",
                    "db-admin": "docker:index/network:Network",
                    "db-admin-password": "random:index/randomPassword:RandomPassword",
                    "db-app-password": "random:index/randomPassword:RandomPassword",
                    "db-bootstrap": "pulumi-nodejs:dynamic/postgres:Bootstrap",
                    "db-data": "docker:index/volume:Volume",
                    "db-image": RI,
                    "db-server": C,
                    discovery: "dockercluster:discovery:ServiceDiscovery",
                    "discovery-consul": C,
                    "discovery-consul-image": RI,
                    "discovery-registrator": C,
                    "discovery-registrator-image": RI,
                    // Consul's ACLs, on by default since issue 16 (tests/sdk/discovery-acl.test.ts).
                    "discovery-acl": "pulumi-nodejs:dynamic/consul:ConsulAclSetup",
                    "discovery-consul-acl": "docker:index/volume:Volume",
                    "discovery-management-token": "random:index/randomUuid:RandomUuid",
                    "discovery-agent-token": "random:index/randomUuid:RandomUuid",
                    "discovery-registrator-token": "random:index/randomUuid:RandomUuid",
                    "discovery-consul-template-token": "random:index/randomUuid:RandomUuid",
                    lb: "dockercluster:loadbalancer:NginxLoadBalancer",
                    "lb-consul-template": C,
                    "lb-consul-template-image": RI,
                    "lb-config": "docker:index/volume:Volume",
                    "lb-files": C,
                    "lb-image": RI,
                    "lb-nginx": C,
                    "lb-ready": "pulumi-nodejs:dynamic/readiness:HttpReadiness",
                    "lb-upstreams": "docker:index/volume:Volume",
                    // Services since issue 15 (their containers adopt the hand-made ones: see "adopted" below).
                    memcached: "dockercluster:service:Service",
                    "memcached-image": RI,
                    "memcached-r0": C,
                    net: "dockercluster:network:TieredNetwork",
                    "net-app": "docker:index/network:Network",
                    "net-db": "docker:index/network:Network",
                    "net-web": "docker:index/network:Network",
                    rabbitmq: "dockercluster:service:Service",
                    "rabbitmq-image": RI,
                    "rabbitmq-r0": C,
                    "rabbitmq-password": "random:index/randomPassword:RandomPassword",
                }).sort(([a], [b]) => a.localeCompare(b)),
            ),
        );
    });

    test("registrator labels (SERVICE_<port>_NAME / _TAGS) on every service replica", async () => {
        const { graph, result } = await runProgram(() => railsProgram.railsConsul(cfg()), PROJECT);
        expect(graph.labelsOf("user-r1")).toMatchObject({
            SERVICE_8000_NAME: "user",
            SERVICE_8000_TAGS: "backend,user",
            "dockercluster.address": `user-r1-${result.pools.user.generation}`,
        });
        expect(graph.labelsOf("catalog-r0")).toMatchObject({
            SERVICE_8000_NAME: "catalog",
            SERVICE_8000_TAGS: "backend,catalog",
        });
        expect(graph.labelsOf("frontend-r0")).toMatchObject({
            SERVICE_8000_NAME: "frontend",
            SERVICE_8000_TAGS: "frontend",
        });
        for (const infra of ["db-server", "memcached-r0", "rabbitmq-r0", "lb-nginx", "discovery-consul"]) {
            expect(Object.keys(graph.labelsOf(infra)).some((k) => k.startsWith("SERVICE_"))).toBe(false);
        }
        expect(graph.get("discovery-registrator").inputs.volumes).toEqual([
            { hostPath: "/var/run/docker.sock", containerPath: "/tmp/docker.sock", readOnly: true },
        ]);
    });

    test("placement and ports: only nginx publishes; frontend has no database tier; memcached/rabbitmq on app", async () => {
        const { graph } = await runProgram(() => railsProgram.railsConsul(cfg()), PROJECT);
        const n = (t: string) => `rails-consul-dev-net-${t}`;
        expect(publishing(graph)).toEqual(["lb-nginx"]);
        expect(graph.networksOf("user-r0")).toEqual([n("app"), n("db")]);
        expect(graph.networksOf("frontend-r0")).toEqual([n("app")]);
        expect(graph.networksOf("lb-nginx")).toEqual([n("app"), n("web")]);
        expect(graph.networksOf("memcached-r0")).toEqual([n("app")]);
        expect(graph.networksOf("rabbitmq-r0")).toEqual([n("app")]);
        expect(graph.networksOf("discovery-consul")).toEqual([n("app")]);
        expect(graph.envOf("frontend-r0")).toMatchObject({
            USER_SERVICE_URL: "http://user:8000",
            CATALOG_SERVICE_URL: "http://catalog:8000",
        });
        expect(graph.envOf("frontend-r0").DATABASE_URL).toBeUndefined();
    });

    test("order: Postgres -> bootstrap -> user/catalog (also after memcached, rabbitmq) -> nginx -> consul-template", async () => {
        const { graph } = await runProgram(() => railsProgram.railsConsul(cfg()), PROJECT);
        for (const r of ["user-r0", "user-r1", "catalog-r0", "catalog-r1"]) {
            expect(graph.dependsOn(r, "db-bootstrap")).toBe(true);
            expect(graph.dependsOn(r, "memcached-r0")).toBe(true);
            expect(graph.dependsOn(r, "rabbitmq-r0")).toBe(true);
        }
        for (const r of ["user-r0", "catalog-r1", "frontend-r0"]) expect(graph.dependsOn("lb-nginx", r)).toBe(true);
        expect(graph.dependsOn("lb-nginx", "discovery-consul")).toBe(true);
        expect(graph.dependsOn("lb-consul-template", "lb-nginx")).toBe(true);
        expect(graph.dependsOn("discovery-registrator", "discovery-consul")).toBe(true);
    });

    test("adopted: memcached and RabbitMQ as Services keep the containers stacks made before had (no replacement)", async () => {
        const { graph } = await runProgram(() => railsProgram.railsConsul(cfg()), PROJECT);
        for (const svc of ["memcached", "rabbitmq"]) {
            const c = graph.get(`${svc}-r0`);
            expect(graph.parentName(`${svc}-r0`)).toBe(svc);
            expect(graph.parentName(`${svc}-image`)).toBe(svc);
            // What the hand-made container had: Docker name, labels, alias, image, restart; the old root resources
            // are this container's and image's aliases, so `pulumi up` after the upgrade changes nothing.
            expect(c.inputs.name).toBe(`rails-consul-dev-${svc}`);
            expect(graph.labelsOf(`${svc}-r0`)).toEqual({
                "dockercluster.component": svc,
                "dockercluster.project": "rails-consul",
                "dockercluster.role": svc,
                "dockercluster.stack": "dev",
            });
            expect(c.inputs.networksAdvanced).toEqual([{ name: "rails-consul-dev-net-app", aliases: [svc] }]);
            expect(c.inputs.image).toBe(`sha256:${svc}-image`);
            expect(c.inputs.restart).toBe("unless-stopped");
            expect(c.inputs.healthcheck).toBeUndefined();
            expect(c.inputs.volumes).toBeUndefined();
            expect(c.deleteBeforeReplace).toBe(true);
            expect(c.aliases).toEqual([{ name: svc, noParent: true }]);
            expect(graph.get(`${svc}-image`).aliases).toEqual([{ name: `${svc}-image`, noParent: true }]);
            expect(graph.get(`${svc}-image`).inputs).toMatchObject({ keepLocally: true });
        }
        expect(graph.get("memcached-r0").inputs.envs).toBeUndefined();
        expect(graph.get("rabbitmq-r0").inputs.hostname).toBe("rabbitmq");
        expect(graph.get("memcached-r0").inputs.hostname).toBeUndefined();
    });

    test("secrets: owner password only in Postgres; RabbitMQ password generated and secret wherever it goes", async () => {
        const { graph, result } = await runProgram(() => railsProgram.railsConsul(cfg()), PROJECT);
        for (const c of graph.containers().filter((c) => c.name !== "db-server")) {
            expect(JSON.stringify(c.inputs)).not.toContain("pw-db-admin-password");
        }
        expect(graph.envOf("rabbitmq-r0")).toMatchObject({
            RABBITMQ_DEFAULT_USER: "mia",
            RABBITMQ_DEFAULT_PASS: "pw-rabbitmq-password",
        });
        expect(graph.get("rabbitmq-r0").secretInputs.has("envs")).toBe(true);
        expect(graph.envOf("user-r0").AMQP_URL).toBe("amqp://mia:pw-rabbitmq-password@rabbitmq:5672/");
        expect(graph.get("user-r0").secretInputs.has("envs")).toBe(true);
        expect(graph.envOf("user-r0").DATABASE_URL).toBe("postgresql://app:pw-db-app-password@postgres:5432/mia");
        expect((await peek(result.outputs.databaseUrl)).secret).toBe(true);
        // Consul's tokens (ACLs on by default): each only in Consul and the one client it is for, always secret.
        const token = (role: string) =>
            (
                mockOutputs({
                    type: "random:index/randomUuid:RandomUuid",
                    name: `discovery-${role}-token`,
                    inputs: {},
                    custom: true,
                }).state as { result: string }
            ).result;
        const holders = (t: string) =>
            graph
                .containers()
                .filter((c) => JSON.stringify(c.inputs).includes(t))
                .map((c) => c.name)
                .sort();
        expect(holders(token("management"))).toEqual(["discovery-consul"]);
        expect(holders(token("registrator"))).toEqual(["discovery-consul", "discovery-registrator"]);
        expect(holders(token("consul-template"))).toEqual(["discovery-consul", "lb-consul-template"]);
        expect(graph.get("discovery-registrator").secretInputs.has("envs")).toBe(true);
        expect(graph.get("lb-consul-template").secretInputs.has("uploads")).toBe(true);
    });

    test("the load balancer's template renders upstreams for user, catalog and frontend from Consul's instances", async () => {
        const { graph, result } = await runProgram(() => railsProgram.railsConsul(cfg()), PROJECT);
        const template = uploads(graph, "lb-consul-template").find((u) => u.file.endsWith(".ctmpl"))!.content!;
        const upstreams = ["user", "catalog", "frontend"].map((s) => ({ name: s, service: s }));
        // What registrator would register: each replica's alias (label dockercluster.address) and port 8000.
        const instances = {
            user: result.pools.user.upstreamServers.map((s) => ({ address: s.host, port: 8000 })),
            catalog: result.pools.catalog.upstreamServers.map((s) => ({ address: s.host, port: 8000 })),
            frontend: result.pools.frontend.upstreamServers.map((s) => ({ address: s.host, port: 8000 })),
        };
        const rendered = renderGoTemplate(template, instances);
        expect(rendered).toBe(renderUpstreamsFromInstances(upstreams, instances));
        const gen = result.pools.user.generation;
        expect(rendered).toContain(
            `upstream user {\n    server user-r0-${gen}:8000 max_fails=3 fail_timeout=10s;\n    server user-r1-${gen}:8000`,
        );
        const conf = upload(graph, "lb-files", NGINX_CONF_PATH)!;
        expect(conf).toMatch(/location \/products \{\n\s+proxy_pass http:\/\/catalog;/);
        expect(conf).toMatch(/location \/users \{\n\s+proxy_pass http:\/\/user;/);
        expect(conf).toMatch(/location \/ \{\n\s+proxy_pass http:\/\/frontend;/);
    });

    test("scaling user 2 -> 3 adds exactly user-r2 and leaves the load balancer untouched (consul-template follows)", async () => {
        const two = await runProgram(() => railsProgram.railsConsul(cfg({ userReplicas: 2 })), PROJECT);
        const three = await runProgram(() => railsProgram.railsConsul(cfg({ userReplicas: 3 })), PROJECT);
        expect(three.graph.names().filter((n) => !two.graph.names().includes(n))).toEqual([
            "user-r2",
            "user-r2-healthy",
        ]);
        const changed = two.graph
            .names()
            .filter((n) => JSON.stringify(two.graph.get(n).inputs) !== JSON.stringify(three.graph.get(n).inputs));
        expect(changed).toEqual([]);
    });

    test("dev and prod on one host: disjoint Docker names; prod stack file scales every service", async () => {
        const dev = await runProgram(() => railsIndex(), {
            project: "rails-consul",
            stack: "dev",
            config: stackConfig(DIR, "dev", { buildImages: "false" }),
        });
        const prod = await runProgram(() => railsIndex(), {
            project: "rails-consul",
            stack: "prod",
            config: stackConfig(DIR, "prod", { buildImages: "false" }),
        });
        expect(dockerObjectNames(dev.graph).filter((n) => dockerObjectNames(prod.graph).includes(n))).toEqual([]);
        const count = (g: typeof dev.graph, svc: string) =>
            g.names().filter((n) => new RegExp(`^${svc}-r\\d$`).test(n)).length;
        expect([count(dev.graph, "user"), count(dev.graph, "catalog"), count(dev.graph, "frontend")]).toEqual([
            1, 1, 1,
        ]);
        expect([count(prod.graph, "user"), count(prod.graph, "catalog"), count(prod.graph, "frontend")]).toEqual([
            3, 3, 2,
        ]);
        expect(prod.graph.get("lb-nginx").inputs.ports[0].external).toBe(80);
    });

    test("bad config fails with a clear message before any resource is registered", async () => {
        const { graph, result } = await runProgram(() => {
            try {
                railsProgram.railsConsul(cfg({ catalogReplicas: 0 }));
            } catch (e) {
                return e;
            }
            return undefined;
        }, PROJECT);
        expect(result).toBeInstanceOf(ArgumentError);
        expect((result as Error).message).toMatch(
            /rails-consul config "dev": catalogReplicas is 0, must be an integer from 1 to 100/,
        );
        expect(graph.resources).toEqual([]);
    });
});
