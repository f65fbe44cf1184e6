/**
 * Naming and scoping of Docker objects.
 *
 * Pulumi logical names (`${name}-<role>`) are unique inside one stack; Docker object names (containers, volumes,
 * networks) share one namespace per Docker host. Every Docker object this library creates is therefore named
 * `${project}-${stack}-${logicalName}`, sanitised to Docker's name rules, so two stacks (dev and prod, or two
 * developers) on one host never collide — the trap of seed 000, where Compose silently prefixes `docker_`.
 */
import * as pulumi from "@pulumi/pulumi";

/** Docker's rule for container, volume and network names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. */
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Longest name we produce; Docker has no hard limit, but names above this are unreadable in `docker ps`. */
export const MAX_DOCKER_NAME_LENGTH = 200;

/**
 * Turns any string into a valid Docker object name: characters outside `[a-zA-Z0-9_.-]` become `-`, runs of `-`
 * collapse, leading/trailing separators go. Throws when nothing valid is left.
 * @internal
 */
export function sanitizeDockerName(raw: string): string {
    const s = raw
        .replace(/[^a-zA-Z0-9_.-]+/g, "-")
        .replace(/-{2,}/g, "-")
        .replace(/^[-_.]+/, "")
        .replace(/[-_.]+$/, "");
    if (s.length === 0 || !DOCKER_NAME.test(s)) {
        throw new Error(`cannot derive a Docker object name from "${raw}": use letters, digits, "_", "." or "-"`);
    }
    return s.length > MAX_DOCKER_NAME_LENGTH ? s.slice(0, MAX_DOCKER_NAME_LENGTH).replace(/[-_.]+$/, "") : s;
}

/** `${project}-${stack}-${logicalName}`, sanitised. Pure: pass project and stack explicitly. */
export function scopedName(project: string, stack: string, logicalName: string): string {
    return sanitizeDockerName(`${project}-${stack}-${logicalName}`);
}

/** The Docker name for a child whose Pulumi logical name is `logicalName`, scoped to the current project and stack. */
export function dockerName(logicalName: string): string {
    return scopedName(pulumi.getProject(), pulumi.getStack(), logicalName);
}

/** A DNS label (RFC 1123): what Docker network aliases and nginx upstream host names must be. */
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** True when `s` is a lower-case RFC 1123 DNS label (1–63 chars, letters, digits, inner hyphens). @internal */
export function isDnsLabel(s: string): boolean {
    return DNS_LABEL.test(s);
}

/**
 * Replica ids of a pool: `replicaNames` when given, else `r0` … `r<n-1>`. A replica's Pulumi name is
 * `${name}-${id}`.
 *
 * Index-derived ids are stable under scaling: going from 2 to 3 adds `r2` and never renames `r0`/`r1`; going down
 * removes the highest indexes. To remove a replica in the middle, list the survivors in `replicaNames`.
 * @internal
 */
export function replicaIdsFor(replicas: number, replicaNames?: readonly string[]): string[] {
    if (replicaNames !== undefined) return [...replicaNames];
    return Array.from({ length: replicas }, (_, i) => `r${i}`);
}

/** Labels put on every Docker object this library creates, so `docker ps --filter label=...` finds a stack's objects. */
export function standardLabels(
    project: string,
    stack: string,
    component: string,
    role: string,
): Record<string, string> {
    return {
        "dockercluster.project": project,
        "dockercluster.stack": stack,
        "dockercluster.component": component,
        "dockercluster.role": role,
    };
}

/** {@link standardLabels} of a child of `component`, in the current project and stack. */
export function componentLabels(component: string, role: string): Record<string, string> {
    return standardLabels(pulumi.getProject(), pulumi.getStack(), component, role);
}

/** The docker provider's label list form of a map, sorted by key so diffs are stable. */
export function labelList(
    labels: Record<string, pulumi.Input<string>>,
): { label: string; value: pulumi.Input<string> }[] {
    return Object.keys(labels)
        .sort()
        .map((label) => ({ label, value: labels[label] }));
}
