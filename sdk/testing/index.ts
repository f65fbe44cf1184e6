/**
 * Unit-testing a program built on these components, under Pulumi's own mocks (`pulumi.runtime.setMocks`): the
 * mocks answer each registration with its inputs, but some components read what the real providers compute (a
 * container's address on a network, an image's id, a generated password, the bootstrap's database name). These
 * mocks compute plausible values for those, deterministically, so a program evaluates as it would in `pulumi up`.
 *
 * ```ts
 * import * as pulumi from "@pulumi/pulumi";
 * import { clusterMocks } from "pulumi-docker-cluster";
 *
 * pulumi.runtime.setMocks(clusterMocks(), "shop", "dev", false);
 * const { cluster } = await import("./cluster"); // the program, imported after setMocks
 * ```
 */
import * as pulumi from "@pulumi/pulumi";

type Mocks = pulumi.runtime.Mocks;
type MockResourceArgs = pulumi.runtime.MockResourceArgs;
type MockResourceResult = pulumi.runtime.MockResourceResult;

/** A deterministic private address for a container on a network: 172.16–31.x.y. */
function fakeAddress(network: string, container: string): string {
    let h = 0;
    for (const ch of `${network}/${container}`) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return `172.${16 + (h % 16)}.${(h >>> 8) % 256}.${2 + ((h >>> 16) % 250)}`;
}

/** A value with Pulumi's secret wrapper (as mocks receive secret inputs) unwrapped. */
function plain(v: unknown): unknown {
    const SIG_KEY = "4dabf18193072939515e22adb298388d";
    if (typeof v === "object" && v !== null && SIG_KEY in v) return plain((v as unknown as { value: unknown }).value);
    return v;
}

/**
 * The outputs a real provider would add to `args.inputs` for the resources these components read outputs of;
 * everything else answers with its inputs. Exported to build your own `Mocks` around it.
 */
export function clusterMockOutputs(args: MockResourceArgs): MockResourceResult {
    const inputs = args.inputs as Record<string, unknown>;
    const id = `${args.name}-id`;
    switch (args.type) {
        case "random:index/randomPassword:RandomPassword":
            return { id, state: { ...inputs, result: `pw-${args.name}`, bcryptHash: `bcrypt-${args.name}` } };
        case "random:index/randomString:RandomString":
            return { id, state: { ...inputs, result: `str-${args.name}` } };
        case "random:index/randomUuid:RandomUuid": {
            // A UUID derived from the name, as Consul's ACL tokens must be.
            let h = "";
            for (let i = 0; h.length < 32; i++) {
                let x = i + 1;
                for (const ch of args.name) x = (x * 31 + ch.charCodeAt(0)) >>> 0;
                h += x.toString(16).padStart(8, "0");
            }
            const u = h.slice(0, 32);
            const uuid = `${u.slice(0, 8)}-${u.slice(8, 12)}-4${u.slice(13, 16)}-8${u.slice(17, 20)}-${u.slice(20)}`;
            return { id, state: { ...inputs, result: uuid } };
        }
        case "docker:index/remoteImage:RemoteImage":
            return {
                id,
                state: {
                    ...inputs,
                    imageId: `sha256:${args.name}`,
                    repoDigest: `${String(plain(inputs.name))}@sha256:${args.name}`,
                },
            };
        case "docker:index/image:Image":
            return { id, state: { ...inputs, repoDigest: `${String(plain(inputs.imageName))}@sha256:${args.name}` } };
        case "docker:index/container:Container": {
            const networks = (plain(inputs.networksAdvanced) as { name: unknown }[] | undefined) ?? [];
            const networkDatas = networks.map((n) => ({
                networkName: plain(n.name),
                ipAddress: fakeAddress(String(plain(n.name)), String(plain(inputs.name))),
            }));
            return { id: `${args.name}-container-id`, state: { ...inputs, networkDatas } };
        }
        case "docker:index/network:Network":
            // Docker picks a subnet when none is given and the provider reads it back (PostgresCluster's pg_hba uses it).
            return {
                id,
                state: {
                    ...inputs,
                    ipamConfigs: inputs.ipamConfigs ?? [{ subnet: "172.31.0.0/16", gateway: "172.31.0.1" }],
                },
            };
        case "pulumi-nodejs:dynamic/postgres:Bootstrap": {
            const { __provider: _provider, ...rest } = inputs;
            const database = plain(inputs.database) as { name: string };
            const roles = Object.keys((plain(inputs.roles) as Record<string, unknown> | undefined) ?? {});
            return { id, state: { ...rest, databaseName: database.name, roleNames: roles, applied: {}, drift: [] } };
        }
        default:
            return { id, state: { ...inputs } };
    }
}

/**
 * Mocks for `pulumi.runtime.setMocks` under which programs built on these components evaluate: containers get an
 * address on each network they join, images an id, generated passwords a value, the bootstrap its outputs. Nothing
 * is created and no server is contacted.
 * @param overrides your own answers: `newResource` is asked first and its result used unless it returns undefined.
 */
export function clusterMocks(
    overrides: Partial<{
        newResource(args: MockResourceArgs): MockResourceResult | undefined;
        call: Mocks["call"];
    }> = {},
): Mocks {
    return {
        newResource: (args) => overrides.newResource?.(args) ?? clusterMockOutputs(args),
        call: overrides.call ?? ((args) => args.inputs),
    };
}
