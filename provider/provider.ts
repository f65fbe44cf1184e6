/**
 * The bootstrap's dynamic provider: the object the engine ships to its provider host by closure serialization
 * (it lands in `__provider` of every request and of the state).
 *
 * Each method only calls into the `operations` module, so what gets serialized depends on where that module
 * was loaded from:
 * - installed from npm (under node_modules), the module is captured as `require("pulumi-docker-cluster/...")`,
 *   and `__provider` is about 1.8 KB. The host loads the installed package, the same way it loads `pg`.
 * - from this repository's source (its tests and examples), the module's code is captured by value, about 80 KB.
 * The host decodes `__provider` with every request and encodes it again with every answer, so the size counts
 * when several bootstraps run at once: see bench/README.md.
 */
import * as pulumi from "@pulumi/pulumi";
import * as operations from "./operations";

export const bootstrapProvider: pulumi.dynamic.ResourceProvider = {
    check: (olds, news) => operations.check(olds, news),
    diff: (id, olds, news) => operations.diff(id, olds, news),
    create: (news) => operations.create(news),
    update: (id, olds, news) => operations.update(id, olds, news),
    read: (id, props) => operations.read(id, props),
    delete: (id, props) => operations.destroy(id, props),
};
