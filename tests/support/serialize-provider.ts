/**
 * Serializes the bootstrap provider (or, with the argument `readiness`, the readiness provider) exactly as `pulumi.dynamic.Resource` does (closure serialization with
 * secrets allowed) and prints the text the engine would store in `__provider`. Run in a plain Node process:
 * the closure serializer finds node_modules through `require.cache`, which jest's module system hides.
 */
import * as pulumi from "@pulumi/pulumi";
import { bootstrapProvider } from "../../provider/provider";
import { httpReadinessProvider } from "../../provider/readiness";

async function main(): Promise<void> {
    const provider = process.argv[2] === "readiness" ? httpReadinessProvider : bootstrapProvider;
    const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    process.stdout.write(sf.text);
}

main().catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
});
