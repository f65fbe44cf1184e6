/**
 * Consul's ACLs in ServiceDiscovery's graph (issue 16), under mocks: on by default, every token generated and
 * secret, Consul given its ACL config and files on a volume of its own, the setup run after Consul and again when
 * it is replaced, registrator and the consul-template sidecar each handed their own token; `acl: false` leaves
 * the graph as it was. Consul's real behaviour with these files: tests/sdk/consul-acl.test.ts.
 */
import {
    AppServerPool,
    ArgumentError,
    CONSUL_ACL_ROLES,
    consulAclPolicies,
    consulAclSetupScript,
    NginxLoadBalancer,
    ServiceDiscovery,
    TieredNetwork,
} from "../../sdk";
import type { ServiceDiscoveryArgs } from "../../sdk";
import { mockOutputs, peek, runProgram, thrownBy, upload } from "../support/graph";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TOKENS = ["management", ...CONSUL_ACL_ROLES].map((r) => `sd-${r}-token`);

/** The value the mocks give the RandomUuid `name` (sdk/testing). */
function value(name: string): string {
    const r = mockOutputs({ type: "random:index/randomUuid:RandomUuid", name, inputs: {}, custom: true });
    return (r.state as { result: string }).result;
}

/** Discovery, a registering pool and a load balancer in consul-template mode. */
function cluster(sd: Partial<ServiceDiscoveryArgs> = {}) {
    const network = new TieredNetwork("net");
    const discovery = new ServiceDiscovery("sd", { network, ...sd });
    const app = new AppServerPool("app", { network, image: "img", discovery, replicas: 1 });
    const lb = new NginxLoadBalancer("lb", {
        network,
        mode: "consul-template",
        discovery,
        routes: [{ path: "/", pool: app }],
    });
    return { discovery, lb };
}

