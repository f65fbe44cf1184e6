/**
 * `docker run` / `docker create` flags for a component's container settings (`ContainerSettings`, and a memory
 * limit), so the runtime tests start the real images hardened exactly as the components configure them.
 */
import type { ContainerResources, ContainerSettings } from "../../sdk";

export function containerFlags(s: ContainerSettings, resources?: ContainerResources): string[] {
    return [
        ...(s.readOnly ? ["--read-only"] : []),
        ...Object.entries(s.tmpfs ?? {}).flatMap(([p, o]) => ["--tmpfs", o ? `${p}:${o}` : p]),
        ...(s.capabilities?.drops ?? []).flatMap((c) => ["--cap-drop", c]),
        ...(s.capabilities?.adds ?? []).flatMap((c) => ["--cap-add", c]),
        ...(s.securityOpts ?? []).flatMap((o) => ["--security-opt", o]),
        ...(s.logDriver ? ["--log-driver", s.logDriver] : []),
        ...Object.entries(s.logOpts ?? {}).flatMap(([k, v]) => ["--log-opt", `${k}=${v}`]),
        ...(s.user ? ["--user", s.user] : []),
        ...(resources?.memoryMb
            ? ["--memory", `${resources.memoryMb}m`, "--memory-swap", `${resources.memoryMb}m`]
            : []),
    ];
}
