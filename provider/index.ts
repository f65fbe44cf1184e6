/** The database bootstrap: its resource, its arguments, and the one path from arguments to checked inputs. */
export { Bootstrap } from "./resource";
export type {
    BootstrapArgs,
    BootstrapConnectionArgs,
    BootstrapWaitArgs,
    BootstrapRoleArgs,
    BootstrapDatabaseArgs,
    BootstrapMigrationSetArgs,
    BootstrapContentArgs,
} from "./args";
export { prepareBootstrap, withLateValues, parseScriptConfig, wireInputs } from "./prepare";
export type { PreparedBootstrap, LateBootstrapValues } from "./prepare";
export { engineFailure, reasonOf } from "./check";
export type { CheckFailure } from "./check";
export { bootstrapProvider } from "./provider";
export type { BootstrapInputs, AppliedMigrations } from "./types";
// The engine's unknown-value placeholder, which the sdk's dynamic providers (readiness, health gate) let pass too.
export { isUnknown } from "./types";
