/**
 * Serializes the bootstrap provider (or, with the argument `readiness` / `consul-acl`, that provider) exactly as
 * `pulumi.dynamic.Resource` does (closure serialization with secrets allowed) and prints the text the engine would
 * store in `__provider`. Run in a plain Node process: the closure serializer finds node_modules through
 * `require.cache`, which jest's module system hides.
 *
 * With a project directory as second argument, the provider comes from the package installed in that project
 * (tests/support/installed-package.ts) and is serialized there, as a program of that project would; otherwise it
 * comes from this repository's source.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

const PROVIDERS = {
    bootstrap: { module: "provider/provider", name: "bootstrapProvider" },
    readiness: { module: "sdk/loadbalancer/readiness", name: "httpReadinessProvider" },
    "consul-acl": { module: "sdk/discovery/acl", name: "consulAclSetupProvider" },
};

async function main(): Promise<void> {
    const which = process.argv[2];
    const { module, name } = which === "readiness" || which === "consul-acl" ? PROVIDERS[which] : PROVIDERS.bootstrap;
    const project = process.argv[3];
    if (project) process.chdir(project);
    const file = project
        ? require.resolve(`pulumi-docker-cluster/bin/${module}.js`, { paths: [project] })
        : path.join(__dirname, "../..", module);
    const provider = require(file)[name];
    const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    process.stdout.write(sf.text);
}

main().catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
});
