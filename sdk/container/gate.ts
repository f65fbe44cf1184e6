/**
 * The shape shared by the sdk's two dynamic providers (`HttpReadiness`, `ContainerHealthGate`): a "gate" whose
 * create and update return only once something it waits for is true, and that has nothing to delete.
 *
 * The provider is a plain object whose methods call only what `gateProvider` was given: Pulumi's closure serializer
 * captures those functions, so they keep any `require` inside their bodies, as the bootstrap's provider does.
 */
import type * as pulumi from "@pulumi/pulumi";
import { isUnknown } from "../../provider";

/** What makes one gate. */
export interface GateSpec<I> {
    /** Prefix of the resource id, e.g. "ready". */
    readonly idPrefix: string;
    /** The gate's own check of its inputs (`timeoutSeconds` is checked for every gate). Unknown values pass. */
    readonly check: (news: Record<string, unknown>) => pulumi.dynamic.CheckFailure[];
    /** The inputs whose change is an update (a new wait), never a replacement. */
    readonly diffKey: (inputs: Record<string, unknown>) => unknown[];
    /** Resolves once the gate opens; rejects with the reason it did not within the inputs' `timeoutSeconds`. */
    readonly wait: (inputs: I, phase: "create" | "update") => Promise<void>;
}

/** A dynamic provider for the gate `spec`. */
export function gateProvider<I>(spec: GateSpec<I>): pulumi.dynamic.ResourceProvider {
    return {
        async check(_olds, news) {
            // During a preview a value computed by another resource is the engine's unknown placeholder: judged at up.
            const failures = spec.check(news);
            const t = news.timeoutSeconds;
            if (!isUnknown(t) && (typeof t !== "number" || !Number.isInteger(t) || t < 1 || t > 3600))
                failures.push({
                    property: "timeoutSeconds",
                    reason: "timeoutSeconds must be an integer from 1 to 3600",
                });
            return { inputs: news, failures };
        },
        async diff(_id, olds, news) {
            const key = (p: Record<string, unknown>) => JSON.stringify(spec.diffKey(p));
            return { changes: key(olds) !== key(news), replaces: [] };
        },
        async create(news) {
            await spec.wait(news as unknown as I, "create");
            return { id: `${spec.idPrefix}-${Date.now().toString(36)}`, outs: news };
        },
        async update(_id, _olds, news) {
            await spec.wait(news as unknown as I, "update");
            return { outs: news };
        },
    };
}