describe("ServiceDiscovery with ACLs (the default)", () => {
    test("four generated UUID tokens, secret; Consul reads its ACL config from a volume of its own, default deny", async () => {
        const { graph, result } = await runProgram(() => cluster(), { project: "shop", stack: "dev" });
        const tokens = TOKENS;
        for (const t of tokens) expect(graph.get(t).type).toBe("random:index/randomUuid:RandomUuid");
        expect(graph.get("sd-consul-acl").type).toBe("docker:index/volume:Volume");

        const consul = graph.get("sd-consul");
        expect(consul.inputs.command).toEqual([
            "agent",
            "-server",
            "-bootstrap-expect=1",
            "-ui",
            "-client=0.0.0.0",
            "-datacenter=dc1",
            "-node=consul",
            "-config-file=/consul/acl/acl.hcl",
        ]);
        expect(consul.inputs.volumes).toEqual([{ volumeName: "shop-dev-sd-consul-acl", containerPath: "/consul/acl" }]);
        // The health check reads raft with the management token's file: anonymous requests lack operator:read.
        expect(consul.inputs.healthcheck.tests).toEqual([
            "CMD",
            "consul",
            "operator",
            "raft",
            "list-peers",
            "-token-file=/consul/acl/management.token",
        ]);
        expect(consul.secretInputs.has("uploads")).toBe(true);
        const files = Object.fromEntries(
            (consul.inputs.uploads as { file: string; content: string; permissions: string }[]).map((u) => [
                u.file,
                u.content,
            ]),
        );
        expect(Object.keys(files).sort()).toEqual([
            "/consul/acl/acl.hcl",
            "/consul/acl/agent.policy.hcl",
            "/consul/acl/agent.token",
            "/consul/acl/consul-template.policy.hcl",
            "/consul/acl/consul-template.token",
            "/consul/acl/management.token",
            "/consul/acl/registrator.policy.hcl",
            "/consul/acl/registrator.token",
        ]);
        for (const t of tokens) expect(value(t)).toMatch(UUID);
        expect(new Set(tokens.map(value)).size).toBe(4);
        expect(files["/consul/acl/acl.hcl"]).toContain('default_policy           = "deny"');
        expect(files["/consul/acl/acl.hcl"]).toContain("enabled                  = true");
        expect(files["/consul/acl/acl.hcl"]).toContain(`initial_management = "${value("sd-management-token")}"`);
        expect(files["/consul/acl/acl.hcl"]).toContain(`agent              = "${value("sd-agent-token")}"`);
        expect(files["/consul/acl/management.token"]).toBe(value("sd-management-token"));
        expect(files["/consul/acl/registrator.token"]).toBe(value("sd-registrator-token"));
        expect(files["/consul/acl/consul-template.token"]).toBe(value("sd-consul-template-token"));
        const policies = consulAclPolicies("consul");
        for (const role of CONSUL_ACL_ROLES) expect(files[`/consul/acl/${role}.policy.hcl`]).toBe(policies[role]);
        expect(policies.registrator).toBe('service_prefix "" {\n  policy = "write"\n}\n');
        expect(policies["consul-template"]).toBe(
            'service_prefix "" {\n  policy = "read"\n}\nnode_prefix "" {\n  policy = "read"\n}\n',
        );
        expect(policies.agent).toContain('node "consul" {\n  policy = "write"\n}');

        // The component's own outputs: the tokens it hands out are secrets.
        expect(result.discovery.acl).toBe(true);
        expect(await peek(result.discovery.managementToken!)).toEqual({
            value: value("sd-management-token"),
            secret: true,
        });
        expect(await peek(result.discovery.consulTemplateToken!)).toEqual({
            value: value("sd-consul-template-token"),
            secret: true,
        });
    });

    test("the setup runs in Consul after it is healthy and again when it is replaced; registrator waits for it, its token secret", async () => {
        const { graph } = await runProgram(() => cluster(), { project: "shop", stack: "dev" });
        const setup = graph.get("sd-acl");
        expect(setup.type).toBe("pulumi-nodejs:dynamic/consul:ConsulAclSetup");
        expect(setup.inputs).toMatchObject({
            container: "shop-dev-sd-consul",
            script: consulAclSetupScript(),
            policies: consulAclPolicies("consul"),
            triggers: ["sd-consul-container-id"],
            timeoutSeconds: 120,
        });
        // The script names files, never a token.
        for (const t of TOKENS) expect(setup.inputs.script).not.toContain(value(t));
        expect(graph.dependsOn("sd-acl", "sd-consul")).toBe(true);
        expect(graph.parentName("sd-acl")).toBe("sd");

        const reg = graph.get("sd-registrator");
        expect(reg.inputs.envs).toEqual([`CONSUL_HTTP_TOKEN=${value("sd-registrator-token")}`]);
        expect(reg.secretInputs.has("envs")).toBe(true);
        expect(graph.dependsOn("sd-registrator", "sd-acl")).toBe(true);
    });

    test("the consul-template sidecar gets its own token as a root-only file its config names; the config holds no secret", async () => {
        const { graph } = await runProgram(() => cluster(), { project: "shop", stack: "dev" });
        const ct = graph.get("lb-consul-template");
        const uploads = ct.inputs.uploads as { file: string; content: string; permissions?: string }[];
        const token = uploads.find((u) => u.file === "/etc/nginx/upstreams/consul-template/consul.token")!;
        expect(token).toEqual({
            file: "/etc/nginx/upstreams/consul-template/consul.token",
            content: value("sd-consul-template-token"),
            permissions: "0400",
        });
        expect(ct.secretInputs.has("uploads")).toBe(true);
        const config = upload(graph, "lb-consul-template", "/etc/nginx/upstreams/consul-template/config.hcl")!;
        expect(config).toContain('  token_file = "/etc/nginx/upstreams/consul-template/consul.token"');
        for (const t of TOKENS) expect(config).not.toContain(value(t));
        expect(graph.dependsOn("lb-consul-template", "sd-acl")).toBe(true);
        // Only consul-template's token reaches the load balancer; nginx itself gets none.
        const nginx = JSON.stringify(graph.get("lb-nginx").inputs);
        for (const t of TOKENS) expect(nginx).not.toContain(value(t));
    });

    test("acl: false leaves the graph as before ACLs: no tokens, no setup, no volume, Consul and the clients unchanged", async () => {
        const { graph, result } = await runProgram(() => cluster({ acl: false }), { project: "shop", stack: "dev" });
        expect(graph.names().filter((n) => n.startsWith("sd"))).toEqual(
            expect.not.arrayContaining(["sd-acl", "sd-consul-acl", "sd-management-token", "sd-registrator-token"]),
        );
        expect(graph.names().filter((n) => /token|acl/.test(n))).toEqual([]);
        const consul = graph.get("sd-consul");
        expect(consul.inputs.command.at(-1)).toBe("-node=consul");
        expect(consul.inputs.volumes).toBeUndefined();
        expect(consul.inputs.uploads).toBeUndefined();
        expect(consul.inputs.healthcheck.tests).toEqual(["CMD", "consul", "operator", "raft", "list-peers"]);
        expect(consul.secretInputs.size).toBe(0);
        const reg = graph.get("sd-registrator");
        expect(reg.inputs.envs).toBeUndefined();
        expect(graph.dependsOn("sd-registrator", "sd-consul")).toBe(true);
        const ct = graph.get("lb-consul-template");
        expect((ct.inputs.uploads as { file: string }[]).map((u) => u.file).sort()).toEqual([
            "/etc/nginx/upstreams/consul-template/config.hcl",
            "/etc/nginx/upstreams/consul-template/upstreams.conf.ctmpl",
        ]);
        expect(upload(graph, "lb-consul-template", "/etc/nginx/upstreams/consul-template/config.hcl")).not.toContain(
            "token",
        );
        expect(ct.secretInputs.size).toBe(0);
        expect(result.discovery.acl).toBe(false);
        expect(result.discovery.managementToken).toBeUndefined();
        expect(result.discovery.consulTemplateToken).toBeUndefined();
    });

    test("acl must be a boolean: refused before anything is created, naming the argument and the fix", async () => {
        const { graph, result } = await runProgram(() =>
            thrownBy(() => new ServiceDiscovery("sd", { network: new TieredNetwork("net"), acl: "off" as never })),
        );
        expect(result).toBeInstanceOf(ArgumentError);
        expect((result as Error).message).toMatch(
            /ServiceDiscovery "sd": acl is "off"; use true \(ACLs, the default\) or false/,
        );
        expect(graph.names().filter((n) => n.startsWith("sd"))).toEqual([]);
    });
});
